"""The update kernels: stochastic pulse-coincidence (pulsed) and expected-count updates.

A mini-batch ``X`` (B, n_in), ``D`` (B, n_out) is applied as B consecutive rank-one updates
``dW = -lr d_b x_b^T``. Rows of the array are independent under rank-one updates, so the
parallel loop runs over rows and, inside each row, over the samples in order: every device sees
its pulses in the same order as a serial pass.

Random streams (so that serial, parallel and the numpy twin agree): the x pulse trains of all
samples come from ``x_state[0]`` in sample-major, column order; the d pulse train of row i and
the cycle-to-cycle noise of its devices come from ``row_states[i]``.
"""

import math

import numpy as np
from numba import prange

from rramsim.kernels._bits import _lowest_bit, _popcount
from rramsim.kernels._jit import inline, jit, serial_and_parallel, use_parallel
from rramsim.kernels.device import (
    apply_model_pulses,
    apply_pulses,
    expected_model_pulses,
    one_pulse,
)
from rramsim.kernels.rng import next_u64, normal_from

_M32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_ONE = np.uint64(1)
_TWO32 = 4294967296.0


@inline
def bernoulli_train(p, bl, state, k):
    """A pulse train of ``bl`` slots, each firing with probability ``p``, as a bit mask.

    Two slots per 64-bit draw (low then high 32 bits compared with ``p * 2**32``).
    """
    thr = np.uint64(p * _TWO32)
    mask = np.uint64(0)
    for t in range(0, bl, 2):
        r = next_u64(state, k)
        if (r & _M32) < thr:
            mask |= _ONE << np.uint64(t)
        if t + 1 < bl and (r >> _S32) < thr:
            mask |= _ONE << np.uint64(t + 1)
    return mask


@jit
def _update_scales(X, D, lr, dw_min, bl, update_management, pulse_length_management):
    """Per-sample pulse length and probability scales.

    Returns ``bls`` (B,) int64 (0: nothing to do), ``cx`` (B,), ``cd`` (B,) with
    ``cx * cd = lr / (dw_min * bls)``.
    """
    B = X.shape[0]
    bls = np.zeros(B, dtype=np.int64)
    cx = np.zeros(B)
    cd = np.zeros(B)
    for b in range(B):
        x_max = 0.0
        for j in range(X.shape[1]):
            x_max = max(x_max, abs(X[b, j]))
        d_max = 0.0
        for i in range(D.shape[1]):
            d_max = max(d_max, abs(D[b, i]))
        if x_max == 0.0 or d_max == 0.0 or lr == 0.0:
            continue
        n = bl
        if pulse_length_management:
            # compare in floating point first: the ratio can exceed the int64 range
            n = int(max(min(np.ceil(lr * x_max * d_max / dw_min), bl), 1))
        k = lr / (dw_min * n)
        bls[b] = n
        if update_management:
            cx[b] = math.sqrt(k * d_max / x_max)
            cd[b] = math.sqrt(k * x_max / d_max)
        else:
            cx[b] = math.sqrt(k)
            cd[b] = math.sqrt(k)
    return bls, cx, cd


@jit
def _x_trains(X, bls, cx, x_state):
    """Pulse trains of the inputs: for each sample the columns that fire at least once.

    Returns ``cols`` (B, n_in) int64, ``masks`` (B, n_in) uint64, ``up`` (B, n_in) bool (x > 0)
    and ``count`` (B,): the first ``count[b]`` entries of row b are valid.
    """
    B, n_in = X.shape
    cols = np.empty((B, n_in), dtype=np.int64)
    masks = np.empty((B, n_in), dtype=np.uint64)
    up = np.empty((B, n_in), dtype=np.bool_)
    count = np.zeros(B, dtype=np.int64)
    for b in range(B):
        if bls[b] == 0:
            continue
        c = 0
        for j in range(n_in):
            x = X[b, j]
            if x == 0.0:
                continue
            m = bernoulli_train(min(cx[b] * abs(x), 1.0), bls[b], x_state, 0)
            if m != 0:
                cols[b, c] = j
                masks[b, c] = m
                up[b, c] = x > 0.0
                c += 1
        count[b] = c
    return cols, masks, up, count


