"""Benchmark: how fast is the pulse engine? (the analog crossbar core)

Question: device pulses per second through the soft-bound model with cycle-to-cycle noise on;
pulsed rank-one updates per second on a 256 x 784 soft-bound array (BL 31, lr 0.01,
dw_min 0.001) with real MNIST images as x and real early-training errors as d; forward and
backward analog MVM throughput with the default peripherals at batch 1 and 64.

x: MNIST training images scaled to [0, 1]. d: dL/d(pre-activation) of the first layer of the
freshly initialised 784-256-128-10 sigmoid MLP (softmax cross-entropy, batch 1) on those same
images, i.e. the errors the first layer receives at the start of training.

Preset: softbounds_symmetric. Threads: each measurement runs in a child process with
NUMBA_NUM_THREADS / OPENBLAS_NUM_THREADS / OMP_NUM_THREADS = 1 (and = 2 for the speed-up).
Output: JSON (``--out``, default out/bench/bench_update.json) and a printed table.

    python studies/bench_update.py [--threads 1 2] [--out out/bench]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from bench_kernels import best_rate


def measure() -> dict:
    import numpy as np
    from bench_kernels import count_pulses as _count_pulses

    from rramsim.analog.devices import sample_devices
    from rramsim.analog.tile import AnalogTile
    from rramsim.config import load_preset
    from rramsim.data import train_test
    from rramsim.networks import build_mlp
    from rramsim.nn import SoftmaxCrossEntropy
    from rramsim.rng import stream_states

    cfg = load_preset("softbounds_symmetric")
    res = {}

    # 1. raw pulse rate: 8 pulses per device visit, alternating direction, noise on
    dev = sample_devices(cfg.device, (4096,), seed=0)
    st = stream_states(1, 1)
    n_pulses = 4096 * 8 * 200
    _count_pulses(4096 * 8, True, *dev.kernel_args(), dev.ctoc, st)
    res["pulses_per_second"] = best_rate(
        lambda: _count_pulses(n_pulses, True, *dev.kernel_args(), dev.ctoc, st), n_pulses)

    # 2. rank-one pulsed updates with real x and early-training d
    x_train, y_train, _, _ = train_test(train_subset=512, seed=0)
    net = build_mlp(seed=0)
    loss = SoftmaxCrossEntropy()
    D = np.empty((512, 256))
    for b in range(512):  # per-sample error at the first layer's pre-activation
        loss(net.forward(x_train[b:b + 1]), y_train[b:b + 1])
        net.layers[0].input_grad = False
        g = loss.grad()
        for layer in reversed(net.layers[1:]):
            g = layer.backward(g)
        D[b] = g[0]
    res["d_abs_mean"] = float(np.abs(D).mean())
    res["d_abs_max_mean"] = float(np.abs(D).max(axis=1).mean())
    tile = AnalogTile(256, 784, cfg, seed=0)
    tile.set_weights(net.layers[0].weight.value)
    tile.update(x_train[:1], D[:1], 0.01)
    state = {"k": 0}

    def one_update():
        k = state["k"] % 512
        state["k"] += 1
        tile.update(x_train[k:k + 1], D[k:k + 1], 0.01)

    before = tile.pulse_count
    n0 = state["k"]
    res["rank_one_updates_per_second"] = best_rate(one_update, 1)
    res["device_pulses_per_update"] = (tile.pulse_count - before) / max(state["k"] - n0, 1)

    # 3. forward / backward MVM with default peripherals
    for B in (1, 64):
        X = np.ascontiguousarray(x_train[:B])
        Dd = np.ascontiguousarray(D[:B])
        tile.forward(X)
        tile.backward(Dd)
        res[f"forward_vectors_per_second_batch{B}"] = best_rate(lambda: tile.forward(X), B)
        res[f"backward_vectors_per_second_batch{B}"] = best_rate(lambda: tile.backward(Dd), B)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--out", type=Path, default=Path("out/bench"))
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure()))
        return
    results = {}
    for t in args.threads:
        env = dict(os.environ, NUMBA_NUM_THREADS=str(t), OPENBLAS_NUM_THREADS=str(t),
                   OMP_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t))
        out = subprocess.run([sys.executable, __file__, "--child"], env=env, check=True,
                             capture_output=True, text=True).stdout
        results[f"threads_{t}"] = json.loads(out.strip().splitlines()[-1])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_update.json").write_text(json.dumps(results, indent=2) + "\n")
    keys = list(next(iter(results.values())))
    print(f"{'measurement':45s}" + "".join(f"{k:>16s}" for k in results))
    for key in keys:
        print(f"{key:45s}" + "".join(f"{r[key]:16,.1f}" if abs(r[key]) >= 1 else f"{r[key]:16.3g}"
                                      for r in results.values()))
    print(f"wrote {args.out / 'bench_update.json'}")


if __name__ == "__main__":
    main()
