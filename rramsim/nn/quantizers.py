"""Quantizers for binary and few-level networks: small named objects with a straight-through
gradient (STE).

A quantizer is a pure map ``forward(x) -> q(x)`` plus ``backward(x, grad) -> dL/dx``, the
straight-through estimate of the gradient given dL/dq; it keeps no state between calls, so one
object can serve several layers. ``config()`` returns a JSON-able dict that
:func:`get_quantizer` turns back into an equal object (saved networks store it).

Straight-through shapes (``ste``), for activations with a threshold at ``t`` (the step of the
quantizer, or the middle of its clipping range):

- ``"rect"``: ``dq/dx ~ h * 1{|x - t| <= w}``, the derivative of the clipped identity;
- ``"triangle"``: ``dq/dx ~ 2 h (1 - |x - t| / w)^+``, Bi-Real Net's ApproxSign (the derivative
  of a piecewise quadratic in place of the clipped identity), one triangle per step of a
  multi-level quantizer; each has the area of its step.

Registered names (:data:`QUANTIZERS`): ``ste_sign``, ``scaled_sign``, ``threshold``, ``nlevel``,
``bit`` (one bit of a k-bit activation, BitSplit-Net), ``clip`` (full precision, the
n -> infinity limit of ``nlevel``), ``identity``.
"""

from __future__ import annotations

import numpy as np

from rramsim.errors import InputError

STE_SHAPES = ("rect", "triangle")


def _check_ste(ste: str) -> str:
    if ste not in STE_SHAPES:
        raise InputError(f"unknown straight-through shape {ste!r}; valid: {', '.join(STE_SHAPES)}")
    return ste


def _ste_window(u: np.ndarray, ste: str) -> np.ndarray:
    """STE window in units of the half-width: rect ``1{|u| <= 1}``, triangle ``2 (1 - |u|)^+``
    (both integrate to 2 over u)."""
    if ste == "rect":
        return (np.abs(u) <= 1.0).astype(np.float64)
    return 2.0 * np.maximum(1.0 - np.abs(u), 0.0)


def sign(x: np.ndarray) -> np.ndarray:
    """``+1 where x >= 0, else -1`` (zero maps to +1, so the output is always binary)."""
    return np.where(x >= 0, 1.0, -1.0)


class Quantizer:
    """Base class: ``forward(x)``, ``backward(x, grad)``, ``config()``."""

    name = "quantizer"

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, x: np.ndarray, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _kwargs(self) -> dict:
        return {}

    def config(self) -> dict:
        """``{"name": ..., **hyperparameters}``; ``get_quantizer(**config)`` rebuilds it."""
        return {"name": self.name, **self._kwargs()}

    def __eq__(self, other):
        return isinstance(other, Quantizer) and self.config() == other.config()

    def __hash__(self):
        return hash(str(self.config()))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._kwargs().items())
        return f"{type(self).__name__}({args})"


class Identity(Quantizer):
    """Full precision: ``q(x) = x``; ``dq/dx = 1``."""

    name = "identity"

    def forward(self, x):
        return np.asarray(x, dtype=np.float64)

    def backward(self, x, grad):
        return grad


class SteSign(Quantizer):
    """Sign with the clipped straight-through estimator (BNN, Courbariaux et al. 2016).

    Forward: ``q(x) = +1 if x >= 0 else -1``.

    STE: ``dL/dx = dL/dq * 1{|x| <= clip}`` (``ste="rect"``), or
    ``dL/dx = dL/dq * (2 / clip) (1 - |x| / clip)^+`` (``ste="triangle"``, ApproxSign for
    clip = 1; integrates to 2, the height of the step). ``clip=None`` (weights):
    ``dL/dx = dL/dq`` everywhere.
    """

    name = "ste_sign"

    def __init__(self, clip: float | None = 1.0, ste: str = "rect"):
        self.clip = None if clip is None else float(clip)
        if self.clip is not None and not self.clip > 0:
            raise InputError(f"clip must be > 0 or None, got {clip}")
        self.ste = _check_ste(ste)

    def _kwargs(self):
        return {"clip": self.clip, "ste": self.ste}

    def forward(self, x):
        return sign(x)

    def backward(self, x, grad):
        if self.clip is None:
            return grad
        return grad * _ste_window(x / self.clip, self.ste) * (1.0 if self.ste == "rect"
                                                              else 1.0 / self.clip)


