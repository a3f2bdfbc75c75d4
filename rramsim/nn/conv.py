"""Convolution, max-pooling and flattening for image batches laid out as (N, C, H, W).

``Conv2d`` lowers the convolution to one matrix product (im2col + BLAS): the input patches of
shape (C * KH * KW) are gathered with a strided view and multiplied by the weight matrix
(C_out, C * KH * KW). ``studies/bench_lenet.py`` compares this with a direct numba loop (see
:func:`conv2d_direct`): on MNIST-sized layers the BLAS product is several times faster, so the
layer uses im2col and the numba kernel stays as a measured alternative and a test twin.

Shapes follow PyTorch: weight (C_out, C_in, KH, KW), bias (C_out,), output
(N, C_out, (H + 2 p - KH) // s + 1, (W + 2 p - KW) // s + 1).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from rramsim.kernels._jit import jit
from rramsim.nn.modules import Module, Parameter
from rramsim.rng import generator


def check_images(x, channels: int, name: str) -> np.ndarray:
    """Validate an image batch (N, channels, H, W): shape and finite values.

    Raises
    ------
    ValueError
        If ``x`` is not 4-d with ``channels`` channels, or holds NaN or infinite values.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(f"{name}: input must have shape (batch, {channels}, height, width), "
                         f"got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name}: input batch contains NaN or infinite values")
    return x


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of a convolution along one axis."""
    out = (size + 2 * padding - kernel) // stride + 1
    if out < 1:
        raise ValueError(f"input size {size} (padding {padding}) is smaller than the kernel "
                         f"{kernel}")
    return out


def im2col(x: np.ndarray, kh: int, kw: int, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Patches of ``x`` (N, C, H, W) as a matrix (N * OH * OW, C * KH * KW) (a copy).

    Row ``(n, i, j)`` holds the input window that output pixel (i, j) of sample n sees, in
    (c, ki, kj) order, matching ``weight.reshape(C_out, -1)``.
    """
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c = x.shape[:2]
    win = sliding_window_view(x, (kh, kw), axis=(2, 3))  # (N, C, OH', OW', KH, KW)
    if stride > 1:
        win = win[:, :, ::stride, ::stride]
    oh, ow = win.shape[2:4]
    return np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(n * oh * ow, c * kh * kw)


def col2im(cols: np.ndarray, x_shape, kh: int, kw: int, stride: int = 1,
           padding: int = 0) -> np.ndarray:
    """Adjoint of :func:`im2col`: sum patch gradients (N * OH * OW, C * KH * KW) back into an
    image gradient of shape ``x_shape`` (N, C, H, W)."""
    n, c, h, w = x_shape
    hp, wp = h + 2 * padding, w + 2 * padding
    oh = (hp - kh) // stride + 1
    ow = (wp - kw) // stride + 1
    cols = cols.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)  # (N, C, KH, KW, OH, OW)
    dx = np.zeros((n, c, hp, wp))
    for i in range(kh):  # KH * KW strided adds; each covers the whole batch
        for j in range(kw):
            dx[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride] += cols[:, :, i, j]
    if padding:
        dx = dx[:, :, padding:padding + h, padding:padding + w]
    return dx


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


