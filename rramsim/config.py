"""Configuration as data: frozen dataclasses, TOML presets, dotted command-line overrides.

A tile is configured by six sections, each a frozen dataclass whose fields are documented once,
in their ``metadata`` (meaning, unit, valid range); the command line's ``--help`` and the error
messages are generated from that metadata.

=============  ==========================================================================
section        what it configures
=============  ==========================================================================
``device``     the resistive device: step sizes, bounds, their variations (:class:`DeviceConfig`)
``update``     the pulsed update: pulse length, update management (:class:`UpdateConfig`)
``forward``    peripherals of the forward pass ``y = W x`` (:class:`IOConfig`)
``backward``   peripherals of the backward pass ``z = W^T d`` (:class:`IOConfig`)
``reference``  the reference array and zero-shifting (:class:`ReferenceConfig`)
``mapping``    how network weights map onto device weights (:class:`MappingConfig`)
=============  ==========================================================================

Presets are TOML files in ``devices/`` with the same sections and keys; any key may be
overridden with ``--set section.key=value``. Unknown keys and out-of-range values raise
:class:`ConfigError` naming the key and the valid range.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping, Sequence


class ConfigError(ValueError):
    """A configuration value, key, or preset is invalid; the message names it and what is valid."""


def _f(default, doc: str, unit: str = "", lo=None, hi=None, lo_open=False, hi_open=False,
       choices: Sequence[str] | None = None):
    """A documented dataclass field with its valid range (checked in ``__post_init__``)."""
    return field(default=default, metadata=dict(doc=doc, unit=unit, lo=lo, hi=hi, default=default,
                                                lo_open=lo_open, hi_open=hi_open, choices=choices))


def _range_text(meta: Mapping[str, Any]) -> str:
    if isinstance(meta.get("default"), bool):
        return "true or false"
    if meta.get("choices"):
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    lo, hi = meta.get("lo"), meta.get("hi")
    left = "(" if meta.get("lo_open") or lo is None else "["
    right = ")" if meta.get("hi_open") or hi is None else "]"
    return f"in {left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"


class _Section:
    """Mixin: type coercion and range validation from field metadata."""

    SECTION = ""

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            key = f"{self.SECTION}.{f.name}"
            value = _coerce(key, value, f.type)
            object.__setattr__(self, f.name, value)
            meta = f.metadata
            if meta.get("choices") is not None:
                if value not in meta["choices"]:
                    raise ConfigError(f"{key} = {value!r} is invalid: must be {_range_text(meta)}")
                continue
            if isinstance(value, bool) or isinstance(value, str):
                continue
            if isinstance(value, float) and not math.isfinite(value):
                what = "is NaN" if math.isnan(value) else f"= {value} is not finite"
                raise ConfigError(f"{key} {what}: must be {_range_text(meta)}")
            lo, hi = meta.get("lo"), meta.get("hi")
            bad = (lo is not None and (value < lo or (meta.get("lo_open") and value == lo))) or (
                hi is not None and (value > hi or (meta.get("hi_open") and value == hi)))
            if bad:
                raise ConfigError(f"{key} = {value!r} is out of range: must be {_range_text(meta)}"
                                  f" ({meta['doc'].split('.')[0]})")
        self._check()

    def _check(self):
        """Cross-field checks (overridden where needed)."""

    @classmethod
    def field_docs(cls) -> list[tuple[str, Any, str, str, str]]:
        """``(name, default, unit, valid range, doc)`` for every field, for help texts."""
        return [(f.name, f.default, f.metadata.get("unit", ""), _range_text(f.metadata),
                 f.metadata.get("doc", "")) for f in fields(cls)]


def _coerce(key: str, value, typ):
    """Coerce a TOML / command-line value to the field's declared type, or raise ConfigError."""
    typ = typ if isinstance(typ, str) else getattr(typ, "__name__", str(typ))
    try:
        if typ == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
                return value.lower() in ("true", "1", "yes")
            raise TypeError
        if typ == "int":
            if isinstance(value, bool):
                raise TypeError
            if isinstance(value, float) and not value.is_integer():
                raise TypeError
            return int(value)
        if typ == "float":
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if typ == "str":
            if not isinstance(value, str):
                raise TypeError
            return value
    except (TypeError, ValueError):
        raise ConfigError(f"{key} = {value!r} is not a valid {typ}") from None
    return value


