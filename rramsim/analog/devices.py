"""Device models: per-device parameters (device-to-device variation), pulse responses, mean step
laws and symmetry points.

A device model turns a :class:`~rramsim.config.DeviceConfig` into per-device arrays that the
kernels apply pulse by pulse (see :mod:`rramsim.kernels.device`). Every array of devices carries
six per-device arrays ``a_up, a_down, b_up, b_down, w_min, w_max`` (shapes (n_out, n_in)); the
models of the linear-step family (``soft_bounds``, ``constant_step``, ``linear_step``) are fully
described by them::

    up:    w <- w + (a_up   - b_up   * w) * (1 + dw_min_ctoc * xi)
    down:  w <- w - (a_down - b_down * w) * (1 + dw_min_ctoc * xi),   clipped to [w_min, w_max]

The other models (``exp_step``, ``pow_step``, ``piecewise_step``, ``lut``) use ``a_up``,
``a_down`` as per-device step scales, ``b_up``, ``b_down`` as per-device exponents (power step;
zero otherwise) and add a model code and a shared table (the exponential law's constants, the
piecewise nodes, or the look-up table's step quantiles). Each model is registered by name in
:data:`DEVICE_MODELS` with what it knows about itself: its kernel code and whether its symmetry
point has a closed form.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from rramsim.config import DeviceConfig
from rramsim.errors import InputError, RramsimWarning
from rramsim.rng import generator, stream_states


@dataclass(frozen=True)
class DeviceModel:
    """What a registered device model knows about itself.

    Attributes
    ----------
    name : the :attr:`DeviceConfig.model <rramsim.config.DeviceConfig.model>` choice
    code : kernel dispatch code (0: the linear-step family, six per-device arrays and no table)
    gamma : for ``soft_bounds`` / ``constant_step``, the fixed relative slope (1 / 0); ``None``
        when the slopes come from the configuration
    closed_form : whether the symmetry point has a closed form (else it is found numerically)
    summary : one line for listings
    """

    name: str
    code: int
    gamma: float | None
    closed_form: bool
    summary: str


#: Kernel dispatch codes of the models beyond the linear-step family (``rramsim.kernels.device``).
EXP_STEP, POW_STEP, PIECEWISE_STEP, LUT = 2, 3, 4, 5

#: Registered device models by name; the names are the choices of
#: :attr:`DeviceConfig.model <rramsim.config.DeviceConfig.model>`.
DEVICE_MODELS = {m.name: m for m in (
    DeviceModel("soft_bounds", 0, 1.0, True, "step shrinks linearly to zero at each bound"),
    DeviceModel("constant_step", 0, 0.0, True, "constant step until a hard bound"),
    DeviceModel("linear_step", 0, None, True, "step linear in w with slopes gamma_up, gamma_down"),
    DeviceModel("exp_step", EXP_STEP, None, False, "step 1 - A exp(+-gamma z), aihwkit ExpStep"),
    DeviceModel("pow_step", POW_STEP, None, False, "step a power of the distance to the bound"),
    DeviceModel("piecewise_step", PIECEWISE_STEP, None, False,
                "step interpolated between nodes over the weight range"),
    DeviceModel("lut", LUT, None, False, "step drawn from a measured dG(G) table (CrossSim)"),
)}


@dataclass
class DeviceArray:
    """Per-device parameters of an array, drawn once (shapes (n_out, n_in), weight units).

    Attributes
    ----------
    a_up, a_down : step sizes (linear family: at w = 0) or step scales of an up / down pulse (>= 0)
    b_up, b_down : linear family: bound slopes, the step is ``a_up - b_up * w`` up,
        ``a_down - b_down * w`` down; power step: the exponents; other models: 0
    w_min, w_max : per-device bounds (w_min < 0 < w_max)
    ctoc : cycle-to-cycle relative std of every pulse
    model : the device model's name (:data:`DEVICE_MODELS`)
    table : the shared table of the models beyond the linear family, (2, rows, cols) float64,
        ``table[0]`` up, ``table[1]`` down (``None`` for the linear family)
    """

    a_up: np.ndarray
    a_down: np.ndarray
    b_up: np.ndarray
    b_down: np.ndarray
    w_min: np.ndarray
    w_max: np.ndarray
    ctoc: float
    model: str = "soft_bounds"
    table: np.ndarray | None = field(default=None, repr=False)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.a_up.shape

    @property
    def code(self) -> int:
        """Kernel dispatch code of the model (0: linear-step family)."""
        return DEVICE_MODELS[self.model].code

    def kernel_args(self) -> tuple:
        """``(a_up, a_down, b_up, b_down, w_min, w_max)`` in kernel argument order, followed
        by the model code and the table for the models beyond the linear family."""
        six = (self.a_up, self.a_down, self.b_up, self.b_down, self.w_min, self.w_max)
        if self.code == 0:
            return six
        return six + (np.int64(self.code), self.table)

    def mean_steps(self, w) -> tuple[np.ndarray, np.ndarray]:
        """Mean step magnitudes ``(E dw_up(w), E dw_down(w))`` of one noise-free pulse at weight
        ``w`` (broadcast against the devices), before clipping; positive when a pulse moves the
        weight its own way."""
        w = np.asarray(w, dtype=np.float64)
        au, ad, bu, bd, lo, hi = (self.a_up, self.a_down, self.b_up, self.b_down,
                                  self.w_min, self.w_max)
        code = self.code
        if code == 0:
            return au - bu * w, ad - bd * w
        rng = hi - lo
        if code == EXP_STEP:
            t = self.table
            z = 2.0 * t[0, 0, 2] * w / rng + t[0, 0, 3]
            up = au * np.maximum(1.0 - t[0, 0, 0] * np.exp(t[0, 0, 1] * z), 0.0)
            down = ad * np.maximum(1.0 - t[1, 0, 0] * np.exp(-t[1, 0, 1] * z), 0.0)
            return up, down
        if code == POW_STEP:
            return (au * np.clip((hi - w) / rng, 0.0, None) ** bu,
                    ad * np.clip((w - lo) / rng, 0.0, None) ** bd)
        if code == PIECEWISE_STEP:
            v = self.table[:, 0, :]
            return au * _piecewise(v[0], w, lo, hi), ad * _piecewise(v[1], w, lo, hi)
        # lut: the mean column, interpolated between bins; the down table is signed (< 0)
        t = self.table
        return (au * _bin_interp(t[0, :, -1], w, lo, hi),
                -ad * _bin_interp(t[1, :, -1], w, lo, hi))

    def symmetry_point(self) -> np.ndarray:
        """Symmetry point, where an up and a down pulse cancel on average, shape of the array.

        Linear family, closed form: ``w_sp = (a_up - a_down) / (b_up - b_down)``, which for soft
        bounds is ``(a_up - a_down) / (a_up / w_max - a_down / w_min)``. Devices without a finite
        one (constant step) drift to the bound of their larger step; equal steps give 0.
        Other models, numerically: the root of ``E dw_up(w) - E dw_down(w)`` on the device's range
        by bisection (the bound of the larger step where the difference keeps its sign).
        The result is clipped to the device bounds.
        """
        if self.code != 0:
            return self._numeric_symmetry_point()
        num = self.a_up - self.a_down
        den = self.b_up - self.b_down
        with np.errstate(divide="ignore", invalid="ignore"):
            sp = np.where(den > 0, num / np.where(den > 0, den, 1.0),
                          np.where(num > 0, self.w_max, np.where(num < 0, self.w_min, 0.0)))
        return np.clip(sp, self.w_min, self.w_max)

    def _numeric_symmetry_point(self, iterations: int = 60) -> np.ndarray:
        def diff(w):
            up, down = self.mean_steps(w)
            return up - down

        lo, hi = np.array(self.w_min, dtype=float), np.array(self.w_max, dtype=float)
        f_lo, f_hi = diff(lo), diff(hi)
        a, b = lo.copy(), hi.copy()
        for _ in range(iterations):
            mid = 0.5 * (a + b)
            above = diff(mid) > 0.0  # up still wins: the root lies higher
            a = np.where(above, mid, a)
            b = np.where(above, b, mid)
        sp = 0.5 * (a + b)
        sp = np.where(f_lo <= 0.0, lo, np.where(f_hi >= 0.0, hi, sp))
        both_zero = (f_lo == 0.0) & (f_hi == 0.0)
        return np.clip(np.where(both_zero, 0.0, sp), self.w_min, self.w_max)

    def subset(self, index) -> DeviceArray:
        """Parameters of the devices selected by a numpy ``index`` (flattened to 1-d)."""
        pick = lambda a: np.ascontiguousarray(np.asarray(a)[index]).reshape(-1)  # noqa: E731
        six = (self.a_up, self.a_down, self.b_up, self.b_down, self.w_min, self.w_max)
        return DeviceArray(*(pick(a) for a in six), ctoc=self.ctoc, model=self.model,
                           table=self.table)


def _piecewise(nodes: np.ndarray, w, lo, hi) -> np.ndarray:
    """aihwkit's piecewise interpolation: ``nodes`` equally spaced from ``lo`` to ``hi``."""
    k = nodes.shape[0]
    if k == 1:
        return np.broadcast_to(nodes[0], np.broadcast(w, lo).shape).astype(float)
    ws = np.maximum((w - lo) / (hi - lo) * (k - 1), 0.0)
    idx = np.minimum(np.floor(ws).astype(np.int64), k - 2)
    t = np.minimum(ws - idx, 1.0)
    return (1.0 - t) * nodes[idx] + t * nodes[idx + 1]


