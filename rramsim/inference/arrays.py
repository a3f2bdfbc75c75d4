"""Inference of a trained network on simulated crossbar arrays, and its exact digital twin.

:func:`map_network` turns any network built from rramsim layers (full precision, binary,
k-bit, BitSplit, the analog MLP) into a :class:`MappedNetwork` whose weight layers run on
arrays configured by :class:`~rramsim.config.ArrayConfig` (``backend="arrays"``), or digitally
with integer arithmetic where the inputs and weights allow it (``backend="digital"``: the
bit-packed XNOR/AND-popcount kernel of :mod:`rramsim.kernels.binary`). Every other layer (batch
norm, pooling, activations) runs digitally as in the network.

The path of one weight layer, ``y = s * (sum over arrays of ADC(partial sums)) + b``:

1. **Weights.** ``W`` (n_out, n_in) (convolutions unrolled: ``n_in = C_in KH KW``, one array
   read per output position) is scaled per output, ``W = s_o Wn`` with ``s_o = max_j |W_oj|``;
   ``s`` is applied digitally. ``Wn`` in [-1, 1] is stored as conductances in units of the
   device range: a differential pair ``G = g+ - g-`` (``g+ = max(Wn, 0)``, ``g- = max(-Wn, 0)``)
   or a device against a mid-range reference, ``G = 2 (g - 1/2)``. Each device is rounded to
   ``levels`` conductance levels, gets a programming error ``N(0, prog_noise^2)`` once, and is
   clipped to [0, 1]. Binary weights (``alpha_o sign(W)``) become ``Wn = +-1`` exactly.
2. **Inputs (DAC).** The input code of a layer follows from the activation before it: +-1
   (sign activations; 0 where a convolution pads) is applied as a bipolar 1-bit read voltage,
   {0, 1} (binary / BitSplit bits) as a unipolar 1-bit one, both in one cycle. A k-bit
   activation ``m / n`` (``m`` in 0..n, ``n = 2^k - 1``) is applied bit-serially, plane ``t``
   (bit t of m) in cycle t, and the partial sums shifted and added, ``sum_t 2^t P_t``; or with
   ``kbit_input = "multibit"`` in one cycle as ``m`` through a k-bit DAC. Real inputs go through an
   ``inp_bits`` full-range DAC (:meth:`ArrayLayer.dac`) over the calibrated input range:
   ``2^b`` levels over ``[0, max]``, or ``2^b - 1`` over ``[-max, max]`` so that 0 is a level.
3. **Arrays.** Rows are split into blocks of ``array_rows``, columns into blocks of
   ``array_cols``; each array computes its partial sums ``P = X_block G_block^T``. Read noise
   (independent per device and read, std ``read_noise``) is added as its exact equivalent on
   each output, ``N(0, read_noise^2 c sum_j x_j^2)`` with ``c = 2`` (differential pair) or
   ``c = 4`` (device against an ideal reference, whose difference is doubled).
4. **ADC.** Each array column's partial sum is converted by a full-range ADC
   (:class:`~rramsim.analog.converters.FullRangeConverter`, :meth:`ArrayLayer.adc`) with
   ``2^b`` levels (``b = out_bits``) ``lo + c step`` over a range ``[lo, hi]`` per array:
   calibrated (``adc_percentile`` of the partial sums on calibration batches) or the full range
   ``+-max_o sum_j |G_oj| max|x|``.
   Where the ideal partial sums are integers (+-1 weights with 1-bit or integer inputs) and the
   range holds at most ``2^b`` integers, the levels are those integers (``lo`` rounded down,
   step 1), so an ADC wide enough is exact; a wider range gets ``2^b`` levels spread evenly
   over it (``step = (hi - lo) / (2^b - 1)``), as for real-valued partial sums.
   ``out_bits = 0`` is an ideal converter. (The training tiles' converters are symmetric,
   ``2^b - 1`` levels around 0: :mod:`rramsim.analog.converters`.)
5. **Digital.** Partial sums of the arrays of a layer are added, then ``* s + b``.

Invariant (tested): with ideal devices (no noise, continuous levels) and an ADC wide enough,
the arrays reproduce the digital twin exactly (identical integers for binary, k-bit and BitSplit
layers), and both reproduce the network's own floating-point outputs when it computes in
float64 (a network with float32 convolutions rounds its first layer differently, which can flip
a quantized activation that sits on a step: see :func:`exactness_check`).

Hardware cost (:meth:`MappedNetwork.cost`, per inference = per image) is a function of the
network and the shape of one input sample (``input_shape``, by default that of the inputs seen
last; a layer's own :meth:`ArrayLayer.cost` takes the shape of its input), never of the batch
size. It counts, per layer on arrays: ``input_cycles = P T`` (P output positions, T cycles per
position; summed over layers this is work; ``latency_cycles`` is the critical path, with
BitSplit's paths in parallel), ``array_activations = P T R C`` (R row blocks, C column blocks),
``adc_conversions = P T R n_out``, ``devices = 2 n_in n_out``
(differential pair) or ``n_in n_out + n_in C`` (one device per weight and one reference column
per array), ``arrays = R C`` and, for +-1-weight layers with k-bit (or 1-bit) inputs,
``binary_macs = P k n_in n_out`` whatever the DAC; layers kept digital count ``digital_macs =
P n_in n_out``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from rramsim.analog.converters import FullRangeConverter, full_range_levels
from rramsim.config import ArrayConfig
from rramsim.errors import MappingError
from rramsim.kernels.conv import im2row
from rramsim.nn import (
    AnalogLinear,
    BatchNorm1d,
    BatchNorm2d,
    BinaryLinear,
    BitSplit,
    Conv2d,
    Dropout,
    Flatten,
    Hardtanh,
    LearnableThreshold,
    Linear,
    MaxPool2d,
    Module,
    Quantize,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    Tanh,
)
from rramsim.nn.conv import check_images, conv_output_size
from rramsim.nn.quantizers import BitOf, NLevel, SteSign, Threshold
from rramsim.rng import generator, spawn

BACKENDS = ("arrays", "digital")
WEIGHT_LAYERS = (Linear, AnalogLinear, BinaryLinear, Conv2d)  # BinaryConv2d is a Conv2d
PASSTHROUGH = (Sigmoid, ReLU, Tanh, Hardtanh, BatchNorm1d, BatchNorm2d, MaxPool2d, Flatten,
               Dropout, Quantize, LearnableThreshold)


# input codes ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class InputCode:
    """What a layer's inputs can be: ``real``; ``sign`` (+-1, 0 at padding); ``binary`` ({0,
    1}); ``levels`` (``m / n``, m integer in 0..n)."""

    kind: str = "real"
    n: int = 1

    @property
    def bits(self) -> int:
        """Bit planes of a ``levels`` code (1 for sign and binary)."""
        return max(1, math.ceil(math.log2(self.n + 1))) if self.kind == "levels" else 1

    def describe(self) -> str:
        return {"real": "real values", "sign": "+-1 values", "binary": "{0, 1} values",
                "levels": f"{self.n + 1} levels m/{self.n}"}[self.kind]


REAL = InputCode()


def _code_of_quantizer(q) -> InputCode:
    if isinstance(q, (SteSign, Threshold)):
        return InputCode("sign")
    if isinstance(q, BitOf):
        return InputCode("binary")
    if isinstance(q, NLevel):
        return InputCode("binary") if q.n == 1 else InputCode("levels", q.n)
    return REAL


def _code_after(layer: Module, code: InputCode) -> InputCode:
    """The code of a passthrough layer's output given its input's."""
    if isinstance(layer, Quantize):
        return _code_of_quantizer(layer.q)
    if isinstance(layer, LearnableThreshold):
        return InputCode("sign")
    if isinstance(layer, (MaxPool2d, Flatten, Dropout)):  # keep the value set (Dropout: eval)
        return code
    return REAL


def _check_code(x: np.ndarray, code: InputCode, name: str) -> None:
    if not np.isfinite(x).all():
        raise MappingError(f"{name}: input contains NaN or infinite values")
    if code.kind == "sign":
        ok = np.all((x == 1.0) | (x == -1.0))
    elif code.kind == "binary":
        ok = np.all((x == 0.0) | (x == 1.0))
    elif code.kind == "levels":
        m = x * code.n
        ok = np.all(np.abs(m - np.round(m)) < 1e-9) and x.min() >= 0 and x.max() <= 1
    else:
        return
    if not ok:
        raise MappingError(f"{name}: mapped for {code.describe()} (from the activation before "
                           f"it) but got other input values")


def _integer_planes(x: np.ndarray, code: InputCode, multibit: bool):
    """Integer input planes and their shift weights: [(plane, 2^t)] (exact small integers)."""
    if code.kind in ("sign", "binary"):
        return [(x, 1)]
    m = np.round(x * code.n)
    if multibit:
        return [(m, 1)]
    mi = m.astype(np.int64)
    return [(((mi >> t) & 1).astype(np.float64), 2 ** t) for t in range(code.bits)]


# one mapped layer -----------------------------------------------------------------------------

def _layer_matrix(layer: Module):
    """``(W (n_out, n_in), bias or None, conv geometry or None, input quantizer or None)``."""
    if isinstance(layer, Conv2d):
        W = layer.effective_weight().reshape(layer.out_channels, -1)
        geom = (layer.in_channels, layer.kernel_size, layer.stride, layer.padding)
        b = layer.bias.value if layer.bias is not None else None
        return W, b, geom, getattr(layer, "iq", None)
    if isinstance(layer, AnalogLinear):
        W, b = layer.get_weights()
        return W, b, None, None
    if isinstance(layer, BinaryLinear):
        b = layer.bias.value if layer.bias is not None else None
        return layer.effective_weight(), b, None, layer.iq
    b = layer.bias.value if layer.bias is not None else None
    return layer.weight.value, b, None, None


_uniform = full_range_levels  # the level arithmetic of the arrays' converters


class ArrayLayer(Module):
    """A weight layer of a :class:`MappedNetwork` (forward only; see the module docstring).

    Parameters
    ----------
    layer : the trained layer (Linear, AnalogLinear, BinaryLinear, Conv2d, BinaryConv2d)
    code : InputCode of its inputs
    config : ArrayConfig (None for the digital backend)
    on_arrays : False keeps the layer digital (exact floating point)
    backend : "arrays" or "digital"
    seed : programming error and read-noise stream
    prefix : prepended to the layer's name (``path1.`` inside BitSplit path 1)
    """

    def __init__(self, layer: Module, code: InputCode, config: ArrayConfig | None,
                 on_arrays: bool, backend: str, seed=None, prefix: str = ""):
        super().__init__()
        W, b, geom, iq = _layer_matrix(layer)
        weight = getattr(layer, "weight", None)
        self.name = prefix + getattr(layer, "name", weight.name.rsplit(".", 1)[0] if weight
                                     is not None else type(layer).__name__)
        self.root = prefix  # the BitSplit path ("pathI.") or "" (for the latency count)
        self.W = np.array(W, dtype=np.float64)
        self.bias = None if b is None else np.array(b, dtype=np.float64)
        self.geom, self.iq = geom, iq
        self.code = _code_of_quantizer(iq) if iq is not None else code
        self.n_out, self.n_in = self.W.shape
        self.config, self.backend = config, backend
        self.on_arrays = bool(on_arrays) and backend == "arrays"
        scale = np.abs(self.W).max(axis=1)
        self.scale = np.where(scale > 0, scale, 1.0)
        Wn = self.W / self.scale[:, None]
        self.sign_weights = bool(np.all(np.abs(Wn) == 1.0))
        self.integer = self.sign_weights and self.code.kind != "real"
        self._rng = generator(seed)
        self.calibrating = False
        if self.integer and not (backend == "arrays" and on_arrays):
            from rramsim.kernels.binary import pack_weights

            self._wbits = pack_weights(Wn)
        if self.on_arrays:
            self.G = self._program(Wn)
            cfg = self.config
            self.row_blocks = [(a, min(a + cfg.array_rows, self.n_in))
                               for a in range(0, self.n_in, cfg.array_rows)]
            self.col_blocks = [(a, min(a + cfg.array_cols, self.n_out))
                               for a in range(0, self.n_out, cfg.array_cols)]
            self.adc_lo = self.adc_step = None  # (row blocks, n_out) once set
            self.dac_range = None  # (lo, hi) of real inputs once calibrated

    # programming ------------------------------------------------------------------------------
    def _program(self, Wn: np.ndarray) -> np.ndarray:
        cfg = self.config

        def device(g):
            if cfg.levels:
                g = np.round(g * (cfg.levels - 1)) / (cfg.levels - 1)
            if cfg.prog_noise:
                g = np.clip(g + cfg.prog_noise * self._rng.standard_normal(g.shape), 0.0, 1.0)
            return g

        if cfg.weight_encoding == "differential":
            return device(np.maximum(Wn, 0.0)) - device(np.maximum(-Wn, 0.0))
        return 2.0 * (device(0.5 + 0.5 * Wn) - 0.5)

    # passes -----------------------------------------------------------------------------------
    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        if self.iq is not None:
            x = self.iq(x)
        if self.geom is None:
            if x.ndim != 2 or x.shape[1] != self.n_in:
                raise MappingError(f"{self.name}: expected input (B, {self.n_in}), got "
                                   f"{x.shape}")
        else:
            x = check_images(x, self.geom[0], self.name)
        _check_code(x, self.code, self.name)
        if not self.on_arrays and not self.integer:
            y = self._unroll(x) @ self.W.T  # digital floating point
            return self._shape_output(y + self.bias if self.bias is not None else y, x)
        # Bit planes (and the DAC) act elementwise: apply them before unrolling, on the
        # smaller input.
        planes, coef, xmax = self._planes(x)
        # Binary-weight layers with integer inputs: the planes and their sums with +-1 weights
        # (< 2^24) are exact in float32 (programmed conductances round to 1e-7 of their
        # range, far below any device noise): half the memory traffic, twice the BLAS speed.
        exact32 = self.integer and self.on_arrays and xmax * min(self.config.array_rows,
                                                                   self.n_in) < 2 ** 24
        dtype = np.float32 if exact32 else np.float64
        planes = [(self._unroll(plane.astype(dtype, copy=False)), shift)
                  for plane, shift in planes]
        if self.on_arrays:
            acc = self._arrays(planes, xmax)
        else:
            acc = self._digital_integer(planes)
        y = acc * (coef * self.scale)
        return self._shape_output(y + self.bias if self.bias is not None else y, x)

    def _unroll(self, x: np.ndarray) -> np.ndarray:
        """Rows of the layer's matrix product: x itself, or the patches of a convolution
        (N * OH * OW, C_in KH KW), in x's dtype."""
        if self.geom is None:
            return x
        _, k, s, p = self.geom
        return im2row(x, k, k, s, p, dtype=x.dtype)

    def _shape_output(self, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        if self.geom is None:
            return y
        _, k, s, p = self.geom
        n = x.shape[0]
        oh = conv_output_size(x.shape[2], k, s, p)
        ow = conv_output_size(x.shape[3], k, s, p)
        y = y.reshape(n, oh * ow, self.n_out).transpose(0, 2, 1)
        return np.ascontiguousarray(y).reshape(n, self.n_out, oh, ow)

    def backward(self, grad):
        raise MappingError(f"{self.name}: a mapped network is for inference only")

    def _digital_integer(self, planes) -> np.ndarray:
        """Exact integer sum ``sum_t 2^t X_t Wn^T`` by the bit-packed kernel (float64)."""
        from rramsim.kernels.binary import binary_matmul, pack_inputs

        acc = None
        for plane, shift in planes:
            sign, mask = pack_inputs(plane)
            part = binary_matmul(sign, mask, self._wbits, self.n_in)
            acc = part * shift if acc is None else acc + part * shift
        return acc.astype(np.float64)

    # arrays -----------------------------------------------------------------------------------
    def _planes(self, x: np.ndarray):
        """Input planes with their shift weights, the digital factor after the sum, and the
        largest |input| a plane can carry (for the full ADC range)."""
        if self.code.kind != "real":
            multibit = self.config is not None and self.config.kbit_input == "multibit" \
                and self.on_arrays
            planes = _integer_planes(x, self.code, multibit)
            coef = 1.0 / self.code.n if self.code.kind == "levels" else 1.0
            xmax = float(self.code.n) if (self.code.kind == "levels" and multibit) else 1.0
            return planes, coef, xmax
        cfg = self.config
        if self.calibrating:
            hi = float(np.abs(x).max()) or 1.0
            self.dac_range = (0.0 if x.min() >= 0 else -hi, hi)
        elif self.dac_range is None and (cfg.inp_bits or (cfg.out_bits and
                                                          cfg.adc_range == "full")):
            raise MappingError(f"{self.name}: real-valued inputs need the DAC range from "
                               f"calibration; pass calibration data to map_network")
        if cfg.inp_bits:
            x = self.dac().convert(x)
        xmax = max(abs(v) for v in self.dac_range) if self.dac_range else 1.0
        return [(x, 1)], 1.0, xmax

    def dac(self) -> FullRangeConverter | None:
        """The DAC of real-valued inputs over the calibrated range (None before calibration
        or with ``inp_bits = 0``): ``2**inp_bits`` levels over ``[0, hi]``, or over
        ``[-hi, hi]`` one level fewer, ``2**inp_bits - 1``, so that zero is a level (from 2
        bits on)."""
        bits = self.config.inp_bits
        if not bits or self.dac_range is None:
            return None
        lo, hi = self.dac_range
        levels = 2 ** bits - 1 if lo < 0 and bits >= 2 else 2 ** bits
        return FullRangeConverter.spanning(bits, lo, hi, levels)

    def adc(self, r: int) -> FullRangeConverter | None:
        """The ADCs of row block ``r``, one per column (n_out,): ``2**out_bits`` levels
        ``adc_lo[r] + c adc_step[r]`` (None with ``out_bits = 0`` or before the range is set)."""
        if not self.config.out_bits or self.adc_lo is None:
            return None
        return FullRangeConverter(self.config.out_bits, self.adc_lo[r], self.adc_step[r])

    def _arrays(self, planes, xmax: float) -> np.ndarray:
        """``sum_t 2^t sum_r ADC(X_t[:, r] G[:, r]^T + read noise)`` over row blocks r."""
        cfg = self.config
        noise_gain = math.sqrt(2.0) if cfg.weight_encoding == "differential" else 2.0
        set_range = self.calibrating or self.adc_lo is None
        if set_range:
            if not self.calibrating and cfg.out_bits and cfg.adc_range == "calibrated":
                raise MappingError(f"{self.name}: the calibrated ADC range needs calibration "
                                   f"data; pass it to map_network or use adc_range='full'")
            self.adc_lo = np.zeros((len(self.row_blocks), self.n_out))
            self.adc_step = np.ones((len(self.row_blocks), self.n_out))
        acc = np.zeros((planes[0][0].shape[0], self.n_out))
        for r, (a, b) in enumerate(self.row_blocks):
            G = self.G[:, a:b].astype(planes[0][0].dtype)
            parts = []
            for plane, shift in planes:
                xb = plane[:, a:b]
                part = (xb @ G.T).astype(np.float64)
                if cfg.read_noise:
                    std = cfg.read_noise * noise_gain * np.sqrt(
                        np.einsum("ij,ij->i", xb, xb, dtype=np.float64))
                    # float32 draws: half the cost, and far finer than the noise itself
                    part += std[:, None] * self._rng.standard_normal(part.shape,
                                                                     dtype=np.float32)
                parts.append((part, shift))
            if set_range:
                self._set_adc_range(r, [p for p, _ in parts], np.abs(G).sum(axis=1) * xmax)
            adc = self.adc(r)
            for part, shift in parts:
                if adc is not None:
                    part = adc.convert(part)
                if shift != 1:
                    part *= shift
                acc += part
        return acc

    def _set_adc_range(self, r: int, parts: list[np.ndarray], full_bound: np.ndarray) -> None:
        """ADC levels of row block r, one range per array (column block)."""
        cfg = self.config
        if not cfg.out_bits:
            return
        nmax = 2 ** cfg.out_bits - 1
        for a, b in self.col_blocks:
            if cfg.adc_range == "full":
                hi = float(full_bound[a:b].max())
                lo = -hi
            else:
                vals = np.concatenate([p[:, a:b].ravel() for p in parts])
                q = cfg.adc_percentile
                lo, hi = (float(np.percentile(vals, 100.0 - q)), float(np.percentile(vals, q)))
            if self.integer and math.ceil(hi) - math.floor(lo) <= nmax:
                lo, step = math.floor(lo), 1  # every integer partial sum is a level: exact
            else:
                step = (hi - lo) / nmax if hi > lo else 1e-12
            self.adc_lo[r, a:b] = lo
            self.adc_step[r, a:b] = step

    # cost -------------------------------------------------------------------------------------
    def output_shape(self, input_shape) -> tuple[int, ...]:
        """Per-sample output shape for a per-sample input shape: ``(n_in,) -> (n_out,)``, or for
        a convolution ``(C_in, H, W) -> (C_out, OH, OW)``."""
        shape = tuple(int(v) for v in input_shape)
        if self.geom is None:
            if shape != (self.n_in,):
                raise MappingError(f"{self.name}: a sample must have shape ({self.n_in},), got "
                                   f"{shape}")
            return (self.n_out,)
        c_in, k, s, p = self.geom
        if len(shape) != 3 or shape[0] != c_in or min(shape[1:]) + 2 * p < k:
            raise MappingError(f"{self.name}: a sample must have shape ({c_in}, H, W) with H, W "
                               f">= {k - 2 * p}, got {shape}")
        return (self.n_out, conv_output_size(shape[1], k, s, p),
                conv_output_size(shape[2], k, s, p))

    def cost(self, input_shape=None) -> dict:
        """Per-inference counts of this layer (see the module docstring) for one sample.

        Parameters
        ----------
        input_shape : the per-sample shape of the layer's input, ``(C_in, H, W)`` for a
            convolution (its output positions ``P = OH OW`` follow from it); ``(n_in,)`` or
            None for a dense layer (``P = 1``)

        The counts depend only on the layer and ``input_shape``, not on any batch it ran.
        """
        if input_shape is None:
            if self.geom is not None:
                raise MappingError(f"{self.name}: the cost of a convolution needs the input "
                                   f"shape (C_in, H, W) of one sample: its output positions "
                                   f"depend on it")
            input_shape = (self.n_in,)
        out_shape = self.output_shape(input_shape)
        P = 1 if self.geom is None else out_shape[1] * out_shape[2]
        out = {"layer": self.name, "on_arrays": self.on_arrays, "inputs": self.code.describe(),
               "n_in": self.n_in, "n_out": self.n_out, "positions": P}
        if not self.on_arrays:
            out["digital_macs"] = P * self.n_in * self.n_out
            return out
        T = 1 if (self.code.kind != "levels" or self.config.kbit_input == "multibit") \
            else self.code.bits
        R, C = len(self.row_blocks), len(self.col_blocks)
        out.update(cycles=T, input_cycles=P * T, array_activations=P * T * R * C,
                   adc_conversions=P * T * R * self.n_out,
                   devices=(2 * self.n_in * self.n_out
                            if self.config.weight_encoding == "differential"
                            else self.n_in * self.n_out + self.n_in * C),
                   arrays=R * C, binary_macs=(P * self.code.bits * self.n_in * self.n_out
                                              if self.integer else 0))
        return out


# the network ----------------------------------------------------------------------------------

def _walk(layers: list, code: InputCode, root: str, out: list) -> InputCode:
    """Collect ``(container list, index, layer, input code, root)`` of every weight layer;
    ``root`` names the network path ("" or "pathI.") the layer belongs to."""
    for i, la in enumerate(layers):
        if isinstance(la, BitSplit):
            for k, p in enumerate(la.paths):
                if not isinstance(p, Sequential):
                    raise MappingError("BitSplit paths must be Sequential networks")
                _walk(p.layers, code, f"{root}path{k}.", out)
            code = REAL
        elif isinstance(la, Residual):
            _walk(la.inner.layers, code, root, out)
            code = REAL
        elif isinstance(la, Sequential):
            code = _walk(la.layers, code, root, out)
        elif isinstance(la, WEIGHT_LAYERS):
            out.append((layers, i, la, code, root))
            code = REAL
        elif isinstance(la, PASSTHROUGH):
            code = _code_after(la, code)
        else:
            raise MappingError(f"cannot map layer {type(la).__name__!r}: supported are weight "
                               f"layers ({', '.join(c.__name__ for c in WEIGHT_LAYERS)}), "
                               f"BinaryConv2d, containers (Sequential, Residual, BitSplit) and "
                               f"{', '.join(c.__name__ for c in PASSTHROUGH)}")
    return code


def _propagate_shape(layer: Module, shape: tuple[int, ...], seen: dict) -> tuple[int, ...]:
    """The per-sample output shape of ``layer`` for a per-sample input ``shape``; records the
    input shape of every :class:`ArrayLayer` in ``seen`` (by ``id``)."""
    if isinstance(layer, ArrayLayer):
        seen[id(layer)] = shape
        return layer.output_shape(shape)
    if isinstance(layer, Sequential):
        for la in layer.layers:
            shape = _propagate_shape(la, shape, seen)
        return shape
    if isinstance(layer, Residual):  # the branch has the shape of the shortcut
        return _propagate_shape(layer.inner, shape, seen)
    if isinstance(layer, BitSplit):  # the paths have equal shapes (they are summed)
        return [_propagate_shape(p, shape, seen) for p in layer.paths][0]
    if isinstance(layer, MaxPool2d):
        if len(shape) != 3 or min(shape[1:]) < layer.k:
            raise MappingError(f"MaxPool2d: a sample must have shape (C, H, W) with H, W >= "
                               f"{layer.k}, got {shape}")
        return (shape[0], shape[1] // layer.k, shape[2] // layer.k)
    if isinstance(layer, Flatten):
        return (math.prod(shape),)
    return shape  # elementwise: activations, batch norms, dropout, quantizers


class MappedNetwork:
    """A trained network with its weight layers on arrays (or on the digital twin).

    Attributes
    ----------
    model : the mapped copy of the network (eval mode; weight layers are :class:`ArrayLayer`)
    layers : list of ArrayLayer, in forward order
    config : ArrayConfig or None; backend : "arrays" or "digital"
    input_shape : per-sample shape of the inputs seen last (None before any), the default
        input shape of :meth:`cost`
    """

    def __init__(self, model: Module, layers: list[ArrayLayer], config, backend: str):
        self.model, self.layers, self.config, self.backend = model, layers, config, backend
        #: Per-sample shape of the inputs seen last (the default of :meth:`cost`); None before.
        self.input_shape: tuple[int, ...] | None = None

    def forward(self, x) -> np.ndarray:
        """Logits of a batch (the network's input shape)."""
        x = np.asarray(x, dtype=np.float64)
        out = self.model.forward(x)
        self.input_shape = tuple(x.shape[1:])
        return out

    def predict(self, x, batch_size: int = 500) -> np.ndarray:
        """Predicted classes (argmax of the logits), in batches."""
        x = np.asarray(x)
        return np.concatenate([self.forward(x[i:i + batch_size]).argmax(axis=1)
                               for i in range(0, len(x), batch_size)])

    def evaluate(self, x, y, batch_size: int = 500) -> float:
        """Accuracy on (x, y)."""
        return float(np.mean(self.predict(x, batch_size) == np.asarray(y)))

    def calibrate(self, x) -> None:
        """Set the DAC ranges of real inputs and the calibrated ADC ranges from one batch
        ``x`` (a new call replaces them), layer by layer in forward order (each layer sees its
        upstream layers' quantised outputs)."""
        for la in self.layers:
            la.calibrating = True
        try:
            self.forward(x)
        finally:
            for la in self.layers:
                la.calibrating = False

    def cost(self, input_shape=None) -> dict:
        """Per-inference hardware counts, summed over layers, with ``layers`` (per layer).

        Parameters
        ----------
        input_shape : the per-sample shape of the network's input, e.g. ``(1, 28, 28)`` or
            ``(784,)``; each layer's input shape follows from it through the network (pooling,
            flattening, convolutions). Default: the per-sample shape of the inputs the network
            saw last (:meth:`forward`, :meth:`predict`, :meth:`evaluate`, :meth:`calibrate`);
            the batch size never matters.

        ``latency_cycles`` counts input cycles on the critical path instead of summing them:
        layers run one after the other, every array of a layer reads at once, and the paths of
        a BitSplit network run side by side on their own arrays (so the longest path counts).
        """
        if input_shape is None:
            if self.input_shape is None:
                raise MappingError("MappedNetwork.cost: give the input_shape of one sample (e.g. "
                                   "(1, 28, 28)) or run a forward pass first")
            input_shape = self.input_shape
        shapes: dict[int, tuple[int, ...]] = {}
        _propagate_shape(self.model, tuple(int(v) for v in input_shape), shapes)
        per = [la.cost(shapes[id(la)]) for la in self.layers]
        keys = ("input_cycles", "array_activations", "adc_conversions", "devices", "arrays",
                "binary_macs", "digital_macs")
        tot = {k: int(sum(c.get(k, 0) for c in per)) for k in keys}
        by_root: dict[str, int] = {}
        for la, c in zip(self.layers, per):
            by_root[la.root] = by_root.get(la.root, 0) + c.get("input_cycles", 0)
        shared = by_root.pop("", 0)
        tot["latency_cycles"] = int(shared + max(by_root.values(), default=0))
        return dict(tot, layers=per)


def map_network(model: Module, config: ArrayConfig | None = None, calibration=None, seed=0,
                backend: str = "arrays") -> MappedNetwork:
    """Map a trained network onto arrays (or its digital twin); see the module docstring.

    Parameters
    ----------
    model : a trained network (rramsim layers); it is copied, not modified
    config : ArrayConfig (default ``ArrayConfig()``); ignored by the digital backend
    calibration : a batch of training inputs (e.g. 500 images) to set the DAC and ADC ranges;
        needed for calibrated ADC ranges and for real-valued inputs on arrays
    seed : programming errors and read noise (same seed, same numbers)
    backend : "arrays" or "digital" (every layer digital; binary and k-bit layers with +-1
        weights in integer arithmetic through the bit-packed kernel)

    Raises
    ------
    MappingError : a layer that cannot be mapped (the message names it)
    """
    if backend not in BACKENDS:
        raise MappingError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    if config is None:
        config = ArrayConfig()
    if not isinstance(config, ArrayConfig):
        raise MappingError(f"config must be an ArrayConfig, got {type(config).__name__}")
    if not isinstance(model, Module):
        raise MappingError(f"model must be an rramsim network, got {type(model).__name__}")
    mapped = copy.deepcopy(model)
    if not isinstance(mapped, Sequential):  # a bare layer or container: map it inside one
        mapped = Sequential(mapped)
    top = mapped.layers
    found: list = []
    _walk(top, REAL, "", found)
    if not found:
        raise MappingError("the network has no weight layer to map")
    by_root: dict[str, list[int]] = {}
    for k, (_, _, _, _, root) in enumerate(found):
        by_root.setdefault(root, []).append(k)
    digital = set()
    if config.map_layers == "hidden":
        for ks in by_root.values():
            digital.update({ks[0], ks[-1]})
    seeds = spawn(seed, len(found))
    layers = []
    for k, (container, i, la, code, root) in enumerate(found):
        al = ArrayLayer(la, code, config if backend == "arrays" else None,
                        on_arrays=k not in digital, backend=backend, seed=seeds[k], prefix=root)
        container[i] = al
        layers.append(al)
    mapped.eval()
    net = MappedNetwork(mapped, layers, config if backend == "arrays" else None, backend)
    if calibration is not None and backend == "arrays":
        net.calibrate(calibration)
    return net


# study runner ---------------------------------------------------------------------------------


