"""Fitting device models to measured pulse responses (``rramsim fit-device``).

Input: one or many devices' conductance traces, each a sequence of pulses (+1 up, -1 down) and
the conductance read after each pulse. Three file formats (:func:`read_measurement`):

- aihwkit's pulse-response CSV: two columns, no header; column 1 the conductance after each of
  a run of up pulses, column 2 after each of a run of down pulses (one device: the up run, then
  the down run);
- the long format, a CSV with the header ``device,pulse,conductance``: one row per pulse, the
  device's name, the pulse (+1 or -1) and the conductance read after it, rows of a device in
  pulse order (any number of devices);
- a CrossSim table folder (``dG_increasing.txt``, ``dG_decreasing.txt``): not a trace; it
  becomes a ``lut`` device directly (:func:`lut_preset`).

The fit (:func:`fit_device`), per device:

1. steps ``s_t = G_t - G_(t-1)`` of pulse t at the conductance ``G_(t-1)`` before it;
2. the chosen model's mean step law ``mu_up(G)``, ``mu_down(G)`` by least squares per direction,
   in normalised weight units (``[g_min, g_max] -> [-1, 1]``, the mean bounds over devices:
   the fixed points of the soft-bound law, the measured extremes for the hard-bounded models);
3. read noise from the residuals ``e_t = s_t - mu(G_(t-1))``: a read error ``n_t`` of
   ``G_t`` enters ``e_t`` with + and ``e_(t+1)`` with -, so ``cov(e_t, e_(t+1)) = -sigma_read^2``
   while write noise is independent from pulse to pulse; then the cycle-to-cycle noise of the
   (multiplicative) write from ``E e^2 = dw_min_ctoc^2 E mu^2 + 2 sigma_read^2``;
4. with several devices, device-to-device spreads: the standard deviations over the devices of
   the per-device step scales, up/down shift and bounds, in the convention of
   :class:`~rramsim.config.DeviceConfig`.

When the reads are much noisier than one step (the shipped Gong et al. trace: read noise
about 40 steps), single steps do not identify the law (R^2 ~ 0, and the write noise is
indistinguishable from read noise). Then (``method = "trajectory"``, chosen by ``auto`` from
:func:`step_snr`) the law's deterministic mean path ``w_t = w_(t-1) +- mu(w_(t-1))`` along the
measured pulses is fitted to all reads by least squares (the law, the device's bounds, the start
of each sweep); the read noise comes from the lag-1 covariance of the residuals' differences and
the write noise from the slope of their variogram over :data:`VARIOGRAM_LAGS` pulses, reported
with an upper end because one trace bounds it more than it pins it (:func:`_trajectory_noise`).
For the affine laws (soft bounds, linear step) the mean path is the expected trajectory exactly;
for the curved laws it neglects the noise's second-order drift.

Goodness of fit per model: the R^2 of the mean step law per direction, the residual std, and
the Gaussian negative log-likelihood per step (variance ``ctoc^2 mu^2 + 2 sigma_read^2``) on
held-out pulses (every fourth block of 50 pulses, fitted on the others; trajectory fits: per
held-out read about the path fitted to the other reads, and the R^2 of the reads);
``model = "auto"`` fits every model by the same method and picks the lowest held-out NLL.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rramsim.analog.devices import up_down_of
from rramsim.errors import DataError, InputError

#: Models a pulse trace can be fitted with, in the order ``auto`` tries them.
FIT_MODELS = ("soft_bounds", "linear_step", "constant_step", "exp_step", "pow_step",
              "piecewise_step")
#: Pulses per block of the held-out split; every HOLDOUT_EVERY-th block is held out.
BLOCK = 50
HOLDOUT_EVERY = 4
#: The largest cycle-to-cycle noise a preset may hold (DeviceConfig.dw_min_ctoc's range); a
#: larger estimate is clipped and reported in the quality block.
CTOC_MAX = 5.0
#: Nodes of a fitted piecewise step.
PIECEWISE_NODES = 6
#: Fit methods: single steps against the law, or the law's mean path through all reads;
#: ``auto`` takes the trajectory when the reads are much noisier than the steps (the median
#: :func:`step_snr` of the devices below TRAJECTORY_SNR; the shipped Gong trace: 0.06).
FIT_METHODS = ("auto", "steps", "trajectory")
TRAJECTORY_SNR = 0.5
#: Reads each side of the moving average that starts the trajectory fit and measures the SNR.
INIT_SMOOTH = 25
#: Lags (pulses) over which the variogram of the trajectory residuals gives the write noise:
#: past the short-range correlation of the reads, well inside the bounds' restoring time.
VARIOGRAM_LAGS = (10, 40)
#: Held-out NLL differences (nats per step or read) below which ``auto`` prefers the law with
#: fewer parameters: on the Gong trace the four folds of one model differ by more than this.
NLL_TOLERANCE = 0.01
#: How far outside the measured conductances (in measured ranges) a fitted bound may lie.
BOUND_MARGIN = 0.5


@dataclass
class Trace:
    """One device's measured pulse response: ``pulses[t]`` (+1 / -1) was followed by the read
    ``conductance[t]``; steps are taken between consecutive reads."""

    name: str
    pulses: np.ndarray
    conductance: np.ndarray
    #: Read indices where a separately measured sweep starts (the trajectory fit gives each
    #: its own start value; aihwkit's CSV: the first read of the down column).
    restarts: tuple = ()

    def steps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(g_at, direction, step)`` of every pulse after the first read, (m - 1,).

        ``g_at`` is the conductance the pulse saw, estimated WITHOUT the two reads that make the
        step (:func:`smoothed_regressor`), so that their read noise does not bias the law."""
        return (smoothed_regressor(self.conductance, self.pulses), self.pulses[1:],
                np.diff(self.conductance))


#: Reads on each side of a step averaged for the conductance it saw.
SMOOTH = 8