@dataclass(frozen=True)
class DeviceConfig(_Section):
    """A resistive device with (soft) bounds, in normalised weight units.

    Update per pulse on device (i, j), after the per-device parameters were drawn once::

        up pulse:    w <- w + a_up   * (1 - gamma * w / w_max) * (1 + dw_min_ctoc * xi)
        down pulse:  w <- w - a_down * (1 - gamma * w / w_min) * (1 + dw_min_ctoc * xi)
        then clip to [w_min, w_max]

    with ``xi ~ N(0, 1)`` fresh for every pulse, ``gamma = 1`` for ``model = "soft_bounds"`` and
    ``gamma = 0`` (constant step, hard bounds) for ``model = "constant_step"``.

    Device-to-device variation follows IBM aihwkit's convention (xi's drawn once per device)::

        g      = 1 + dw_min_dtod * xi1          r = up_down_dtod * xi2
        a_up   = dw_min * (g + min(up_down, 0) + r)
        a_down = dw_min * (g - max(up_down, 0) - r)
        w_max  = w_max * (1 + w_max_dtod * xi3),   w_min = w_min * (1 + w_min_dtod * xi4)

    so ``up_down > 0`` makes down steps smaller than up steps. Negative step sizes are mirrored
    (``abs``) and bounds are kept on their side of zero by at least ``dw_min`` (aihwkit's
    ``enforce_consistency``). The symmetry point, where an up and a down pulse cancel on average, is
    ``w_sp = (a_up - a_down) / (a_up / w_max - a_down / w_min)``.
    """

    SECTION = "device"

    model: str = _f("soft_bounds", "Device model: step size shrinks linearly towards each bound "
                    "('soft_bounds') or stays constant until a hard bound ('constant_step').",
                    choices=("soft_bounds", "constant_step"))
    dw_min: float = _f(0.001, "Mean step size of one pulse at w = 0 (up and down averaged).",
                       "weight units", lo=0.0, hi=1.0, lo_open=True)
    up_down: float = _f(0.0, "Up/down imbalance: shifts up and down step sizes in opposite "
                        "directions, in units of dw_min (0.5: down steps half the up steps).",
                        "dw_min", lo=-1.0, hi=1.0, lo_open=True, hi_open=True)
    w_min: float = _f(-0.6, "Lower bound of the device weight (mean over devices).",
                      "weight units", hi=0.0, hi_open=True)
    w_max: float = _f(0.6, "Upper bound of the device weight (mean over devices).",
                      "weight units", lo=0.0, lo_open=True)
    dw_min_dtod: float = _f(0.3, "Device-to-device variation of the step size (relative std).",
                            "fraction", lo=0.0, hi=5.0)
    up_down_dtod: float = _f(0.01, "Device-to-device variation of up_down (std).",
                             "dw_min", lo=0.0, hi=5.0)
    w_min_dtod: float = _f(0.3, "Device-to-device variation of w_min (relative std).",
                           "fraction", lo=0.0, hi=5.0)
    w_max_dtod: float = _f(0.3, "Device-to-device variation of w_max (relative std).",
                           "fraction", lo=0.0, hi=5.0)
    dw_min_ctoc: float = _f(0.3, "Cycle-to-cycle variation: relative std of every single pulse's "
                            "step.", "fraction", lo=0.0, hi=5.0)

    @property
    def gamma(self) -> float:
        """Soft-bound strength: 1 for soft bounds, 0 for constant step."""
        return 1.0 if self.model == "soft_bounds" else 0.0


