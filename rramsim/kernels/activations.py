"""The elementwise math of the MLP's digital layers: the logistic sigmoid and softmax
cross-entropy, compiled.

Why compiled and not numpy: the compiled training step (:mod:`rramsim.kernels.step`) must give
the numbers of the layer-by-layer reference path bit for bit, and numpy's ``tanh``, ``exp`` and
``log`` are its own SIMD implementations, which differ from the C library's (which numba calls)
in the last bit for about a quarter of the ``tanh`` values on an AVX-512 machine (and differ
between machines with and without AVX-512). Both paths therefore call these functions. Their
numpy twins are in ``tests/naive.py`` (equal to within a few ulp, not bit for bit, for that
reason).
"""

import math

import numpy as np

from rramsim.kernels._jit import inline, jit


@inline
def sigmoid_value(x):
    """``1 / (1 + exp(-x))`` as ``0.5 (1 + tanh(x / 2))`` (no overflow for any x)."""
    return 0.5 * (1.0 + math.tanh(0.5 * x))


@jit
def _sigmoid(X):
    """Elementwise sigmoid of X (B, n) -> (B, n)."""
    B, n = X.shape
    Y = np.empty((B, n))
    for b in range(B):
        for j in range(n):
            Y[b, j] = sigmoid_value(X[b, j])
    return Y


def sigmoid(X: np.ndarray) -> np.ndarray:
    """Public wrapper of :func:`_sigmoid`: X (B, n) float64 -> (B, n) (a new array)."""
    return _sigmoid(np.ascontiguousarray(X, dtype=np.float64).reshape(len(X), -1)) \
        .reshape(np.shape(X))


@inline
def softmax_row(z, p):
    """Softmax of the logits ``z`` (K,) into ``p`` (K,), shifted by the row max for stability
    (the sum in index order)."""
    K = z.shape[0]
    m = z[0]
    for k in range(1, K):
        if z[k] > m:
            m = z[k]
    s = 0.0
    for k in range(K):
        p[k] = math.exp(z[k] - m)
        s += p[k]
    for k in range(K):
        p[k] = p[k] / s


@inline
def log_likelihood(p_label):
    """``log max(p, 1e-300)``: the log-likelihood of the labelled class, finite for p = 0."""
    return math.log(max(p_label, 1e-300))


@jit
def _softmax_log_likelihood(Z, labels):
    """Row-wise softmax P (B, K) of the logits Z (B, K) and the log-likelihoods (B,) of the
    integer labels (B,)."""
    B, K = Z.shape
    P = np.empty((B, K))
    ll = np.empty(B)
    for b in range(B):
        softmax_row(Z[b], P[b])
        ll[b] = log_likelihood(P[b, labels[b]])
    return P, ll


def softmax_log_likelihood(Z: np.ndarray, labels: np.ndarray):
    """Public wrapper of :func:`_softmax_log_likelihood`: Z (B, K) float64 logits, labels (B,)
    integer classes in [0, K) (checked by the caller) -> ``(P (B, K), log-likelihoods (B,))``."""
    return _softmax_log_likelihood(np.ascontiguousarray(Z, dtype=np.float64),
                                   np.ascontiguousarray(labels, dtype=np.int64))