def smoothed_regressor(g: np.ndarray, pulses: np.ndarray, h: int = SMOOTH) -> np.ndarray:
    """The conductance at step t (between reads t and t + 1), as the mean of up to ``h`` reads
    before read t and up to ``h`` after read t + 1, inside the same run of same-direction pulses.

    Regressing a step on a read that enters the step itself (``G_t`` in ``G_(t+1) - G_t``) biases
    the fitted slope by ``-sigma_read^2 / var(G)``, which for a noisy device exceeds the slope; the
    reads used here carry read errors independent of the step's."""
    m = len(g) - 1
    run = np.r_[0, np.cumsum(pulses[2:] != pulses[1:-1])]  # run index of each step
    c = np.r_[0.0, np.cumsum(g)]
    out = np.empty(m)
    starts = np.r_[0, np.flatnonzero(np.diff(run)) + 1]
    ends = np.r_[starts[1:], m]
    for a, b in zip(starts, ends):
        t = np.arange(a, b)
        # reads of this run: a ... b (step t uses reads t and t + 1)
        lo = np.maximum(t - h, a)
        hi = np.minimum(t + 1 + h, b)
        n_before = t - lo
        n_after = hi - (t + 1)
        total = (c[t] - c[lo]) + (c[hi + 1] - c[t + 2])
        count = n_before + n_after
        out[t] = np.where(count > 0, total / np.maximum(count, 1), 0.5 * (g[t] + g[t + 1]))
    return out


@dataclass
class Measurement:
    """The traces read from one file, with its name (for messages and the preset's meta)."""

    source: str
    traces: list[Trace]
    kind: str


# ------------------------------------------------------------------------------------------
# Reading and checking files
# ------------------------------------------------------------------------------------------

def read_measurement(path) -> Measurement:
    """Read a measured pulse response (see the module docstring for the formats).

    Raises
    ------
    DataError : the file is empty, malformed or unusable; the message names the file and the
        problem (one column, non-numeric cell, NaN, no down pulses, all-equal conductances ...)
    """
    path = Path(path)
    where = str(path)
    if path.is_dir():
        raise DataError(f"{where}: a folder (a CrossSim table becomes a lut device; "
                        f"read it with rramsim.analog.lut.load_crosssim_table)")
    if not path.is_file():
        raise DataError(f"{where}: no such file")
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise DataError(f"{where}: not a text (CSV) file") from None
    rows = [r for r in csv.reader(text.splitlines()) if any(c.strip() for c in r)]
    if not rows:
        raise DataError(f"{where}: empty file (expected aihwkit's two-column CSV or the long "
                        f"format device,pulse,conductance)")
    head = [c.strip().lower() for c in rows[0]]
    if head[:3] == ["device", "pulse", "conductance"]:
        traces, kind = _long_format(rows[1:], where), "long"
    else:
        traces, kind = _two_columns(rows, where), "aihwkit_csv"
    for t in traces:
        _check_trace(t, where)
    return Measurement(source=where, traces=traces, kind=kind)


def _number(cell: str, where: str, line: int, col: int) -> float:
    try:
        v = float(cell)
    except ValueError:
        raise DataError(f"{where}: line {line}, column {col}: {cell.strip()!r} is not a "
                        f"number") from None
    if not math.isfinite(v):
        raise DataError(f"{where}: line {line}, column {col}: {cell.strip()} (NaN or infinite "
                        f"conductance)")
    return v


def _two_columns(rows, where) -> list[Trace]:
    widths = {len(r) for r in rows}
    if widths != {2}:
        if widths == {1}:
            raise DataError(f"{where}: one column; aihwkit's pulse-response CSV has two (up "
                            f"sweep, down sweep), or use the long format with the header "
                            f"device,pulse,conductance")
        raise DataError(f"{where}: rows of {sorted(widths)} columns; expected two (up sweep, "
                        f"down sweep)")
    g = np.array([[_number(c, where, i + 1, j + 1) for j, c in enumerate(r)]
                  for i, r in enumerate(rows)])
    pulses = np.r_[np.ones(len(g)), -np.ones(len(g))].astype(np.int8)
    return [Trace("device", pulses, np.r_[g[:, 0], g[:, 1]], restarts=(len(g),))]


def _long_format(rows, where) -> list[Trace]:
    if not rows:
        raise DataError(f"{where}: a header but no rows")
    by_device: dict[str, list[tuple[int, float]]] = {}
    for i, r in enumerate(rows, start=2):
        if len(r) != 3:
            raise DataError(f"{where}: line {i} has {len(r)} columns; expected 3 (device, "
                            f"pulse, conductance)")
        p = _number(r[1], where, i, 2)
        if p not in (1.0, -1.0):
            raise DataError(f"{where}: line {i}, column 2: pulse {r[1].strip()!r} must be +1 "
                            f"or -1")
        by_device.setdefault(r[0].strip(), []).append((int(p), _number(r[2], where, i, 3)))
    return [Trace(name, np.array([p for p, _ in v], dtype=np.int8), np.array([g for _, g in v]))
            for name, v in by_device.items()]


def _check_trace(t: Trace, where: str) -> None:
    label = f"{where}: device {t.name!r}" if t.name != "device" else where
    if len(t.conductance) < 2 * BLOCK:
        raise DataError(f"{label}: {len(t.conductance)} reads; at least {2 * BLOCK} are needed")
    _, d, _ = t.steps()
    if not np.any(d > 0):
        raise DataError(f"{label}: no up pulses (+1): both directions are needed for a fit")
    if not np.any(d < 0):
        raise DataError(f"{label}: no down pulses (-1): both directions are needed for a fit")
    if np.ptp(t.conductance) == 0.0:
        raise DataError(f"{label}: all conductances are equal ({t.conductance[0]}): the device "
                        f"never moved")


# ------------------------------------------------------------------------------------------
# Mean step laws in normalised units (w in [-1, 1] over [g_min, g_max])
# ------------------------------------------------------------------------------------------

