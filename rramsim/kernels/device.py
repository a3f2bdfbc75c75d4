"""Pulse-level device kernels: one pulse, pulse sequences, the symmetry-point protocol.

Every device model of rramsim's linear-step family is described per device by six numbers::

    up:    w <- w + (a_up   - b_up   * w) * (1 + ctoc * xi)
    down:  w <- w - (a_down - b_down * w) * (1 + ctoc * xi)
    then clip to [w_min, w_max]

Soft bounds: ``b_up = a_up / w_max``, ``b_down = a_down / w_min``; constant step: ``b = 0``.
"""

import numpy as np
from numba import prange

from rramsim.kernels._jit import inline, jit, jit_parallel
from rramsim.kernels.rng import next_normal


@inline
def apply_pulses(w, n, up, a_up, a_down, b_up, b_down, w_min, w_max, ctoc, state, k):
    """Apply ``n`` same-direction pulses to a device at weight ``w``; return the new weight.

    ``up`` selects the direction; the cycle-to-cycle factor draws from stream ``state[k]``
    (one normal per pulse, nothing drawn when ``ctoc == 0``).
    """
    for _ in range(n):
        if up:
            step = a_up - b_up * w
        else:
            step = b_down * w - a_down
        if ctoc > 0.0:
            step *= 1.0 + ctoc * next_normal(state, k)
        w += step
        if w > w_max:
            w = w_max
        elif w < w_min:
            w = w_min
    return w


@jit
def _pulse_sequence(w0, directions, a_up, a_down, b_up, b_down, w_min, w_max, ctoc, states):
    """Weights of ``n`` devices along a pulse sequence.

    w0 and the parameters: (n,); directions: (m,) int8 of +1 (up) / -1 (down);
    states: (n,) uint64, one stream per device. Returns (m + 1, n), first row ``w0``.
    """
    n = w0.shape[0]
    m = directions.shape[0]
    out = np.empty((m + 1, n))
    for k in range(n):
        w = w0[k]
        out[0, k] = w
        for t in range(m):
            w = apply_pulses(w, 1, directions[t] > 0, a_up[k], a_down[k], b_up[k], b_down[k],
                             w_min[k], w_max[k], ctoc, states, k)
            out[t + 1, k] = w
    return out


def pulse_sequence(w0, directions, device_args, ctoc, states):
    """Public wrapper of :func:`_pulse_sequence`: ``device_args`` is
    ``DeviceArray.kernel_args()`` of n devices, ``w0`` (n,) float64, ``directions`` (m,) int8.
    Returns (m + 1, n) weights; ``states`` (n,) advance in place."""
    return _pulse_sequence(w0, directions, *device_args, ctoc, states)


@jit_parallel
def _symmetry_search(w, a_up, a_down, b_up, b_down, w_min, w_max, ctoc, ramp, pairs, n_avg,
                     states):
    """Pulse protocol of the symmetry-point search on a whole array, in place.

    All arrays (n_out, n_in) except ``states`` (n_out,), one stream per row so the result does
    not depend on the thread count. Per device: ``ramp`` up pulses, ``ramp`` down pulses, then
    ``pairs`` (up, down) pairs; returns the mean weight over the last ``n_avg`` pairs (both the
    after-up and the after-down values), shape (n_out, n_in).
    """
    n_out, n_in = w.shape
    sp = np.empty_like(w)
    for i in prange(n_out):
        for j in range(n_in):
            x = w[i, j]
            au, ad, bu, bd = a_up[i, j], a_down[i, j], b_up[i, j], b_down[i, j]
            lo, hi = w_min[i, j], w_max[i, j]
            x = apply_pulses(x, ramp, True, au, ad, bu, bd, lo, hi, ctoc, states, i)
            x = apply_pulses(x, ramp, False, au, ad, bu, bd, lo, hi, ctoc, states, i)
            acc = 0.0
            for p in range(pairs):
                x = apply_pulses(x, 1, True, au, ad, bu, bd, lo, hi, ctoc, states, i)
                if p >= pairs - n_avg:
                    acc += x
                x = apply_pulses(x, 1, False, au, ad, bu, bd, lo, hi, ctoc, states, i)
                if p >= pairs - n_avg:
                    acc += x
            w[i, j] = x
            sp[i, j] = acc / (2 * n_avg)
    return sp


def symmetry_search(w, device_args, ctoc, ramp, pairs, n_avg, states):
    """Public wrapper of :func:`_symmetry_search`: runs the protocol on ``w`` (n_out, n_in) in
    place with ``device_args`` (``DeviceArray.kernel_args()``) and returns the symmetry points
    (n_out, n_in); ``states`` (n_out,) advance in place."""
    return _symmetry_search(w, *device_args, ctoc, ramp, pairs, n_avg, states)


