"""Converters (DAC and ADC) and the peripherals of an analog pass.

A converter is a small object with a resolution ``bits``, a range, its ``levels`` and
``convert(v)``; training tiles and inference arrays use the same interface. Two level
conventions exist, one per class, because the two are different converters:

- :class:`SymmetricConverter` (``"symmetric"``): ``2**bits - 1`` levels ``k step``,
  ``|k| <= 2**(bits - 1) - 1``, on ``[-bound, bound]``; zero and both bounds are levels. The DAC
  and ADC of every pass of a training tile (:class:`~rramsim.config.IOConfig` ``inp_bits``,
  ``inp_bound``, ``out_bits``, ``out_bound``).
- :class:`FullRangeConverter` (``"full_range"``): ``2**bits`` levels ``lo + c step``, ``c`` in
  ``0 .. 2**bits - 1``, over a range ``[lo, hi]`` set by calibration. The column ADCs and the
  real-input DAC of inference arrays (:class:`~rramsim.config.ArrayConfig` ``out_bits``,
  ``inp_bits``; the DAC of a signed range drops one level so that zero is one).

A signed symmetric converter spends one code to make zero a level, which keeps an exact zero
(no offset on a zero input) and a range symmetric around it for bound management; a full-range
converter uses every code of a range that need not contain zero (the partial sums of an array
column, calibrated per column). ``bits = 0`` is an ideal converter: a symmetric one still clips
to its bound (the tile's output range), a full-range one passes values through.

The tile's hot path runs the symmetric arithmetic inside the compiled kernel of
:func:`rramsim.kernels.mvm.analog_mvm`, with the resolution and bound of the tile's converter
objects; :func:`quantize` is its numpy twin.
"""

from __future__ import annotations

import numpy as np

from rramsim.config import IOConfig
from rramsim.errors import InputError
from rramsim.validation import suggest


def quantize(v, bound: float, bits: int) -> np.ndarray:
    """Clip ``v`` to [-bound, bound] and round to ``2**bits - 1`` equally spaced levels.

    The levels are ``k * step`` with ``step = 2 bound / (2**bits - 2)`` and
    ``|k| <= 2**(bits - 1) - 1``, so 0 and both bounds are levels. ``bits = 0``: clip only.
    Rounds half to even (numpy's ``round``).
    """
    v = np.clip(np.asarray(v, dtype=np.float64), -bound, bound)
    if bits > 0:
        step = 2.0 * bound / (2.0 ** bits - 2.0)
        v = np.round(v / step) * step
    return v


def full_range_levels(v, lo, step, nmax: int) -> np.ndarray:
    """Round ``v`` to the levels ``lo + c step``, ``c`` in ``0 .. nmax`` (clipping outside);
    ``lo`` and ``step`` may be arrays that broadcast against ``v`` (one range per column)."""
    return lo + np.clip(np.round((v - lo) / step), 0, nmax) * step


