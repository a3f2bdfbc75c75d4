"""Image kernels for (N, C, H, W) batches: patch gathering (im2col / im2row) and its adjoint,
max-pooling, and a direct convolution loop.

``Conv2d`` (:mod:`rramsim.nn.conv`) lowers a convolution to matrix products: :func:`im2col`
gathers each sample's input patches into a (C * KH * KW, OH * OW) matrix that the weight matrix
(C_out, C * KH * KW) multiplies with one BLAS call per sample, and :func:`col2im` scatters the
patch gradients back. :func:`conv2d_direct` is the plain numba loop it was measured against
(``studies/bench_lenet.py``) and the test twin of the lowered convolution.
"""

from __future__ import annotations

import numpy as np

from rramsim.kernels._jit import jit


@jit
def _im2col(x, kh, kw, stride, oh, ow, out):  # pragma: no cover - compiled
    n, c = x.shape[0], x.shape[1]
    for b in range(n):
        for ci in range(c):
            for p in range(kh):
                for q in range(kw):
                    r = (ci * kh + p) * kw + q
                    for i in range(oh):
                        for j in range(ow):
                            out[b, r, i * ow + j] = x[b, ci, i * stride + p, j * stride + q]


@jit
def _im2row(x, kh, kw, stride, oh, ow, out):  # pragma: no cover - compiled
    n, c = x.shape[0], x.shape[1]
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                row = (b * oh + i) * ow + j
                for ci in range(c):
                    for p in range(kh):
                        for q in range(kw):
                            out[row, (ci * kh + p) * kw + q] = x[b, ci, i * stride + p,
                                                                 j * stride + q]


@jit
def _col2im(cols, kh, kw, stride, oh, ow, dx):  # pragma: no cover - compiled
    n, c = dx.shape[0], dx.shape[1]
    for b in range(n):
        for ci in range(c):
            for p in range(kh):
                for q in range(kw):
                    r = (ci * kh + p) * kw + q
                    for i in range(oh):
                        for j in range(ow):
                            dx[b, ci, i * stride + p, j * stride + q] += cols[b, r, i * ow + j]


def _pad(x, padding):
    if not padding:
        return np.ascontiguousarray(x)
    return np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))


def im2col(x: np.ndarray, kh: int, kw: int, stride: int = 1, padding: int = 0,
           dtype=np.float64) -> np.ndarray:
    """Input patches of ``x`` (N, C, H, W) as (N, C * KH * KW, OH * OW) of ``dtype`` (numba
    kernel).

    ``cols[n, (c, p, q), (i, j)] = x_pad[n, c, s i + p, s j + q]``: row order (c, p, q) matches
    ``weight.reshape(C_out, -1)``, so ``weight.reshape(C_out, -1) @ cols[n]`` is sample n's
    output in (C_out, OH * OW) layout.
    """
    xp = _pad(np.asarray(x, dtype=np.float64), padding)
    n, c, hp, wp = xp.shape
    oh, ow = (hp - kh) // stride + 1, (wp - kw) // stride + 1
    out = np.empty((n, c * kh * kw, oh * ow), dtype=dtype)
    _im2col(xp, int(kh), int(kw), int(stride), oh, ow, out)
    return out


def im2row(x: np.ndarray, kh: int, kw: int, stride: int = 1, padding: int = 0,
           dtype=np.float64) -> np.ndarray:
    """Input patches of ``x`` (N, C, H, W) as rows (N * OH * OW, C * KH * KW) of ``dtype``: the
    transpose of :func:`im2col`'s layout, one row per output position (sample-major), so
    ``im2row(x) @ weight.reshape(C_out, -1).T`` is the convolution, one array read per row."""
    xp = _pad(np.asarray(x, dtype=dtype), padding)
    n, c, hp, wp = xp.shape
    oh, ow = (hp - kh) // stride + 1, (wp - kw) // stride + 1
    out = np.empty((n * oh * ow, c * kh * kw), dtype=dtype)
    _im2row(xp, int(kh), int(kw), int(stride), oh, ow, out)
    return out


