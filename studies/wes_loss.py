"""Study: does the WES loss predict the tails of the label distribution better than MSE, and at
what cost to the overall error?

Question (Koo & Kim 2020, arXiv:2009.03534): a feed-forward network (Fourier features -> 64 -> 64
-> 1, tanh, SGD) regresses a label curve from a noisy observation of it. Trained with MSE, its
predictions crowd towards the middle of the label distribution. Weighted empirical stretching
(WES) weights each squared error by ``g(y)^-beta`` (``g``: the training-label density). For
each of the four label shapes (unimodal, skewed unimodal, bimodal, skewed bimodal), four noise
levels (standard deviation 0.05, 0.1, 0.2, 0.3 of the additive noise; labels span [0, 1]) and
five seeds: test RMSE overall, in the lowest and highest 5 % of the labels and
where the label density is below half the uniform density, and the overlap of the predicted and
true label histograms, for MSE, MAE, Huber and WES at several beta. Optionally (``--analog``) the
same network on simulated soft-bound RRAM tiles (preset ``softbounds_symmetric``, up_down 0 and
0.5, pulsed updates; unimodal labels, noise 0.1, 40 epochs) with MSE and WES (beta 0.5, 1),
beside the floating-point network trained the same way, to see how device asymmetry interacts
with the loss.

Setting: 4000 training / 2000 test samples per set, window 32, 8 Fourier coefficients, SGD batch
32, lr 0.05 (Huber: 0.1) warmed up over 10 epochs and decaying linearly to a tenth over 150;
label density: log-polynomial of degree 8, floored for WES at 0.1 x the uniform density; Huber
delta 0.05.

Outputs (``--out``, default ``plots/``):
- ``wes_loss__data.png``: the four label distributions with the fitted density, and the curves;
- ``wes_loss__rmse_by_region.png``: RMSE by loss and region (mean over noise levels and seeds);
- ``wes_loss__pred_histograms.png``: predicted vs true label histograms (highest noise, seed 0);
- ``wes_loss__rmse_vs_beta.png``: RMSE overall / tails / low density against beta, per noise;
- ``wes_loss__analog.png`` (with ``--analog``): RMSE of MSE and WES on symmetric and
  asymmetric devices;
- ``wes_loss.json``: the specification, the summary the figures are drawn from, every run's
  metrics and prediction histogram; per-run JSON (with learning curves) under
  ``<out>/wes_loss_runs/`` (a rerun resumes from them).

    python studies/wes_loss.py --analog   # full: 4 shapes x 4 noise levels x 5 seeds x 8 losses
                                          #   (+ 45 runs for --analog), about 12 min on 2 cores
    python studies/wes_loss.py --quick    # about 30 s: 1 seed, 3 noise levels, 3 WES betas
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rramsim.data.regression import SHAPES, make_dataset
from rramsim.experiments.regression import (
    data_summary,
    loss_label,
    run_regression_tasks,
    summarise_runs,
)
from rramsim.nn.density import LabelDensity
from rramsim.plotting import regression as plots
from rramsim.results import summary_stats, write_json
from rramsim.rng import spawn

FULL = dict(shapes=list(SHAPES), noises=[0.05, 0.1, 0.2, 0.3], seeds=[0, 1, 2, 3, 4],
            betas=[0.25, 0.5, 1.0, 1.5, 2.0], baselines=["mse", "mae", "huber"],
            data=dict(n_train=4000, n_test=2000, window=32, n_coef=8, horizon=0),
            train=dict(hidden=[64, 64], activation="tanh", epochs=150, batch_size=32, lr=0.05,
                       lr_decay=0.1, warmup=10),
            # Huber's quadratic part is r^2 / 2, half the MSE: twice the learning rate gives it
            # the same steps as MSE on small errors.
            lr_scale={"huber": 2.0},
            density_floor=0.1, delta=0.05, density_degree=8, density_threshold=0.5, tail=0.05,
            analog=dict(shape="unimodal", noise=0.1, seeds=[0, 1, 2, 3, 4], up_down=[0.0, 0.5],
                        losses=[["mse", 0.0], ["wes", 0.5], ["wes", 1.0]],
                        data=dict(n_train=4000, n_test=2000, window=32, n_coef=8, horizon=0),
                        train=dict(hidden=[64, 64], activation="tanh", epochs=40,
                                   batch_size=32, lr=0.05, lr_decay=0.1, warmup=4)))
QUICK = dict(FULL, noises=[0.05, 0.1, 0.3], seeds=[0], betas=[0.5, 1.0, 2.0],
             data=dict(FULL["data"], n_train=2000, n_test=1000),
             train=dict(FULL["train"], epochs=40, warmup=4),
             analog=dict(FULL["analog"], seeds=[0], data=dict(FULL["analog"]["data"], n_train=2000,
                                                              n_test=1000),
                         train=dict(FULL["analog"]["train"], epochs=10, warmup=2)))


def make_tasks(spec: dict) -> list[dict]:
    common = dict(data=spec["data"], density_floor=spec["density_floor"], delta=spec["delta"],
                  density_degree=spec["density_degree"],
                  density_threshold=spec["density_threshold"], tail=spec["tail"])
    losses = [(name, 0.0) for name in spec["baselines"]] + [("wes", b) for b in spec["betas"]]
    tasks = []
    for shape in spec["shapes"]:
        for noise in spec["noises"]:
            for s in spec["seeds"]:
                for name, beta in losses:
                    tag = name + (f"{beta:.2f}" if name == "wes" else "")
                    train = dict(spec["train"],
                                 lr=spec["train"]["lr"] * spec["lr_scale"].get(name, 1.0))
                    tasks.append(dict(common, name=f"{shape}_noise{noise:.2f}_{tag}_seed{s}",
                                      shape=shape, noise=noise, seed=s, loss=name, beta=beta,
                                      train=train))
    return tasks


def make_analog_tasks(spec: dict) -> list[dict]:
    a = spec["analog"]
    common = dict(data=a["data"], train=a["train"], density_floor=spec["density_floor"],
                  density_degree=spec["density_degree"],
                  density_threshold=spec["density_threshold"], tail=spec["tail"],
                  shape=a["shape"], noise=a["noise"])
    tasks = []
    for ud in [None] + list(a["up_down"]):
        for name, beta in a["losses"]:
            for s in a["seeds"]:
                dev = "float" if ud is None else f"updown{ud:.2f}"
                tag = name + (f"{beta:.2f}" if name == "wes" else "")
                t = dict(common, name=f"analog_{a['shape']}_{dev}_{tag}_seed{s}", seed=s,
                         loss=name, beta=beta, up_down=ud)
                if ud is not None:
                    t.update(preset="softbounds_symmetric", overrides={"device.up_down": ud})
                tasks.append(t)
    return tasks


def analog_rows(runs: list[dict]) -> list[dict]:
    rows, devices = {}, {}
    for r in runs:
        dev = "floating point" if r["up_down"] is None else f"RRAM up_down {r['up_down']:g}"
        rows.setdefault(f"{dev}, {loss_label(r)}", []).append(r["metrics"])
        devices[f"{dev}, {loss_label(r)}"] = dev
    def finite(ms, k):
        return [m[k] for m in ms if m[k] is not None and m[k] == m[k]]  # diverged runs: NaN

    return [dict(label=lab, device=devices[lab], **{k: summary_stats(finite(ms, k))
                               for k in ("rmse", "rmse_tails", "rmse_low_density", "overlap")})
            for lab, ms in rows.items()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small version (about 30 s)")
    ap.add_argument("--analog", action="store_true",
                    help="also train on simulated RRAM tiles (a few minutes)")
    ap.add_argument("--jobs", type=int, default=2, help="runs in parallel (default 2)")
    ap.add_argument("--out", type=Path, default=Path("plots"))
    args = ap.parse_args()
    spec = QUICK if args.quick else FULL
    tag = "wes_loss" + ("_quick" if args.quick else "")
    out = args.out

    # The data figure: each shape at the middle noise level, with the seed the runs use.
    mid = spec["noises"][len(spec["noises"]) // 2]
    summaries = {}
    for shape in spec["shapes"]:
        data = make_dataset(shape, mid, seed=spawn(spec["seeds"][0], 2)[0], **spec["data"])
        density = LabelDensity.fit(data.y_train, degree=spec["density_degree"],
                                   support=(0.0, 1.0))
        summaries[shape] = data_summary(data, density)
    plots.label_histograms(summaries, out / f"{tag}__data.png",
                           f"Synthetic label distributions ({spec['data']['n_train']} training "
                           f"labels) and curves (noise {mid:g})")

    runs = run_regression_tasks(make_tasks(spec), jobs=args.jobs, cache_dir=out / f"{tag}_runs")
    summary = summarise_runs(runs)
    losses = ([loss_label(dict(loss=n)) for n in spec["baselines"]]
              + [f"WES beta={b:g}" for b in spec["betas"]])
    result = {"spec": spec, "losses": losses, "summary": summary, "data": summaries,
              "runs": [{k: v for k, v in r.items() if k != "history"} for r in runs]}

    plots.rmse_by_region(summary["overall"], summary["change"], losses,
                         out / f"{tag}__rmse_by_region.png",
                         "Test RMSE by loss and label region: mean over "
                         f"{len(spec['noises'])} noise levels x {len(spec['seeds'])} seeds (top), "
                         "change vs MSE in the same runs, mean and std (bottom)")
    plots.rmse_vs_beta(summary["by_noise"], spec["betas"], out / f"{tag}__rmse_vs_beta.png",
                       f"Test RMSE against the WES hyperparameter (mean of {len(spec['seeds'])} "
                       "seed(s)); solid: overall, dashed: 5 % tails, dotted: low density")
    hi, s0 = spec["noises"][-1], spec["seeds"][0]
    shown = ["MSE", "WES beta=1", f"WES beta={spec['betas'][-1]:g}"]
    panels = {}
    for shape in spec["shapes"]:
        sel = {loss_label(r): r for r in runs
               if r["shape"] == shape and r["noise"] == hi and r["seed"] == s0}
        panels[shape] = {"test_counts": sel["MSE"]["test_counts"], "note": f"noise {hi:g}",
                         "pred_counts": {lab: sel[lab]["pred_counts"] for lab in shown},
                         "overlap": {lab: sel[lab]["metrics"]["overlap"] for lab in shown}}
    result["pred_histograms"] = panels
    plots.prediction_histograms(panels, out / f"{tag}__pred_histograms.png",
                                f"Predicted vs true test labels (seed {s0})")

    if args.analog:
        analog = run_regression_tasks(make_analog_tasks(spec), jobs=args.jobs,
                                      cache_dir=out / f"{tag}_runs")
        rows = analog_rows(analog)
        result["analog"] = {"rows": rows,
                            "runs": [{k: v for k, v in r.items() if k != "history"}
                                     for r in analog]}
        a = spec["analog"]
        plots.analog_rmse(rows, out / f"{tag}__analog.png",
                          f"{a['shape'].replace('_', ' ')} labels, noise {a['noise']:g}: "
                          f"floating point vs soft-bound RRAM tiles (mean, std of "
                          f"{len(a['seeds'])} seed{'s' if len(a['seeds']) > 1 else ''})")
    write_json(out / f"{tag}.json", result)

    print(f"\nTest RMSE, mean over {len(spec['noises'])} noise levels x {len(spec['seeds'])} "
          "seeds (change vs MSE, paired)")
    for shape in spec["shapes"]:
        print(f"{shape}:")
        print(f"  {'loss':14s} {'overall':>18s} {'5 % tails':>18s} {'low density':>18s} "
              f"{'overlap':>8s}")
        for lab in losses:
            st, ch = summary["overall"][shape][lab], summary["change"][shape][lab]
            cells = [f"{st[k]['mean']:.4f} ({100 * ch[k]['mean']:+5.1f} %)"
                     for k in ("rmse", "rmse_tails", "rmse_low_density")]
            print(f"  {lab:14s} " + " ".join(f"{c:>18s}" for c in cells)
                  + f" {st['overlap']['mean']:8.3f}")
    if summary["diverged"]:
        print(f"diverged (left out of the statistics): {', '.join(summary['diverged'])}")
    if args.analog:
        print("\nAnalog (RRAM tiles):")
        for row in result["analog"]["rows"]:
            print(f"  {row['label']:40s} RMSE {row['rmse']['mean']:.4f}  tails "
                  f"{row['rmse_tails']['mean']:.4f}  low density "
                  f"{row['rmse_low_density']['mean']:.4f}")
    print(f"wrote {out / (tag + '.json')} and the figures {tag}__*.png")


if __name__ == "__main__":
    main()
