"""Pulse-level device kernels: one pulse, pulse sequences, the symmetry-point protocol.

Every device model of rramsim's linear-step family is described per device by six numbers::

    up:    w <- w + (a_up   - b_up   * w) * (1 + ctoc * xi)
    down:  w <- w - (a_down - b_down * w) * (1 + ctoc * xi)
    then clip to [w_min, w_max]

Soft bounds: ``b_up = a_up / w_max``, ``b_down = a_down / w_min``; constant step: ``b = 0``;
linear step: any slopes. These run through :func:`apply_pulses`, the fast path.

The models beyond that family (exponential, power, piecewise step, look-up table) run through
:func:`apply_model_pulses`: the same six per-device arrays (``a`` the step scales, ``b`` the
power step's exponents), a model code and a shared table ``table`` (2, rows, cols), ``table[0]``
for up pulses and ``table[1]`` for down pulses:

=====  ==============  ======================================================================
code   model           signed step of one pulse before the cycle-to-cycle factor
=====  ==============  ======================================================================
2      exp_step        ``z = 2 a w / (w_max - w_min) + b``; up ``a_up max(1 - A e^(gamma z), 0)``,
                       down ``-a_down max(1 - A e^(-gamma z), 0)``; table row ``[A, gamma, a, b]``
3      pow_step        up ``a_up ((w_max - w) / range)^b_up``,
                       down ``-a_down ((w - w_min) / range)^b_down``
4      piecewise_step  ``a`` times the nodes ``table[d, 0, :]`` (equally spaced from w_min to
                       w_max) interpolated linearly at w; down negative
5      lut             ``a`` times a draw from the step distribution at w: ``table[d, bin, :-1]``
                       are its quantiles at equally spaced CDF levels 0 ... 1 per conductance bin
                       (bins equally spaced from w_min to w_max), ``table[d, bin, -1]`` its mean;
                       one uniform u per pulse, the quantile function interpolated linearly in u
                       and between the two bins around w (inverse-CDF sampling)
=====  ==============  ======================================================================

Kernel argument tuples: six arrays for the linear family, or the six arrays, the code and the
table (``DeviceArray.kernel_args()``); the public wrappers dispatch on the tuple's length.
"""

import math

import numpy as np
from numba import prange

from rramsim.kernels._jit import inline, jit, jit_parallel
from rramsim.kernels.rng import next_normal, next_u64

#: Model codes of the table-driven kernels (``rramsim.analog.devices`` registers the names).
EXP_STEP, POW_STEP, PIECEWISE_STEP, LUT = 2, 3, 4, 5
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53, as in rramsim.kernels.rng


@inline
def one_pulse(w, up, a_up, a_down, b_up, b_down, w_min, w_max, factor):
    """One pulse of the linear-step family at weight ``w`` with the cycle-to-cycle factor
    ``factor`` (``1 + ctoc * xi``; exactly 1.0 without noise); returns the clipped new weight."""
    if up:
        step = a_up - b_up * w
    else:
        step = b_down * w - a_down
    step *= factor
    w += step
    if w > w_max:
        w = w_max
    elif w < w_min:
        w = w_min
    return w


@inline
def apply_pulses(w, n, up, a_up, a_down, b_up, b_down, w_min, w_max, ctoc, state, k):
    """Apply ``n`` same-direction pulses to a device at weight ``w``; return the new weight.

    ``up`` selects the direction; the cycle-to-cycle factor draws from stream ``state[k]``
    (one normal per pulse, nothing drawn when ``ctoc == 0``).
    """
    for _ in range(n):
        factor = 1.0
        if ctoc > 0.0:
            factor = 1.0 + ctoc * next_normal(state, k)
        w = one_pulse(w, up, a_up, a_down, b_up, b_down, w_min, w_max, factor)
    return w