def _pulsed_rows(w, w_eff, ref, a_up, a_down, b_up, b_down, w_min, w_max, ctoc, D, bls, cd,
                 cols, masks, up, count, row_states):
    """Apply all coincidences, row-parallel. Returns the number of device pulses applied."""
    n_out = w.shape[0]
    B = D.shape[0]
    pulses = np.zeros(n_out, dtype=np.int64)
    for i in prange(n_out):
        for b in range(B):
            if bls[b] == 0:
                continue
            d = D[b, i]
            if d == 0.0:
                continue
            md = bernoulli_train(min(cd[b] * abs(d), 1.0), bls[b], row_states, i)
            if md == 0:
                continue
            d_pos = d > 0.0
            for c in range(count[b]):
                n = np.int64(_popcount(md & masks[b, c]))
                if n == 0:
                    continue
                j = cols[b, c]
                # dW = -lr d x: an up pulse when d and x have opposite signs.
                go_up = d_pos != up[b, c]
                w[i, j] = apply_pulses(w[i, j], n, go_up, a_up[i, j], a_down[i, j], b_up[i, j],
                                       b_down[i, j], w_min[i, j], w_max[i, j], ctoc,
                                       row_states, i)
                w_eff[i, j] = w[i, j] - ref[i, j]
                pulses[i] += n
    return pulses.sum()


_pulsed_rows_serial, _pulsed_rows_parallel = serial_and_parallel(_pulsed_rows)


def _pulsed_rows_model(w, w_eff, ref, a_up, a_down, b_up, b_down, w_min, w_max, model, table,
                       ctoc, D, bls, cd, cols, masks, up, count, row_states):
    """:func:`_pulsed_rows` for a table-driven device model (same random streams and order)."""
    n_out = w.shape[0]
    B = D.shape[0]
    pulses = np.zeros(n_out, dtype=np.int64)
    for i in prange(n_out):
        for b in range(B):
            if bls[b] == 0:
                continue
            d = D[b, i]
            if d == 0.0:
                continue
            md = bernoulli_train(min(cd[b] * abs(d), 1.0), bls[b], row_states, i)
            if md == 0:
                continue
            d_pos = d > 0.0
            for c in range(count[b]):
                n = np.int64(_popcount(md & masks[b, c]))
                if n == 0:
                    continue
                j = cols[b, c]
                go_up = d_pos != up[b, c]
                w[i, j] = apply_model_pulses(w[i, j], n, go_up, model, a_up[i, j], a_down[i, j],
                                             b_up[i, j], b_down[i, j], w_min[i, j], w_max[i, j],
                                             table, ctoc, row_states, i)
                w_eff[i, j] = w[i, j] - ref[i, j]
                pulses[i] += n
    return pulses.sum()


_pulsed_rows_model_serial, _pulsed_rows_model_parallel = serial_and_parallel(_pulsed_rows_model)


#: Arrays with at least this many rows search coincidences slot by slot
#: (:func:`_pulsed_rows_sparse`); smaller ones scan every fired column (both give the same hits in
#: the same order: measured on the MNIST MLP, the slot search is faster for the 256- and
#: 128-row layers and slower for the 10-row one, whose few rows fire in most slots).
SLOT_SEARCH_MIN_ROWS = 32

_ZERO = np.uint64(0)


