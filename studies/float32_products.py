"""Study: does computing the analog products in float32 change what the network learns?

Question: ``forward.product_dtype = "float32"`` (and ``backward.``) rounds the weights and the
DAC outputs to single precision for the multiply-accumulate ``W u``; the output noise, the ADC
(7-9 bits) and the noise and bound management stay in float64. The float32 rounding of a
785-term sum (relative error about 1e-7 of the largest terms) is far below one ADC step (about
1/250 of the output range), but it can move an output across an ADC level, and from there the
whole trajectory differs. Does the test accuracy change by more than the spread between seeds,
and what does it buy in time?

Setting: the MNIST MLP (784-256-128-10, sigmoid, softbounds_symmetric, real MNIST) in the two
settings of ``studies/bench_training.py``: batch 1, lr 0.01 (3 epochs) and batch 64, lr 0.05
with managed pulse length (10 epochs); float64 and float32 products, the same seeds (the same
initial weights, devices, shuffling and random streams), so that each seed gives a paired
difference.

Outputs (``--out``, default ``plots/``; ``--quick`` names end in ``_quick``):
- ``float32_products__accuracy[_quick].png``: test accuracy per setting and precision (mean over
  seeds, min-max);
- ``float32_products[_quick].json``: every run, the summary, the paired differences;
- per-run JSON under ``<out>/float32_products[_quick]_runs/`` (a rerun resumes).

    python studies/float32_products.py            # 3 seeds; about 25 min on 2 cores
    python studies/float32_products.py --quick    # about a minute: 1 seed, 1 epoch, 5,000 images
"""

from __future__ import annotations

import numpy as np

from rramsim.experiments.mnist import run_training_tasks
from rramsim.experiments.runner import study_args
from rramsim.plotting.algorithms import accuracy_by_algorithm
from rramsim.results import summary_stats, write_json

#: setting label -> (batch size, lr, epochs of the full study, overrides)
SETTINGS = {
    "batch 1, lr 0.01": (1, 0.01, 3, {}),
    "batch 64, lr 0.05, managed pulse length": (64, 0.05, 10,
                                                {"update.pulse_length_management": True}),
}
PRECISIONS = {"float64": {}, "float32": {"forward.product_dtype": "float32",
                                         "backward.product_dtype": "float32"}}
FULL = dict(seeds=[0, 1, 2], epochs=None, train_subset=None)
QUICK = dict(seeds=[0], epochs=1, train_subset=5000)


def adc_level_changes(data_dir, n_images: int = 2000, seed: int = 0) -> dict:
    """One forward pass of real MNIST images (bias column included) through a 256 x 785 tile
    of Glorot-scale uniform weights with the default peripherals, in float64 and float32:
    the fraction of outputs that differ, and by how many ADC steps."""
    from rramsim.analog.converters import analog_mvm
    from rramsim.config import IOConfig
    from rramsim.data.mnist import train_test
    from rramsim.rng import stream_states

    x, _, _, _ = train_test(data_dir=data_dir, train_subset=n_images, seed=seed)
    X = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    W = np.random.default_rng(seed).uniform(-1, 1, (256, 785)) * np.sqrt(6 / (785 + 256))
    io = IOConfig()
    Y = {p: analog_mvm(W, X, IOConfig(product_dtype=p), stream_states(seed, 1))[0]
         for p in PRECISIONS}
    diff = Y["float64"] != Y["float32"]
    step = np.abs(X).max(axis=1, keepdims=True) * io.out_bound / (2 ** (io.out_bits - 1) - 1)
    steps = np.abs(Y["float64"] - Y["float32"]) / step
    return dict(outputs=int(diff.size), differing=int(diff.sum()),
                fraction=float(diff.mean()),
                adc_steps_of_the_differences=sorted({round(float(v), 6) for v in steps[diff]}))


def tasks(spec, data_dir) -> list[dict]:
    out = []
    for setting, (bs, lr, epochs, over) in SETTINGS.items():
        for prec, pover in PRECISIONS.items():
            for s in spec["seeds"]:
                out.append(dict(name=f"b{bs}_{prec}_seed{s}", group=setting, label=prec,
                                seed=s, preset="softbounds_symmetric",
                                overrides={**over, **pover}, batch_size=bs, lr=lr,
                                epochs=spec["epochs"] or epochs,
                                train_subset=spec["train_subset"], data_dir=data_dir))
    return out


def summarise(runs) -> tuple[list[dict], list[dict]]:
    """Per (setting, precision): accuracy statistics and the median seconds per epoch; per
    setting: the paired float32 - float64 differences of the seeds."""
    rows, pairs = [], []
    for setting in SETTINGS:
        by = {p: sorted((r for r in runs if r["group"] == setting and r["label"] == p),
                        key=lambda r: r["seed"]) for p in PRECISIONS}
        for p, rs in by.items():
            secs = [h["seconds"] for r in rs for h in r["history"][1:]]
            rows.append(dict(group=setting, label=p, epoch_seconds=float(np.median(secs)),
                             **summary_stats([r["final_test_accuracy"] for r in rs])))
        diffs = [b["final_test_accuracy"] - a["final_test_accuracy"]
                 for a, b in zip(by["float64"], by["float32"])]
        spread = summary_stats([r["final_test_accuracy"] for r in by["float64"]])["std"]
        t64, t32 = (float(np.median([h["seconds"] for r in by[p] for h in r["history"][1:]]))
                    for p in ("float64", "float32"))
        pairs.append(dict(setting=setting, paired_differences=diffs,
                          mean_difference=float(np.mean(diffs)),
                          seed_std_float64=spread, time_ratio_float32=t32 / t64))
    return rows, pairs


def main():
    args, tag = study_args(__doc__, "float32_products")
    spec = QUICK if args.quick else FULL
    runs = run_training_tasks(tasks(spec, args.data_dir), jobs=args.jobs,
                              cache_dir=args.out / f"{tag}_runs")
    rows, pairs = summarise(runs)
    levels = adc_level_changes(args.data_dir)
    print(f"one forward pass, 256 x 785 tile, {levels['outputs']:,} outputs: "
          f"{levels['differing']} differ between float64 and float32 products, by "
          f"{levels['adc_steps_of_the_differences']} ADC steps")
    fig = args.out / f"float32_products__accuracy{'_quick' if args.quick else ''}.png"
    accuracy_by_algorithm(rows, list(SETTINGS), list(PRECISIONS), fig,
                          "MNIST MLP: analog products in float64 and float32")
    for r in rows:
        print(f"{r['group']:42s} {r['label']:8s} {100 * r['mean']:6.2f} % "
              f"({100 * r['min']:.2f}-{100 * r['max']:.2f}), {r['epoch_seconds']:.1f} s/epoch")
    for p in pairs:
        print(f"{p['setting']:42s} float32 - float64: "
              + ", ".join(f"{100 * d:+.2f}" for d in p["paired_differences"])
              + f" points (mean {100 * p['mean_difference']:+.2f}; float64 seed std "
              f"{100 * p['seed_std_float64']:.2f}); time ratio {p['time_ratio_float32']:.2f} "
              "(parallel runs: indicative)")
    path = args.out / f"{tag}.json"
    write_json(path, dict(spec=spec, settings={k: list(v) for k, v in SETTINGS.items()},
                          precisions=PRECISIONS, runs=runs, summary=rows, paired=pairs,
                          adc_level_changes=levels))
    print(f"wrote {path} and {fig}")


if __name__ == "__main__":
    main()