@dataclass(frozen=True)
class UpdateConfig(_Section):
    """The weight update ``dW = -lr * d x^T`` and how it reaches the devices.

    ``mode = "pulsed"`` (Gokmen & Vlasov 2016): each input x_j and error d_i becomes a random
    train of ``bl`` slots firing with probability ``p_j = min(C_x |x_j|, 1)``,
    ``q_i = min(C_d |d_i|, 1)``, ``C_x C_d = lr / (dw_min * bl)``; every coincidence applies one
    device pulse in direction ``-sign(d_i x_j)``. Update management balances
    ``C_x = sqrt(lr / (dw_min bl) * max|d| / max|x|)``, ``C_d = sqrt(lr / (dw_min bl) * max|x| /
    max|d|)``. Pulse-length management uses ``bl_k = min(ceil(lr max|x| max|d| / dw_min), bl)``
    slots per update. ``"expected"`` applies the mean pulse count ``bl p_j q_i`` as one
    state-dependent step (no sampling, no cycle-to-cycle noise); ``"ideal"`` adds ``-lr d x^T``
    in floating point (then clips to the device bounds).
    """

    SECTION = "update"

    mode: str = _f("pulsed", "How updates reach the devices: stochastic pulse coincidences "
                   "('pulsed'), their mean ('expected') or floating point ('ideal').",
                   choices=("pulsed", "expected", "ideal"))
    bl: int = _f(31, "Pulse-train length BL: number of slots per rank-one update (upper limit "
                 "when pulse_length_management is on).", "pulses", lo=1, hi=64)
    update_management: bool = _f(True, "Balance the x and d pulse probabilities by "
                                 "sqrt(max|d| / max|x|).")
    pulse_length_management: bool = _f(False, "Per update, use only as many slots as the "
                                       "largest expected step needs.")


@dataclass(frozen=True)
class IOConfig(_Section):
    """Peripherals of one analog pass (forward ``y = W x`` or backward ``z = W^T d``).

    Per input vector: noise management divides by ``s = max|x|``; the DAC clips to
    ``[-inp_bound, inp_bound]`` and rounds to ``2**inp_bits - 1`` levels (step
    ``2 inp_bound / (2**inp_bits - 2)``); the array computes the product; Gaussian noise of std
    ``out_noise`` is added to each output; the ADC clips to ``[-out_bound, out_bound]`` and rounds
    to ``2**out_bits - 1`` levels. Bound management: if an output saturates the ADC, the input is
    halved and the pass repeated (at most ``bm_max_iter`` times). The result is multiplied back by
    ``s`` and the bound-management factor. ``bits = 0`` means no quantisation.
    """

    SECTION = "io"

    is_perfect: bool = _f(False, "Ideal peripherals: exact matrix product, all settings below "
                          "ignored.")
    inp_bits: int = _f(7, "DAC resolution (0: no quantisation; otherwise >= 2).", "bits", lo=0,
                       hi=24)
    inp_bound: float = _f(1.0, "DAC input range +-inp_bound (after noise management).",
                          "full-scale input", lo=0.0, lo_open=True)
    out_bits: int = _f(9, "ADC resolution (0: no quantisation; otherwise >= 2).", "bits", lo=0,
                       hi=24)
    out_bound: float = _f(12.0, "ADC output range +-out_bound.",
                          "weight x input units", lo=0.0, lo_open=True)
    out_noise: float = _f(0.06, "Std of additive Gaussian noise on each analog output, in units "
                          "of a full-scale weight times a full-scale input.",
                          "weight x input units", lo=0.0)
    noise_management: bool = _f(True, "Scale each input vector by its max |x| before the DAC.")
    bound_management: bool = _f(True, "Halve the input and repeat while the ADC saturates.")
    bm_max_iter: int = _f(10, "Most bound-management repetitions per pass.", "", lo=0, hi=60)

    def _check(self):
        # 2**bits - 1 symmetric levels: one bit would leave only the level 0.
        for name in ("inp_bits", "out_bits"):
            if getattr(self, name) == 1:
                raise ConfigError(f"{self.SECTION}.{name} = 1 is invalid: must be 0 (no "
                                  f"quantisation) or in [2, 24] (2**bits - 1 levels around 0)")