@jit
def model_mean_step(w, up, model, a_up, a_down, b_up, b_down, w_min, w_max, table):
    """Signed mean step of one pulse of a table-driven model at weight ``w`` (the step itself
    for the deterministic laws, the table's mean for the look-up table)."""
    d = 0 if up else 1
    scale = a_up if up else -a_down
    rng = w_max - w_min
    if model == EXP_STEP:
        z = 2.0 * table[d, 0, 2] * w / rng + table[d, 0, 3]
        if up:
            y = 1.0 - table[0, 0, 0] * math.exp(table[0, 0, 1] * z)
        else:
            y = 1.0 - table[1, 0, 0] * math.exp(-table[1, 0, 1] * z)
        if y < 0.0:
            y = 0.0
        return scale * y
    if model == POW_STEP:
        if up:
            x = (w_max - w) / rng
            e = b_up
        else:
            x = (w - w_min) / rng
            e = b_down
        if x < 0.0:
            x = 0.0
        return scale * x ** e
    if model == PIECEWISE_STEP:
        nodes = table.shape[2]
        if nodes == 1:
            return scale * table[d, 0, 0]
        ws = (w - w_min) / rng * (nodes - 1)
        if ws < 0.0:
            ws = 0.0
        idx = int(math.floor(ws))
        if idx > nodes - 2:
            idx = nodes - 2
        t = ws - idx
        if t > 1.0:
            t = 1.0
        return scale * ((1.0 - t) * table[d, 0, idx] + t * table[d, 0, idx + 1])
    # LUT: the mean column, interpolated between the bins around w; scale carries no sign here
    # because the table is signed.
    nb = table.shape[1]
    last = table.shape[2] - 1
    pos = (w - w_min) / rng * (nb - 1)
    if pos < 0.0:
        pos = 0.0
    elif pos > nb - 1:
        pos = nb - 1.0
    i0 = int(pos)
    if i0 > nb - 2:
        i0 = nb - 2
    t = pos - i0
    m = table[d, i0, last] + t * (table[d, i0 + 1, last] - table[d, i0, last])
    return (a_up if up else a_down) * m


@inline
def _lut_pulses(w, n, scale, w_min, w_max, tab, ctoc, state, k):
    """``n`` pulses drawn from one direction's look-up table ``tab`` (bins, quantiles + 1).

    Per pulse: ``u`` uniform from ``state[k]`` picks the CDF level (linear between the table's
    equally spaced levels), the weight picks the two bins around it (linear between them), then,
    when ``ctoc > 0``, one normal scales the step. The pulse rate is bound by the latency of the
    weight's dependency chain, so everything that does not depend on the weight is computed off
    it, and the weight is carried as its bin position ``(w - w_min) (bins - 1) / (w_max -
    w_min)`` while the pulses last (converted back once; a device at a bound returns it exactly).
    """
    nb = tab.shape[0]
    nq = tab.shape[1] - 1
    top = nb - 1.0
    inv = top / (w_max - w_min)
    gain = scale * inv
    levels = nq - 1.0
    pos = (w - w_min) * inv
    for _ in range(n):
        # next_uniform's value, through a signed conversion (one instruction, same number)
        r = np.float64(np.int64(next_u64(state, k) >> _S11)) * _INV53 * levels
        q0 = int(r)  # u < 1, so q0 <= nq - 2
        s = r - q0
        if pos < 0.0:
            pos = 0.0
        elif pos > top:
            pos = top
        i0 = int(pos)
        if i0 > nb - 2:
            i0 = nb - 2
        t = pos - i0
        lo0 = tab[i0, q0]
        lo1 = tab[i0 + 1, q0]
        s0 = lo0 + s * (tab[i0, q0 + 1] - lo0)
        s1 = lo1 + s * (tab[i0 + 1, q0 + 1] - lo1)
        step = s0 + t * (s1 - s0)
        if ctoc > 0.0:
            step *= 1.0 + ctoc * next_normal(state, k)
        pos += step * gain
        if pos > top:
            pos = top
        elif pos < 0.0:
            pos = 0.0
    if pos >= top:
        return w_max
    if pos <= 0.0:
        return w_min
    w = w_min + pos / inv
    if w > w_max:
        w = w_max
    return w