def _pulsed_rows_sparse(w, w_eff, ref, a_up, a_down, b_up, b_down, w_min, w_max, ctoc, D, bls,
                        cd, cols, masks, up, count, row_states, use_slots):
    """:func:`_pulsed_rows` (serial) with a coincidence search whose cost follows the pulses.

    The same random streams, hits and pulse order as :func:`_pulsed_rows`, so the same numbers
    (tested): samples outer, rows inner, which keeps each row's stream order (d train of sample
    b, then the factors of its pulses, then sample b + 1) and each device's pulse order.

    Per sample, ``slots[t]`` is the bit set of the fired columns (their index in ``cols``) that
    fire in slot t. A row's candidate columns are the union of ``slots[t]`` over the slots t in
    which the row fires: ``popcount(d train)`` ORs of ``count / 64`` words instead of one test
    per fired column, and only columns that coincide at least once are visited (in ascending
    order, as in the scan; ``use_slots`` False: the scan of every fired column, branch-free).
    Then the row's cycle-to-cycle factors ``1 + ctoc xi``, one per
    pulse, are drawn in one tight loop with the stream state held in a register
    (:func:`~rramsim.kernels.rng.normal_from`), the order in which the scan draws them; the
    pulses apply them. Measured on the MNIST MLP: the time of the scan kernel was in the
    per-pair branch on a hit and the per-pulse store and reload of the stream state, not in
    the popcounts (a slot search alone, without the other two changes, was 0.92x).
    """
    n_out, n_in = w.shape
    B = D.shape[0]
    pulses = 0
    nw_max = (n_in + 63) // 64
    slots = np.zeros((64, nw_max), dtype=np.uint64)
    cand = np.zeros(nw_max, dtype=np.uint64)
    hit_c = np.empty(n_in, dtype=np.int64)
    hit_n = np.empty(n_in, dtype=np.int64)
    factors = np.empty(64 * n_in)
    for b in range(B):
        bl = bls[b]
        if bl == 0:
            continue
        cnt = count[b]
        nw = (cnt + 63) // 64
        if use_slots:
            for t in range(bl):
                for q in range(nw):
                    slots[t, q] = _ZERO
            for c in range(cnt):
                m = masks[b, c]
                bit = _ONE << np.uint64(c & 63)
                while m != _ZERO:
                    slots[_lowest_bit(m), c >> 6] |= bit
                    m &= m - _ONE
        for i in range(n_out):
            d = D[b, i]
            if d == 0.0:
                continue
            md = bernoulli_train(min(cd[b] * abs(d), 1.0), bl, row_states, i)
            if md == _ZERO:
                continue
            h = 0
            total = 0
            if use_slots:
                for q in range(nw):
                    cand[q] = _ZERO
                m = md
                while m != _ZERO:
                    t = _lowest_bit(m)
                    for q in range(nw):
                        cand[q] |= slots[t, q]
                    m &= m - _ONE
                for q in range(nw):
                    a = cand[q]
                    while a != _ZERO:
                        c = q * 64 + np.int64(_lowest_bit(a))
                        n = np.int64(_popcount(md & masks[b, c]))
                        hit_c[h] = c
                        hit_n[h] = n
                        h += 1
                        total += n
                        a &= a - _ONE
            else:
                for c in range(cnt):  # branch-free: a miss is overwritten by the next column
                    n = np.int64(_popcount(md & masks[b, c]))
                    hit_c[h] = c
                    hit_n[h] = n
                    h += n != 0
                    total += n
            if h == 0:
                continue
            if ctoc > 0.0:
                s = row_states[i]
                for k in range(total):
                    s, xi = normal_from(s)
                    factors[k] = 1.0 + ctoc * xi
                row_states[i] = s
            else:
                for k in range(total):
                    factors[k] = 1.0
            d_pos = d > 0.0
            k = 0
            for q in range(h):
                c = hit_c[q]
                j = cols[b, c]
                # dW = -lr d x: an up pulse when d and x have opposite signs.
                go_up = d_pos != up[b, c]
                x = w[i, j]
                au, ad, bu, bd = a_up[i, j], a_down[i, j], b_up[i, j], b_down[i, j]
                lo, hi = w_min[i, j], w_max[i, j]
                for _ in range(hit_n[q]):
                    x = one_pulse(x, go_up, au, ad, bu, bd, lo, hi, factors[k])
                    k += 1
                w[i, j] = x
                w_eff[i, j] = x - ref[i, j]
            pulses += total
    return pulses