def _bin_interp(values: np.ndarray, w, lo, hi) -> np.ndarray:
    """A per-bin quantity of a look-up table (bins equally spaced from ``lo`` to ``hi``),
    linearly interpolated at ``w`` and held constant beyond the outer bins."""
    nb = values.shape[0]
    pos = np.clip((w - lo) / (hi - lo) * (nb - 1), 0.0, nb - 1)
    i0 = np.minimum(pos.astype(np.int64), nb - 2)
    t = pos - i0
    return values[i0] + t * (values[i0 + 1] - values[i0])


def model_table(cfg: DeviceConfig) -> np.ndarray | None:
    """The shared table of a model beyond the linear family, (2, rows, cols) float64:
    exp step ``[[A, gamma, a, b]]`` per direction, piecewise step the nodes per direction, lut the
    step quantiles and the mean per bin (:func:`rramsim.analog.lut.lut_table`); a (2, 1, 1)
    placeholder for the power step; ``None`` for the linear family."""
    code = DEVICE_MODELS[cfg.model].code
    if code == 0:
        return None
    if code == EXP_STEP:
        return np.array([[[cfg.A_up, cfg.gamma_up, cfg.a, cfg.b]],
                         [[cfg.A_down, cfg.gamma_down, cfg.a, cfg.b]]], dtype=np.float64)
    if code == POW_STEP:
        return np.zeros((2, 1, 1))
    if code == PIECEWISE_STEP:
        return np.array([[cfg.piecewise_up], [cfg.piecewise_down]], dtype=np.float64)
    from rramsim.analog.lut import lut_table

    return lut_table(cfg)