@inline
def apply_model_pulses(w, n, up, model, a_up, a_down, b_up, b_down, w_min, w_max, table, ctoc,
                       state, k):
    """Apply ``n`` same-direction pulses of a table-driven model; return the new weight.

    Per pulse: the look-up table draws one uniform from ``state[k]``, then (when ``ctoc > 0``)
    the cycle-to-cycle factor draws one normal from the same stream; then clip.
    """
    if model == LUT:
        if up:
            return _lut_pulses(w, n, a_up, w_min, w_max, table[0], ctoc, state, k)
        return _lut_pulses(w, n, a_down, w_min, w_max, table[1], ctoc, state, k)
    for _ in range(n):
        step = model_mean_step(w, up, model, a_up, a_down, b_up, b_down, w_min, w_max, table)
        if ctoc > 0.0:
            step *= 1.0 + ctoc * next_normal(state, k)
        w += step
        if w > w_max:
            w = w_max
        elif w < w_min:
            w = w_min
    return w


@jit
def expected_model_pulses(w, n, up, model, a_up, a_down, b_up, b_down, w_min, w_max, table):
    """``n`` (real, >= 0) noise-free pulses of a table-driven model: ``floor(n)`` mean steps one
    by one, then the fraction ``n - floor(n)`` of the mean step at the weight reached."""
    whole = int(n)
    for _ in range(whole):
        w += model_mean_step(w, up, model, a_up, a_down, b_up, b_down, w_min, w_max, table)
        if w > w_max:
            w = w_max
        elif w < w_min:
            w = w_min
    frac = n - whole
    if frac > 0.0:
        w += frac * model_mean_step(w, up, model, a_up, a_down, b_up, b_down, w_min, w_max,
                                    table)
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


@jit
def _pulse_sequence_model(w0, directions, a_up, a_down, b_up, b_down, w_min, w_max, model, table,
                          ctoc, states):
    """:func:`_pulse_sequence` for a table-driven model (``model``, ``table``)."""
    n = w0.shape[0]
    m = directions.shape[0]
    out = np.empty((m + 1, n))
    for k in range(n):
        w = w0[k]
        out[0, k] = w
        for t in range(m):
            w = apply_model_pulses(w, 1, directions[t] > 0, model, a_up[k], a_down[k], b_up[k],
                                   b_down[k], w_min[k], w_max[k], table, ctoc, states, k)
            out[t + 1, k] = w
    return out


def pulse_sequence(w0, directions, device_args, ctoc, states):
    """Public wrapper of :func:`_pulse_sequence`: ``device_args`` is
    ``DeviceArray.kernel_args()`` of n devices, ``w0`` (n,) float64, ``directions`` (m,) int8.
    Returns (m + 1, n) weights; ``states`` (n,) advance in place."""
    if len(device_args) == 6:
        return _pulse_sequence(w0, directions, *device_args, ctoc, states)
    return _pulse_sequence_model(w0, directions, *device_args, ctoc, states)


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


@jit_parallel
def _symmetry_search_model(w, a_up, a_down, b_up, b_down, w_min, w_max, model, table, ctoc, ramp,
                           pairs, n_avg, states):
    """:func:`_symmetry_search` for a table-driven model (``model``, ``table``): the same pulses
    in the same order, written as one schedule of single pulses (one call site keeps the
    compile time of this parallel kernel low)."""
    n_out, n_in = w.shape
    sp = np.empty_like(w)
    first_avg = 2 * ramp + 2 * (pairs - n_avg)
    total = 2 * ramp + 2 * pairs
    for i in prange(n_out):
        for j in range(n_in):
            x = w[i, j]
            acc = 0.0
            for p in range(total):
                up = p < ramp if p < 2 * ramp else (p - 2 * ramp) % 2 == 0
                x = apply_model_pulses(x, 1, up, model, a_up[i, j], a_down[i, j], b_up[i, j],
                                       b_down[i, j], w_min[i, j], w_max[i, j], table, ctoc,
                                       states, i)
                if p >= first_avg:
                    acc += x
            w[i, j] = x
            sp[i, j] = acc / (2 * n_avg)
    return sp


def symmetry_search(w, device_args, ctoc, ramp, pairs, n_avg, states):
    """Public wrapper of :func:`_symmetry_search`: runs the protocol on ``w`` (n_out, n_in) in
    place with ``device_args`` (``DeviceArray.kernel_args()``) and returns the symmetry points
    (n_out, n_in); ``states`` (n_out,) advance in place."""
    if len(device_args) == 6:
        return _symmetry_search(w, *device_args, ctoc, ramp, pairs, n_avg, states)
    return _symmetry_search_model(w, *device_args, ctoc, ramp, pairs, n_avg, states)