_pulsed_rows_sparse_serial = jit(_pulsed_rows_sparse)


@inline
def expected_pulses(w, n, go_up, a_up, a_down, b_up, b_down, w_min, w_max):
    """``n`` (real, >= 0) noise-free pulses in closed form: the linear-step recursion
    ``w <- w + a - b w`` gives ``w_n = w + (a / b - w) (1 - (1 - b)^n)`` (``w + n a`` for b = 0).
    Equals n pulses applied one by one for integer n."""
    if go_up:
        a, s = a_up, b_up
    else:
        a, s = -a_down, -b_down
    if s == 0.0:
        w = w + n * a
    elif s >= 1.0:
        # Degenerate device (one step reaches past its bound): a whole pulse lands at or beyond
        # the fixed point a / s and is clipped there; a fraction of a pulse moves part way.
        w = w + min(n, 1.0) * (a / s - w)
    else:
        w = w + (a / s - w) * (-math.expm1(n * math.log1p(-s)))
    if w > w_max:
        w = w_max
    elif w < w_min:
        w = w_min
    return w


def _expected_rows(w, w_eff, ref, a_up, a_down, b_up, b_down, w_min, w_max, X, D, bls, cx, cd):
    """Expected-count update: each device gets ``bl p_j q_i`` pulses in closed form."""
    n_out, n_in = w.shape
    B = D.shape[0]
    for i in prange(n_out):
        for b in range(B):
            d = D[b, i]
            if bls[b] == 0 or d == 0.0:
                continue
            q = min(cd[b] * abs(d), 1.0)
            for j in range(n_in):
                x = X[b, j]
                if x == 0.0:
                    continue
                n = bls[b] * q * min(cx[b] * abs(x), 1.0)
                go_up = (d > 0.0) != (x > 0.0)
                w[i, j] = expected_pulses(w[i, j], n, go_up, a_up[i, j], a_down[i, j],
                                          b_up[i, j], b_down[i, j], w_min[i, j], w_max[i, j])
                w_eff[i, j] = w[i, j] - ref[i, j]


_expected_rows_serial, _expected_rows_parallel = serial_and_parallel(_expected_rows)


def _expected_rows_model(w, w_eff, ref, a_up, a_down, b_up, b_down, w_min, w_max, model, table,
                         X, D, bls, cx, cd):
    """:func:`_expected_rows` for a table-driven device model (mean steps, no sampling)."""
    n_out, n_in = w.shape
    B = D.shape[0]
    for i in prange(n_out):
        for b in range(B):
            d = D[b, i]
            if bls[b] == 0 or d == 0.0:
                continue
            q = min(cd[b] * abs(d), 1.0)
            for j in range(n_in):
                x = X[b, j]
                if x == 0.0:
                    continue
                n = bls[b] * q * min(cx[b] * abs(x), 1.0)
                go_up = (d > 0.0) != (x > 0.0)
                w[i, j] = expected_model_pulses(w[i, j], n, go_up, model, a_up[i, j],
                                                a_down[i, j], b_up[i, j], b_down[i, j],
                                                w_min[i, j], w_max[i, j], table)
                w_eff[i, j] = w[i, j] - ref[i, j]


_expected_rows_model_serial, _expected_rows_model_parallel = serial_and_parallel(
    _expected_rows_model)


@jit
def _pulsed_update_serial(w, w_eff, ref, a_up, a_down, b_up, b_down, w_min, w_max, ctoc, X, D,
                          lr, dw_min, bl, update_management, pulse_length_management, x_state,
                          row_states):
    """Scales, x trains and coincidences in one compiled call (serial): a batch-1 update of a
    small array costs less than the dispatch of three kernels from Python."""
    bls, cx, cd = _update_scales(X, D, lr, dw_min, bl, update_management,
                                 pulse_length_management)
    cols, masks, up, count = _x_trains(X, bls, cx, x_state)
    return _pulsed_rows_sparse_serial(w, w_eff, ref, a_up, a_down, b_up, b_down, w_min, w_max,
                                      ctoc, D, bls, cd, cols, masks, up, count, row_states,
                                      w.shape[0] >= SLOT_SEARCH_MIN_ROWS)


