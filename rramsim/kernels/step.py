"""The compiled training step: forward, loss gradient, backward and every tile's update of a
network of analog dense layers, for a run of mini-batches in one compiled call.

It runs, per mini-batch and in the same order, exactly the operations of the layer-by-layer
reference path (``rramsim.nn``: :class:`~rramsim.nn.AnalogLinear` and its tile, the sigmoid or
ReLU between layers, :class:`~rramsim.nn.SoftmaxCrossEntropy`, :class:`~rramsim.nn.SGD`),
through the same compiled building blocks (:data:`rramsim.kernels.mvm.compiled_analog_mvm`,
:data:`rramsim.kernels.update.compiled_pulsed_update`, ``compiled_expected_update``,
:mod:`rramsim.kernels.activations`) on the tiles' own arrays and random streams, so it gives the
reference path's numbers bit for bit (``tests/test_step.py``). The Python side that describes a
network to this kernel and checks what it is given once per run is
:mod:`rramsim.nn.compiled`.

Transfer tiles (:class:`~rramsim.analog.transfer.TransferTile`, gamma = 0): the passes read
the slow array C; the update is :meth:`TransferTile.update` written out (choppers, the pulsed
update of the fast array A in pieces that end at a transfer), and each transfer calls the
transfer kernels of :mod:`rramsim.kernels.transfer` (``_read_columns``, ``_buffered_transfer``,
``_apply_counts``) once, in the reference path's order. Mixed-precision tiles
(:class:`~rramsim.analog.transfer.MixedPrecisionTile`): :meth:`MixedPrecisionTile.update`
written out around ``_mixed_precision_accumulate`` and ``_apply_counts``.

Layer description (per layer li; ``imeta`` int64 (L, N_IMETA), ``fmeta`` float64 (L, N_FMETA),
columns named by the constants below). Arrays (AnalogTiles): 0 .. L - 1 are the arrays the
layers read (the tile, its slow array C, or the mixed-precision tile's one array), then the fast
arrays A (``imeta[li, FAST]``); array ai's arrays are ``arrs[9 ai : 9 ai + 9]`` (``w``,
``w_eff``, ``ref``, ``a_up``, ``a_down``, ``b_up``, ``b_down``, ``w_min``, ``w_max``, each
(n_out, n_cols)) and its streams ``states[4 ai : 4 ai + 4]`` (forward noise, backward noise,
input trains, row streams). A transfer layer's own state follows: buffer H, AGAD's mean and
reference at ``arrs[imeta[li, T_ARRS] + 0, 1, 2]``; the read and chopper streams at
``states[imeta[li, T_STATES] + 0, 1]``; ``phase``, ``in_chop``, ``out_chop`` (int8) at
``i8s[imeta[li, T_I8] + 0, 1, 2]``; the counters (updates, next column, passes; int64 (3,)) at
``i64s[imeta[li, T_I64]]``. A mixed-precision layer's: chi at ``arrs[imeta[li, T_ARRS]]``, its
update counter (1,) and the int64 scratch lists rows, cols, counts (n_out n_cols,) at
``i64s[imeta[li, T_I64] + 0, 1, 2, 3]``. ``counters`` (n_arrays, 3) int64 accumulates each
array's device pulses, bound-management repetitions and update calls.
"""

import numpy as np

from rramsim.kernels._jit import jit
from rramsim.kernels.activations import log_likelihood, sigmoid_value, softmax_row
from rramsim.kernels.mvm import compiled_analog_mvm
from rramsim.kernels.transfer import (
    _apply_counts,
    _buffered_transfer,
    _mixed_precision_accumulate,
    _read_columns,
)
from rramsim.kernels.update import compiled_expected_update, compiled_pulsed_update

#: ``imeta`` columns (the algorithm ones, from KIND on, are 0 for plain SGD layers).
(MODE, N_IN, N_OUT, BIAS, ACT, INPUT_GRAD, BL, UM, PLM,
 F_PERFECT, F_INP_BITS, F_OUT_BITS, F_NM, F_BM, F_BM_ITER,
 B_PERFECT, B_INP_BITS, B_OUT_BITS, B_NM, B_BM, B_BM_ITER,
 KIND, FAST, TE, N_READS, T_ARRS, T_STATES, T_I8, T_I64, CHOPPED, DYNAMIC, FORGET, T_BL,
 PERIOD, IN_RANDOM, F_F32, B_F32) = range(37)
