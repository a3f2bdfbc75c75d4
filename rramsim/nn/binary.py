"""Layers of binary networks: binary (quantized-weight) linear and convolution layers, activation
quantizers as layers, a learnable-threshold binary activation, Hardtanh, Dropout and the Bi-Real
shortcut block.

Binary layers keep real-valued *latent* weights (the optimiser updates them) and multiply with
``weight_quantizer(W)``; the straight-through estimator of the quantizer carries the gradient
back to the latent weights. ``latent_clip`` (default 1) clips the latent weights into
``[-latent_clip, latent_clip]`` after every optimiser step (BNN, Courbariaux et al. 2016), via
the ``clip_value`` attribute the optimisers of :mod:`rramsim.nn.optim` honour.
"""

from __future__ import annotations

import numpy as np

from rramsim.errors import InputError
from rramsim.nn.conv import Conv2d
from rramsim.nn.modules import Module, Parameter, Sequential, _check_input, default_init
from rramsim.nn.quantizers import Quantizer, _ste_window, get_quantizer
from rramsim.rng import generator


def _check_finite(x: np.ndarray, name: str) -> np.ndarray:
    if not np.isfinite(x).all():
        raise InputError(f"{name}: input batch contains NaN or infinite values")
    return x


class BinaryLinear(Module):
    """Affine layer with quantized weights (and optionally quantized inputs).

    ``y = iq(x) q(W)^T + b``; W (n_out, n_in) latent weights, b (n_out,).

    Parameters
    ----------
    n_in, n_out : sizes
    weight_quantizer : quantizer (name, config dict or object) for W; default ``"scaled_sign"``
        (XNOR-Net, per output channel); ``"ste_sign"`` gives plain +-1 weights
    input_quantizer : quantizer for the inputs, or None (the inputs are used as they come;
        networks here put the activation quantizer in its own layer after a batch norm)
    bias : learnable bias (leave out before a batch norm)
    latent_clip : clip latent weights to [-latent_clip, latent_clip] after each step (None: no)
    seed, name : initialisation seed (PyTorch's default ``nn.Linear`` init) and name prefix
    """

    def __init__(self, n_in: int, n_out: int, weight_quantizer="scaled_sign",
                 input_quantizer=None, bias: bool = False, latent_clip: float | None = 1.0,
                 seed=None, name: str = "binlinear"):
        super().__init__()
        self.n_in, self.n_out, self.name = int(n_in), int(n_out), name
        self.wq = get_quantizer(weight_quantizer)
        self.iq = None if input_quantizer is None else get_quantizer(input_quantizer)
        W, b = default_init(self.n_out, self.n_in, generator(seed))
        self.weight = Parameter(W, f"{name}.weight")
        self.weight.clip_value = latent_clip
        self.bias = Parameter(b, f"{name}.bias") if bias else None

    def parameters(self):
        return [self.weight] + ([self.bias] if self.bias is not None else [])

    def effective_weight(self) -> np.ndarray:
        """``q(W)`` (n_out, n_in), the weights the forward pass uses."""
        return self.wq(self.weight.value)

    def forward(self, x):
        x = _check_finite(_check_input(x, self.n_in, self.name), self.name)
        self._x = x
        xq = self.iq(x) if self.iq is not None else x
        self._xq, self._w = xq, self.effective_weight()
        y = xq @ self._w.T
        if self.bias is not None:
            y += self.bias.value
        return y

    def backward(self, grad):
        self.weight.grad += self.wq.backward(self.weight.value, grad.T @ self._xq)
        if self.bias is not None:
            self.bias.grad += grad.sum(axis=0)
        if not self.input_grad:
            return None
        gx = grad @ self._w
        return self.iq.backward(self._x, gx) if self.iq is not None else gx


