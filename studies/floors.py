"""Study: the accuracy floors of in-situ MNIST training, 10 epochs each, in the default setting.

Question: what does the 784-256-128-10 sigmoid MLP reach on real MNIST after 10 epochs
(batch 1, lr 0.01, seed 0) in floating point, on the symmetric soft-bound device
(``softbounds_symmetric``: dw_min 0.001, bounds +-1, 30 % device-to-device and cycle-to-cycle
variation, BL 31, 7-bit DAC, 9-bit ADC, output noise 0.06) with the default mapping and with a
digital output scale of 4 (``mapping.weight_scale``), on the strongly asymmetric device
(``softbounds_asymmetric``, up_down 0.5) without and with zero-shifting; and, for comparison, the
symmetric device in aihwkit's mini-batch setting (batch 64, lr 0.05, pulse length managed)?
The runs whose floors are thresholds use several seeds: floating point five (its seeds spread by
0.5 points around the floor), the symmetric device three with each mapping.

Outputs (``--out``, default ``plots/``): ``floors__learning_curves.png`` (test accuracy per
epoch), ``floors.json`` (every run's per-epoch record), per-run JSON in ``floors_runs/``.

    python studies/floors.py [--epochs 10] [--jobs 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rramsim import plotting
from rramsim.experiments.mnist import run_training_tasks as run_tasks
from rramsim.results import summary_stats, write_json

# name, preset, overrides, batch size, lr, extra seeds (beyond --seed) for the runs whose floor
# is a threshold (one seed's last epoch is a noisy estimate)
RUNS = [
    ("asymmetric + zero-shift", "softbounds_asymmetric", {"reference.zero_shift": True}, 1, 0.01,
     0),
    ("floating point", None, {}, 1, 0.01, 4),
    ("symmetric", "softbounds_symmetric", {}, 1, 0.01, 2),
    ("symmetric, weight_scale 4", "softbounds_symmetric", {"mapping.weight_scale": 4.0}, 1, 0.01,
     2),
    ("asymmetric", "softbounds_asymmetric", {}, 1, 0.01, 0),
    ("symmetric, batch 64, lr 0.05, managed BL", "softbounds_symmetric",
     {"update.pulse_length_management": True}, 64, 0.05, 0),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("plots"))
    args = ap.parse_args()
    tasks = [dict(name=name + ("" if k == 0 else f" (seed {args.seed + k})"), label=name,
                  preset=preset, overrides=ov, batch_size=bs, lr=lr, epochs=args.epochs,
                  seed=args.seed + k, zero_shift=bool(ov.get("reference.zero_shift")))
             for name, preset, ov, bs, lr, extra in RUNS for k in range(extra + 1)]
    runs = run_tasks(tasks, jobs=args.jobs, cache_dir=args.out / "floors_runs")
    curves = {}
    for r in runs:
        curves.setdefault(r["label"], []).append(r["history"])
    summary = {label: summary_stats([h[-1]["test_accuracy"] for h in hs])
               for label, hs in curves.items()}
    write_json(args.out / "floors.json", {"epochs": args.epochs, "seed": args.seed,
                                          "final_test_accuracy": summary, "runs": runs})
    plotting.learning_curves({f"{k} ({len(v)} seed{'s' if len(v) > 1 else ''})": v
                              for k, v in curves.items()},
                             args.out / "floors__learning_curves.png",
                             f"MNIST MLP, {args.epochs} epochs (mean; band: min-max over seeds)")
    print(f"\n{'run':52s} " + " ".join(f"{e:>6d}" for e in range(1, args.epochs + 1)))
    for r in runs:
        print(f"{r['name']:52s} " + " ".join(f"{100 * h['test_accuracy']:6.2f}"
                                             for h in r["history"][1:]))
    for label, st in summary.items():
        print(f"{label}: final test accuracy {100 * st['mean']:.2f} % (mean of {st['n']}, "
              f"min {100 * st['min']:.2f}, max {100 * st['max']:.2f})")
    print(f"wrote {args.out / 'floors.json'} and floors__learning_curves.png")


if __name__ == "__main__":
    main()