N_IMETA = 37
#: ``fmeta`` columns.
(W_SCALE, DW_MIN, CTOC, F_INP_BOUND, F_OUT_BOUND, F_OUT_NOISE,
 B_INP_BOUND, B_OUT_BOUND, B_OUT_NOISE,
 FAST_LR, TRANSFER_LR, THRES_DW, MOMENTUM, CAP, BETA, IN_PROB, OUT_PROB, READ_U, FAST_CTOC,
 APPLY_CTOC, MP_EPS) = range(21)
N_FMETA = 21
#: ``imeta[:, MODE]`` values (``update.mode``), ``imeta[:, ACT]`` values and
#: ``imeta[:, KIND]`` values (plain SGD, Tiki-Taka, the buffered kinds ttv2, c-ttv2, agad,
#: mixed precision).
PULSED, EXPECTED, IDEAL = 0, 1, 2
NO_ACT, SIGMOID, RELU = 0, 1, 2
SGD_KIND, TTV1, BUFFERED, MIXED = 0, 1, 2, 3
#: ``counters`` columns, per array: device pulses, bound-management repetitions, update calls.
C_PULSES, C_REPEATS, C_UPDATES = 0, 1, 2


@jit
def _pass(li, M, X, imeta, fmeta, state, forward):
    """One analog pass of layer li: ``X M^T`` through its forward or backward peripherals
    (:meth:`AnalogTile.forward` / ``backward``), times the weight scale. Returns (Y, repeats)."""
    o = 0 if forward else B_PERFECT - F_PERFECT
    fo = 0 if forward else B_INP_BOUND - F_INP_BOUND
    if imeta[li, F_PERFECT + o] != 0:
        Y = np.dot(X, M.T)
        rep = 0
    else:
        Y, rep = compiled_analog_mvm(M, X, imeta[li, F_INP_BITS + o], fmeta[li, F_INP_BOUND + fo],
                                     imeta[li, F_OUT_BITS + o], fmeta[li, F_OUT_BOUND + fo],
                                     fmeta[li, F_OUT_NOISE + fo], imeta[li, F_NM + o] != 0,
                                     imeta[li, F_BM + o] != 0, imeta[li, F_BM_ITER + o],
                                     imeta[li, F_F32 if forward else B_F32] != 0, state)
    ws = fmeta[li, W_SCALE]
    if ws != 1.0:
        Y *= ws
    return Y, rep


@jit
def _update(ai, li, X, D, lr, ctoc, imeta, fmeta, arrs, states):
    """The update ``W <- W - lr D^T X`` (:meth:`AnalogTile.update`) of array ai, with the
    settings of layer li; returns the pulses."""
    w, w_eff, ref = arrs[9 * ai], arrs[9 * ai + 1], arrs[9 * ai + 2]
    a_up, a_down, b_up, b_down = arrs[9 * ai + 3], arrs[9 * ai + 4], arrs[9 * ai + 5], \
        arrs[9 * ai + 6]
    w_min, w_max = arrs[9 * ai + 7], arrs[9 * ai + 8]
    lr = lr / fmeta[li, W_SCALE]
    mode = imeta[li, MODE]
    if mode == IDEAL:
        G = np.dot(D.T, X)
        n_out, n_cols = w.shape
        for i in range(n_out):
            for j in range(n_cols):
                v = w[i, j] - lr * G[i, j]
                # np.clip(v, lo, hi) = minimum(maximum(v, lo), hi)
                v = max(v, w_min[i, j])
                v = min(v, w_max[i, j])
                w[i, j] = v
                w_eff[i, j] = v - ref[i, j]
        return 0
    if mode == EXPECTED:
        compiled_expected_update(w, w_eff, ref, a_up, a_down, b_up, b_down, w_min, w_max, X, D,
                                 lr, fmeta[li, DW_MIN], imeta[li, BL], imeta[li, UM] != 0,
                                 imeta[li, PLM] != 0)
        return 0
    return compiled_pulsed_update(w, w_eff, ref, a_up, a_down, b_up, b_down, w_min, w_max,
                                  ctoc, X, D, lr, fmeta[li, DW_MIN], imeta[li, BL],
                                  imeta[li, UM] != 0, imeta[li, PLM] != 0, states[4 * ai + 2],
                                  states[4 * ai + 3])


