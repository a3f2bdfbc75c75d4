"""Kernels and timing helpers that only the benchmarks use (not part of the library).

``count_pulses`` applies pulses to a row of devices with nothing else around them (no trains, no
coincidence search): the raw pulse rate that ``bench_update.py`` compares the update kernels
with. Its numpy twin is ``tests/naive.py::count_pulses``. ``update_trains`` is a pulsed update
without its coincidences: the scales and the pulse trains of every input and every row, which
``bench_step_breakdown.py`` sets against the whole update.
"""

import time

import numpy as np

from rramsim.kernels._jit import jit
from rramsim.kernels.device import apply_pulses
from rramsim.kernels.update import _update_scales, _x_trains, bernoulli_train


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


@jit
def update_trains(X, D, lr, dw_min, bl, update_management, pulse_length_management, x_state,
                  row_states):
    """What a pulsed update of X (B, n_in), D (B, n_out) costs before its coincidences: the
    per-sample scales, the x trains and the d train of every row (the draws of
    ``rramsim.kernels.update.compiled_pulsed_update``, on the streams given). Returns the
    number of non-empty d trains."""
    bls, cx, cd = _update_scales(X, D, lr, dw_min, bl, update_management,
                                 pulse_length_management)
    _x_trains(X, bls, cx, x_state)
    fired = 0
    for b in range(D.shape[0]):
        if bls[b] == 0:
            continue
        for i in range(D.shape[1]):
            d = D[b, i]
            if d != 0.0:
                fired += bernoulli_train(min(cd[b] * abs(d), 1.0), bls[b], row_states, i) != 0
    return fired


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