class BinaryConv2d(Conv2d):
    """2-d convolution with quantized weights (and optionally quantized inputs).

    ``y = conv(iq(x), q(W)) + b``; W (C_out, C_in, K, K) latent weights. Parameters as
    :class:`~rramsim.nn.conv.Conv2d` (including ``dtype``) plus ``weight_quantizer`` (default
    ``"scaled_sign"``, per output channel), ``input_quantizer`` and ``latent_clip`` as in
    :class:`BinaryLinear`.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, weight_quantizer="scaled_sign", input_quantizer=None,
                 bias: bool = False, latent_clip: float | None = 1.0, seed=None,
                 name: str = "binconv", dtype: str = "float64"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias=bias,
                         seed=seed, name=name, dtype=dtype)
        self.wq = get_quantizer(weight_quantizer)
        self.iq = None if input_quantizer is None else get_quantizer(input_quantizer)
        self.weight.clip_value = latent_clip

    def effective_weight(self):
        return self.wq(self.weight.value)

    def weight_grad(self, grad_w):
        self.weight.grad += self.wq.backward(self.weight.value, grad_w)

    def forward(self, x):
        if self.iq is None:
            return super().forward(x)
        self._xin = np.asarray(x, dtype=np.float64)
        return super().forward(self.iq(self._xin))

    def backward(self, grad):
        g = super().backward(grad)
        if g is None or self.iq is None:
            return g
        return self.iq.backward(self._xin, g)


class Quantize(Module):
    """An activation quantizer as a layer: ``y = q(x)``, ``dL/dx = q.backward(x, dL/dy)``.

    Parameters
    ----------
    quantizer : name, config dict or :class:`~rramsim.nn.quantizers.Quantizer`
    """

    def __init__(self, quantizer="ste_sign"):
        super().__init__()
        self.q: Quantizer = get_quantizer(quantizer)

    def forward(self, x):
        self._x = np.asarray(x, dtype=np.float64)
        return self.q(self._x)

    def backward(self, grad):
        return self.q.backward(self._x, grad)


class LearnableThreshold(Module):
    """Binary activation with one learnable threshold per channel (axis 1).

    Forward: ``y = +1 if x >= theta_c else -1``.
    STE: ``dL/dx = g * w(x - theta_c)``, ``dL/dtheta_c = -sum_{other axes} g * w(x - theta_c)``
    with ``g = dL/dy`` and the window ``w`` of ``ste`` (``1{|u| <= clip}`` for ``"rect"``).

    Parameters
    ----------
    channels : number of channels (features of (N, F), or C of (N, C, H, W))
    theta : initial threshold (all channels)
    clip, ste : straight-through window half-width and shape
    name : parameter name prefix (``<name>.theta``)
    """

    def __init__(self, channels: int, theta: float = 0.0, clip: float = 1.0, ste: str = "rect",
                 name: str = "threshold"):
        super().__init__()
        self.channels, self.clip, self.ste, self.name = int(channels), float(clip), ste, name
        get_quantizer("threshold", clip=clip, ste=ste)  # validates clip and ste
        self.theta = Parameter(np.full(self.channels, float(theta)), f"{name}.theta")

    def parameters(self):
        return [self.theta]

    def _t(self, x):
        return self.theta.value.reshape((1, self.channels) + (1,) * (x.ndim - 2))

    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim < 2 or x.shape[1] != self.channels:
            raise InputError(f"{self.name}: input must have {self.channels} channels on axis 1, "
                             f"got {x.shape}")
        self._x = x
        return np.where(x >= self._t(x), 1.0, -1.0)

    def backward(self, grad):
        x = self._x
        w = _ste_window((x - self._t(x)) / self.clip, self.ste)
        if self.ste == "triangle":
            w = w / self.clip
        g = grad * w
        self.theta.grad -= g.sum(axis=(0,) + tuple(range(2, x.ndim)))
        return g


class Hardtanh(Module):
    """``y = clip(x, -1, 1)``; ``dy/dx = 1{-1 <= x <= 1}``."""

    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        self._mask = np.abs(x) <= 1.0
        return np.clip(x, -1.0, 1.0)

    def backward(self, grad):
        return grad * self._mask


class Dropout(Module):
    """Inverted dropout: in training ``y = x * m / (1 - p)`` with ``m ~ Bernoulli(1 - p)`` drawn
    from the layer's own seeded generator; identity in eval mode.

    Parameters
    ----------
    p : drop probability in [0, 1)
    seed : seeds the masks (the same seed gives the same masks, call after call)
    """

    def __init__(self, p: float = 0.5, seed=None):
        super().__init__()
        if not 0 <= p < 1:
            raise InputError(f"dropout probability must be in [0, 1), got {p}")
        self.p = float(p)
        self._rng = generator(seed)
        self._scale = None

    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        if not self.training or self.p == 0:
            self._scale = None
            return x
        self._scale = (self._rng.random(x.shape) >= self.p) / (1.0 - self.p)
        return x * self._scale

    def backward(self, grad):
        return grad if self._scale is None else grad * self._scale


class Residual(Module):
    """Identity shortcut around ``inner``: ``y = inner(x) + s(x)`` (Bi-Real Net's real-valued
    shortcut around a binary convolution).

    ``s(x) = x`` (``repeat=1``), or x repeated ``repeat`` times along the channel axis
    (channel blocks ``[x, x, ...]``, a parameter-free shortcut where the branch multiplies the
    channels). The branch must produce the shape of ``s(x)``.

    Parameters
    ----------
    *layers : the layers of the inner branch, applied in order
    repeat : channel multiplication of the shortcut (>= 1)
    """

    def __init__(self, *layers: Module, repeat: int = 1):
        super().__init__()
        self.inner = Sequential(*layers)
        self.repeat = int(repeat)
        if self.repeat < 1:
            raise InputError(f"repeat must be >= 1, got {repeat}")
        self.input_grad = True  # until a container says the block is a network's first layer

    @property
    def input_grad(self) -> bool:
        """Whether ``backward`` returns dL/d(input); the inner branch's first layer follows."""
        return self.inner.input_grad

    @input_grad.setter
    def input_grad(self, value: bool) -> None:
        self.inner.input_grad = value

    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        y = self.inner.forward(x)
        s = x if self.repeat == 1 else np.concatenate([x] * self.repeat, axis=1)
        if y.shape != s.shape:
            raise InputError(f"Residual: the inner branch maps {x.shape} -> {y.shape}; the "
                             f"shortcut gives {s.shape}")
        return y + s

    def backward(self, grad):
        g = self.inner.backward(grad)
        if g is None:  # the block is the network's first layer: no input gradient needed
            return None
        if self.repeat == 1:
            return g + grad
        c = grad.shape[1] // self.repeat
        return g + grad.reshape(grad.shape[0], self.repeat, c, *grad.shape[2:]).sum(axis=1)

    def parameters(self):
        return self.inner.parameters()

    def analog_layers(self):
        return self.inner.analog_layers()

    def train(self, mode: bool = True):
        super().train(mode)
        self.inner.train(mode)
        return self

    def state_dict(self):
        return self.inner.state_dict()

    def load_state_dict(self, state):
        self.inner.load_state_dict(state)


