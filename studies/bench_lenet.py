"""Benchmark: one MNIST epoch of LeNet-5 (full precision) and of the binary LeNet, with a profile
of where the time goes and the im2col-versus-numba measurement behind ``Conv2d``.

Measures (single process; set ``OPENBLAS_NUM_THREADS`` / ``NUMBA_NUM_THREADS`` to choose
threads, they are reported):

1. seconds of one training epoch (60,000 images, batch 64, SGD with momentum; the ``seconds``
   field of :func:`rramsim.training.fit`, which excludes the test evaluation) for the classic
   LeNet-5 (``build_lenet5``, float64, and with float32 convolution products) and for the
   binary LeNet of the accuracy floor (``FLOOR_RUNS["lenet"]``);
2. a per-layer profile of the binary LeNet (forward and backward seconds per layer, and the
   optimiser step), measured on ``--profile-batches`` batches with wall-clock timers;
3. the forward time of each convolution of both networks with im2col + BLAS (``Conv2d``)
   against the direct numba loop (:func:`rramsim.nn.conv.conv2d_direct`).

    python studies/bench_lenet.py                 # full: one full epoch of each network
    python studies/bench_lenet.py --quick         # 6,000 images instead of 60,000
    python studies/bench_lenet.py --out bench.json
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from rramsim.data import train_test
from rramsim.kernels.conv import conv2d_direct
from rramsim.networks import FLOOR_RUNS, build_from_spec, build_lenet5
from rramsim.nn import SGD, Conv2d, SoftmaxCrossEntropy
from rramsim.results import write_json
from rramsim.training import evaluate, fit


def epoch_seconds(model, x, y, x_test, y_test, batch_size=64, lr=0.01, seed=0):
    """One training epoch through :func:`fit`: (wall seconds, CPU seconds, test accuracy).

    The CPU seconds (``time.process_time`` of this process, all its threads) are what the epoch
    costs on a machine shared with other jobs, where wall time also counts waiting for a core:
    CPU time between fit's epoch-0 and epoch-1 records minus one test evaluation's CPU time.
    """
    marks = []
    hist = fit(model, x, y, x_test, y_test, epochs=1, batch_size=batch_size, lr=lr, seed=seed,
               optimizer=SGD(model, lr, momentum=0.9),
               on_epoch=lambda rec: marks.append(time.process_time()))
    t0 = time.process_time()
    evaluate(model, x_test, y_test)
    cpu = marks[1] - marks[0] - (time.process_time() - t0)
    return hist[-1]["seconds"], cpu, hist[-1]["test_accuracy"]


def layer_profile(model, x, y, batch_size=64, batches=50) -> dict:
    """Wall-clock seconds per layer (forward, backward) and optimiser, summed over batches."""
    loss = SoftmaxCrossEntropy()
    opt = SGD(model, 0.01, momentum=0.9)
    names = [f"{i}:{type(la).__name__}" + (f"({la.name})" if hasattr(la, "name") else "")
             for i, la in enumerate(model.layers)]
    fwd = np.zeros(len(names))
    bwd = np.zeros(len(names))
    t_opt = t_loss = 0.0
    model.train()
    for b in range(batches + 2):  # two warm-up batches (numba compilation, caches)
        idx = slice((b * batch_size) % (len(x) - batch_size), None)
        xb, yb = x[idx][:batch_size], y[idx][:batch_size]
        record = b >= 2
        h = xb
        for i, la in enumerate(model.layers):
            t0 = time.perf_counter()
            h = la.forward(h)
            fwd[i] += (time.perf_counter() - t0) * record
        t0 = time.perf_counter()
        loss(h, yb)
        opt.zero_grad()
        g = loss.grad()
        t_loss += (time.perf_counter() - t0) * record
        for i in reversed(range(len(model.layers))):
            t0 = time.perf_counter()
            g = model.layers[i].backward(g)
            bwd[i] += (time.perf_counter() - t0) * record
            if g is None:
                break
        t0 = time.perf_counter()
        opt.step()
        t_opt += (time.perf_counter() - t0) * record
    total = fwd.sum() + bwd.sum() + t_opt + t_loss
    return {"batches": batches, "total_seconds": total,
            "layers": [{"layer": n, "forward_s": f, "backward_s": bb, "share": (f + bb) / total}
                       for n, f, bb in zip(names, fwd, bwd)],
            "loss_s": t_loss, "optimizer_s": t_opt}


def conv_implementations(model, x, repeats=5) -> list[dict]:
    """Forward seconds of each Conv2d of ``model`` on batch ``x``: im2col+BLAS vs numba direct."""
    rows = []
    h = x
    model.eval()
    for la in model.layers:
        if isinstance(la, Conv2d):
            w = la.effective_weight()
            la.forward(h)
            conv2d_direct(h, w, la.stride, la.padding)  # compile
            t0 = time.perf_counter()
            for _ in range(repeats):
                la.forward(h)
            t_im2col = (time.perf_counter() - t0) / repeats
            t0 = time.perf_counter()
            for _ in range(repeats):
                conv2d_direct(h, w, la.stride, la.padding)
            t_direct = (time.perf_counter() - t0) / repeats
            rows.append({"layer": la.name, "input": list(h.shape), "weight": list(w.shape),
                         "im2col_blas_s": t_im2col, "numba_direct_s": t_direct,
                         "speedup": t_direct / t_im2col})
        h = la.forward(h)
    model.train()
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="6,000 training images")
    ap.add_argument("--profile-batches", type=int, default=50)
    ap.add_argument("--out", type=Path, default=None, help="write the numbers to this JSON")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    x, y, xt, yt = train_test(data_dir=args.data_dir, train_subset=6000 if args.quick else None,
                              seed=0)
    x, xt = x.reshape(-1, 1, 28, 28), xt.reshape(-1, 1, 28, 28)
    threads = {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")}
    res = {"train_images": len(x), "batch_size": 64, "threads": threads,
           "load_average_start": os.getloadavg(), "cpu_count": os.cpu_count()}
    lenet = build_lenet5(seed=0)
    lenet32 = build_lenet5(conv_dtype="float32", seed=0)
    binary = build_from_spec(FLOOR_RUNS["lenet"]["spec"], seed=0)
    # warm-up: compile the numba kernels before timing
    fit(build_lenet5(seed=1), x[:256], y[:256], xt[:10], yt[:10], epochs=1, batch_size=64)
    fit(build_from_spec(FLOOR_RUNS["lenet"]["spec"], seed=1), x[:256], y[:256], xt[:10], yt[:10],
        epochs=1, batch_size=64)
    for name, model in (("lenet5_fp", lenet), ("lenet5_fp_float32_conv", lenet32),
                        ("binary_lenet", binary)):
        sec, cpu, acc = epoch_seconds(model, x, y, xt, yt)
        res[name] = {"epoch_seconds": sec, "epoch_cpu_seconds": cpu,
                     "test_accuracy_after_1_epoch": acc, "spec": model.spec}
        print(f"{name}: one epoch of {len(x)} images, batch 64: {sec:.2f} s wall, {cpu:.2f} s "
              f"CPU (test accuracy {100 * acc:.2f} %)", flush=True)
    prof = layer_profile(build_from_spec(FLOOR_RUNS["lenet"]["spec"], seed=0), x, y,
                         batches=args.profile_batches)
    res["binary_lenet_profile"] = prof
    print(f"\nbinary LeNet, per layer over {prof['batches']} batches of 64 "
          f"({prof['total_seconds']:.2f} s):")
    for r in prof["layers"]:
        print(f"  {r['layer']:28s} fwd {1e3 * r['forward_s'] / prof['batches']:7.2f} ms  "
              f"bwd {1e3 * r['backward_s'] / prof['batches']:7.2f} ms  {100 * r['share']:5.1f} %")
    print(f"  loss {1e3 * prof['loss_s'] / prof['batches']:.2f} ms, optimiser "
          f"{1e3 * prof['optimizer_s'] / prof['batches']:.2f} ms per batch")
    res["conv_implementations"] = (conv_implementations(lenet, x[:64])
                                   + conv_implementations(binary, x[:64]))
    print("\nconvolution forward, batch 64: im2col + BLAS vs numba direct loop")
    for r in res["conv_implementations"]:
        print(f"  {r['layer']:6s} in {r['input']} w {r['weight']}: "
              f"{1e3 * r['im2col_blas_s']:.2f} ms vs {1e3 * r['numba_direct_s']:.2f} ms "
              f"(x{r['speedup']:.1f})")
    res["load_average_end"] = os.getloadavg()
    print(f"load average (1, 5, 15 min) at start {res['load_average_start']}, at end "
          f"{res['load_average_end']} on {os.cpu_count()} cores")
    if args.out:
        write_json(args.out, res)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