@jit
def _expected_update_serial(w, w_eff, ref, a_up, a_down, b_up, b_down, w_min, w_max, X, D, lr,
                            dw_min, bl, update_management, pulse_length_management):
    """Scales and expected-count rows in one compiled call (serial)."""
    bls, cx, cd = _update_scales(X, D, lr, dw_min, bl, update_management,
                                 pulse_length_management)
    _expected_rows_serial(w, w_eff, ref, a_up, a_down, b_up, b_down, w_min, w_max, X, D, bls, cx,
                          cd)


#: The compiled serial updates of the linear device family, for other kernels to call
#: (compiled code cannot call the Python wrappers below; the compiled training step,
#: :mod:`rramsim.kernels.step`, does). Same arguments as the kernels, the six device arrays
#: spelled out; they give the numbers of :func:`pulsed_update` and :func:`expected_update`
#: (the parallel kernels give the serial ones' numbers).
compiled_pulsed_update = _pulsed_update_serial
compiled_expected_update = _expected_update_serial


def pulsed_update(w, w_eff, ref, dev_args, ctoc, X, D, lr, dw_min, bl, update_management,
                  pulse_length_management, x_state, row_states):
    """Apply B consecutive pulsed rank-one updates in place; return the device pulse count.

    ``w`` (device weights), ``w_eff`` (= w - ref, kept in sync), ``ref``: (n_out, n_in);
    ``dev_args``: ``DeviceArray.kernel_args()``, the six per-device arrays (linear-step family)
    or the six arrays, the model code and the table; X (B, n_in); D (B, n_out).
    """
    if len(dev_args) != 6:
        bls, cx, cd = _update_scales(X, D, lr, dw_min, bl, update_management,
                                     pulse_length_management)
        cols, masks, up, count = _x_trains(X, bls, cx, x_state)
        kernel = _pulsed_rows_model_parallel if use_parallel(count.sum() * w.shape[0]) else \
            _pulsed_rows_model_serial
        return int(kernel(w, w_eff, ref, *dev_args, ctoc, D, bls, cd, cols, masks, up, count,
                          row_states))
    if not use_parallel(X.size * w.shape[0]):  # bounds the work: serial whatever fires
        return int(_pulsed_update_serial(w, w_eff, ref, *dev_args, ctoc, X, D, lr, dw_min, bl,
                                         update_management, pulse_length_management, x_state,
                                         row_states))
    bls, cx, cd = _update_scales(X, D, lr, dw_min, bl, update_management,
                                 pulse_length_management)
    cols, masks, up, count = _x_trains(X, bls, cx, x_state)
    kernel = _pulsed_rows_parallel if use_parallel(count.sum() * w.shape[0]) else \
        _pulsed_rows_serial
    return int(kernel(w, w_eff, ref, *dev_args, ctoc, D, bls, cd, cols, masks, up, count,
                      row_states))


def expected_update(w, w_eff, ref, dev_args, X, D, lr, dw_min, bl, update_management,
                    pulse_length_management):
    """Apply B consecutive expected-count rank-one updates in place (deterministic)."""
    bls, cx, cd = _update_scales(X, D, lr, dw_min, bl, update_management,
                                 pulse_length_management)
    if len(dev_args) != 6:
        kernel = _expected_rows_model_parallel if use_parallel(X.size * w.shape[0]) else \
            _expected_rows_model_serial
        kernel(w, w_eff, ref, *dev_args, X, D, bls, cx, cd)
        return
    kernel = _expected_rows_parallel if use_parallel(X.size * w.shape[0]) else \
        _expected_rows_serial
    kernel(w, w_eff, ref, *dev_args, X, D, bls, cx, cd)