@dataclass(frozen=True)
class ReferenceConfig(_Section):
    """The reference array: each weight reads ``w - r`` (Kim et al. 2019).

    Without zero-shifting the reference devices sit at the fixed mid value
    ``(w_min + w_max) / 2`` of the nominal device range. With ``zero_shift = true`` the
    trainable devices are driven to their symmetry points (``sp_method = "pulses"``: after full-up
    and full-down ramps of ``sp_ramp`` pulses, ``sp_pairs`` alternating up/down pairs; the
    symmetry point is the mean weight over the last ``sp_average`` fraction of pairs;
    ``"closed_form"``: the formula in :class:`DeviceConfig`), and each reference device is
    programmed to the symmetry point of its partner plus ``N(0, reference_std)``.
    """

    SECTION = "reference"

    enabled: bool = _f(True, "Read each weight as the difference to a reference device.")
    zero_shift: bool = _f(False, "Program the reference to the symmetry point (zero-shifting).")
    sp_method: str = _f("pulses", "How the symmetry point is found: pulse protocol or closed form.",
                        choices=("pulses", "closed_form"))
    sp_pairs: int = _f(10000, "Alternating up/down pulse pairs of the symmetry-point search.",
                       "pairs", lo=1)
    sp_ramp: int = _f(0, "Full-up then full-down pulses before the pairs (0: none; about "
                      "2 * (w_max - w_min) / dw_min reaches both bounds).", "pulses", lo=0)
    sp_average: float = _f(0.25, "Fraction of the last pairs averaged to read the symmetry point.",
                           "fraction", lo=0.0, hi=1.0, lo_open=True)
    reference_std: float = _f(0.0, "Programming error of the reference device (std).",
                              "weight units", lo=0.0)

    def _check(self):
        if self.zero_shift and not self.enabled:
            raise ConfigError("reference.zero_shift = true needs reference.enabled = true "
                              "(zero-shifting programs the reference devices)")


@dataclass(frozen=True)
class MappingConfig(_Section):
    """How a network weight maps onto the device weights: ``W = weight_scale * (w - r)``.

    The tile's outputs are multiplied digitally by ``weight_scale`` (aihwkit's output scaling,
    ``MappingParameter``), so a network weight ``W`` needs only ``W / weight_scale`` of the device
    range. The update stays SGD on ``W``: the devices move by ``lr / weight_scale * d x^T``, so the
    pulse granularity in network units is ``weight_scale * dw_min``, and the forward/backward output
    noise is ``weight_scale`` times larger in network units. Values above 1 keep trained weights
    away from the soft bounds, where the up and down steps differ most.
    """

    SECTION = "mapping"

    weight_scale: float = _f(1.0, "Digital output scale: network weight = weight_scale * (w - r).",
                             "network units per device unit", lo=0.0, lo_open=True)


