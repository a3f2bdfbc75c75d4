"""Benchmark: device pulses per second of every device model, soft bounds and the measured
look-up table side by side.

Question: how fast is the pulse engine with each device law? Two measurements per model, in the
same run and the same child process (so both see the same machine load):

- raw pulses: 4096 devices, blocks of 8 same-direction pulses per device visit, the direction
  flipping after each sweep, cycle-to-cycle noise on (the look-up table draws one uniform per
  pulse instead) -- ``bench_kernels.count_pulses`` for the linear-step family and
  :func:`count_model_pulses` here for the table-driven models;
- pulsed updates: batch-1 rank-one updates of a 256 x 784 tile (BL 31, lr 0.01) with x uniform in
  [0, 1] on a random quarter of the inputs and d ~ N(0, 0.05^2): device pulses applied per second
  of update time (scales, trains and coincidence search included).

Presets: softbounds_symmetric, linear_step, exp_step, pow_step, piecewise_step, enode_lut.
Threads: each run is a child process with NUMBA_NUM_THREADS = OPENBLAS_NUM_THREADS = 1.
Targets: >= 50 million raw pulses per second for the look-up table; soft bounds as fast as
before (~140 million on an idle core). Output: JSON (``--out``, default
out/bench/bench_devices.json) and a printed table.

    python studies/bench_devices.py [--presets softbounds_symmetric enode_lut] [--out out/bench]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from bench_kernels import best_rate

from rramsim.kernels._jit import jit
from rramsim.kernels.device import apply_model_pulses

PRESETS = ("softbounds_symmetric", "linear_step", "exp_step", "pow_step", "piecewise_step",
           "enode_lut")


@jit
def count_model_pulses(n_pulses, up, a_up, a_down, b_up, b_down, w_min, w_max, model, table, ctoc,
                       states):
    """Raw pulse-rate kernel of the table-driven models (the twin of ``count_pulses``): blocks of
    8 pulses per device, devices in order, the direction flipping after every sweep, all draws
    from ``states[0]``; returns the final weights (n,)."""
    n = a_up.shape[0]
    w = np.zeros(n)
    done = 0
    while done < n_pulses:
        for k in range(n):
            w[k] = apply_model_pulses(w[k], 8, up, model, a_up[k], a_down[k], b_up[k], b_down[k],
                                      w_min[k], w_max[k], table, ctoc, states, 0)
        done += 8 * n
        up = not up
    return w




def measure(preset: str) -> dict:
    from bench_kernels import count_pulses

    from rramsim.analog.devices import sample_devices
    from rramsim.analog.tile import AnalogTile
    from rramsim.config import load_preset
    from rramsim.rng import stream_states

    cfg = load_preset(preset)
    dev = sample_devices(cfg.device, (4096,), seed=0)
    args = dev.kernel_args()
    kernel = count_pulses if len(args) == 6 else count_model_pulses
    st = stream_states(1, 1)
    n_pulses = 4096 * 8 * 100
    kernel(4096 * 8, True, *args, dev.ctoc, st)
    res = {"model": cfg.device.model,
           "raw_pulses_per_second": best_rate(lambda: kernel(n_pulses, True, *args, dev.ctoc,
                                                              st), n_pulses)}
    tile = AnalogTile(256, 784, cfg, seed=0)
    rs = np.random.default_rng(0)
    X = rs.random((256, 784)) * (rs.random((256, 784)) < 0.25)
    D = rs.normal(0.0, 0.05, (256, 256))
    tile.update(X[:1], D[:1], 0.01)
    state = {"k": 0, "t": 0.0}
    before = tile.pulse_count
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 1.5:
        k = state["k"] % 256
        state["k"] += 1
        tile.update(X[k:k + 1], D[k:k + 1], 0.01)
    seconds = time.perf_counter() - t0
    res["update_pulses_per_second"] = (tile.pulse_count - before) / seconds
    res["pulses_per_update"] = (tile.pulse_count - before) / state["k"]
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--presets", nargs="+", default=list(PRESETS))
    ap.add_argument("--out", type=Path, default=Path("out/bench"))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    results = {}
    for preset in args.presets:
        out = subprocess.run([sys.executable, __file__, "--child", preset], env=env, check=True,
                             capture_output=True, text=True).stdout
        results[preset] = json.loads(out.strip().splitlines()[-1])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_devices.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'preset':22s}{'model':16s}{'raw pulses/s':>16s}{'update pulses/s':>18s}"
          f"{'pulses/update':>15s}")
    for preset, r in results.items():
        print(f"{preset:22s}{r['model']:16s}{r['raw_pulses_per_second'] / 1e6:13.1f} M"
              f"{r['update_pulses_per_second'] / 1e6:15.1f} M{r['pulses_per_update']:15.0f}")
    print(f"wrote {args.out / 'bench_devices.json'}")


if __name__ == "__main__":
    main()
