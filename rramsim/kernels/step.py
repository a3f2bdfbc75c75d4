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

Layer description (per layer li; ``imeta`` int64 (L, N_IMETA), ``fmeta`` float64 (L, N_FMETA),
columns named by the constants below); the tile arrays of layer li are ``arrs[9 li : 9 li + 9]``
(``w``, ``w_eff``, ``ref``, ``a_up``, ``a_down``, ``b_up``, ``b_down``, ``w_min``, ``w_max``,
each (n_out, n_cols)), its streams ``states[4 li : 4 li + 4]`` (forward noise, backward noise,
input trains, row streams).
"""

import numpy as np

from rramsim.kernels._jit import jit
from rramsim.kernels.activations import log_likelihood, sigmoid_value, softmax_row
from rramsim.kernels.mvm import compiled_analog_mvm
from rramsim.kernels.update import compiled_expected_update, compiled_pulsed_update

#: ``imeta`` columns.
(MODE, N_IN, N_OUT, BIAS, ACT, INPUT_GRAD, BL, UM, PLM,
 F_PERFECT, F_INP_BITS, F_OUT_BITS, F_NM, F_BM, F_BM_ITER,
 B_PERFECT, B_INP_BITS, B_OUT_BITS, B_NM, B_BM, B_BM_ITER) = range(21)
N_IMETA = 21
#: ``fmeta`` columns.
(W_SCALE, DW_MIN, CTOC, F_INP_BOUND, F_OUT_BOUND, F_OUT_NOISE,
 B_INP_BOUND, B_OUT_BOUND, B_OUT_NOISE) = range(9)
N_FMETA = 9
#: ``imeta[:, MODE]`` values (``update.mode``) and ``imeta[:, ACT]`` values.
PULSED, EXPECTED, IDEAL = 0, 1, 2
NO_ACT, SIGMOID, RELU = 0, 1, 2


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
                                     imeta[li, F_BM + o] != 0, imeta[li, F_BM_ITER + o], state)
    ws = fmeta[li, W_SCALE]
    if ws != 1.0:
        Y *= ws
    return Y, rep


@jit
def _update(li, X, D, lr, imeta, fmeta, arrs, states):
    """Layer li's update ``W <- W - lr D^T X`` (:meth:`AnalogTile.update`); returns the pulses."""
    w, w_eff, ref = arrs[9 * li], arrs[9 * li + 1], arrs[9 * li + 2]
    a_up, a_down, b_up, b_down = arrs[9 * li + 3], arrs[9 * li + 4], arrs[9 * li + 5], \
        arrs[9 * li + 6]
    w_min, w_max = arrs[9 * li + 7], arrs[9 * li + 8]
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
                                  fmeta[li, CTOC], X, D, lr, fmeta[li, DW_MIN], imeta[li, BL],
                                  imeta[li, UM] != 0, imeta[li, PLM] != 0, states[4 * li + 2],
                                  states[4 * li + 3])


@jit
def _train_batches(x, y, order, start, stop, batch, lr, imeta, fmeta, arrs, states, ll,
                   counters):
    """Train on the samples ``order[start:stop]`` in mini-batches of ``batch`` (the last one
    shorter when ``stop - start`` is not a multiple), in place on the tiles.

    x (N, n_in) float64, y (N,) int64 labels, order (N,) int64; ``ll`` (stop - start,) receives
    each sample's log-likelihood (the caller forms the batch losses, as the reference path does
    with numpy's mean); ``counters`` (L, 2) int64 accumulates each layer's device pulses and
    bound-management repetitions. Returns False if some logits were not finite (the reference
    path raises there; the caller raises after the call), True otherwise.
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
            counters[li, 1] += rep
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
            counters[li, 1] += rep
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
            counters[li, 0] += _update(li, xs[li], ds[li], lr, imeta, fmeta, arrs, states)
    return finite


def train_batches(x, y, order, start, stop, batch, lr, imeta, fmeta, arrs, states, ll,
                  counters) -> bool:
    """Public wrapper of :func:`_train_batches` (arguments checked by
    :class:`rramsim.nn.compiled.CompiledStep`, once per run)."""
    return bool(_train_batches(x, y, order, start, stop, batch, lr, imeta, fmeta, arrs, states,
                               ll, counters))