class Conv2d(Module):
    """Floating-point 2-d convolution (cross-correlation, as in PyTorch).

    ``y[n, o, i, j] = b[o] + sum_{c, p, q} W[o, c, p, q] x[n, c, s i + p - pad, s j + q - pad]``

    Parameters
    ----------
    in_channels, out_channels : C_in, C_out
    kernel_size : int (square kernel)
    stride, padding : int (zero padding on all four sides)
    bias : add a learnable per-channel bias (leave it out before a batch norm)
    seed : seeds the initialisation W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C_in KH KW
    name : prefix of the parameter names (unique within a network, for ``state_dict``)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias: bool = True, seed=None, name: str = "conv"):
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.padding = int(kernel_size), int(stride), int(padding)
        if min(self.in_channels, self.out_channels, self.kernel_size, self.stride) < 1 \
                or self.padding < 0:
            raise ValueError("channels, kernel_size and stride must be >= 1 and padding >= 0")
        self.name = name
        k = self.kernel_size
        fan_in = self.in_channels * k * k
        bound = 1.0 / np.sqrt(fan_in)
        rng = generator(seed)
        self.weight = Parameter(rng.uniform(-bound, bound, (self.out_channels, self.in_channels,
                                                            k, k)), f"{name}.weight")
        self.bias = (Parameter(rng.uniform(-bound, bound, self.out_channels), f"{name}.bias")
                     if bias else None)
        self._cols = None
        self._x_shape = None

    def parameters(self):
        return [self.weight] + ([self.bias] if self.bias is not None else [])

    def effective_weight(self) -> np.ndarray:
        """The weight the forward pass multiplies with (C_out, C_in, KH, KW)."""
        return self.weight.value

    def weight_grad(self, grad_w: np.ndarray) -> None:
        """Accumulate dL/d(effective weight) into the parameter's gradient."""
        self.weight.grad += grad_w

    def forward(self, x):
        x = check_images(x, self.in_channels, self.name)
        k, s, p = self.kernel_size, self.stride, self.padding
        n = x.shape[0]
        oh = conv_output_size(x.shape[2], k, s, p)
        ow = conv_output_size(x.shape[3], k, s, p)
        cols = im2col(x, k, k, s, p)
        self._w = self.effective_weight().reshape(self.out_channels, -1)
        y = cols @ self._w.T  # (N OH OW, C_out)
        if self.bias is not None:
            y += self.bias.value
        self._cols, self._x_shape, self._out_hw = cols, x.shape, (oh, ow)
        return y.reshape(n, oh, ow, self.out_channels).transpose(0, 3, 1, 2)

    def backward(self, grad):
        n = self._x_shape[0]
        oh, ow = self._out_hw
        g = np.ascontiguousarray(grad.transpose(0, 2, 3, 1)).reshape(n * oh * ow,
                                                                     self.out_channels)
        self.weight_grad((g.T @ self._cols).reshape(self.weight.value.shape))
        if self.bias is not None:
            self.bias.grad += g.sum(axis=0)
        if not self.input_grad:
            return None
        k = self.kernel_size
        return col2im(g @ self._w, self._x_shape, k, k, self.stride, self.padding)


class MaxPool2d(Module):
    """Non-overlapping max-pooling over ``k x k`` windows (stride k); rows/columns beyond the
    last full window are dropped. Input (N, C, H, W), output (N, C, H // k, W // k).

    The gradient goes to one element per window: the first maximum in row-major order (binary
    activations tie often, so the choice is fixed rather than shared)."""

    def __init__(self, kernel_size: int = 2):
        super().__init__()
        self.k = int(kernel_size)
        if self.k < 1:
            raise ValueError(f"kernel_size must be >= 1, got {kernel_size}")

    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 4:
            raise ValueError(f"MaxPool2d: input must have shape (batch, channels, height, "
                             f"width), got {x.shape}")
        k = self.k
        n, c, h, w = x.shape
        oh, ow = h // k, w // k
        if oh < 1 or ow < 1:
            raise ValueError(f"MaxPool2d: input {h}x{w} is smaller than the window {k}x{k}")
        win = (x[:, :, :oh * k, :ow * k].reshape(n, c, oh, k, ow, k).transpose(0, 1, 2, 4, 3, 5)
               .reshape(n, c, oh, ow, k * k))
        idx = np.argmax(win, axis=-1)
        self._idx, self._shape = idx, x.shape
        return np.take_along_axis(win, idx[..., None], axis=-1)[..., 0]

    def backward(self, grad):
        n, c, h, w = self._shape
        k = self.k
        oh, ow = h // k, w // k
        win = np.zeros((n, c, oh, ow, k * k))
        np.put_along_axis(win, self._idx[..., None], grad[..., None], axis=-1)
        dx = np.zeros(self._shape)
        dx[:, :, :oh * k, :ow * k] = (win.reshape(n, c, oh, ow, k, k).transpose(0, 1, 2, 4, 3, 5)
                                      .reshape(n, c, oh * k, ow * k))
        return dx


class Flatten(Module):
    """(N, C, H, W) -> (N, C * H * W) in C order (channel-major), and back in ``backward``."""

    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad):
        return grad.reshape(self._shape)