class Converter:
    """Interface of a DAC or ADC.

    Attributes
    ----------
    bits : int, resolution (0: ideal)
    name : str, the registered name of the class (:data:`CONVERTERS`)
    convention : str, the level convention of the class in words (:attr:`levels` gives the
        number)
    """

    name = ""
    convention = ""
    bits: int

    @property
    def levels(self) -> int:
        """Number of output levels, the class's level convention (0: ideal, continuous)."""
        raise NotImplementedError

    @property
    def range(self) -> tuple:
        """``(lo, hi)``, the lowest and highest level (arrays for per-column ranges)."""
        raise NotImplementedError

    def convert(self, v) -> np.ndarray:
        """The converted values of ``v`` (same shape)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        lo, hi = self.range
        return f"{type(self).__name__}(bits={self.bits}, levels={self.levels}, range={lo}..{hi})"


def _check_bits(bits, smallest: int) -> int:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) \
            or not (bits == 0 or smallest <= bits <= 24):
        raise InputError(f"converter bits must be 0 (ideal) or in [{smallest}, 24], got {bits!r}")
    return int(bits)


class SymmetricConverter(Converter):
    """Signed converter with zero as a level: ``2**bits - 1`` levels ``k step`` on
    ``[-bound, bound]``, ``step = 2 bound / (2**bits - 2)``, ``|k| <= 2**(bits - 1) - 1``.

    ``convert`` clips to ``[-bound, bound]`` and rounds half to even (:func:`quantize`);
    ``bits = 0`` clips only. One bit would leave the single level 0, so ``bits`` is 0 or >= 2.
    """

    name = "symmetric"
    convention = "2**bits - 1 levels, symmetric around 0, which is a level"

    def __init__(self, bits: int, bound: float):
        self.bits = _check_bits(bits, 2)
        if not (np.isfinite(bound) and bound > 0):
            raise InputError(f"converter bound must be a positive finite number, got {bound!r}")
        self.bound = float(bound)

    @property
    def levels(self) -> int:
        return 2 ** self.bits - 1 if self.bits else 0

    @property
    def step(self) -> float:
        """Spacing of the levels (0 for ``bits = 0``)."""
        return 2.0 * self.bound / (2.0 ** self.bits - 2.0) if self.bits else 0.0

    @property
    def range(self) -> tuple[float, float]:
        return (-self.bound, self.bound)

    def convert(self, v) -> np.ndarray:
        return quantize(v, self.bound, self.bits)


class FullRangeConverter(Converter):
    """Converter over a range ``[lo, hi]`` that need not contain zero: ``levels`` levels
    ``lo + c step``, ``c`` in ``0 .. levels - 1`` (default ``levels = 2**bits``, every code).

    ``convert`` rounds half to even and clips to the lowest and highest level
    (:func:`full_range_levels`); ``bits = 0`` is ideal (values pass unchanged). ``lo`` and
    ``step`` may be arrays (one range per array column). ``levels = 2**bits - 1`` on a range
    symmetric around zero gives the level set of a :class:`SymmetricConverter` (zero is a
    level), still computed from the lower end; inference arrays drive signed real inputs so.

    Parameters
    ----------
    bits : resolution
    lo, step : lowest level and spacing (use :meth:`spanning` to give ``hi`` instead)
    levels : number of levels, at most ``2**bits`` (default)
    """

    name = "full_range"
    convention = "2**bits levels (every code) spread over [lo, hi]"

    def __init__(self, bits: int, lo=0.0, step=1.0, levels: int | None = None):
        self.bits = _check_bits(bits, 1)
        top = 2 ** self.bits
        self.n_levels = top if levels is None else int(levels)
        if self.bits and not 2 <= self.n_levels <= top:
            raise InputError(f"a {self.bits}-bit converter has 2 to {top} levels, got {levels}")
        self.lo, self.step = lo, step

    @classmethod
    def spanning(cls, bits: int, lo, hi, levels: int | None = None) -> FullRangeConverter:
        """The converter whose lowest level is ``lo`` and highest ``hi``:
        ``step = (hi - lo) / (levels - 1)``."""
        conv = cls(bits, lo, 1.0, levels)
        conv.step = (hi - lo) / (conv.n_levels - 1)
        return conv

    @property
    def levels(self) -> int:
        return self.n_levels if self.bits else 0

    @property
    def range(self):
        return (self.lo, self.lo + (self.n_levels - 1) * self.step)

    def convert(self, v) -> np.ndarray:
        if not self.bits:
            return v
        return full_range_levels(v, self.lo, self.step, self.n_levels - 1)


#: Registered converter classes: name -> class.
CONVERTERS = {cls.name: cls for cls in (SymmetricConverter, FullRangeConverter)}


def get_converter(name: str, **params) -> Converter:
    """A converter by registered name, e.g. ``get_converter("symmetric", bits=7, bound=1.0)``."""
    if name not in CONVERTERS:
        raise InputError(f"unknown converter {name!r}{suggest(name, CONVERTERS)}; valid: "
                         f"{', '.join(CONVERTERS)}")
    return CONVERTERS[name](**params)


def pass_converters(io: IOConfig) -> tuple[SymmetricConverter, SymmetricConverter]:
    """``(dac, adc)`` of an analog pass: ``inp_bits`` over ``+-inp_bound``, ``out_bits`` over
    ``+-out_bound``."""
    return SymmetricConverter(io.inp_bits, io.inp_bound), SymmetricConverter(io.out_bits,
                                                                             io.out_bound)


def analog_mvm(M: np.ndarray, X: np.ndarray, io: IOConfig, state: np.ndarray,
               converters: tuple[SymmetricConverter, SymmetricConverter] | None = None):
    """``Y = X M^T`` through the peripherals ``io``.

    Parameters
    ----------
    M : ndarray (n_out, n_in), the oriented weight matrix (``W`` forward, ``W.T`` backward)
    X : ndarray (B, n_in), inputs
    io : IOConfig
    state : uint64 array (1,), the output-noise random stream (advanced in place)
    converters : ``(dac, adc)`` built once by :func:`pass_converters` (a tile keeps its own);
        default: built from ``io``

    Returns
    -------
    Y : ndarray (B, n_out)
    repeats : int, number of bound-management repetitions
    """
    if io.is_perfect:
        return X @ M.T, 0
    kernel = _mvm_kernel or _load_mvm_kernel()
    dac, adc = converters if converters is not None else pass_converters(io)
    return kernel(M, X, dac, adc, io, state)


#: :func:`rramsim.kernels.mvm.analog_mvm` once imported (numba loads on first use; an import
#: statement on every pass cost about 0.5 us, a sixth of a small tile's forward pass).
_mvm_kernel = None


def _load_mvm_kernel():
    global _mvm_kernel
    from rramsim.kernels.mvm import analog_mvm as kernel

    _mvm_kernel = kernel
    return kernel
