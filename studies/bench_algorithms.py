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

``--compiled``: instead, seconds per sample of a batch-1 epoch through
``rramsim.training.fit`` with the compiled step (``fast=True``) and the layer-by-layer path
(``fast=False``) on ``--steps`` images, for every kind, interleaved; the second of two epochs
(the first compiles, and its first updates take the reference path in both modes), and the
ratio of each to compiled SGD (JSON ``bench_algorithms_compiled.json``).
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


def fit_seconds(overrides, x, y, fast: bool, seed: int = 0) -> float:
    """Seconds per sample of the second batch-1 epoch of ``fit`` on ``x``, ``y`` (lr 0.01)."""
    from rramsim.config import load_preset
    from rramsim.networks import build_mlp
    from rramsim.training import fit

    cfg = load_preset("softbounds_symmetric", ["device.up_down=0.3",
                                               "reference.sp_method=closed_form", *overrides])
    model = build_mlp(config=cfg, seed=seed)
    hist = fit(model, x, y, x[:10], y[:10], epochs=2, batch_size=1, lr=0.01, seed=seed,
               fast=fast, progress=False)
    return hist[2]["seconds"] / len(x)


def main_compiled(args, x, y):
    modes = {"compiled": True, "reference": False}
    times = {(k, m): [] for k in SETTINGS for m in modes}
    for _ in range(args.repeats):  # interleaved
        for kind, over in SETTINGS.items():
            for mode, fast in modes.items():
                times[kind, mode].append(fit_seconds(over, x, y, fast))
    best = {key: min(v) for key, v in times.items()}
    sgd = best["sgd", "compiled"]
    result = {kind: {mode: {"us_per_sample": [1e6 * t for t in times[kind, mode]],
                            "best_us_per_sample": 1e6 * best[kind, mode],
                            "ratio_to_compiled_sgd": best[kind, mode] / sgd}
                     for mode in modes} for kind in SETTINGS}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_algorithms_compiled.json").write_text(json.dumps(
        {"samples": len(x), "repeats": args.repeats, "results": result}, indent=2) + "\n")
    print(f"{'algorithm':16s} {'compiled us/sample':>19s} {'/ compiled SGD':>15s} "
          f"{'reference us/sample':>20s} {'/ compiled SGD':>15s} {'speed-up':>9s}")
    for kind, r in result.items():
        c, f = r["compiled"], r["reference"]
        print(f"{kind:16s} {c['best_us_per_sample']:19.0f} {c['ratio_to_compiled_sgd']:15.2f} "
              f"{f['best_us_per_sample']:20.0f} {f['ratio_to_compiled_sgd']:15.2f} "
              f"{f['best_us_per_sample'] / c['best_us_per_sample']:9.2f}")
    print(f"wrote {args.out / 'bench_algorithms_compiled.json'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("out/bench"))
    ap.add_argument("--compiled", action="store_true",
                    help="fit(fast=True) against fit(fast=False) on --steps images")
    args = ap.parse_args()
    from rramsim.data import train_test

    if args.compiled:
        x, y, _, _ = train_test(train_subset=args.steps, seed=0)
        main_compiled(args, x, y)
        return
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