def col2im(cols: np.ndarray, x_shape, kh: int, kw: int, stride: int = 1,
           padding: int = 0) -> np.ndarray:
    """Adjoint of :func:`im2col` (numba kernel): sum patch gradients (N, C * KH * KW, OH * OW)
    back into an image gradient of shape ``x_shape`` (N, C, H, W)."""
    n, c, h, w = x_shape
    hp, wp = h + 2 * padding, w + 2 * padding
    oh, ow = (hp - kh) // stride + 1, (wp - kw) // stride + 1
    dx = np.zeros((n, c, hp, wp))
    _col2im(np.ascontiguousarray(cols), int(kh), int(kw), int(stride), oh, ow, dx)
    if padding:
        dx = dx[:, :, padding:padding + h, padding:padding + w]
    return dx


@jit
def _maxpool_forward(x, k, out, idx):  # pragma: no cover - compiled
    n, c, oh, ow = out.shape
    for b in range(n):
        for ci in range(c):
            for i in range(oh):
                for j in range(ow):
                    best = x[b, ci, i * k, j * k]
                    arg = 0
                    for p in range(k):
                        for q in range(k):
                            v = x[b, ci, i * k + p, j * k + q]
                            if v > best:  # strict: the first maximum wins ties
                                best = v
                                arg = p * k + q
                    out[b, ci, i, j] = best
                    idx[b, ci, i, j] = arg


@jit
def _maxpool_backward(grad, idx, k, dx):  # pragma: no cover - compiled
    n, c, oh, ow = grad.shape
    for b in range(n):
        for ci in range(c):
            for i in range(oh):
                for j in range(ow):
                    a = idx[b, ci, i, j]
                    dx[b, ci, i * k + a // k, j * k + a % k] = grad[b, ci, i, j]


@jit
def _conv2d_direct(x, w, stride, out):  # pragma: no cover - compiled
    n, c, _, _ = x.shape
    co, _, kh, kw = w.shape
    oh, ow = out.shape[2], out.shape[3]
    for b in range(n):
        for o in range(co):
            for i in range(oh):
                for j in range(ow):
                    s = 0.0
                    for ci in range(c):
                        for p in range(kh):
                            for q in range(kw):
                                s += x[b, ci, i * stride + p, j * stride + q] * w[o, ci, p, q]
                    out[b, o, i, j] = s


def conv2d_direct(x: np.ndarray, weight: np.ndarray, stride: int = 1,
                  padding: int = 0) -> np.ndarray:
    """Direct (numba loop) 2-d cross-correlation without bias, the alternative to im2col.

    Parameters
    ----------
    x : (N, C, H, W)
    weight : (C_out, C, KH, KW)

    Returns
    -------
    (N, C_out, OH, OW)
    """
    x = np.asarray(x, dtype=np.float64)
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    co, _, kh, kw = weight.shape
    oh = (x.shape[2] - kh) // stride + 1
    ow = (x.shape[3] - kw) // stride + 1
    out = np.empty((x.shape[0], co, oh, ow))
    _conv2d_direct(np.ascontiguousarray(x), np.ascontiguousarray(weight, dtype=np.float64),
                   int(stride), out)
    return out


def maxpool_forward(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Max over non-overlapping ``k x k`` windows of ``x`` (N, C, H, W), float64 C-contiguous.

    Returns the pooled (N, C, H // k, W // k) and the flat in-window index (int64, same shape)
    of each window's first maximum in row-major order (ties go to the first)."""
    n, c, h, w = x.shape
    out = np.empty((n, c, h // k, w // k))
    idx = np.empty((n, c, h // k, w // k), dtype=np.int64)
    _maxpool_forward(x, k, out, idx)
    return out, idx


def maxpool_backward(grad: np.ndarray, idx: np.ndarray, k: int, x_shape) -> np.ndarray:
    """Adjoint of :func:`maxpool_forward`: each window's gradient goes to its recorded maximum;
    returns the input gradient of shape ``x_shape``."""
    dx = np.zeros(x_shape)
    _maxpool_backward(np.ascontiguousarray(grad, dtype=np.float64), idx, k, dx)
    return dx
