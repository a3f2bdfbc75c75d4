"""The mean path of a fitted step law along a measured pulse sequence (``fit-device``'s
trajectory fit evaluates it a few hundred times per device, hence compiled).

Laws, in normalised weight ``w`` in [-1, 1], as magnitudes of an up step (a down step at ``w`` is
the up law of the mirrored weight ``-w`` with the down parameters); the codes are
:data:`LAW_CODES`, the same laws as ``rramsim.analysis.device_fit._law``:

- 0, linear (soft bounds, linear step): ``p0 - p1 w``;
- 1, constant: ``p0``;
- 2, exponential: ``max(p0 (1 - p1 exp(p2 w)), 0)``;
- 3, power: ``p0 ((1 - w) / 2) ** p1``;
- 4, piecewise: linear interpolation of the nodes ``p`` equally spaced over [-1, 1].

The numpy twin is the vectorised law of ``device_fit`` stepped in a Python loop (tests).
"""

import math

import numpy as np

from rramsim.kernels._jit import inline, jit

#: Fit model -> law code of :func:`mean_path`.
LAW_CODES = {"soft_bounds": 0, "linear_step": 0, "constant_step": 1, "exp_step": 2,
             "pow_step": 3, "piecewise_step": 4}


@inline
def _up_law(code, w, p):
    if code == 0:
        return p[0] - p[1] * w
    if code == 1:
        return p[0]
    if code == 2:
        return max(p[0] * (1.0 - p[1] * math.exp(p[2] * w)), 0.0)
    if code == 3:
        return p[0] * max(0.5 * (1.0 - w), 0.0) ** p[1]
    n = p.size
    pos = (w + 1.0) * 0.5 * (n - 1)
    i = min(max(int(math.floor(pos)), 0), n - 2)
    f = min(max(pos - i, 0.0), 1.0)
    return p[i] * (1.0 - f) + p[i + 1] * f


@jit
def _mean_path(code, p_up, p_down, pulses, w0, restarts, starts):
    m = pulses.size
    w = np.empty(m)
    x = w0
    w[0] = x
    k = 0
    for t in range(1, m):
        if k < restarts.size and restarts[k] == t:
            x = starts[k]
            k += 1
        elif pulses[t] > 0:
            x += _up_law(code, x, p_up)
        else:
            x -= _up_law(code, -x, p_down)
        x = min(max(x, -1.0), 1.0)
        w[t] = x
    return w


def mean_path(model: str, p_up, p_down, pulses, w0: float, restarts=(), starts=()) -> np.ndarray:
    """The deterministic path ``w_t = clip(w_(t-1) +- mu(w_(t-1)), -1, 1)`` along ``pulses``
    (m,) (+1 / -1; ``pulses[0]`` precedes the first read and is not applied), from ``w0``; at
    the read indices ``restarts`` the path starts again at ``starts`` (separately measured
    sweeps). Returns (m,) float64."""
    return _mean_path(LAW_CODES[model], np.asarray(p_up, np.float64),
                      np.asarray(p_down, np.float64), np.asarray(pulses, np.int8), float(w0),
                      np.asarray(restarts, np.int64), np.asarray(starts, np.float64))