class ScaledSign(Quantizer):
    """XNOR-Net weight binarisation: sign scaled by the mean absolute value.

    Forward: ``q(w) = alpha * sign(w)``, ``alpha = mean_{group} |w|``, where the group is the
    whole tensor (``per_channel=False``) or each output channel ``w[o]`` (``per_channel=True``,
    axis 0: rows of a (n_out, n_in) matrix, filters of a (C_out, C_in, KH, KW) kernel).

    STE (XNOR-Net, Rastegari et al. 2016, eq. for dC/dW): alpha's own derivative is exact, the
    sign is passed straight through (clipped at ``clip``):
    ``dL/dw_i = alpha * g_i * 1{|w_i| <= clip} + sign(w_i) * mean_{j in group}(g_j sign(w_j))``
    with ``g = dL/dq``. ``clip=None`` drops the indicator.
    """

    name = "scaled_sign"

    def __init__(self, per_channel: bool = True, clip: float | None = None):
        self.per_channel = bool(per_channel)
        self.clip = None if clip is None else float(clip)

    def _kwargs(self):
        return {"per_channel": self.per_channel, "clip": self.clip}

    def _axes(self, w):
        return tuple(range(1, w.ndim)) if (self.per_channel and w.ndim > 1) else None

    def scale(self, w: np.ndarray) -> np.ndarray:
        """alpha, broadcastable against ``w`` (shape (n_out, 1, ...) or ())."""
        return np.mean(np.abs(w), axis=self._axes(w), keepdims=True)

    def forward(self, w):
        w = np.asarray(w, dtype=np.float64)
        return self.scale(w) * sign(w)

    def backward(self, w, grad):
        s = sign(w)
        inner = grad if self.clip is None else grad * (np.abs(w) <= self.clip)
        return (self.scale(w) * inner
                + s * np.mean(grad * s, axis=self._axes(w), keepdims=True))


class Threshold(Quantizer):
    """Binary activation with a shifted threshold (unbalanced activations, Kim et al. 2021).

    Forward: ``q(x) = +1 if x >= theta else -1``; ``theta > 0`` makes -1 more frequent.

    STE: ``dL/dx = dL/dq * 1{|x - theta| <= clip}`` (``ste="rect"``) or
    ``dL/dq * (2 / clip) (1 - |x - theta| / clip)^+`` (``ste="triangle"``).
    """

    name = "threshold"

    def __init__(self, theta: float = 0.0, clip: float = 1.0, ste: str = "rect"):
        self.theta, self.clip = float(theta), float(clip)
        if not self.clip > 0:
            raise InputError(f"clip must be > 0, got {clip}")
        self.ste = _check_ste(ste)

    def _kwargs(self):
        return {"theta": self.theta, "clip": self.clip, "ste": self.ste}

    def forward(self, x):
        return np.where(np.asarray(x) >= self.theta, 1.0, -1.0)

    def backward(self, x, grad):
        u = (x - self.theta) / self.clip
        return grad * _ste_window(u, self.ste) * (1.0 if self.ste == "rect" else 1.0 / self.clip)


class NLevel(Quantizer):
    """n-level activation on [0, 1]: ``q(x) = round(n * clip(x, 0, 1)) / n`` (round half up).

    n = 1: binary {0, 1} (step at 0.5); n = 2: ternary {0, 1/2, 1} (BinaryDuo's coupled
    activation, steps at 1/4 and 3/4); n = 3: 2-bit {0, 1/3, 2/3, 1}.

    STE: ``dL/dx = dL/dq * 1{0 <= x <= 1}`` (``ste="rect"``, the derivative of clip(x, 0, 1)),
    or ``ste="triangle"``: one ApproxSign triangle per step, ``dL/dq * 2 (1 - 2 d)`` on
    [0, 1] with ``d = |v - round(v)|``, ``v = n x + 1/2``, the distance (in units of 1/n) to the
    nearest step at ``(k - 1/2) / n``; each triangle has the area 1/n of its step (n = 1:
    ``2 (1 - |2 x - 1|)^+``).
    """

    name = "nlevel"

    def __init__(self, n: int = 2, ste: str = "rect"):
        if int(n) != n or n < 1:
            raise InputError(f"n must be a positive integer, got {n}")
        self.n = int(n)
        self.ste = _check_ste(ste)

    def _kwargs(self):
        return {"n": self.n, "ste": self.ste}

    def forward(self, x):
        return np.floor(self.n * np.clip(x, 0.0, 1.0) + 0.5) / self.n

    def backward(self, x, grad):
        x = np.asarray(x)
        if self.ste == "rect":
            return grad * _ste_window(2.0 * x - 1.0, "rect")
        v = self.n * x + 0.5
        d = np.abs(v - np.floor(v + 0.5))
        return grad * np.where((x >= 0) & (x <= 1), 2.0 * (1.0 - 2.0 * d), 0.0)