class BitSplit(Module):
    """BitSplit-Net's merge (Kim et al. 2019): ``k`` parallel paths, path ``i`` carrying bit
    ``i`` of every k-bit activation, merged only at the output.

    Forward: ``y = sum_i c_i f_i(x)`` with ``c_i = 2^i / (2^k - 1)``, where ``f_i`` is path i (a
    network whose activations are :class:`~rramsim.nn.quantizers.BitOf` with ``bit = i``, so
    every hidden layer of the path sees {0, 1} inputs). Backward: path i receives ``c_i dL/dy``;
    the input gradient is the sum of the paths' input gradients (computed only when BitSplit is
    not the network's first layer).

    Parameters
    ----------
    *paths : the k path networks (same input and output shapes), least significant bit first
    """

    def __init__(self, *paths: Module):
        super().__init__()
        if not paths:
            raise InputError("BitSplit needs at least one path")
        self.paths = list(paths)
        self.bits = len(self.paths)
        self.coefficients = np.array([2.0 ** i for i in range(self.bits)]) / (2 ** self.bits - 1)
        self.input_grad = True  # until a container says BitSplit is a network's first layer

    @property
    def input_grad(self) -> bool:
        """Whether ``backward`` returns dL/d(input); every path's first layer follows."""
        return self._input_grad

    @input_grad.setter
    def input_grad(self, value: bool) -> None:
        self._input_grad = bool(value)
        for path in self.paths:
            path.input_grad = self._input_grad

    def forward(self, x):
        y = None
        for c, path in zip(self.coefficients, self.paths):
            out = c * path.forward(x)
            y = out if y is None else y + out
        return y

    def backward(self, grad):
        gx = None
        for c, path in zip(self.coefficients, self.paths):
            g = path.backward(c * grad)
            if g is not None:
                gx = g if gx is None else gx + g
        return gx

    def parameters(self):
        return [p for path in self.paths for p in path.parameters()]

    def analog_layers(self):
        return [a for path in self.paths for a in path.analog_layers()]

    def train(self, mode: bool = True):
        super().train(mode)
        for path in self.paths:
            path.train(mode)
        return self

    # Paths are built by the same builder, so their parameter names repeat: prefix them.
    def state_dict(self):
        return {f"path{i}.{k}": v for i, path in enumerate(self.paths)
                for k, v in path.state_dict().items()}

    def load_state_dict(self, state):
        for i, path in enumerate(self.paths):
            prefix = f"path{i}."
            path.load_state_dict({k[len(prefix):]: v for k, v in state.items()
                                  if k.startswith(prefix)})


def bireal_block(channels: int, kernel_size: int = 3, activation="ste_sign",
                 weight_quantizer="scaled_sign", seed=None, name: str = "block") -> Residual:
    """Bi-Real Net block: ``x + BN(BinaryConv(q(x)))`` with 'same' padding (odd kernel).

    The activation quantizer binarises the real-valued block input; the shortcut carries the
    real values past the binary convolution (Liu et al. 2018).
    """
    from rramsim.nn.norm import BatchNorm2d

    if kernel_size % 2 != 1:
        raise InputError(f"kernel_size must be odd for 'same' padding, got {kernel_size}")
    return Residual(Quantize(activation),
                    BinaryConv2d(channels, channels, kernel_size, padding=kernel_size // 2,
                                 weight_quantizer=weight_quantizer, seed=seed,
                                 name=f"{name}.conv"),
                    BatchNorm2d(channels, name=f"{name}.bn"))
