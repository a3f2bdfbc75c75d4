"""Benchmark: the bit-packed binary matrix product against a float32 BLAS product.

Question: how much faster is ``binary_matmul`` (XNOR / AND / ternary popcount kernels of
rramsim.kernels.binary) than ``x32 @ w32.T`` through BLAS for a binary layer of n_out = n
features, at n in {1024, 4096} and batch B in {64, 256}, with the same number of threads?

Inputs: random dense +-1 inputs (the XNOR kernel), random {0, 1} inputs (AND) and random
{-1, 0, +1} inputs (ternary), random +-1 weights, all from ``--seed``. The weights are packed
once, outside the timing (offline, as in inference); input packing (``pack_inputs``) is timed
on its own and added to the kernel time for the "with packing" speed-ups. Every product is
checked against the BLAS result (exact: the sums are integers below 2**24).

Timing: every sample calls a function enough times to run >= 2 ms and records the time per
call; the methods are sampled in turn (interleaved, so a change of machine load hits all of
them) ``--repeats`` times and the median is reported. Threads: each thread count runs in a child
process with NUMBA_NUM_THREADS / OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS set
before numpy is imported. The kernel takes its parallel version when
``B * n_out * ceil(n / 64) >= PARALLEL_MIN_WORK`` and more than one thread is available.
Output: JSON (``--out``, default out/bench/bench_binary.json) and a printed table.

    python studies/bench_binary.py [--repeats 15] [--seed 0] [--threads 1 2] [--out out/bench]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SIZES = (1024, 4096)
BATCHES = (64, 256)


def _per_call(fn, min_time: float = 2e-3) -> float:
    """Seconds per call of ``fn``, from as many calls as fit in ``min_time`` (at least one)."""
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_time:
            return dt / n


def measure(repeats: int, seed: int, gap: float) -> dict:
    import numba
    import numpy as np

    from rramsim.kernels import binary as bk
    from rramsim.kernels._jit import use_parallel

    rng = np.random.default_rng(seed)
    res = {"numba_threads": numba.get_num_threads(), "cases": {}}
    for n in SIZES:
        w = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=(n, n))
        wbits = bk.pack_weights(w)
        for B in BATCHES:
            inputs = {
                "xnor": rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=(B, n)),
                "and": rng.choice(np.array([0.0, 1.0], dtype=np.float32), size=(B, n)),
                "ternary": rng.choice(np.array([-1.0, 0.0, 1.0], dtype=np.float32), size=(B, n)),
            }
            x32 = inputs["xnor"]
            packed = {k: bk.pack_inputs(x) for k, x in inputs.items()}
            for kind, x in inputs.items():  # correctness (and compilation) before timing
                y = bk.binary_matmul(*packed[kind], wbits, n, kind=kind)
                assert np.array_equal(y, (x @ w.T).astype(np.int64)), (n, B, kind)
            fns = {"blas_float32": lambda: x32 @ w.T,
                   "pack_inputs": lambda: bk.pack_inputs(x32)}
            for kind in inputs:
                fns[f"kernel_{kind}"] = (lambda k=kind: bk.binary_matmul(*packed[k], wbits, n,
                                                                         kind=k))
            samples = {k: [] for k in fns}
            for _ in range(repeats):
                for k, fn in fns.items():
                    samples[k].append(_per_call(fn))
                    time.sleep(gap)  # let spinning BLAS / OpenMP workers go idle
            ms = {k: 1e3 * float(np.median(v)) for k, v in samples.items()}
            case = {f"{k}_ms": v for k, v in ms.items()}
            for kind in inputs:
                kern = ms[f"kernel_{kind}"]
                case[f"speedup_{kind}"] = ms["blas_float32"] / kern
                with_packing = kern + ms["pack_inputs"]
                case[f"speedup_{kind}_with_packing"] = ms["blas_float32"] / with_packing
            case["kernel_xnor_plus_packing_ms"] = ms["kernel_xnor"] + ms["pack_inputs"]
            words = B * n * ((n + 63) // 64)
            case["parallel_kernel"] = bool(use_parallel(words))
            case["word_pairs_per_second_xnor"] = words / (ms["kernel_xnor"] / 1e3)
            res["cases"][f"n{n}_batch{B}"] = case
    return res


def _machine() -> dict:
    import platform

    import llvmlite.binding as ll
    import numba
    import numpy as np

    return {"cpu": ll.get_host_cpu_name(), "cores": os.cpu_count(), "numba": numba.__version__,
            "numpy": np.__version__, "python": platform.python_version(),
            "load_average": os.getloadavg()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=15, help="samples per method (median)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--gap", type=float, default=0.1,
                    help="idle seconds after each sample when threads > 1 (BLAS and OpenMP "
                         "workers spin after a call and would steal the next method's cores)")
    ap.add_argument("--out", type=Path, default=Path("out/bench"))
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        threads = int(os.environ.get("NUMBA_NUM_THREADS", "1"))
        print(json.dumps(measure(args.repeats, args.seed, args.gap if threads > 1 else 0.0)))
        return
    results = {"machine": _machine(), "repeats": args.repeats, "seed": args.seed,
               "gap_s": args.gap}
    for t in args.threads:
        env = dict(os.environ, NUMBA_NUM_THREADS=str(t), OPENBLAS_NUM_THREADS=str(t),
                   OMP_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t))
        cmd = [sys.executable, __file__, "--child", "--repeats", str(args.repeats), "--seed",
               str(args.seed), "--gap", str(args.gap)]
        out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
        results[f"threads_{t}"] = json.loads(out.strip().splitlines()[-1])
    results["machine"]["load_average_end"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_binary.json").write_text(json.dumps(results, indent=2) + "\n")

    cols = [("blas ms", "blas_float32_ms"), ("pack ms", "pack_inputs_ms"),
            ("xnor ms", "kernel_xnor_ms"), ("and ms", "kernel_and_ms"),
            ("tern ms", "kernel_ternary_ms"), ("x xnor", "speedup_xnor"),
            ("x xnor+pk", "speedup_xnor_with_packing"),
            ("x tern+pk", "speedup_ternary_with_packing")]
    head = f"{'threads':>7s} {'n':>5s} {'B':>4s} {'par':>3s}"
    print(head + "".join(f"{c:>10s}" for c, _ in cols))
    for t in args.threads:
        for name, case in results[f"threads_{t}"]["cases"].items():
            n, B = name[1:].split("_batch")
            print(f"{t:7d} {n:>5s} {B:>4s} {'yes' if case['parallel_kernel'] else 'no':>3s}"
                  + "".join(f"{case[k]:10.3f}" if k.endswith("_ms") else f"{case[k]:10.1f}"
                            for _, k in cols))
    print(f"wrote {args.out / 'bench_binary.json'}")


if __name__ == "__main__":
    main()
