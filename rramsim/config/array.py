"""Configuration of inference arrays (networks mapped onto crossbars with quantized peripherals)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rramsim.config.fields import _f, _make_section, _Section, accepts_aliases, parse_overrides
from rramsim.errors import ConfigError


@accepts_aliases
@dataclass(frozen=True)
class ArrayConfig(_Section):
    """Inference arrays for a trained network (:func:`rramsim.inference.map_network`).

    Each weight layer becomes a matrix (convolutions unrolled: rows ``C_in KH KW``) split over
    arrays of ``array_rows`` inputs x ``array_cols`` outputs. Weights are scaled per output to
    ``[-1, 1]`` (the scale is applied digitally) and stored as conductances in units of the
    device range ``g_max - g_min``: a differential pair ``g+ - g-`` or a device minus a
    reference at mid range, ``2 (g - 1/2)``; ``levels`` conductance levels per device (0:
    continuous), Gaussian programming error ``prog_noise`` once per device, Gaussian read noise
    ``read_noise`` per device per read. Each array's column outputs (partial sums) go through its
    own ADC (``out_bits`` over a range from calibration or the full theoretical range); partial
    sums are added digitally. Inputs: +-1 and {0, 1} activations use a 1-bit DAC (bipolar /
    unipolar read voltage, one cycle); k-bit activations are applied bit-serially (k cycles,
    shift-and-add) or by a k-bit DAC; real-valued inputs by an ``inp_bits`` DAC over the
    calibrated input range.

    The converters are full-range ones (:class:`rramsim.analog.converters.FullRangeConverter`):
    ``2**out_bits`` ADC levels spread over the column's range, where the training tile's
    symmetric converters (:class:`~rramsim.config.IOConfig`, same field names) have
    ``2**bits - 1`` levels around zero. ``adc_bits`` and ``dac_bits``, the earlier names of
    ``out_bits`` and ``inp_bits``, are accepted as aliases (keyword arguments, ``--set
    array.adc_bits=4``, attribute reads).
    """

    SECTION = "array"

    array_rows: int = _f(256, "Crossbar rows (inputs) per array; longer inputs are split and "
                         "their partial sums added digitally.", "rows", lo=1)
    array_cols: int = _f(256, "Crossbar columns (outputs) per array.", "columns", lo=1)
    weight_encoding: str = _f("differential", "Weight as a differential pair g+ - g-, or as a "
                              "device minus a mid-range reference.", choices=("differential",
                                                                              "reference"))
    levels: int = _f(0, "Conductance levels per device (0: continuous; otherwise >= 2).",
                     "levels", lo=0, hi=65536)
    prog_noise: float = _f(0.0, "Std of the programming error of each device.",
                           "fraction of g_max - g_min", lo=0.0, hi=1.0)
    read_noise: float = _f(0.0, "Std of the read noise of each device, drawn per read.",
                           "fraction of g_max - g_min", lo=0.0, hi=1.0)
    out_bits: int = _f(8, "ADC resolution per array column, 2**bits levels over its range "
                       "(0: ideal, no quantisation).", "bits", lo=0, hi=24,
                       aliases=("adc_bits",))
    adc_range: str = _f("calibrated", "ADC range: from calibration batches, or the full "
                        "range the array's partial sums can take.",
                        choices=("calibrated", "full"))
    adc_percentile: float = _f(100.0, "Calibrated ADC range: this percentile of the partial "
                               "sums (and 100 minus it) on the calibration batches.",
                               "percent", lo=50.0, hi=100.0, lo_open=True)
    inp_bits: int = _f(8, "DAC resolution for real-valued inputs, 2**bits levels over "
                       "[0, max], one fewer over [-max, max] so that 0 is a level (0: ideal).",
                       "bits", lo=0, hi=24, aliases=("dac_bits",))
    kbit_input: str = _f("bit_serial", "How k-bit activations are applied: k cycles of 1-bit "
                         "planes (shift-and-add), or one cycle with a k-bit DAC.",
                         choices=("bit_serial", "multibit"))
    map_layers: str = _f("hidden", "Which weight layers go on arrays: all, or all but the "
                         "first and last of each network path (kept digital, as usual for "
                         "binary networks).", choices=("all", "hidden"))

    def _check(self):
        if self.levels == 1:
            raise ConfigError("array.levels = 1 is invalid: must be 0 (continuous) or >= 2")
        if self.weight_encoding == "reference" and self.levels and self.levels % 2 == 0:
            raise ConfigError(f"array.levels = {self.levels} with weight_encoding = 'reference' "
                              f"is invalid: the mid-range reference (weight 0) is a level only "
                              f"for an odd number of levels")

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any] | Sequence[str] = ()) -> ArrayConfig:
        """Defaults with ``{"array.out_bits": 4}`` or ``["array.out_bits=4", ...]`` applied
        (aliases such as ``array.adc_bits`` accepted)."""
        items = parse_overrides(overrides) if not isinstance(overrides, Mapping) else overrides
        values = {}
        for dotted, value in items.items():
            section, _, key = dotted.partition(".")
            if section != cls.SECTION or not key:
                raise ConfigError(f"override {dotted!r}: expected array.KEY")
            values[key] = value
        return _make_section(cls, cls.SECTION, values, "overrides")
