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
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rramsim.config.algorithm import AlgorithmConfig, check_tile_algorithm
from rramsim.config.fields import _f, _make_section, _Section, check_key, parse_overrides
from rramsim.errors import ConfigError
from rramsim.validation import suggest

#: The device models, by name (the choices of :attr:`DeviceConfig.model`); the registry of their
#: behaviour is :data:`rramsim.analog.devices.DEVICE_MODELS`.
DEVICE_MODEL_NAMES = ("soft_bounds", "constant_step", "linear_step", "exp_step", "pow_step",
                      "piecewise_step", "lut")


class Nodes(tuple):
    """An immutable list of step nodes (``piecewise_up``, ``piecewise_down``) that compares equal
    to the same numbers as a list, which is how TOML and JSON give them back: a configuration
    saved with a model and read again equals the one saved."""

    def __eq__(self, other):
        if isinstance(other, (list, tuple)):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = tuple.__hash__

    def __repr__(self):
        return repr(list(self))


@dataclass(frozen=True)
class DeviceConfig(_Section):
    """A resistive device in normalised weight units: its step law, bounds and variations.

    Every model is a per-device step law ``dw_up(w) >= 0``, ``dw_down(w) >= 0``, applied once per
    pulse with cycle-to-cycle noise and then clipped to the device's bounds::

        up pulse:    w <- w + dw_up(w)   * (1 + dw_min_ctoc * xi)
        down pulse:  w <- w - dw_down(w) * (1 + dw_min_ctoc * xi)
        then clip to [w_min, w_max]

    with ``xi ~ N(0, 1)`` fresh for every pulse. The step laws (``a_up``, ``a_down``: the
    per-device step scales below; ``w_min``, ``w_max``: the per-device bounds)::

        soft_bounds     dw_up = a_up (1 - w / w_max)          dw_down = a_down (1 - w / w_min)
        constant_step   dw_up = a_up                          dw_down = a_down
        linear_step     dw_up = a_up (1 - gamma_up' w / w_max)
                        dw_down = a_down (1 - gamma_down' w / w_min)
        exp_step        dw_up = a_up max(1 - A_up exp(gamma_up z), 0)
                        dw_down = a_down max(1 - A_down exp(-gamma_down z), 0),
                        z = 2 a w / (w_max - w_min) + b
        pow_step        dw_up = a_up ((w_max - w) / (w_max - w_min))^gamma_up'
                        dw_down = a_down ((w - w_min) / (w_max - w_min))^gamma_down'
        piecewise_step  dw_up = a_up v_up(w), dw_down = a_down v_down(w): the nodes
                        piecewise_up / piecewise_down, equally spaced from w_min to w_max,
                        linearly interpolated
        lut             the step of one pulse is DRAWN from a measured table (CrossSim's
                        stochastic dG(G) tables, ``lut_table``): per conductance bin and direction
                        an empirical CDF of the step; inverse-CDF sampling, interpolated between
                        bins, so the table carries its own cycle-to-cycle noise. Steps in siemens
                        become weight units by the map [g_min, g_max] -> [w_min, w_max]; a_up,
                        a_down are then relative scales (1 on average).

    ``soft_bounds`` is ``linear_step`` with ``gamma_up = gamma_down = 1`` and ``constant_step`` is
    ``linear_step`` with ``gamma = 0``, exactly (the same seed gives the same numbers). The primed
    gammas are per device: ``gamma_up' = |gamma_up + gamma_up_dtod xi|`` (linear step; divided by
    the nominal bound instead of the device's own when ``mean_bound_reference``), and
    ``gamma_up' = pow_gamma |g' + min(pow_up_down, 0) + r'|``,
    ``gamma_down' = pow_gamma |g' - max(pow_up_down, 0) - r'|`` with ``g' = 1 + pow_gamma_dtod xi``,
    ``r' = pow_up_down_dtod xi`` (power step). Names and semantics follow IBM aihwkit's
    ``LinearStepDevice``, ``ExpStepDevice``, ``PowStepDevice`` and ``PiecewiseStepDevice``.

    Device-to-device variation of the step scales and bounds follows aihwkit's convention (xi's
    drawn once per device)::

        g      = 1 + dw_min_dtod * xi1          r = up_down_dtod * xi2
        a_up   = dw_min * (g + min(up_down, 0) + r)
        a_down = dw_min * (g - max(up_down, 0) - r)
        w_max  = w_max * (1 + w_max_dtod * xi3),   w_min = w_min * (1 + w_min_dtod * xi4)

    (for ``lut`` without the factor ``dw_min``, and times ``(w_max' - w_min') / (w_max - w_min)``
    so that a device with a wider range keeps the number of states), so ``up_down > 0`` makes down
    steps smaller than up steps. Negative step sizes are mirrored (``abs``) and bounds are kept on
    their side of zero by at least ``dw_min`` (aihwkit's ``enforce_consistency``). Mirroring
    changes what the parameters mean when a drawn factor is often negative (``dw_min_dtod = 5``
    makes the mean step about 4 x ``dw_min``; ``up_down_dtod`` comparable to ``1 - up_down``
    erases the asymmetry): the array is drawn as configured, and rramsim warns, with the realised
    mean steps and asymmetry, when a direction's mean step is more than 20 % off its nominal
    value (``rramsim.analog.devices.realised_steps`` reports them for any array). The symmetry
    point, where an up and a down pulse cancel on average, is ``w_sp = (a_up - a_down) /
    (b_up - b_down)`` for the linear family (soft bounds: ``(a_up - a_down) / (a_up / w_max -
    a_down / w_min)``) and the root of ``E dw_up(w) = E dw_down(w)`` for the others.
    """

    SECTION = "device"

    model: str = _f("soft_bounds", "Device model, the step law of one pulse (see the section "
                    "text): soft bounds, constant step, linear step, exponential step, power step, "
                    "piecewise step, or a measured look-up table ('lut').",
                    choices=DEVICE_MODEL_NAMES)
    dw_min: float = _f(0.001, "Mean step size of one pulse at w = 0 (up and down averaged); the "
                       "pulse granularity the update assumes (for 'lut': the table's mean step, "
                       "set by the import).", "weight units", lo=0.0, hi=1.0, lo_open=True)
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
                            "step (for 'lut': extra noise on top of the table's own, usually 0).",
                            "fraction", lo=0.0, hi=5.0)
    gamma_up: float = _f(0.0, "linear_step: relative decrease of the up step from w = 0 to "
                         "w_max (1: soft bounds, 0: constant step). exp_step: exponent of the up "
                         "step law (aihwkit's ExpStepDevice gamma_up).", "", lo=0.0, hi=1000.0)
    gamma_down: float = _f(0.0, "linear_step: relative decrease of the down step from w = 0 to "
                           "w_min. exp_step: exponent of the down step law.", "", lo=0.0,
                           hi=1000.0)
    gamma_up_dtod: float = _f(0.05, "linear_step: device-to-device variation of gamma_up (std).",
                              "", lo=0.0, hi=5.0)
    gamma_down_dtod: float = _f(0.05, "linear_step: device-to-device variation of gamma_down "
                                "(std).", "", lo=0.0, hi=5.0)
    mean_bound_reference: bool = _f(False, "linear_step: the slopes refer to the nominal bounds "
                                    "w_max, w_min instead of each device's own (aihwkit's "
                                    "default is true; false makes gamma = 1 soft bounds exactly).")
    A_up: float = _f(0.00081, "exp_step: factor A of the up step law.", "", lo=0.0, hi=1e6)
    A_down: float = _f(0.36833, "exp_step: factor A of the down step law.", "", lo=0.0, hi=1e6)
    a: float = _f(0.244, "exp_step: slope a of z = 2 a w / (w_max - w_min) + b.", "", lo=-1e3,
                  hi=1e3)
    b: float = _f(0.2425, "exp_step: offset b of z = 2 a w / (w_max - w_min) + b.", "", lo=-1e3,
                  hi=1e3)
    pow_gamma: float = _f(1.0, "pow_step: exponent gamma of the distance to the bound (1: soft "
                          "bounds).", "", lo=0.0, hi=100.0)
    pow_gamma_dtod: float = _f(0.1, "pow_step: device-to-device variation of pow_gamma "
                               "(relative std).", "fraction", lo=0.0, hi=5.0)
    pow_up_down: float = _f(0.0, "pow_step: up/down imbalance of the exponent (gamma_up = "
                            "pow_gamma (1 + min(pow_up_down, 0)), gamma_down = pow_gamma (1 - "
                            "max(pow_up_down, 0))).", "pow_gamma", lo=-1.0, hi=1.0, lo_open=True,
                            hi_open=True)
    pow_up_down_dtod: float = _f(0.0, "pow_step: device-to-device variation of pow_up_down "
                                 "(std).", "pow_gamma", lo=0.0, hi=5.0)
    piecewise_up: tuple = _f(Nodes((1.0,)), "piecewise_step: up step nodes, a list of factors "
                             "of a_up equally spaced from w_min to w_max (one value: constant).",
                             "a_up")
    piecewise_down: tuple = _f(Nodes((1.0,)), "piecewise_step: down step nodes, a list of "
                               "factors of a_down, as many as piecewise_up.", "a_down")
    lut_table: str = _f("", "lut: the measured table, a folder with CrossSim's dG_increasing.txt "
                        "and dG_decreasing.txt: a path, or the name of a data set shipped with "
                        "rramsim ('crosssim_enode').")
    g_min: float = _f(0.0, "Conductance that w_min stands for, in the units of the measurement "
                      "(g_min = g_max = 0: for 'lut' the table's lowest bin; the other models "
                      "only record the map).", "siemens")
    g_max: float = _f(0.0, "Conductance that w_max stands for (g_min = g_max = 0: for 'lut' the "
                      "table's highest bin).", "siemens")

    def _check(self):
        for name in ("piecewise_up", "piecewise_down"):
            value = getattr(self, name)
            key = f"{self.SECTION}.{name}"
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = (value,)
            if isinstance(value, str) or not hasattr(value, "__iter__"):
                raise ConfigError(f"{key} = {value!r} is invalid: must be a list of numbers")
            try:
                nodes = tuple(float(v) for v in value if not isinstance(v, (bool, str)))
            except (TypeError, ValueError):
                nodes = ()
            if len(nodes) != len(value) or not nodes:
                raise ConfigError(f"{key} = {value!r} is invalid: must be a non-empty list of "
                                  f"numbers")
            if not all(math.isfinite(v) and v >= 0.0 for v in nodes):
                raise ConfigError(f"{key} = {list(nodes)!r} is invalid: every node must be "
                                  f"finite and >= 0 (a step size)")
            object.__setattr__(self, name, Nodes(nodes))
        if len(self.piecewise_up) != len(self.piecewise_down):
            raise ConfigError(f"device.piecewise_up has {len(self.piecewise_up)} nodes and "
                              f"device.piecewise_down {len(self.piecewise_down)}: give as many")
        if self.model == "lut" and not self.lut_table:
            raise ConfigError("device.model = 'lut' needs device.lut_table (a folder with "
                              "dG_increasing.txt and dG_decreasing.txt, or 'crosssim_enode')")
        if (self.g_min != 0.0 or self.g_max != 0.0) and not self.g_max > self.g_min:
            raise ConfigError(f"device.g_min = {self.g_min} and device.g_max = {self.g_max}: "
                              f"g_max must be above g_min (or both 0)")


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
                 "when pulse_length_management is on).", "slots", lo=1, hi=64)
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

    Both converters are symmetric ones, :class:`rramsim.analog.converters.SymmetricConverter`
    (``2**bits - 1`` levels, zero among them); the inference arrays' converters
    (:class:`~rramsim.config.ArrayConfig`, same field names ``inp_bits`` and ``out_bits``) are
    full-range ones with ``2**bits`` levels.
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
                          "of a full-scale weight times a full-scale input (at most 10: beyond "
                          "that the output is noise whatever the ADC).",
                          "weight x input units", lo=0.0, hi=10.0)
    noise_management: bool = _f(True, "Scale each input vector by its max |x| before the DAC.")
    bound_management: bool = _f(True, "Halve the input and repeat while the ADC saturates.")
    bm_max_iter: int = _f(10, "Most bound-management repetitions per pass.", "", lo=0, hi=60)
    product_dtype: str = _f("float64", "Precision of the analog product W u (ignored with "
                            "is_perfect): float32 rounds the weights and the DAC output to "
                            "single precision and sums in single precision (about 2x faster "
                            "products at mini-batches; the change is far below one ADC step); "
                            "noise, ADC and management stay in float64.",
                            choices=("float64", "float32"))

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
    algorithm: AlgorithmConfig = field(default_factory=AlgorithmConfig)

    SECTIONS = {"device": DeviceConfig, "update": UpdateConfig, "forward": _Forward,
                "backward": _Backward, "reference": ReferenceConfig, "mapping": MappingConfig,
                "algorithm": AlgorithmConfig}

    def __post_init__(self):
        # checks across sections, when the configuration is made (not when a layer is built)
        check_tile_algorithm(self)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain nested dict (JSON / TOML ready)."""
        return {name: dataclasses.asdict(getattr(self, name)) for name in self.SECTIONS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, Any]], source: str = "config") -> TileConfig:
        """Build from nested ``{section: {key: value}}``; unknown sections or keys raise."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: expected a table of sections, got {type(data).__name__}")
        sections = {}
        for name, values in data.items():
            if name not in cls.SECTIONS:
                raise ConfigError(f"{source}: unknown section [{name}]{suggest(name, cls.SECTIONS)}"
                                  f"; valid sections: {', '.join(cls.SECTIONS)}")
            if not isinstance(values, Mapping):
                raise ConfigError(f"{source}: [{name}] must be a table of key = value")
            sections[name] = _make_section(cls.SECTIONS[name], name, values, source)
        return cls(**sections)

    def with_overrides(self, overrides: Mapping[str, Any] | Sequence[str]) -> TileConfig:
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
            name = check_key(self.SECTIONS[section], section, key, f"override {dotted!r}")
            data[section].pop(name, None)  # an alias replaces the field's current value
            data[section][key] = value
        return TileConfig.from_dict(data, source="overrides")


# --------------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------------