def sample_devices(cfg: DeviceConfig, shape: tuple[int, int], seed=None) -> DeviceArray:
    """Draw the per-device parameters of an array of ``shape`` (device-to-device variation).

    Follows aihwkit's convention (see :class:`~rramsim.config.DeviceConfig`): the four normal
    draws per device are made in the order step size, up/down, w_max, w_min from a generator
    seeded by ``seed``; the linear step then draws its two slope variations (up, down) and the
    power step its exponent gain and up/down variation, so that the parameters the models share
    are the same numbers for the same seed.
    """
    rng = generator(seed)
    model = DEVICE_MODELS[cfg.model]
    g = 1.0 + cfg.dw_min_dtod * rng.standard_normal(shape)
    r = cfg.up_down_dtod * rng.standard_normal(shape)
    xi_max = rng.standard_normal(shape)
    xi_min = rng.standard_normal(shape)
    # The look-up table holds its own step sizes: the device's factors are relative ones.
    scale = 1.0 if model.code == LUT else cfg.dw_min
    # Mirror negative steps (aihwkit's enforce_consistency): a pulse never moves the wrong way.
    up_factor = g + min(cfg.up_down, 0.0) + r
    down_factor = g - max(cfg.up_down, 0.0) - r
    _warn_if_spread_changes_meaning(cfg, up_factor, down_factor)
    a_up = np.abs(scale * up_factor)
    a_down = np.abs(scale * down_factor)
    # Keep each bound on its side of zero by at least one mean step.
    w_max = np.maximum(cfg.w_max * (1.0 + cfg.w_max_dtod * xi_max), cfg.dw_min)
    w_min = np.minimum(cfg.w_min * (1.0 + cfg.w_min_dtod * xi_min), -cfg.dw_min)
    ctoc = float(cfg.dw_min_ctoc)
    if model.gamma is not None:
        gamma = model.gamma
        return DeviceArray(a_up=a_up, a_down=a_down, b_up=gamma * a_up / w_max,
                           b_down=gamma * a_down / w_min, w_min=w_min, w_max=w_max, ctoc=ctoc,
                           model=model.name)
    if model.name == "linear_step":
        g_up = np.abs(cfg.gamma_up + cfg.gamma_up_dtod * rng.standard_normal(shape))
        g_down = np.abs(cfg.gamma_down + cfg.gamma_down_dtod * rng.standard_normal(shape))
        ref_up, ref_down = (cfg.w_max, cfg.w_min) if cfg.mean_bound_reference else (w_max, w_min)
        return DeviceArray(a_up=a_up, a_down=a_down, b_up=g_up * a_up / ref_up,
                           b_down=g_down * a_down / ref_down, w_min=w_min, w_max=w_max,
                           ctoc=ctoc, model=model.name)
    b_up = np.zeros(shape)
    b_down = np.zeros(shape)
    if model.code == POW_STEP:
        gain = 1.0 + cfg.pow_gamma_dtod * rng.standard_normal(shape)
        rr = cfg.pow_up_down_dtod * rng.standard_normal(shape)
        b_up = np.abs(cfg.pow_gamma * (gain + min(cfg.pow_up_down, 0.0) + rr))
        b_down = np.abs(cfg.pow_gamma * (gain - max(cfg.pow_up_down, 0.0) - rr))
    elif model.code == LUT:
        stretch = (w_max - w_min) / (cfg.w_max - cfg.w_min)
        a_up = a_up * stretch
        a_down = a_down * stretch
    return DeviceArray(a_up=a_up, a_down=a_down, b_up=b_up, b_down=b_down, w_min=w_min,
                       w_max=w_max, ctoc=ctoc, model=model.name, table=model_table(cfg))


