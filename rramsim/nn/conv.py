"""Convolution, max-pooling and flattening for image batches laid out as (N, C, H, W).

``Conv2d`` lowers the convolution to matrix products (im2col + BLAS): a numba kernel gathers
each sample's input patches into a (C * KH * KW, OH * OW) matrix, and the weight matrix
(C_out, C * KH * KW) multiplies it (one BLAS call per sample, output already in (C_out, OH, OW)
layout); the backward pass scatters patch gradients back with the adjoint kernel (col2im). The
kernels live in :mod:`rramsim.kernels.conv`. ``studies/bench_lenet.py`` compares this with a
direct numba loop (:func:`rramsim.kernels.conv.conv2d_direct`): on the LeNet layers the
im2col + BLAS forward pass is 3.5-11x faster (measured at batch 64, one thread), so the layer
uses im2col and the numba loop stays as the measured alternative and a test twin.

Shapes follow PyTorch: weight (C_out, C_in, KH, KW), bias (C_out,), output
(N, C_out, (H + 2 p - KH) // s + 1, (W + 2 p - KW) // s + 1).
"""

from __future__ import annotations

import numpy as np

from rramsim.errors import InputError
from rramsim.kernels.conv import col2im, im2col, maxpool_backward, maxpool_forward
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
        raise InputError(f"{name}: input must have shape (batch, {channels}, height, width), "
                         f"got {x.shape}")
    if not np.isfinite(x).all():
        raise InputError(f"{name}: input batch contains NaN or infinite values")
    return x


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of a convolution along one axis."""
    out = (size + 2 * padding - kernel) // stride + 1
    if out < 1:
        raise InputError(f"input size {size} (padding {padding}) is smaller than the kernel "
                         f"{kernel}")
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
    dtype : "float64" (default) or "float32": precision of the patch matrices and their
        products (parameters, gradients and outputs stay float64). float32 halves the memory
        traffic of im2col and doubles the BLAS throughput; sums of +-1 products are exact in it.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias: bool = True, seed=None, name: str = "conv",
                 dtype: str = "float64"):
        super().__init__()
        if dtype not in ("float64", "float32"):
            raise InputError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
        self.dtype = np.dtype(dtype)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.padding = int(kernel_size), int(stride), int(padding)
        if min(self.in_channels, self.out_channels, self.kernel_size, self.stride) < 1 \
                or self.padding < 0:
            raise InputError("channels, kernel_size and stride must be >= 1 and padding >= 0")
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
        oh = conv_output_size(x.shape[2], k, s, p)
        ow = conv_output_size(x.shape[3], k, s, p)
        cols = im2col(x, k, k, s, p, self.dtype)  # (N, C k k, OH OW)
        self._w = self.effective_weight().reshape(self.out_channels, -1).astype(self.dtype)
        y = np.matmul(self._w, cols)  # (N, C_out, OH OW): already channel-major, no transpose
        y = y.astype(np.float64, copy=False)
        if self.bias is not None:
            y += self.bias.value[:, None]
        self._cols, self._x_shape, self._out_hw = cols, x.shape, (oh, ow)
        return y.reshape(x.shape[0], self.out_channels, oh, ow)

    def backward(self, grad):
        n = self._x_shape[0]
        g = np.ascontiguousarray(grad, dtype=self.dtype).reshape(n, self.out_channels, -1)
        gw = np.matmul(g, self._cols.transpose(0, 2, 1)).sum(axis=0, dtype=np.float64)
        self.weight_grad(gw.reshape(self.weight.value.shape))
        if self.bias is not None:
            self.bias.grad += g.sum(axis=(0, 2), dtype=np.float64)
        if not self.input_grad:
            return None
        k = self.kernel_size
        return col2im(np.matmul(self._w.T, g), self._x_shape, k, k, self.stride, self.padding)


class MaxPool2d(Module):
    """Non-overlapping max-pooling over ``k x k`` windows (stride k); rows/columns beyond the
    last full window are dropped. Input (N, C, H, W), output (N, C, H // k, W // k).

    The gradient goes to one element per window: the first maximum in row-major order (binary
    activations tie often, so the choice is fixed rather than shared)."""

    def __init__(self, kernel_size: int = 2):
        super().__init__()
        self.k = int(kernel_size)
        if self.k < 1:
            raise InputError(f"kernel_size must be >= 1, got {kernel_size}")

    def forward(self, x):
        x = np.ascontiguousarray(x, dtype=np.float64)
        if x.ndim != 4:
            raise InputError(f"MaxPool2d: input must have shape (batch, channels, height, "
                             f"width), got {x.shape}")
        k = self.k
        n, c, h, w = x.shape
        oh, ow = h // k, w // k
        if oh < 1 or ow < 1:
            raise InputError(f"MaxPool2d: input {h}x{w} is smaller than the window {k}x{k}")
        out, self._idx = maxpool_forward(x, k)
        self._shape = x.shape
        return out

    def backward(self, grad):
        return maxpool_backward(grad, self._idx, self.k, self._shape)


class Flatten(Module):
    """(N, C, H, W) -> (N, C * H * W) in C order (channel-major), and back in ``backward``.
    Any (N, ...) input works; a batch with NaN or infinite values is an error (an MLP's first
    layer)."""

    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim < 2:
            raise InputError(f"Flatten: input must have shape (batch, ...), got {x.shape}")
        if not np.isfinite(x).all():
            raise InputError("Flatten: input batch contains NaN or infinite values")
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad):
        return grad.reshape(self._shape)