@dataclass(frozen=True)
class ArrayConfig(_Section):
    """Inference arrays for a trained network (:func:`rramsim.mapping.map_network`).

    Each weight layer becomes a matrix (convolutions unrolled: rows ``C_in KH KW``) split over
    arrays of ``array_rows`` inputs x ``array_cols`` outputs. Weights are scaled per output to
    ``[-1, 1]`` (the scale is applied digitally) and stored as conductances in units of the
    device range ``g_max - g_min``: a differential pair ``g+ - g-`` or a device minus a
    reference at mid range, ``2 (g - 1/2)``; ``levels`` conductance levels per device (0:
    continuous), Gaussian programming error ``prog_noise`` once per device, Gaussian read noise
    ``read_noise`` per device per read. Each array's column outputs (partial sums) go through its
    own ADC (``adc_bits`` over a range from calibration or the full theoretical range); partial
    sums are added digitally. Inputs: +-1 and {0, 1} activations use a 1-bit DAC (bipolar /
    unipolar read voltage, one cycle); k-bit activations are applied bit-serially (k cycles,
    shift-and-add) or by a k-bit DAC; real-valued inputs by a ``dac_bits`` DAC over the
    calibrated input range.
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
    adc_bits: int = _f(8, "ADC resolution per array column (0: ideal, no quantisation).",
                       "bits", lo=0, hi=24)
    adc_range: str = _f("calibrated", "ADC range: from calibration batches, or the full "
                        "range the array's partial sums can take.",
                        choices=("calibrated", "full"))
    adc_percentile: float = _f(100.0, "Calibrated ADC range: this percentile of the partial "
                               "sums (and 100 minus it) on the calibration batches.",
                               "percent", lo=50.0, hi=100.0, lo_open=True)
    dac_bits: int = _f(8, "DAC resolution for real-valued inputs (0: ideal).", "bits", lo=0,
                       hi=24)
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
    def from_overrides(cls, overrides: Mapping[str, Any] | Sequence[str] = ()) -> "ArrayConfig":
        """Defaults with ``{"array.adc_bits": 4}`` or ``["array.adc_bits=4", ...]`` applied."""
        items = parse_overrides(overrides) if not isinstance(overrides, Mapping) else overrides
        values = {}
        for dotted, value in items.items():
            section, _, key = dotted.partition(".")
            if section != cls.SECTION or not key:
                raise ConfigError(f"override {dotted!r}: expected array.KEY")
            values[key] = value
        return _make_section(cls, cls.SECTION, values, "overrides")


# The forward and backward sections share IOConfig; their section names differ.
@dataclass(frozen=True)
class _Forward(IOConfig):
    SECTION = "forward"


@dataclass(frozen=True)
class _Backward(IOConfig):
    SECTION = "backward"


@dataclass(frozen=True)
class TileConfig:
    """Everything that defines an analog tile: ``device``, ``update``, ``forward``, ``backward``,
    ``reference`` and ``mapping`` sections (see the module docstring)."""

    device: DeviceConfig = field(default_factory=DeviceConfig)
    update: UpdateConfig = field(default_factory=UpdateConfig)
    forward: IOConfig = field(default_factory=_Forward)
    backward: IOConfig = field(default_factory=_Backward)
    reference: ReferenceConfig = field(default_factory=ReferenceConfig)
    mapping: MappingConfig = field(default_factory=MappingConfig)

    SECTIONS = {"device": DeviceConfig, "update": UpdateConfig, "forward": _Forward,
                "backward": _Backward, "reference": ReferenceConfig, "mapping": MappingConfig}

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain nested dict (JSON / TOML ready)."""
        return {name: dataclasses.asdict(getattr(self, name)) for name in self.SECTIONS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, Any]], source: str = "config") -> "TileConfig":
        """Build from nested ``{section: {key: value}}``; unknown sections or keys raise."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: expected a table of sections, got {type(data).__name__}")
        sections = {}
        for name, values in data.items():
            if name not in cls.SECTIONS:
                raise ConfigError(f"{source}: unknown section [{name}]{_suggest(name, cls.SECTIONS)}"
                                  f"; valid sections: {', '.join(cls.SECTIONS)}")
            if not isinstance(values, Mapping):
                raise ConfigError(f"{source}: [{name}] must be a table of key = value")
            sections[name] = _make_section(cls.SECTIONS[name], name, values, source)
        return cls(**sections)

    def with_overrides(self, overrides: Mapping[str, Any] | Sequence[str]) -> "TileConfig":
        """Return a copy with dotted-key overrides applied.

        ``overrides`` is ``{"device.up_down": 0.3}`` or ``["device.up_down=0.3", ...]``
        (strings as given on the command line; values are parsed by the field's type).
        """
        items = parse_overrides(overrides) if not isinstance(overrides, Mapping) else overrides
        data = self.to_dict()
        for dotted, value in items.items():
            section, _, key = dotted.partition(".")
            if not key or section not in self.SECTIONS:
                raise ConfigError(f"override {dotted!r}: expected SECTION.KEY with SECTION one of "
                                  f"{', '.join(self.SECTIONS)}")
            valid = {f.name for f in fields(self.SECTIONS[section])}
            if key not in valid:
                raise ConfigError(f"override {dotted!r}: unknown key {key!r} in [{section}]"
                                  f"{_suggest(key, valid)}; valid keys: {', '.join(sorted(valid))}")
            data[section][key] = value
        return TileConfig.from_dict(data, source="overrides")


def _suggest(name: str, valid) -> str:
    close = difflib.get_close_matches(name, list(valid), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _make_section(cls, name: str, values: Mapping[str, Any], source: str):
    valid = {f.name for f in fields(cls)}
    for key in values:
        if key not in valid:
            raise ConfigError(f"{source}: unknown key {key!r} in [{name}]{_suggest(key, valid)}; "
                              f"valid keys: {', '.join(sorted(valid))}")
    return cls(**values)


def parse_overrides(items: Sequence[str]) -> dict[str, str]:
    """Parse ``["section.key=value", ...]`` into ``{"section.key": "value"}``."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"override {item!r}: expected SECTION.KEY=VALUE, "
                              f"e.g. device.up_down=0.3")
        key, _, value = item.partition("=")
        out[key.strip()] = _parse_scalar(value.strip())
    return out