#: Relative deviation of a drawn array's mean step (per direction) from the nominal one beyond
#: which :func:`sample_devices` warns that the spreads changed what the parameters mean.
SPREAD_TOLERANCE = 0.2


def realised_steps(cfg: DeviceConfig, up_factor, down_factor) -> dict:
    """What an array's drawn step factors realise against what the configuration says.

    ``up_factor``, ``down_factor``: the drawn ``1 + dw_min_dtod xi1 + min(up_down, 0) + r`` and
    ``1 + dw_min_dtod xi1 - max(up_down, 0) - r`` (steps in units of ``dw_min``) before the
    mirroring of negative draws. Returns ``{mean_up, mean_down, nominal_up, nominal_down,
    up_down, mirrored}``: the mean step factors after mirroring, the nominal ones, the realised
    asymmetry in ``up_down``'s convention, and the fraction of devices mirrored in a direction.
    """
    up, down = np.asarray(up_factor, float), np.asarray(down_factor, float)
    mu, md = float(np.mean(np.abs(up))), float(np.mean(np.abs(down)))
    nominal_up, nominal_down = nominal_step_factors(cfg)
    return {"mean_up": mu, "mean_down": md, "nominal_up": nominal_up,
            "nominal_down": nominal_down, "up_down": up_down_of(mu, md),
            "mirrored": float(np.mean((up < 0) | (down < 0)))}


def nominal_step_factors(cfg: DeviceConfig) -> tuple[float, float]:
    """The nominal up and down steps in units of ``dw_min``: ``1 + min(up_down, 0)``,
    ``1 - max(up_down, 0)``."""
    return 1.0 + min(cfg.up_down, 0.0), 1.0 - max(cfg.up_down, 0.0)


def up_down_of(step_up: float, step_down: float) -> float:
    """The asymmetry ``up_down`` (DeviceConfig's convention) of mean steps up and down:
    ``1 - down / up`` when up is the larger, ``up / down - 1`` otherwise (0 for no steps)."""
    if max(step_up, step_down) <= 0.0:
        return 0.0
    return 1.0 - step_down / step_up if step_up >= step_down else step_up / step_down - 1.0


def expected_step_factors(cfg: DeviceConfig) -> tuple[float, float]:
    """The mean step factors ``E|a_up| / dw_min``, ``E|a_down| / dw_min`` over infinitely many
    devices drawn from ``cfg`` (after mirroring): ``E|X|`` of ``X ~ N(mu, s)`` with
    ``mu = 1 + min(up_down, 0)`` (up) or ``1 - max(up_down, 0)`` (down) and
    ``s^2 = dw_min_dtod^2 + up_down_dtod^2``, i.e.
    ``s sqrt(2 / pi) exp(-mu^2 / (2 s^2)) + mu erf(mu / (s sqrt 2))``."""
    s = math.hypot(cfg.dw_min_dtod, cfg.up_down_dtod)
    out = []
    for mu in nominal_step_factors(cfg):
        if s == 0.0:
            out.append(abs(mu))
        else:
            out.append(s * math.sqrt(2.0 / math.pi) * math.exp(-mu * mu / (2.0 * s * s))
                       + mu * math.erf(mu / (s * math.sqrt(2.0))))
    return out[0], out[1]