def _law(model: str, w: np.ndarray, p: np.ndarray, up: bool) -> np.ndarray:
    """Mean step magnitude of one direction at normalised weight ``w`` for parameters ``p``."""
    if model in ("soft_bounds", "linear_step"):
        return p[0] - p[1] * w if up else p[0] + p[1] * w
    if model == "constant_step":
        return np.full_like(w, p[0])
    if model == "exp_step":  # a = 1, b = 0: z = w
        z = w if up else -w
        return p[0] * np.maximum(1.0 - p[1] * np.exp(p[2] * z), 0.0)
    if model == "pow_step":
        x = (1.0 - w) / 2.0 if up else (w + 1.0) / 2.0
        return p[0] * np.clip(x, 0.0, None) ** p[1]
    if model == "piecewise_step":
        return _hat_basis(w) @ p
    raise InputError(f"unknown fit model {model!r}")


def _hat_basis(w: np.ndarray) -> np.ndarray:
    """Linear-interpolation basis of PIECEWISE_NODES equally spaced nodes over [-1, 1]."""
    nodes = np.linspace(-1.0, 1.0, PIECEWISE_NODES)
    h = nodes[1] - nodes[0]
    return np.clip(1.0 - np.abs(w[:, None] - nodes[None, :]) / h, 0.0, None)


