"""Benchmark: what does a training step of each algorithm cost against a plain SGD step?

Question: seconds per training step (forward, backward, update of all three tiles, batch 1) of
the 784-256-128-10 MLP on MNIST for every ``algorithm.kind``, each measured in the same run as
SGD on the same network and images, and the ratio to SGD (the target: at most 2x for the
transfer algorithms). The transfer settings are those of the MNIST part of
``studies/training_algorithms.py`` (one column read per update, up to 31 pulses per
transfer).

Preset: softbounds_symmetric at up_down 0.3. Output: JSON (``--out``, default
out/bench/bench_algorithms.json) and a table.

    python studies/bench_algorithms.py [--steps 3000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

SETTINGS = {
    "sgd": [],
    "ttv1": ["algorithm.kind=ttv1", "reference.zero_shift=true", "algorithm.transfer_lr=30"],
    "ttv2": ["algorithm.kind=ttv2", "reference.zero_shift=true", "algorithm.transfer_lr=30",
             "algorithm.transfer_bl=31", "algorithm.forget_buffer=false"],
    "c-ttv2": ["algorithm.kind=c-ttv2", "algorithm.transfer_lr=30", "algorithm.transfer_bl=31",
               "algorithm.forget_buffer=false"],
    "agad": ["algorithm.kind=agad", "algorithm.transfer_lr=30", "algorithm.transfer_bl=31",
             "algorithm.forget_buffer=false"],
    "mixed-precision": ["algorithm.kind=mixed-precision"],
}


def step_seconds(overrides, x, y, steps: int, seed: int = 0) -> float:
    """Seconds per batch-1 training step of the MLP over ``steps`` images (after a warm-up)."""
    from rramsim.config import load_preset
    from rramsim.networks import build_mlp
    from rramsim.nn import SoftmaxCrossEntropy

    cfg = load_preset("softbounds_symmetric", ["device.up_down=0.3",
                                               "reference.sp_method=closed_form", *overrides])
    model = build_mlp(config=cfg, seed=seed)
    loss = SoftmaxCrossEntropy()
    layers = model.analog_layers()

    def run(lo, hi):
        for b in range(lo, hi):
            out = model.forward(x[b:b + 1])
            loss(out, y[b:b + 1])
            model.backward(loss.grad())
            for layer in layers:
                layer.apply_update(0.01)

    run(0, 200)  # compiles or loads every kernel, and leaves the first transient
    t0 = time.perf_counter()
    run(200, 200 + steps)
    return (time.perf_counter() - t0) / steps


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("out/bench"))
    args = ap.parse_args()
    from rramsim.data import train_test

    x, y, _, _ = train_test(train_subset=args.steps + 200, seed=0)
    times = {k: [] for k in SETTINGS}
    for _ in range(args.repeats):  # interleaved, so that a busy moment hits every setting
        for kind, over in SETTINGS.items():
            times[kind].append(step_seconds(over, x, y, args.steps))
    best = {k: min(v) for k, v in times.items()}
    result = {k: {"us_per_step": [1e6 * t for t in v], "best_us_per_step": 1e6 * best[k],
                  "ratio_to_sgd": best[k] / best["sgd"]} for k, v in times.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_algorithms.json").write_text(json.dumps(
        {"steps": args.steps, "repeats": args.repeats, "results": result}, indent=2) + "\n")
    print(f"{'algorithm':18s} {'us per step (best)':>20s} {'ratio to SGD':>14s}")
    for kind, r in result.items():
        print(f"{kind:18s} {r['best_us_per_step']:20.0f} {r['ratio_to_sgd']:14.2f}")
    print(f"wrote {args.out / 'bench_algorithms.json'}")


if __name__ == "__main__":
    main()