_SPREAD_WARNED: set[tuple[float, float, float]] = set()


def _warn_if_spread_changes_meaning(cfg: DeviceConfig, up_factor, down_factor) -> None:
    """Warn (once per process and setting) when the device-to-device spreads are so large
    that the devices' mean step or asymmetry is no longer what ``dw_min`` and ``up_down`` say
    (aihwkit's convention mirrors negative draws, which raises the mean step and erases
    asymmetry). The criterion is the configuration's expected mean step
    (:func:`expected_step_factors`), so a small array's sampling noise never triggers it; the
    message also gives what the drawn array realised (:func:`realised_steps`)."""
    key = (cfg.dw_min_dtod, cfg.up_down_dtod, cfg.up_down)
    if key in _SPREAD_WARNED or (cfg.dw_min_dtod == 0.0 and cfg.up_down_dtod == 0.0):
        return
    exp_up, exp_down = expected_step_factors(cfg)
    nominal = nominal_step_factors(cfg)
    off = [abs(e / n - 1.0) for e, n in zip((exp_up, exp_down), nominal) if n > 0.05]
    if not off or max(off) <= SPREAD_TOLERANCE:
        return
    _SPREAD_WARNED.add(key)
    asym = up_down_of(exp_up, exp_down)
    st = realised_steps(cfg, up_factor, down_factor)
    warnings.warn(
        f"device-to-device spreads dw_min_dtod={cfg.dw_min_dtod:g}, "
        f"up_down_dtod={cfg.up_down_dtod:g} change what the parameters mean: negative drawn "
        f"steps are mirrored, so the devices' mean steps are {exp_up:.3g} x / {exp_down:.3g} x "
        f"dw_min up / down (nominal {nominal[0]:.3g} / {nominal[1]:.3g}) and their asymmetry "
        f"is up_down = {asym:.3g} (nominal {cfg.up_down:g}); this array of "
        f"{np.size(up_factor)} devices realised {st['mean_up']:.3g} x / {st['mean_down']:.3g} x "
        f"with {100 * st['mirrored']:.0f} % mirrored; smaller spreads keep the documented "
        f"meaning", RramsimWarning, stacklevel=3)


def nominal_device(cfg: DeviceConfig) -> DeviceArray:
    """The one device with the nominal parameters (no device-to-device variation), shape (1,)."""
    return sample_devices(cfg.__class__(**{**cfg.__dict__, "dw_min_dtod": 0.0, "up_down_dtod": 0.0,
                                           "w_min_dtod": 0.0, "w_max_dtod": 0.0,
                                           "gamma_up_dtod": 0.0, "gamma_down_dtod": 0.0,
                                           "pow_gamma_dtod": 0.0, "pow_up_down_dtod": 0.0}),
                          (1,), seed=0)


def pulse_response(devices: DeviceArray, directions, w0=0.0, seed=None) -> np.ndarray:
    """Weights of every device of ``devices`` (flattened) along a pulse sequence.

    Parameters
    ----------
    devices : DeviceArray, any shape (flattened to n devices)
    directions : sequence of +1 (up) / -1 (down), length m
    w0 : float or array (n,), start weight(s)
    seed : seed of the cycle-to-cycle noise streams (one per device)

    Returns
    -------
    ndarray, shape (m + 1, n): the start weight, then the weight after each pulse.
    """
    from rramsim.kernels.device import pulse_sequence

    flat = devices.subset(slice(None)) if devices.a_up.ndim != 1 else devices
    n = flat.a_up.shape[0]
    d = np.asarray(directions)
    if d.ndim != 1 or not np.all(np.isin(d, (-1, 1))):
        raise InputError("directions must be a 1-d sequence of +1 (up) and -1 (down) pulses")
    w0 = np.broadcast_to(np.asarray(w0, dtype=np.float64), (n,)).copy()
    if not np.all(np.isfinite(w0)):
        raise InputError("start weight w0 must be finite")
    w0 = np.clip(w0, flat.w_min, flat.w_max)
    return pulse_sequence(w0, d.astype(np.int8), flat.kernel_args(), flat.ctoc,
                          stream_states(seed, n))
