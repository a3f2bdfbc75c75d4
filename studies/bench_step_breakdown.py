"""Benchmark: where does a training step of the analog MLP go? (in-situ MNIST training)

Question: of one compiled training step of the 784-256-128-10 sigmoid MLP (softbounds_symmetric,
real MNIST), how much is each tile's forward pass, backward pass and pulsed update, and how
much is the rest (activations, loss, bookkeeping)? For the batch-1 setting (lr 0.01, BL 31) and
the mini-batch one (batch 64, lr 0.05, managed pulse length), with the products in float64 and
in float32 (``product_dtype``).

Method: a network is trained through the compiled step for ``--warm`` images (so that the
errors and pulse counts are those of training, not of the initial weights); then ``--batches``
mini-batches of real images are recorded through the layer-by-layer path (each layer's input
and output error), and each tile's kernels (forward, backward, update) are timed alone on
them, the best of ``--repeats`` passes; the compiled step is timed as the difference of two
training runs of 1,000 and 5,000 images (batch 64: 20 and 100 batches). The kernels alone
add the call overhead of the layer-by-layer path (one Python call per tile and batch), so at
batch 1 their sum can exceed the step. The step's arrays made inside compiled code are counted
with numba's runtime statistics (``NUMBA_NRT_STATS``). One thread.

    python studies/bench_step_breakdown.py [--warm 6400] [--batches 40] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

for _v in ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
           "NUMBA_NRT_STATS"):  # NRT statistics: the compiled step's allocations per sample
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402
from bench_kernels import update_trains  # noqa: E402 (studies/ is on sys.path)
from numba.core.runtime import rtsys  # noqa: E402

from rramsim.config import load_preset  # noqa: E402
from rramsim.data.mnist import train_test  # noqa: E402
from rramsim.experiments.mnist import train_mnist_mlp  # noqa: E402
from rramsim.nn import SoftmaxCrossEntropy  # noqa: E402
from rramsim.training import fit  # noqa: E402

SETTINGS = {
    "batch 1, lr 0.01": (1, 0.01, ()),
    "batch 64, lr 0.05, managed pulse length": (64, 0.05,
                                                ("update.pulse_length_management=true",)),
}
PRECISIONS = {"float64": (), "float32": ("forward.product_dtype=float32",
                                         "backward.product_dtype=float32")}


def _best(f, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def measure(batch: int, lr: float, overrides, warm: int, n_batches: int, repeats: int) -> dict:
    cfg = load_preset("softbounds_symmetric", list(overrides))
    model, _, _ = train_mnist_mlp(cfg, epochs=1, batch_size=batch, lr=lr, train_subset=warm)
    x, y, _, _ = train_test(train_subset=max(warm, batch * n_batches, 6400), seed=7)
    layers = model.analog_layers()
    loss = SoftmaxCrossEntropy()
    recorded = []  # per batch: per layer (tile input with its bias column, output error)
    for b in range(n_batches):
        xb, yb = x[b * batch:(b + 1) * batch], y[b * batch:(b + 1) * batch]
        loss(model.forward(xb), yb)
        model.backward(loss.grad())
        recorded.append([(np.concatenate([a._x, np.ones((len(a._x), 1))], axis=1)
                          if a.tile.shape[1] == a._x.shape[1] + 1 else a._x, a._d)
                         for a in layers])
    n = n_batches * batch
    out = {"layers": []}
    for li, a in enumerate(layers):
        tile = a.tile
        row = {"shape": list(tile.shape)}
        for part, f in (("forward", lambda: [tile.forward(r[li][0]) for r in recorded]),
                        ("backward", lambda: [tile.backward(r[li][1]) for r in recorded]),
                        ("update", lambda: [tile.update(r[li][0], r[li][1], lr)
                                            for r in recorded])):
            if part == "backward" and li == 0:
                row[part] = 0.0  # the first layer's input gradient is not computed
                continue
            p0 = tile.pulse_count
            row[part] = _best(f, repeats) / n * 1e6
            if part == "update":
                row["pulses_per_sample"] = (tile.pulse_count - p0) / repeats / n
        # the same updates without their coincidences (scales and trains only), on copies of
        # the tile's streams
        up = tile.config.update
        xs, rs = tile._x_state.copy(), tile._row_states.copy()
        args = (float(lr / tile.weight_scale), tile.config.device.dw_min, up.bl,
                up.update_management, up.pulse_length_management, xs, rs)
        row["trains"] = _best(lambda: [update_trains(r[li][0], r[li][1], *args)
                                       for r in recorded], repeats) / n * 1e6
        out["layers"].append(row)
    # the compiled step: the difference of two runs (n1 and n2 images), which removes what a
    # run costs once (describing the network, the first updates' reference-path checks, the
    # evaluation)
    n1, n2 = (1000, 5000) if batch == 1 else (20 * batch, 100 * batch)
    secs, allocs = [], []
    for m in (2 * batch, n1, n2):  # the first compiles (or loads) the step kernel
        a0 = rtsys.get_allocation_stats().alloc
        t0 = time.perf_counter()
        fit(model, x[:m], y[:m], x[:10], y[:10], epochs=1, batch_size=batch, lr=lr, seed=1,
            fast=True, progress=False)
        secs.append(time.perf_counter() - t0)
        allocs.append(rtsys.get_allocation_stats().alloc - a0)
    out["compiled_step"] = (secs[2] - secs[1]) / (n2 - n1) * 1e6
    # compiled allocations (numba's runtime: arrays made inside compiled code) per sample
    out["allocations_per_sample"] = (allocs[2] - allocs[1]) / (n2 - n1)
    out["kernels_sum"] = sum(r["forward"] + r["backward"] + r["update"] for r in out["layers"])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--warm", type=int, default=6400, help="images trained before timing")
    ap.add_argument("--batches", type=int, default=40, help="recorded mini-batches")
    ap.add_argument("--repeats", type=int, default=5, help="timed passes (best of)")
    ap.add_argument("--out", type=Path, default=Path("out/bench"))
    args = ap.parse_args()
    results = {}
    for setting, (batch, lr, over) in SETTINGS.items():
        for prec, pover in PRECISIONS.items():
            nb = args.batches * (8 if batch == 1 else 1)  # enough images at batch 1
            r = measure(batch, lr, over + pover, args.warm, nb, args.repeats)
            results[f"{setting}, {prec}"] = r
            print(f"\n{setting}, products in {prec}: us per sample")
            print(f"  {'layer':12s} {'forward':>9s} {'backward':>9s} {'update':>9s} "
                  f"{'(trains)':>9s} {'pulses':>8s}")
            for row in r["layers"]:
                print(f"  {str(tuple(row['shape'])):12s} {row['forward']:9.2f} "
                      f"{row['backward']:9.2f} {row['update']:9.2f} {row['trains']:9.2f} "
                      f"{row['pulses_per_sample']:8.1f}")
            tot = {k: sum(row[k] for row in r["layers"]) for k in ("forward", "backward",
                                                                   "update")}
            print(f"  kernels alone: forward {tot['forward']:.1f}, backward "
                  f"{tot['backward']:.1f}, update {tot['update']:.1f}, sum "
                  f"{r['kernels_sum']:.1f}; compiled step {r['compiled_step']:.1f} "
                  f"({r['allocations_per_sample']:.1f} compiled allocations per sample)")
    for setting in SETTINGS:
        r64, r32 = results[f"{setting}, float64"], results[f"{setting}, float32"]
        fwd = [sum(x["forward"] for x in r["layers"]) for r in (r32, r64)]
        print(f"{setting}: compiled step float32 / float64 "
              f"{r32['compiled_step'] / r64['compiled_step']:.2f}; forward kernels "
              f"{fwd[0] / fwd[1]:.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_step_breakdown.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out / 'bench_step_breakdown.json'}")


if __name__ == "__main__":
    main()