@jit
def _apply_list(li, rows, cols, counts, imeta, fmeta, arrs, states):
    """Whole pulses ``counts[q]`` onto device (rows[q], cols[q]) of array li (the array layer
    li reads), in list order (:meth:`AnalogTile.apply_pulses`); returns the pulses."""
    m = rows.shape[0]
    if m == 0:
        return 0
    w, w_eff, ref = arrs[9 * li], arrs[9 * li + 1], arrs[9 * li + 2]
    w_min, w_max = arrs[9 * li + 7], arrs[9 * li + 8]
    if imeta[li, MODE] == IDEAL:
        # dw = counts dw_min at the listed devices; w <- clip(w + dw), every device
        n_out, n_cols = w.shape
        dw = np.zeros((n_out, n_cols))
        total = 0
        for q in range(m):
            dw[rows[q], cols[q]] += counts[q] * fmeta[li, DW_MIN]
            total += abs(counts[q])
        for i in range(n_out):
            for j in range(n_cols):
                v = w[i, j] + dw[i, j]
                v = max(v, w_min[i, j])
                v = min(v, w_max[i, j])
                w[i, j] = v
                w_eff[i, j] = v - ref[i, j]
        return total
    return _apply_counts(w, w_eff, ref, arrs[9 * li + 3], arrs[9 * li + 4], arrs[9 * li + 5],
                         arrs[9 * li + 6], w_min, w_max, fmeta[li, APPLY_CTOC], rows, cols,
                         counts, states[4 * li + 3])


@jit
def _apply_steps(li, cols, steps, imeta, fmeta, arrs, states):
    """Whole pulses ``steps[c, i]`` onto device (i, cols[c]) of layer li's slow array, in
    ``np.nonzero`` order; returns the pulses."""
    k, n_out = steps.shape
    m = 0
    for c in range(k):
        for i in range(n_out):
            if steps[c, i] != 0:
                m += 1
    rows = np.empty(m, dtype=np.int64)
    cs = np.empty(m, dtype=np.int64)
    counts = np.empty(m, dtype=np.int64)
    m = 0
    for c in range(k):
        for i in range(n_out):
            if steps[c, i] != 0:
                rows[m] = i
                cs[m] = cols[c]
                counts[m] = steps[c, i]
                m += 1
    return _apply_list(li, rows, cs, counts, imeta, fmeta, arrs, states)


@jit
def _mixed_precision_update(li, X, D, lr, imeta, fmeta, arrs, states, i64s, counters):
    """Layer li's update on a mixed-precision tile (:meth:`MixedPrecisionTile.update`): the
    digital accumulator chi, its whole pulses after every ``transfer_every``-th sample."""
    every = imeta[li, TE]
    t = imeta[li, T_I64]
    cnt, rows, cols, counts = i64s[t], i64s[t + 1], i64s[t + 2], i64s[t + 3]
    chi = arrs[imeta[li, T_ARRS]]
    lr = lr / fmeta[li, W_SCALE]
    B = X.shape[0]
    start = 0
    while start < B:
        stop = min(B, start + every - cnt[0] % every)
        cnt[0] += stop - start
        due = cnt[0] % every == 0
        scan = (1 if every == 1 else 2) if due else 0
        no_chop = np.empty(0, dtype=np.int8)
        Xc, Dc = _samples(X, D, start, stop, no_chop, no_chop, False)
        m = _mixed_precision_accumulate(chi, Xc, Dc, lr, fmeta[li, MP_EPS], scan, rows, cols,
                                        counts)
        if m:
            counters[li, C_PULSES] += _apply_list(li, rows[:m], cols[:m], counts[:m], imeta,
                                                  fmeta, arrs, states)
        start = stop


@jit
def _samples(X, D, start, stop, in_chop, out_chop, chopped):
    """Samples ``start:stop`` of X (B, n_cols) and D (B, n_out), each column times its chopper
    sign (``in_chop``, ``out_chop``) when ``chopped``; X and D themselves when that is all of
    them unchanged, copies otherwise."""
    B, n_cols = X.shape
    n_out = D.shape[1]
    if start == 0 and stop == B and not chopped:
        return X, D
    Xc = np.empty((stop - start, n_cols))
    Dc = np.empty((stop - start, n_out))
    for b in range(stop - start):
        for j in range(n_cols):
            Xc[b, j] = X[start + b, j] * in_chop[j] if chopped else X[start + b, j]
        for i in range(n_out):
            Dc[b, i] = D[start + b, i] * out_chop[i] if chopped else D[start + b, i]
    return Xc, Dc


