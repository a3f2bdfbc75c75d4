"""Kernels and timing helpers that only the benchmarks use (not part of the library).

``count_pulses`` applies pulses to a row of devices with nothing else around them (no trains, no
coincidence search): the raw pulse rate that ``bench_update.py`` compares the update kernels
with. Its numpy twin is ``tests/naive.py::count_pulses``.
"""

import time

import numpy as np

from rramsim.kernels._jit import jit
from rramsim.kernels.device import apply_pulses


@jit
def count_pulses(n_pulses, up, a_up, a_down, b_up, b_down, w_min, w_max, ctoc, states):
    """Raw pulse rate kernel for the benchmark: ``n_pulses`` pulses on each device of a row.

    Arrays (n,); applies pulses in blocks of 8 per device, alternating direction; returns the
    final weights.
    """
    n = a_up.shape[0]
    w = np.zeros(n)
    done = 0
    while done < n_pulses:
        for k in range(n):
            w[k] = apply_pulses(w[k], 8, up, a_up[k], a_down[k], b_up[k], b_down[k], w_min[k],
                                w_max[k], ctoc, states, 0)
        done += 8 * n
        up = not up
    return w

def best_rate(fn, work: float, repeats: int = 5, min_time: float = 0.3) -> float:
    """Best-of-``repeats`` rate (work units per second); each repeat runs >= ``min_time``."""
    best = 0.0
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            dt = time.perf_counter() - t0
            if dt >= min_time:
                break
        best = max(best, n * work / dt)
    return best
