"""Study: the training issue's floors, 10 epochs each, in the default setting.

Question: what does the 784-256-128-10 sigmoid MLP reach on real MNIST after 10 epochs
(batch 1, lr 0.01, seed 0) in floating point, on the symmetric soft-bound device
(``softbounds_symmetric``: dw_min 0.001, bounds +-1, 30 % device-to-device and cycle-to-cycle
variation, BL 31, 7-bit DAC, 9-bit ADC, output noise 0.06), on the strongly asymmetric device
(``softbounds_asymmetric``, up_down 0.5) without and with zero-shifting; and, for comparison, the
symmetric device in aihwkit's mini-batch setting (batch 64, lr 0.05, pulse length managed)?

Outputs (``--out``, default ``plots/``): ``floors__learning_curves.png`` (test accuracy per
epoch), ``floors.json`` (every run's per-epoch record), per-run JSON in ``floors_runs/``.

    python studies/floors.py [--epochs 10] [--jobs 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rramsim import plotting
from rramsim.experiments import run_tasks
from rramsim.results import write_json

RUNS = [
    ("asymmetric + zero-shift", "softbounds_asymmetric", {"reference.zero_shift": True}, 1, 0.01),
    ("floating point", None, {}, 1, 0.01),
    ("symmetric", "softbounds_symmetric", {}, 1, 0.01),
    ("asymmetric", "softbounds_asymmetric", {}, 1, 0.01),
    ("symmetric, batch 64, lr 0.05, managed BL", "softbounds_symmetric",
     {"update.pulse_length_management": True}, 64, 0.05),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("plots"))
    args = ap.parse_args()
    tasks = [dict(name=name, preset=preset, overrides=ov, batch_size=bs, lr=lr,
                  epochs=args.epochs, seed=args.seed, zero_shift=bool(ov.get(
                      "reference.zero_shift")))
             for name, preset, ov, bs, lr in RUNS]
    runs = run_tasks(tasks, jobs=args.jobs, cache_dir=args.out / "floors_runs")
    write_json(args.out / "floors.json", {"epochs": args.epochs, "seed": args.seed, "runs": runs})
    plotting.learning_curves({r["name"]: r["history"] for r in runs},
                             args.out / "floors__learning_curves.png",
                             f"MNIST MLP, {args.epochs} epochs, seed {args.seed}")
    print(f"\n{'run':42s} " + " ".join(f"{e:>6d}" for e in range(1, args.epochs + 1)))
    for r in runs:
        print(f"{r['name']:42s} " + " ".join(f"{100 * h['test_accuracy']:6.2f}"
                                             for h in r["history"][1:]))
    print(f"wrote {args.out / 'floors.json'} and floors__learning_curves.png")


if __name__ == "__main__":
    main()