@jit
def _transfer(li, lr, imeta, fmeta, arrs, states, i8s, i64s, counters):
    """One transfer of layer li (:meth:`TransferTile._transfer`): the next columns of the fast
    array read, then written onto the slow array (ttv1: as a pulsed update; buffered kinds:
    through the buffer, as whole pulses)."""
    fa = imeta[li, FAST]
    cnt = i64s[imeta[li, T_I64]]
    w_eff = arrs[9 * fa + 1]
    n_out, n_cols = w_eff.shape
    k = min(imeta[li, N_READS], n_cols)
    first = cnt[1]
    cols = np.empty(k, dtype=np.int64)
    for c in range(k):
        cols[c] = (first + c) % n_cols
    cnt[1] = (first + k) % n_cols
    if imeta[li, F_PERFECT] != 0:
        R = np.empty((k, n_out))
        for c in range(k):
            for i in range(n_out):
                R[c, i] = w_eff[i, cols[c]]
    else:
        R = _read_columns(w_eff, cols, fmeta[li, READ_U], fmeta[li, F_OUT_NOISE],
                          fmeta[li, F_OUT_BOUND], imeta[li, F_OUT_BITS],
                          states[imeta[li, T_STATES]])
    if imeta[li, KIND] == TTV1:
        # C += transfer_lr lr a_j: the update -lr' d x^T with d = -a_j, x = e_j
        E = np.zeros((k, n_cols))
        for c in range(k):
            E[c, cols[c]] = 1.0
            if cols[c] == n_cols - 1:
                cnt[2] += 1
        ws = fmeta[li, W_SCALE]
        counters[li, C_PULSES] += _update(li, li, E, -R, fmeta[li, TRANSFER_LR] * lr * ws,
                                          fmeta[li, CTOC], imeta, fmeta, arrs, states)
        counters[li, C_UPDATES] += 1
        return
    ta, t8 = imeta[li, T_ARRS], imeta[li, T_I8]
    steps = _buffered_transfer(R, cols, arrs[ta], arrs[ta + 1], arrs[ta + 2], i8s[t8],
                               i8s[t8 + 1], i8s[t8 + 2], cnt[2:], imeta[li, DYNAMIC] != 0,
                               fmeta[li, TRANSFER_LR] * lr / fmeta[li, THRES_DW],
                               fmeta[li, MOMENTUM], imeta[li, FORGET] != 0, imeta[li, T_BL],
                               fmeta[li, CAP], fmeta[li, BETA], imeta[li, PERIOD],
                               fmeta[li, IN_PROB], imeta[li, IN_RANDOM] != 0,
                               fmeta[li, OUT_PROB], states[imeta[li, T_STATES] + 1])
    counters[li, C_PULSES] += _apply_steps(li, cols, steps, imeta, fmeta, arrs, states)


@jit
def _transfer_update(li, X, D, lr, imeta, fmeta, arrs, states, i8s, i64s, counters):
    """Layer li's update on a transfer tile (:meth:`TransferTile.update`): the pulsed update
    ``-fast_lr lr D^T X`` onto the fast array (signs flipped by the choppers), split so that a
    transfer follows every ``transfer_every``-th sample."""
    fa = imeta[li, FAST]
    te = imeta[li, TE]
    cnt = i64s[imeta[li, T_I64]]
    chopped = imeta[li, CHOPPED] != 0
    in_chop, out_chop = i8s[imeta[li, T_I8] + 1], i8s[imeta[li, T_I8] + 2]
    fast_lr = fmeta[li, FAST_LR] * lr
    B = X.shape[0]
    start = 0
    while start < B:
        stop = min(B, start + te - cnt[0] % te)
        Xc, Dc = _samples(X, D, start, stop, in_chop, out_chop, chopped)
        counters[fa, C_PULSES] += _update(fa, li, Xc, Dc, fast_lr, fmeta[li, FAST_CTOC], imeta,
                                          fmeta, arrs, states)
        counters[fa, C_UPDATES] += 1
        cnt[0] += stop - start
        if cnt[0] % te == 0:
            _transfer(li, lr, imeta, fmeta, arrs, states, i8s, i64s, counters)
        start = stop