def _parse_scalar(text: str):
    """A command-line value as TOML would read it (number, bool, or bare string)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


# --------------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------------

def preset_dirs() -> list[Path]:
    """Folders searched for ``NAME.toml``: the installed presets, then the checkout's ``devices/``."""
    here = Path(__file__).resolve().parent
    return [here / "devices", here.parent / "devices"]


def available_presets() -> list[str]:
    """Names of all presets found in :func:`preset_dirs`."""
    names = set()
    for d in preset_dirs():
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.toml"))
    return sorted(names)


def find_preset(name_or_path: str | os.PathLike) -> Path:
    """Resolve a preset name (``devices/NAME.toml``) or a path to a TOML file."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or os.sep in str(name_or_path):
        if p.is_file():
            return p
        raise ConfigError(f"preset file {str(p)!r} does not exist")
    for d in preset_dirs():
        cand = d / f"{name_or_path}.toml"
        if cand.is_file():
            return cand
    names = available_presets()
    raise ConfigError(f"unknown preset {str(name_or_path)!r}{_suggest(str(name_or_path), names)}; "
                      f"available: {', '.join(names) or '(none found)'}; or give a path to a "
                      f".toml file")


def load_preset(name_or_path: str | os.PathLike | None = None,
                overrides: Mapping[str, Any] | Sequence[str] = ()) -> TileConfig:
    """Load a preset (or the defaults when ``None``) and apply dotted overrides.

    Parameters
    ----------
    name_or_path : str or path or None
        A preset name from ``devices/`` (e.g. ``"softbounds_symmetric"``) or a TOML path.
    overrides : mapping or sequence of str
        ``{"device.up_down": 0.3}`` or ``["device.up_down=0.3"]``.
    """
    if name_or_path is None:
        cfg = TileConfig()
    else:
        path = find_preset(name_or_path)
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"preset {str(path)!r} is not valid TOML: {exc}") from None
        data.pop("meta", None)  # free-form provenance (source, citation); not configuration
        cfg = TileConfig.from_dict(data, source=f"preset {path.name}")
    return cfg.with_overrides(overrides) if overrides else cfg


def replace_section(cfg: TileConfig, section: str, **changes) -> TileConfig:
    """Copy of ``cfg`` with fields of one section replaced (validated)."""
    return replace(cfg, **{section: replace(getattr(cfg, section), **changes)})
