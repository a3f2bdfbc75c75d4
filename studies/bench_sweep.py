"""Benchmark: what does the sweep engine cost, and how does it scale with local workers?

1. Engine overhead per point: a sweep of tiny points (a 2-pulse response) in this process and
   on 2 worker processes; overhead = (wall time - the points' own run time) / points. Spec
   parsing, hashing, record writing and collecting included; worker start-up included for the
   processes.
2. Throughput: 8 points of about ``--seconds`` seconds each (the symmetry-point protocol on a
   32 x 32 array, its pair count calibrated on this machine) on 1 and on 2 local worker
   processes; the speed-up is the ratio of the two wall times, measured in the same run.

    python studies/bench_sweep.py                # about 2.5 minutes on 2 cores
    python studies/bench_sweep.py --seconds 3    # quicker, same ratios roughly

Writes ``--out`` (default ``out/bench_sweep``): ``bench_sweep.json`` with both numbers.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from rramsim.config import load_preset
from rramsim.experiments import sweep as sw
from rramsim.experiments.devices import measure_symmetry_points
from rramsim.experiments.runner import InProcessExecutor, ProcessExecutor
from rramsim.results import write_json


def _timed_sweep(spec: dict, out: Path, executor) -> tuple[float, float, int]:
    """Wall seconds of a whole sweep, the sum of its points' own seconds, and the points."""
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    sweep = sw.parse_sweep(spec)
    sw.run_sweep(sweep, out, executor=executor, progress=None)
    sw.collect(out)
    wall = time.perf_counter() - t0
    own = sum(json.loads(p.read_text())[sw.RUN_INFO]["seconds"]
              for p in (out / "records").glob("*.json"))
    return wall, own, len(sweep.points)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0,
                    help="target seconds of each throughput point (default 10)")
    ap.add_argument("--out", type=Path, default=Path("out/bench_sweep"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    res = {}

    tiny = {"job": "pulse-response", "args": {"up": 1, "down": 1}, "seeds": list(range(20)),
            "grid": {"device.up_down": [0.0, 0.1]}}
    sw.run_sweep(sw.parse_sweep(dict(tiny, seeds=[0])), args.out / "warm",
                 executor=InProcessExecutor(), progress=None)  # compile the kernels once
    for label, ex in (("in_process", InProcessExecutor()), ("2_processes", ProcessExecutor(2))):
        wall, own, n = _timed_sweep(tiny, args.out / f"tiny_{label}", ex)
        res[f"overhead_per_point_s_{label}"] = (wall - own) / n
        print(f"engine overhead per point ({label}, {n} points): {(wall - own) / n:.4f} s")

    cfg = load_preset("softbounds_asymmetric", {"reference.sp_pairs": 20000})
    measure_symmetry_points(cfg, 32, 32, seed=0)  # compile
    t = measure_symmetry_points(cfg, 32, 32, seed=0)["seconds"]
    pairs = max(1000, int(20000 * args.seconds / max(t, 1e-6)))
    spec = {"job": "symmetry-point", "preset": "softbounds_asymmetric",
            "args": {"rows": 32, "cols": 32}, "set": {"reference.sp_pairs": pairs},
            "seeds": list(range(8))}
    walls = {}
    for workers in (1, 2):
        wall, own, n = _timed_sweep(spec, args.out / f"heavy_{workers}", ProcessExecutor(workers))
        walls[workers] = wall
        print(f"{n} points of ~{own / n:.1f} s on {workers} worker(s): {wall:.1f} s")
    res.update(points=8, seconds_per_point=args.seconds, sp_pairs=pairs,
               wall_s_1_worker=walls[1], wall_s_2_workers=walls[2],
               speedup_2_workers=walls[1] / walls[2])
    print(f"2 workers / 1 worker throughput: {walls[1] / walls[2]:.2f}x")
    write_json(args.out / "bench_sweep.json", res)


if __name__ == "__main__":
    main()