@jit
def _train_batches(x, y, order, start, stop, batch, lr, imeta, fmeta, arrs, states, i8s, i64s,
                   ll, counters):
    """Train on the samples ``order[start:stop]`` in mini-batches of ``batch`` (the last one
    shorter when ``stop - start`` is not a multiple), in place on the tiles.

    x (N, n_in) float64, y (N,) int64 labels, order (N,) int64; ``ll`` (stop - start,) receives
    each sample's log-likelihood (the caller forms the batch losses, as the reference path does
    with numpy's mean); ``counters`` (n_arrays, 3) int64 accumulates each array's device
    pulses, bound-management repetitions and update calls. Returns False if some logits were
    not finite (the reference path raises there; the caller raises after the call), True
    otherwise.
    """
    L = imeta.shape[0]
    K = imeta[L - 1, N_OUT]
    finite = True
    xs = [np.empty((0, 0)) for _ in range(L)]  # each layer's input, bias column included
    hs = [np.empty((0, 0)) for _ in range(L)]  # each layer's activated output
    for s in range(start, stop, batch):
        nb = min(batch, stop - s)
        n0 = imeta[0, N_IN]
        h = np.empty((nb, n0))
        for b in range(nb):
            h[b] = x[order[s + b]]
        # forward
        for li in range(L):
            n_in = imeta[li, N_IN]
            X = np.empty((nb, n_in + imeta[li, BIAS]))
            for b in range(nb):
                for j in range(n_in):
                    X[b, j] = h[b, j]
                if imeta[li, BIAS] != 0:
                    X[b, n_in] = 1.0
            xs[li] = X
            Y, rep = _pass(li, arrs[9 * li + 1], X, imeta, fmeta, states[4 * li], True)
            counters[li, C_REPEATS] += rep
            act = imeta[li, ACT]
            if act == SIGMOID:
                for b in range(nb):
                    for i in range(Y.shape[1]):
                        Y[b, i] = sigmoid_value(Y[b, i])
            elif act == RELU:
                for b in range(nb):
                    for i in range(Y.shape[1]):
                        Y[b, i] = Y[b, i] * (Y[b, i] > 0.0)
            hs[li] = Y
            h = Y
        # loss gradient (softmax cross-entropy, averaged over the batch)
        G = np.empty((nb, K))
        for b in range(nb):
            for k in range(K):
                if not np.isfinite(h[b, k]):
                    finite = False
            softmax_row(h[b], G[b])
            label = y[order[s + b]]
            ll[s - start + b] = log_likelihood(G[b, label])
            G[b, label] -= 1.0
        for b in range(nb):
            for k in range(K):
                G[b, k] = G[b, k] / nb
        # backward: layer li's error is G; the error below it passes through li - 1's activation
        ds = [np.empty((0, 0)) for _ in range(L)]
        for li in range(L - 1, -1, -1):
            ds[li] = G
            if imeta[li, INPUT_GRAD] == 0:
                break
            w_eff = arrs[9 * li + 1]
            Z, rep = _pass(li, w_eff.T, G, imeta, fmeta, states[4 * li + 1], False)
            counters[li, C_REPEATS] += rep
            if li == 0:
                break
            n_in = imeta[li, N_IN]
            below = hs[li - 1]
            act = imeta[li - 1, ACT]
            Gn = np.empty((nb, n_in))
            for b in range(nb):
                for j in range(n_in):
                    g = Z[b, j]
                    if act == SIGMOID:
                        g = g * below[b, j] * (1.0 - below[b, j])
                    elif act == RELU:
                        g = g * (below[b, j] > 0.0)
                    Gn[b, j] = g
            G = Gn
        # updates, layer by layer in network order (SGD.step)
        for li in range(L):
            if imeta[li, KIND] == SGD_KIND:
                counters[li, C_PULSES] += _update(li, li, xs[li], ds[li], lr, fmeta[li, CTOC],
                                                  imeta, fmeta, arrs, states)
                counters[li, C_UPDATES] += 1
            elif imeta[li, KIND] == MIXED:
                _mixed_precision_update(li, xs[li], ds[li], lr, imeta, fmeta, arrs, states, i64s,
                                        counters)
            else:
                _transfer_update(li, xs[li], ds[li], lr, imeta, fmeta, arrs, states, i8s, i64s,
                                 counters)
    return finite


def train_batches(x, y, order, start, stop, batch, lr, imeta, fmeta, arrs, states, i8s, i64s,
                  ll, counters) -> bool:
    """Public wrapper of :func:`_train_batches` (arguments checked by
    :class:`rramsim.nn.compiled.CompiledStep`, once per run)."""
    return bool(_train_batches(x, y, order, start, stop, batch, lr, imeta, fmeta, arrs, states,
                               i8s, i64s, ll, counters))