class BitOf(Quantizer):
    """Bit ``i`` of the k-bit activation: BitSplit-Net's bitwise activation function.

    Forward: ``m = floor((2^k - 1) clip(x, 0, 1) + 1/2)`` is the k-bit code of the uniform
    quantizer (the code of ``nlevel`` with ``n = 2^k - 1``), and ``q(x) = floor(m / 2^i) mod 2``,
    in {0, 1}. Summed over the bits, ``sum_i 2^i q_i(x) / (2^k - 1)`` is the k-bit activation.

    Backward (straight-through, as the k-bit quantizer's): ``dL/dx = dL/dq * 1{0 <= x <= 1}``,
    the derivative of the clipped identity. A single bit is a square wave of x with no useful
    derivative; every path is trained as if its bit were the whole clipped activation, and its
    batch norm absorbs the scale.
    """

    name = "bit"

    def __init__(self, bit: int = 0, bits: int = 2):
        if int(bits) != bits or not 1 <= bits <= 16:
            raise InputError(f"bits must be an integer in [1, 16], got {bits}")
        if int(bit) != bit or not 0 <= bit < bits:
            raise InputError(f"bit must be an integer in [0, {int(bits) - 1}], got {bit}")
        self.bit, self.bits = int(bit), int(bits)

    def _kwargs(self):
        return {"bit": self.bit, "bits": self.bits}

    def code(self, x) -> np.ndarray:
        """The k-bit code ``m`` in {0, ..., 2^k - 1} (int64)."""
        n = 2 ** self.bits - 1
        return np.floor(n * np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0) + 0.5).astype(
            np.int64)

    def forward(self, x):
        return ((self.code(x) >> self.bit) & 1).astype(np.float64)

    def backward(self, x, grad):
        return grad * _ste_window(2.0 * np.asarray(x) - 1.0, "rect")


class Clip(Quantizer):
    """Full-precision activation on [0, 1]: ``q(x) = clip(x, 0, 1)``; the n -> infinity limit
    of :class:`NLevel`. Gradient (exact where defined): ``dL/dq * 1{0 <= x <= 1}``
    (``ste="rect"``), or the triangle window of :class:`NLevel` (``ste="triangle"``)."""

    name = "clip"

    def __init__(self, ste: str = "rect"):
        self.ste = _check_ste(ste)

    def _kwargs(self):
        return {"ste": self.ste}

    def forward(self, x):
        return np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)

    def backward(self, x, grad):
        return grad * _ste_window(2.0 * np.asarray(x) - 1.0, self.ste)


#: Registered quantizers by name.
QUANTIZERS: dict[str, type[Quantizer]] = {
    cls.name: cls for cls in (Identity, SteSign, ScaledSign, Threshold, NLevel, BitOf, Clip)
}


def get_quantizer(spec, **kwargs) -> Quantizer:
    """A quantizer from a name, a config dict, or a Quantizer (returned as is).

    Parameters
    ----------
    spec : str, dict or Quantizer
        ``"ste_sign"``, ``{"name": "threshold", "theta": 0.2}``, ...
    **kwargs : hyperparameters (with a name)

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.
    """
    if isinstance(spec, Quantizer):
        if kwargs:
            raise InputError("keyword arguments are only accepted with a quantizer name")
        return spec
    if isinstance(spec, dict):
        kwargs = {**{k: v for k, v in spec.items() if k != "name"}, **kwargs}
        spec = spec.get("name")
    if spec not in QUANTIZERS:
        raise InputError(f"unknown quantizer {spec!r}; valid names: "
                         f"{', '.join(sorted(QUANTIZERS))}")
    return QUANTIZERS[spec](**kwargs)