def _fit_direction(model: str, w: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares parameters of one direction's law to step magnitudes ``m`` at ``w``, and
    their standard errors."""
    up = True  # the caller mirrors w for down steps of the symmetric laws
    if model in ("soft_bounds", "linear_step"):
        A = np.c_[np.ones_like(w), -w]
    elif model == "constant_step":
        A = np.ones((len(w), 1))
    elif model == "piecewise_step":
        A = _hat_basis(w)
    else:
        A = None
    if A is not None:
        p, *_ = np.linalg.lstsq(A, m, rcond=None)
        res = m - A @ p
        cov = np.linalg.pinv(A.T @ A) * (res @ res) / max(len(m) - A.shape[1], 1)
        return p, np.sqrt(np.clip(np.diag(cov), 0, None))
    from scipy.optimize import least_squares

    lin, *_ = np.linalg.lstsq(np.c_[np.ones_like(w), -w], m, rcond=None)
    a0, b0 = float(lin[0]), max(float(lin[1]), 1e-6 * abs(float(lin[0])) + 1e-30)
    # The scale and the factor A trade off against each other where the data barely curve; a
    # bounded scale (20 x the largest mean step) keeps the fit a usable device.
    top = 20.0 * max(float(np.max(np.abs(m))), 1e-300)
    if model == "exp_step":
        p0 = np.array([min(a0 + b0, top), min(b0 / (a0 + b0), 0.9), 1.0])
        lo, hi = [0.0, 0.0, 0.0], [top, 0.95, 100.0]
    else:  # pow_step: a (1 - w)/2 ^ g ~ linear at g = 1: a = 2 b0
        p0 = np.array([min(max(a0 + b0, 1e-30), top), 1.0])
        lo, hi = [0.0, 0.0], [top, 50.0]
    scale = max(float(np.mean(np.abs(m))), 1e-300)

    def resid(p):
        return (_law(model, w, p, up) - m) / scale

    sol = least_squares(resid, np.clip(p0, lo, hi),
                        bounds=(lo, hi), method="trf")
    J = sol.jac * scale
    res = sol.fun * scale
    cov = np.linalg.pinv(J.T @ J) * (res @ res) / max(len(m) - len(sol.x), 1)
    return sol.x, np.sqrt(np.clip(np.diag(cov), 0, None))


@dataclass
class DeviceLaw:
    """One device's fitted mean step law in normalised units, with its noise."""

    model: str
    p_up: np.ndarray
    p_down: np.ndarray
    se_up: np.ndarray
    se_down: np.ndarray
    w_min: float
    w_max: float
    ctoc: float
    read_noise: float  # normalised weight units
    r2_up: float
    r2_down: float
    residual_std: float
    ctoc_unclipped: float = 0.0
    #: The trajectory fit's extras: the upper end (+2 standard errors) of the write noise, the
    #: short-range correlated noise variance it leaves out, the R^2 of the reads.
    ctoc_upper: float = float("nan")
    short_range_var: float = float("nan")
    r2_reads: float = float("nan")
    #: The law's own normalisation within the common one (trajectory fits of several devices,
    #: each with its bounds): ``w_own = w_scale w + w_shift``, steps times ``step_scale``.
    w_scale: float = 1.0
    w_shift: float = 0.0
    step_scale: float = 1.0

    def mean_up(self, w):
        w_own = self.w_scale * np.asarray(w, float) + self.w_shift
        return self.step_scale * _law(self.model, w_own, self.p_up, True)

    def mean_down(self, w):
        # symmetric laws were fitted on the mirrored weight
        w_own = self.w_scale * np.asarray(w, float) + self.w_shift
        return self.step_scale * _law(self.model, _mirror(self.model, w_own), self.p_down, True)


def _mirror(model: str, w: np.ndarray) -> np.ndarray:
    """Down steps are fitted as up steps of the mirrored weight ``-w`` (a down step shrinks
    towards w_min as an up step towards w_max)."""
    return -w


def _to_w(g, g_min, g_max):
    return -1.0 + 2.0 * (np.asarray(g, float) - g_min) / (g_max - g_min)


def _fit_law(model, g, d, s, g_min, g_max, read_var=None) -> DeviceLaw:
    w = _to_w(g, g_min, g_max)
    step = s * 2.0 / (g_max - g_min)
    up, down = d > 0, d < 0
    p_up, se_up = _fit_direction(model, w[up], step[up])
    p_dn, se_dn = _fit_direction(model, _mirror(model, w[down]), -step[down])
    law = DeviceLaw(model, p_up, p_dn, se_up, se_dn, -1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    mu = np.where(up, law.mean_up(w), -law.mean_down(w))
    e = step - mu
    if read_var is None:
        read_var = max(-float(np.mean(e[1:] * e[:-1])), 0.0)
    write_var = max(float(np.mean(e * e)) - 2.0 * read_var, 0.0)
    law.ctoc = math.sqrt(write_var / max(float(np.mean(mu * mu)), 1e-300))
    law.ctoc_unclipped = law.ctoc
    law.ctoc = min(law.ctoc, CTOC_MAX)
    law.read_noise = math.sqrt(read_var)
    _set_step_r2(law, step, e, d)
    law.residual_std = float(np.std(e))
    return law


def _set_step_r2(law: DeviceLaw, step: np.ndarray, e: np.ndarray, d: np.ndarray) -> None:
    """``law.r2_up``, ``law.r2_down``: the share of the variance of the steps (normalised
    units) of each direction (``d`` +1 / -1) that the law explains (residuals ``e``)."""
    for mask, attr in ((d > 0, "r2_up"), (d < 0, "r2_down")):
        v = float(np.var(step[mask]))
        setattr(law, attr, 1.0 - float(np.mean(e[mask] ** 2)) / v if v > 0 else 0.0)


def _bounds_of(model, g, d, s):
    """Per-device conductance bounds: the soft-bound law's fixed points, else the extremes."""
    if model != "soft_bounds":
        return float(np.min(g)), float(np.max(g))
    out = []
    for sign in (1, -1):
        m = d == sign
        A = np.c_[np.ones(m.sum()), g[m]]
        (c, k), *_ = np.linalg.lstsq(A, s[m], rcond=None)
        out.append(-c / k if k < 0 else (np.max(g) if sign > 0 else np.min(g)))
    return float(out[1]), float(out[0])


def _nll(law: DeviceLaw, g, d, s, g_min, g_max) -> float:
    w = _to_w(g, g_min, g_max)
    step = s * 2.0 / (g_max - g_min)
    mu = np.where(d > 0, law.mean_up(w), -law.mean_down(w))
    var = law.ctoc ** 2 * mu ** 2 + 2.0 * law.read_noise ** 2
    var = np.maximum(var, 1e-30)
    return float(np.mean(0.5 * np.log(2 * np.pi * var) + 0.5 * (step - mu) ** 2 / var)
                 - math.log(2.0 / (g_max - g_min)))


# ------------------------------------------------------------------------------------------
# The trajectory fit: the mean path of the law through the reads (noisy reads)
# ------------------------------------------------------------------------------------------

def step_snr(trace: Trace) -> float:
    """Model-free signal-to-noise ratio of single steps: the root-mean-square mean step (from
    a moving average of :data:`INIT_SMOOTH` reads each side) over the read noise (from the
    lag-1 covariance of the steps about that local mean, ``-sigma_read^2`` for white read
    noise)."""
    smooth_steps = np.diff(_moving_average(trace))
    e = np.diff(trace.conductance) - smooth_steps  # the steps about their local mean
    read_var = max(-float(np.mean(e[1:] * e[:-1])), 0.0)
    mean_step = float(np.sqrt(np.mean(smooth_steps ** 2)))
    return mean_step / math.sqrt(read_var) if read_var > 0 else math.inf


def _moving_average(trace: Trace, h: int = None) -> np.ndarray:
    """Reads averaged over ``h`` reads each side, within each separately measured sweep."""
    from scipy.ndimage import uniform_filter1d

    h = INIT_SMOOTH if h is None else h
    g = trace.conductance
    cuts = [0, *trace.restarts, len(g)]
    return np.concatenate([uniform_filter1d(g[a:b], 2 * h + 1, mode="nearest")
                           for a, b in zip(cuts[:-1], cuts[1:])])


def _law_bounds(model: str, n: int) -> tuple[list, list]:
    """Parameter ranges of one direction's law in the trajectory fit (steps per pulse in
    normalised units: at most the whole range)."""
    if model == "soft_bounds":
        return [0.0], [1.0]
    if model == "linear_step":
        return [0.0, -1.0], [1.0, 1.0]
    if model == "exp_step":
        return [0.0, 0.0, 0.0], [2.0, 0.95, 100.0]
    if model == "pow_step":
        return [0.0, 0.0], [2.0, 50.0]
    return [0.0] * n, [2.0] * n  # constant, piecewise nodes


def _fit_trajectory(model: str, trace: Trace, keep=None) -> tuple[DeviceLaw, float, float, dict]:
    """Least squares of the reads to the law's mean path (:func:`rramsim.kernels.fitting.
    mean_path`) over the law's parameters, the device's conductance bounds and the start of
    each sweep; ``keep`` (bool, reads) restricts the residuals to some reads (held-out fits).
    Returns the law (own normalisation, noise not yet set), ``g_lo``, ``g_hi`` and
    ``{"path": w_t, "reads_w": reads in w units}``."""
    from scipy.optimize import least_squares

    from rramsim.kernels.fitting import mean_path

    g = trace.conductance
    c, sc = float(np.mean(g)), max(float(np.ptp(g)) / 2.0, 1e-300)
    u = (g - c) / sc  # reads scaled to about [-1, 1] for the optimiser
    # Start: the step fit of the smoothed reads (its steps are means of many pulses).
    gs = _moving_average(trace)
    gs_steps = (gs[:-1], trace.pulses[1:], np.diff(gs))
    if model == "soft_bounds":
        lo0, hi0 = _bounds_of(model, *gs_steps)
        lo0, hi0 = max(lo0, gs.min() - np.ptp(gs)), min(hi0, gs.max() + np.ptp(gs))
    else:
        lo0, hi0 = float(gs.min()), float(gs.max())
    init = _fit_law(model, *gs_steps, lo0, hi0)
    soft = model == "soft_bounds"
    p_up0 = init.p_up[:1] if soft else init.p_up
    p_dn0 = init.p_down[:1] if soft else init.p_down
    k = len(p_up0)
    restarts = np.asarray(trace.restarts, np.int64)
    n_start = 1 + len(restarts)
    lo_p, hi_p = _law_bounds(model, k)

    def unpack(th):
        lo, hi = th[0], th[1]
        starts = th[2:2 + n_start]
        pu, pd = th[2 + n_start:2 + n_start + k], th[2 + n_start + k:]
        if soft:
            pu, pd = np.r_[pu, pu], np.r_[pd, pd]
        return lo, hi, starts, pu, pd

    mask = np.ones(len(g), bool) if keep is None else keep

    def path(th):
        lo, hi, starts, pu, pd = unpack(th)
        return mean_path(model, pu, pd, trace.pulses, starts[0], restarts, starts[1:])

    def resid(th):
        lo, hi = th[0], th[1]
        return (lo + (path(th) + 1.0) / 2.0 * (hi - lo) - u)[mask]

    # the start weights in the optimiser's scaled units (this form, not _to_w, is the one the
    # committed study results were fitted with: the optimiser's end point follows its start)
    u_start, u_lo0, u_hi0 = (gs[np.r_[0, restarts]] - c) / sc, (lo0 - c) / sc, (hi0 - c) / sc
    start0 = np.clip(-1.0 + 2.0 * (u_start - u_lo0) / (u_hi0 - u_lo0), -1.0, 1.0)
    th0 = np.r_[(lo0 - c) / sc, (hi0 - c) / sc, start0,
                np.clip(p_up0, lo_p, hi_p), np.clip(p_dn0, lo_p, hi_p)]
    # A bound far outside the measured conductances is not identified by the trace: the
    # bounds stay within BOUND_MARGIN x the measured range of its ends.
    u_lo, u_hi = float(u.min()), float(u.max())
    margin = BOUND_MARGIN * (u_hi - u_lo)
    lower = np.r_[u_lo - margin, u_lo - margin, -np.ones(n_start), lo_p, lo_p]
    upper = np.r_[u_hi + margin, u_hi + margin, np.ones(n_start), hi_p, hi_p]
    sol = least_squares(resid, np.clip(th0, lower, upper), bounds=(lower, upper),
                        x_scale="jac", method="trf")
    lo, hi, _, pu, pd = unpack(sol.x)
    g_lo, g_hi = c + sc * float(lo), c + sc * float(hi)
    if not g_hi > g_lo:
        raise DataError(f"device {trace.name!r}: the trajectory fit of {model} found no "
                        f"ordered bounds ({g_lo} >= {g_hi})")
    # Standard errors from the Jacobian (the residuals are correlated by the accumulated write
    # noise, so these are lower bounds).
    cov = np.linalg.pinv(sol.jac.T @ sol.jac) * float(np.mean(sol.fun ** 2))
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    se_u, se_d = se[2 + n_start:2 + n_start + k], se[2 + n_start + k:]
    law = DeviceLaw(model, np.asarray(pu, float), np.asarray(pd, float), se_u, se_d,
                    -1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    w_reads = -1.0 + 2.0 * (g - g_lo) / (g_hi - g_lo)
    # Not identified: a bound held at its limit (the law did not want one near the measured
    # range), or a parameter the reads do not depend on (a zero column of the Jacobian, e.g.
    # the node of a piecewise law where the device never went).
    at_limit = bool(np.any(np.isclose(sol.x[:2], lower[:2]) | np.isclose(sol.x[:2], upper[:2])))
    col = np.linalg.norm(sol.jac, axis=0)
    at_limit |= bool(np.any(col <= 1e-9 * max(float(col.max()), 1e-300)))
    return law, g_lo, g_hi, {"path": path(sol.x), "reads_w": w_reads, "at_limit": at_limit}


def _trajectory_noise(law: DeviceLaw, path: np.ndarray, reads_w: np.ndarray,
                      pulses: np.ndarray) -> None:
    """Set the law's read and write noise (normalised units of the law) from the residuals
    ``r_t`` of the reads about the mean path.

    Read noise: ``-cov(dr_t, dr_(t+1))`` (white read noise). Write noise: the slope of the
    variogram ``V(k) = mean (r_(t+k) - r_t)^2`` over the lags :data:`VARIOGRAM_LAGS`, where it
    grows by ``sigma_write^2`` per pulse (accumulated write noise); the excess of the variogram
    at the first of those lags over ``2 sigma_read^2`` is short-range correlated noise (e.g.
    relaxation or telegraph noise), reported and not modelled. ``dw_min_ctoc`` is
    ``sigma_write`` over the root-mean-square mean step along the path; its upper end uses the
    slope plus two standard errors of the regression."""
    r = reads_w - path
    dr = np.diff(r)
    read_var = max(-float(np.mean(dr[1:] * dr[:-1])), 0.0)
    lags = np.arange(VARIOGRAM_LAGS[0], min(VARIOGRAM_LAGS[1], len(r) // 4) + 1)
    V = np.array([np.mean((r[k:] - r[:-k]) ** 2) for k in lags])
    A = np.c_[np.ones_like(lags, dtype=float), lags]
    (icpt, slope), *_ = np.linalg.lstsq(A, V, rcond=None)
    res = V - A @ np.r_[icpt, slope]
    se = math.sqrt(float(np.linalg.pinv(A.T @ A)[1, 1] * (res @ res) / max(len(V) - 2, 1)))
    w_prev = path[:-1]
    mu = np.where(pulses[1:] > 0, law.mean_up(w_prev), law.mean_down(w_prev))
    rms_mu = max(float(np.sqrt(np.mean(mu ** 2))), 1e-300)
    law.read_noise = math.sqrt(read_var)
    law.ctoc_unclipped = math.sqrt(max(float(slope), 0.0)) / rms_mu
    law.ctoc = min(law.ctoc_unclipped, CTOC_MAX)
    law.ctoc_upper = math.sqrt(max(float(slope) + 2.0 * se, 0.0)) / rms_mu
    law.short_range_var = max(float(icpt) - 2.0 * read_var, 0.0)
    law.r2_reads = 1.0 - float(np.var(r)) / max(float(np.var(reads_w)), 1e-300)
    step = np.diff(reads_w)
    _set_step_r2(law, step, step - np.where(pulses[1:] > 0, mu, -mu), pulses[1:])
    law.residual_std = float(np.std(r))


def _trajectory_laws(model: str, meas: Measurement):
    """Per-device trajectory fits, expressed in the common normalisation (the mean bounds)."""
    fits = [_fit_trajectory(model, t) for t in meas.traces]
    at_limit = sum(extra["at_limit"] for *_, extra in fits)
    bounds = np.array([[lo, hi] for _, lo, hi, _ in fits])
    g_min, g_max = float(bounds[:, 0].mean()), float(bounds[:, 1].mean())
    laws = []
    for (law, lo, hi, extra), t in zip(fits, meas.traces):
        # w_own = -1 + 2 (G - lo) / (hi - lo), G = g_min + (w + 1) / 2 (g_max - g_min)
        r = (g_max - g_min) / (hi - lo)
        law.w_scale, law.w_shift = r, r - 1.0 + 2.0 * (g_min - lo) / (hi - lo)
        law.step_scale = 1.0 / r
        _trajectory_noise(law, (extra["path"] - law.w_shift) / law.w_scale,
                          _to_w(t.conductance, g_min, g_max), t.pulses)
        laws.append(law)
    return laws, bounds, g_min, g_max, at_limit


def _trajectory_nll(model: str, trace: Trace, g_min: float, g_max: float) -> float:
    """Gaussian negative log-likelihood per held-out read about the path fitted to the other
    reads (variance: the mean squared residual of the kept reads), in normalised units, the
    mean over the HOLDOUT_EVERY folds (the residuals of one trace are correlated over tens of
    reads, so one split alone can favour a model by luck)."""
    n = len(trace.conductance)
    out = []
    for fold in range(HOLDOUT_EVERY):
        keep, held = _split(n, fold)
        law, lo, hi, extra = _fit_trajectory(model, trace, keep=keep)
        r = extra["reads_w"] - extra["path"]
        r = r * (hi - lo) / (g_max - g_min)  # common units
        var = max(float(np.mean(r[keep] ** 2)), 1e-30)
        out.append(float(np.mean(0.5 * np.log(2 * np.pi * var) + 0.5 * r[held] ** 2 / var)))
    return float(np.mean(out)) - math.log(2.0 / (g_max - g_min))


# ------------------------------------------------------------------------------------------
# The fit
# ------------------------------------------------------------------------------------------

@dataclass
class DeviceFit:
    """The result of a fit: the ``[device]`` section, per-parameter uncertainties, the
    goodness of fit, and the per-device laws.

    Attributes
    ----------
    model : the fitted model
    device : ``{key: value}`` of a :class:`~rramsim.config.DeviceConfig` (normalised units,
        ``g_min`` / ``g_max`` the conductances of ``w_min = -1`` / ``w_max = +1``)
    uncertainty : standard error of each fitted key (over devices, or from the least squares
        for one device)
    quality : R^2 per direction, residual std, read noise, held-out NLL per step
    laws : per-device fitted laws
    """

    model: str
    device: dict
    uncertainty: dict
    quality: dict
    laws: list[DeviceLaw] = field(repr=False)
    g_min: float = 0.0
    g_max: float = 0.0


def _split(n: int, fold: int = HOLDOUT_EVERY - 1) -> tuple[np.ndarray, np.ndarray]:
    """``(keep, held)`` masks of n pulses: fold ``fold`` of HOLDOUT_EVERY holds out every
    HOLDOUT_EVERY-th block of BLOCK pulses, starting at block ``fold``."""
    block = np.arange(n) // BLOCK
    held = block % HOLDOUT_EVERY == fold
    return ~held, held


def choose_method(meas: Measurement, method: str = "auto") -> tuple[str, float]:
    """The fit method (``steps`` or ``trajectory``) for ``meas`` and the median
    :func:`step_snr` of its devices; ``auto`` takes the trajectory below TRAJECTORY_SNR."""
    if method not in FIT_METHODS:
        raise InputError(f"fit method {method!r} unknown; use one of {', '.join(FIT_METHODS)}")
    snr = float(np.median([step_snr(t) for t in meas.traces]))
    if method == "auto":
        method = "trajectory" if snr < TRAJECTORY_SNR else "steps"
    return method, snr


def fit_device(meas: Measurement, model: str, method: str = "auto") -> DeviceFit:
    """Fit one model (a name of :data:`FIT_MODELS`) to every trace of ``meas`` by ``method``
    (:data:`FIT_METHODS`; :func:`choose_method`)."""
    if model not in FIT_MODELS:
        raise InputError(f"fit model {model!r} unknown; use one of {', '.join(FIT_MODELS)} or "
                         f"'auto'")
    method, snr = choose_method(meas, method)
    nll = []
    if method == "trajectory":
        laws, bounds, g_min, g_max, at_limit = _trajectory_laws(model, meas)
        nll = [_trajectory_nll(model, t, g_min, g_max) for t in meas.traces]
        n_pulses = int(sum(len(t.conductance) - 1 for t in meas.traces))
    else:
        steps = [t.steps() for t in meas.traces]
        bounds = np.array([_bounds_of(model, *st) for st in steps])
        g_min, g_max = float(bounds[:, 0].mean()), float(bounds[:, 1].mean())
        if not g_max > g_min:
            raise DataError(f"{meas.source}: the fitted bounds are not ordered ({g_min} >= "
                            f"{g_max})")
        laws = [_fit_law(model, *st, g_min, g_max) for st in steps]
        # Held-out likelihood: refit on the kept blocks, score on the held-out ones.
        for st in steps:
            keep, held = _split(len(st[0]))
            if held.sum() < 10 or not (np.any(st[1][keep] > 0) and np.any(st[1][keep] < 0)):
                continue
            law = _fit_law(model, *(a[keep] for a in st), g_min, g_max)
            nll.append(_nll(law, *(a[held] for a in st), g_min, g_max))
        n_pulses = int(sum(len(st[0]) for st in steps))
    device, unc = _to_config(model, laws, bounds, g_min, g_max)
    quality = {"r2_up": float(np.mean([lw.r2_up for lw in laws])),
               "r2_down": float(np.mean([lw.r2_down for lw in laws])),
               "residual_std": float(np.mean([lw.residual_std for lw in laws])),
               "read_noise": float(np.mean([lw.read_noise for lw in laws])),
               "read_noise_siemens": float(np.mean([lw.read_noise for lw in laws])
                                           * (g_max - g_min) / 2.0),
               "dw_min_ctoc_unclipped": float(np.mean([lw.ctoc_unclipped for lw in laws])),
               "heldout_nll_per_step": float(np.mean(nll)) if nll else float("nan"),
               "method": method, "step_snr": snr,
               "n_devices": len(laws), "n_pulses": n_pulses}
    if method == "trajectory":
        # per held-out READ about the path (not per step): compare models, not methods
        quality["heldout_nll_per_read"] = quality.pop("heldout_nll_per_step")
        quality.update(
            r2_reads=float(np.mean([lw.r2_reads for lw in laws])),
            dw_min_ctoc_upper=float(np.mean([lw.ctoc_upper for lw in laws])),
            short_range_noise=float(np.mean([math.sqrt(lw.short_range_var) for lw in laws])),
            devices_not_identified=int(at_limit))
    return DeviceFit(model, device, unc, quality, laws, g_min, g_max)


def heldout_nll(f: DeviceFit) -> float:
    """The fit's held-out negative log-likelihood (per step or, trajectory fits, per read)."""
    q = f.quality
    v = q.get("heldout_nll_per_step", q.get("heldout_nll_per_read", float("nan")))
    return float(np.nan_to_num(v, nan=np.inf))


def fit_auto(meas: Measurement, method: str = "auto") -> tuple[DeviceFit, dict[str, DeviceFit]]:
    """Fit every model of :data:`FIT_MODELS` (one method for all); pick the lowest held-out
    NLL (the criterion: which law predicts pulses it was not fitted on best, noise included)
    among the identified fits (a trajectory fit that holds a bound at its limit, BOUND_MARGIN
    outside the measured range, or has a parameter the reads do not depend on, is not eligible
    unless every fit is such); of the laws within NLL_TOLERANCE of the lowest, the one with the
    fewest parameters (:func:`law_parameters`)."""
    method, _ = choose_method(meas, method)
    fits = {m: fit_device(meas, m, method) for m in FIT_MODELS}
    eligible = [f for f in fits.values() if not f.quality.get("devices_not_identified", 0)]
    eligible = eligible or list(fits.values())
    best = min(heldout_nll(f) for f in eligible)
    # Parsimony: of the laws within NLL_TOLERANCE of the best, the one with fewest parameters.
    near = [f for f in eligible if heldout_nll(f) <= best + NLL_TOLERANCE]
    return min(near, key=lambda f: (law_parameters(f.model), heldout_nll(f))), fits


def law_parameters(model: str) -> int:
    """Free parameters of a model's mean step law (both directions, bounds not counted)."""
    return {"soft_bounds": 2, "constant_step": 2, "linear_step": 4, "pow_step": 4,
            "exp_step": 6, "piecewise_step": 2 * PIECEWISE_NODES}[model]


#: The largest |up_down| a fitted preset holds (the fields' range is open: a direction that
#: never moves, +-1, is not a device).
UP_DOWN_MAX = 0.999


def _up_down(a_up: float, a_down: float) -> tuple[float, float]:
    """``(dw_min, up_down)`` of mean step scales in DeviceConfig's convention."""
    ud = up_down_of(a_up, a_down)
    return max(a_up, a_down), min(max(ud, -UP_DOWN_MAX), UP_DOWN_MAX)


def _to_config(model, laws, bounds, g_min, g_max) -> tuple[dict, dict]:
    """The ``[device]`` keys of the fitted laws, and their standard errors."""
    n = len(laws)
    w_lo = _to_w(bounds[:, 0], g_min, g_max)
    w_hi = _to_w(bounds[:, 1], g_min, g_max)
    if model in ("soft_bounds", "linear_step", "constant_step", "piecewise_step"):
        # step at w = 0 of each device and direction
        a_up = np.array([float(lw.mean_up(np.array([0.0]))[0]) for lw in laws])
        a_dn = np.array([float(lw.mean_down(np.array([0.0]))[0]) for lw in laws])
    else:
        a_up = np.array([lw.p_up[0] * lw.step_scale for lw in laws])
        a_dn = np.array([lw.p_down[0] * lw.step_scale for lw in laws])
    dw_min, up_down = _up_down(float(a_up.mean()), float(a_dn.mean()))
    dev = {"model": model, "dw_min": dw_min, "up_down": up_down, "w_min": -1.0, "w_max": 1.0,
           "g_min": g_min, "g_max": g_max,
           "dw_min_ctoc": float(np.mean([lw.ctoc for lw in laws]))}
    if n > 1:
        total = (a_up + a_dn) / (2.0 * dw_min)
        shift = (a_up - a_dn) / (2.0 * dw_min)
        dev.update(dw_min_dtod=float(np.std(total, ddof=1)),
                   up_down_dtod=float(np.std(shift, ddof=1)),
                   w_min_dtod=float(np.std(w_lo, ddof=1) / abs(np.mean(w_lo))),
                   w_max_dtod=float(np.std(w_hi, ddof=1) / abs(np.mean(w_hi))))
    else:
        dev.update(dw_min_dtod=0.0, up_down_dtod=0.0, w_min_dtod=0.0, w_max_dtod=0.0)
    per_dev: dict[str, np.ndarray] = {}
    if model == "linear_step":
        gu = np.array([lw.p_up[1] / max(lw.p_up[0], 1e-300) for lw in laws])
        gd = np.array([lw.p_down[1] / max(lw.p_down[0], 1e-300) for lw in laws])
        dev.update(gamma_up=max(float(gu.mean()), 0.0), gamma_down=max(float(gd.mean()), 0.0),
                   gamma_up_dtod=float(np.std(gu, ddof=1)) if n > 1 else 0.0,
                   gamma_down_dtod=float(np.std(gd, ddof=1)) if n > 1 else 0.0,
                   mean_bound_reference=False)
        per_dev.update(gamma_up=gu, gamma_down=gd)
    elif model == "exp_step":
        dev.update(A_up=float(np.mean([lw.p_up[1] for lw in laws])),
                   A_down=float(np.mean([lw.p_down[1] for lw in laws])),
                   gamma_up=float(np.mean([lw.p_up[2] for lw in laws])),
                   gamma_down=float(np.mean([lw.p_down[2] for lw in laws])), a=1.0, b=0.0)
    elif model == "pow_step":
        gu = np.array([lw.p_up[1] for lw in laws])
        gd = np.array([lw.p_down[1] for lw in laws])
        pg, pud = _up_down(float(gu.mean()), float(gd.mean()))
        dev.update(pow_gamma=pg, pow_up_down=pud,
                   pow_gamma_dtod=float(np.std((gu + gd) / (2 * pg), ddof=1)) if n > 1 else 0.0,
                   pow_up_down_dtod=float(np.std((gu - gd) / (2 * pg), ddof=1)) if n > 1 else 0.0)
    elif model == "piecewise_step":
        # nodes relative to each direction's step at w = 0 (a_up, a_down carry the scale)
        up_nodes = np.mean([lw.p_up / max(lw.p_up @ _hat_basis(np.array([0.0]))[0], 1e-300)
                            for lw in laws], axis=0)
        dn_nodes = np.mean([lw.p_down[::-1] / max(lw.p_down @ _hat_basis(np.array([0.0]))[0],
                                                  1e-300) for lw in laws], axis=0)
        dev.update(piecewise_up=[max(float(v), 0.0) for v in up_nodes],
                   piecewise_down=[max(float(v), 0.0) for v in dn_nodes])
    # Standard errors: over the devices when there are several, else the least squares'.
    unc = {}
    if n > 1:
        sem = lambda v: float(np.std(v, ddof=1) / math.sqrt(n))  # noqa: E731
        unc.update(dw_min=sem(np.maximum(a_up, a_dn)), g_min=sem(bounds[:, 0]),
                   g_max=sem(bounds[:, 1]), dw_min_ctoc=sem([lw.ctoc for lw in laws]),
                   up_down=sem(1.0 - a_dn / np.maximum(a_up, 1e-300)))
        for k, v in per_dev.items():
            unc[k] = sem(v)
        for k in ("dw_min_dtod", "up_down_dtod"):
            unc[k] = dev[k] / math.sqrt(2 * (n - 1))
    else:
        lw = laws[0]
        unc.update(dw_min=float(lw.se_up[0]), up_down=float(
            math.hypot(lw.se_up[0] / max(a_up[0], 1e-300), lw.se_down[0] / max(a_dn[0], 1e-300))
            * (1.0 - abs(up_down))))
    return dev, unc


# ------------------------------------------------------------------------------------------
# Presets, simulation of the fitted device
# ------------------------------------------------------------------------------------------

def preset_text(device: dict, meta: dict, sections: str = "") -> str:
    """A preset TOML with a ``[meta]`` block and the ``[device]`` section (then ``sections``)."""
    def fmt(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        return repr(float(v)) if isinstance(v, float) else str(v)

    lines = ["[meta]"] + [f"{k} = {fmt(v)}" for k, v in meta.items()] + ["", "[device]"]
    lines += [f"{k} = {fmt(v)}" for k, v in device.items()]
    return "\n".join(lines) + "\n" + sections


def simulate_traces(device: dict, pulses: np.ndarray, n_draws: int, g_start: float, seed=0,
                    n_devices: int = 1, read_noise: float = 0.0) -> np.ndarray:
    """Conductance traces of the fitted device along ``pulses`` (the measured sequence; the
    first read is the start), ``n_draws`` cycle-to-cycle draws of ``n_devices`` devices (drawn
    with the fitted device-to-device spreads), with Gaussian read noise of std ``read_noise``
    (conductance units) on every read (the devices go on through the start of a separately
    measured sweep). Returns (len(pulses), n_draws * n_devices)."""
    from rramsim.analog.devices import pulse_response, sample_devices
    from rramsim.config import DeviceConfig
    from rramsim.rng import generator, spawn

    cfg = DeviceConfig(**device)
    dev_seed, noise_seed = spawn(seed, 2)
    devs = sample_devices(cfg, (n_devices,), dev_seed).subset(
        np.repeat(np.arange(n_devices), n_draws))
    g_min, g_max = cfg.g_min, cfg.g_max
    w0 = float(_to_w(g_start, g_min, g_max))
    noise_seed, read_seed = spawn(noise_seed, 2)
    w = pulse_response(devs, np.asarray(pulses[1:]), w0=w0, seed=noise_seed)
    g = g_min + (w + 1.0) / 2.0 * (g_max - g_min)
    if read_noise > 0:
        g = g + read_noise * generator(read_seed).standard_normal(g.shape)
    return g


def lut_preset(folder, name: str = "") -> tuple[dict, dict]:
    """The ``[device]`` keys of a ``lut`` device read from a CrossSim table folder (weights
    [-1, 1] over the table's conductance range, ``dw_min`` its mean step), and a summary."""
    from rramsim.analog.lut import load_crosssim_table, table_dw_min

    table = load_crosssim_table(folder)
    g_lo, g_hi = table.g_range
    up, down = table.mean_steps()
    dev = {"model": "lut", "lut_table": str(Path(table.source).resolve()) if not name else name,
           "g_min": g_lo, "g_max": g_hi, "dw_min": table_dw_min(table), "up_down": 0.0,
           "w_min": -1.0, "w_max": 1.0, "dw_min_dtod": 0.0, "up_down_dtod": 0.0,
           "w_min_dtod": 0.0, "w_max_dtod": 0.0, "dw_min_ctoc": 0.0}
    summary = {"bins": int(len(table.g_bins)), "cdf_points": int(len(table.cdf)),
               "g_range_siemens": [g_lo, g_hi],
               "mean_up_step_siemens": float(np.mean(up)),
               "mean_down_step_siemens": float(np.mean(down))}
    return dev, summary
