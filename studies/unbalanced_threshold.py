"""Study: does shifting the threshold of binary activations (unbalanced activations) help?

Question (Kim et al., CVPR 2021, "Improving Accuracy of Binary Neural Networks using Unbalanced
Activation Distribution"): a binary activation ``+1 if x >= theta else -1`` with a fixed shift
``theta`` makes the +1/-1 distribution unbalanced; the paper reports higher accuracy for a
small positive shift, and argues that a *learnable* threshold does not help because the batch
norm's bias right before the activation can absorb any threshold. Here: test accuracy and the
fraction of +1 activations against theta for both families (XNOR-Net style: BN right before
the sign; Bi-Real style: real-valued shortcut around each binary layer), several seeds, plus a
learnable per-channel threshold (initialised at 0) as the control.

Network: binary MLP 784-256-256-256-10 on Fashion-MNIST (first and last layers full precision,
weights ``alpha_o sign(W)`` per output neuron), Adam lr 3e-3 with a cosine schedule, batch 100.
An MLP keeps 48 runs inside the 20-minute budget of two cores; the threshold acts the same way
as in a CNN (one BN + sign per channel).

Outputs (``--out``, default ``plots/``):
- ``unbalanced_threshold__accuracy.png``: final test accuracy vs theta (mean, min-max over
  seeds) per family, with the learnable-threshold runs as markers at their learned mean theta;
- ``unbalanced_threshold__fraction_positive.png``: fraction of +1 activations (test set) vs
  theta;
- ``unbalanced_threshold.json``: every run and the summary the figures are drawn from;
- per-run JSON under ``<out>/unbalanced_threshold_runs/`` (a rerun resumes from them).

    python studies/unbalanced_threshold.py          # full: 7 shifts x 2 families x 3 seeds
                                                    # + 6 learnable; 60,000 images x 3 epochs
    python studies/unbalanced_threshold.py --quick  # a few minutes: 3 shifts, 1 seed,
                                                    # 6,000 images x 2 epochs
"""

from __future__ import annotations

import numpy as np

from rramsim.experiments.binary import run_binary_tasks as run_tasks
from rramsim.experiments.runner import study_args
from rramsim.networks import build_binary_mlp
from rramsim.plotting import binary as plots
from rramsim.results import summary_stats, write_json

FULL = dict(shifts=[-0.6, -0.4, -0.2, 0.0, 0.2, 0.4, 0.6], seeds=[0, 1, 2], epochs=3,
            train_subset=None, sizes=[784, 256, 256, 256, 10], dataset="fashion-mnist")
QUICK = dict(shifts=[-0.4, 0.0, 0.4], seeds=[0], epochs=2, train_subset=6000,
             sizes=[784, 256, 256, 256, 10], dataset="fashion-mnist")
FAMILIES = ("xnor", "bireal")


def make_tasks(spec: dict, data_dir=None) -> list[dict]:
    common = dict(kind="train", dataset=spec["dataset"], epochs=spec["epochs"], batch_size=100,
                  lr=3e-3, train_subset=spec["train_subset"], data_dir=data_dir)
    tasks = []
    for fam in FAMILIES:
        for s in spec["seeds"]:
            for theta in spec["shifts"]:
                act = {"name": "threshold", "theta": theta, "clip": 1.0, "ste": "rect"}
                tasks.append(dict(common, name=f"{fam}_theta{theta:+.2f}_seed{s}", family=fam,
                                  theta=theta, learnable=False, seed=s,
                                  spec=build_binary_mlp(spec["sizes"], fam, act, seed=0).spec))
            act = {"name": "learnable_threshold", "theta": 0.0}
            tasks.append(dict(common, name=f"{fam}_learnable_seed{s}", family=fam, theta=None,
                              learnable=True, seed=s,
                              spec=build_binary_mlp(spec["sizes"], fam, act, seed=0).spec))
    return tasks


def summarise(runs: list[dict], shifts) -> dict:
    out = {}
    for fam in FAMILIES:
        rows = []
        for theta in shifts:
            sel = [r for r in runs if r["family"] == fam and not r["learnable"]
                   and r["theta"] == theta]
            rows.append(dict(theta=theta,
                             accuracy=summary_stats([r["final_test_accuracy"] for r in sel]),
                             fraction_positive=summary_stats(
                                 [r["activation_stats"]["mean_fraction_positive"] for r in sel])))
        learn = [r for r in runs if r["family"] == fam and r["learnable"]]
        best = max(rows, key=lambda r: r["accuracy"]["mean"])
        zero = next(r for r in rows if r["theta"] == 0.0) if 0.0 in shifts else None
        out[fam] = {
            "rows": rows,
            "learnable": {
                "accuracy": summary_stats([r["final_test_accuracy"] for r in learn]),
                "fraction_positive": summary_stats(
                    [r["activation_stats"]["mean_fraction_positive"] for r in learn]),
                "learned_theta_mean": float(np.mean([np.mean(r["activation_stats"]
                                                             ["learned_theta"]) for r in learn])),
            } if learn else None,
            "best_theta": best["theta"], "best_accuracy": best["accuracy"]["mean"],
            "zero_accuracy": zero["accuracy"]["mean"] if zero else None,
        }
    return out


def main():
    args, tag = study_args(__doc__, "unbalanced_threshold")
    spec = QUICK if args.quick else FULL
    runs = run_tasks(make_tasks(spec, args.data_dir), jobs=args.jobs,
                     cache_dir=args.out / f"{tag}_runs")
    summary = summarise(runs, spec["shifts"])
    write_json(args.out / f"{tag}.json", {"spec": spec, "summary": summary, "runs": runs})
    title = (f"binary MLP {'-'.join(map(str, spec['sizes']))}, {spec['dataset']}, "
             f"{spec['epochs']} epochs, {len(spec['seeds'])} seeds")
    plots.threshold_accuracy(summary, args.out / f"{tag}__accuracy.png", title)
    plots.threshold_fraction_positive(summary, args.out / f"{tag}__fraction_positive.png", title)
    for fam in FAMILIES:
        s = summary[fam]
        print(f"\n{fam}:  theta  accuracy (mean, min-max)   fraction +1")
        for r in s["rows"]:
            a = r["accuracy"]
            print(f"      {r['theta']:+.2f}  {100 * a['mean']:6.2f} % ({100 * a['min']:.2f}-"
                  f"{100 * a['max']:.2f})   {r['fraction_positive']['mean']:.3f}")
        if s["learnable"]:
            a = s["learnable"]["accuracy"]
            print(f"  learnable (mean learned theta {s['learnable']['learned_theta_mean']:+.3f}):"
                  f" {100 * a['mean']:.2f} % ({100 * a['min']:.2f}-{100 * a['max']:.2f}), "
                  f"fraction +1 {s['learnable']['fraction_positive']['mean']:.3f}")
    print(f"wrote {args.out / (tag + '.json')} and the figures {tag}__*.png")


if __name__ == "__main__":
    main()
