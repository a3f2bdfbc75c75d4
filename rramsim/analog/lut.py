"""Measured look-up-table devices: CrossSim 2.0's stochastic update tables.

A table describes one pulse of a measured device: for each conductance bin ``G_k`` (siemens)
and each direction, the empirical distribution of the conductance change ``dG`` of one pulse,
as its CDF. CrossSim's text format, one file per direction (``dG_increasing.txt`` for a
potentiating (up) pulse, ``dG_decreasing.txt`` for a depressing (down) one)::

    line 1      a free-text description
    line 2      the conductance bins G_1 ... G_K, comma separated (siemens)
    line 3      the CDF points c_1 = 0 ... c_Q = 1, comma separated
    lines 4 ... the matrix dG[q, k]: one line per CDF point, one column per conductance bin
                (siemens): the step at which the CDF of bin k reaches c_q

For the kernels the table becomes, per direction, the step quantiles at ``N_QUANTILES + 1``
equally spaced CDF levels per bin, on bins equally spaced over ``[g_min, g_max]`` (the
conductances that ``w_min`` and ``w_max`` stand for; by default the table's own range), in
weight units: ``dw = dG (w_max - w_min) / (g_max - g_min)``. A pulse draws ``u ~ U(0, 1)``
and reads the quantile function at ``u`` (inverse-CDF sampling, linear in ``u`` and between
the two bins around the device's weight); the last column holds each bin's mean step, which the
expected update and the symmetry point use. Resampling onto equal CDF steps keeps the tails'
shape down to ``1 / N_QUANTILES`` of probability.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rramsim.config import DeviceConfig
from rramsim.errors import ConfigError, DataError

#: CDF levels of the resampled quantile tables (the kernels interpolate between them).
N_QUANTILES = 512

#: The two files of a CrossSim table folder: up (potentiating) and down (depressing) pulses.
TABLE_FILES = ("dG_increasing.txt", "dG_decreasing.txt")


def datasets_dir() -> Path:
    """The measured device data shipped with rramsim (``rramsim/datasets/devices``)."""
    return Path(__file__).resolve().parent.parent / "datasets" / "devices"


def resolve_table(name_or_path: str | os.PathLike) -> Path:
    """The folder of a table: a path to a folder, or the name of a shipped data set."""
    p = Path(name_or_path).expanduser()
    if p.is_dir():
        return p
    shipped = datasets_dir() / str(name_or_path)
    if os.sep not in str(name_or_path) and shipped.is_dir():
        return shipped
    names = sorted(d.name for d in datasets_dir().glob("*") if (d / TABLE_FILES[0]).is_file()) \
        if datasets_dir().is_dir() else []
    raise ConfigError(f"device.lut_table = {str(name_or_path)!r}: no such folder, and no shipped "
                      f"table of that name (shipped: {', '.join(names) or 'none'})")


@dataclass(frozen=True)
class CrossSimTable:
    """A measured stochastic update table as CrossSim stores it.

    Attributes
    ----------
    source : the folder it was read from
    g_bins : (K,) conductance bins, siemens, increasing
    cdf : (Q,) CDF points, 0 ... 1, non-decreasing
    dg_up, dg_down : (Q, K) conductance change of one up / down pulse at each CDF point, siemens
    """

    source: str
    g_bins: np.ndarray
    cdf: np.ndarray
    dg_up: np.ndarray
    dg_down: np.ndarray

    @property
    def g_range(self) -> tuple[float, float]:
        """The conductance range the table covers (its lowest and highest bin), siemens."""
        return float(self.g_bins[0]), float(self.g_bins[-1])

    def quantiles(self, levels: np.ndarray, g: np.ndarray) -> np.ndarray:
        """Step quantiles (2, len(g), len(levels)), siemens: the inverse CDF of each direction at
        ``levels``, interpolated linearly between the bins around each conductance ``g``
        (held constant beyond the outer bins)."""
        out = np.empty((2, len(g), len(levels)))
        for d, dg in enumerate((self.dg_up, self.dg_down)):
            # inverse CDF per measured bin (CDF plateaus: np.interp takes the first point)
            inv = np.stack([np.interp(levels, self.cdf, dg[:, k]) for k in range(dg.shape[1])])
            for q in range(len(levels)):
                out[d, :, q] = np.interp(g, self.g_bins, inv[:, q])
        return out

    def mean_steps(self, g=None) -> tuple[np.ndarray, np.ndarray]:
        """Mean step of an up and of a down pulse (signed, siemens) per bin, or at ``g``."""
        levels = np.linspace(0.0, 1.0, N_QUANTILES + 1)
        g = self.g_bins if g is None else np.asarray(g, dtype=float)
        q = self.quantiles(levels, g)
        return _trapezoid_mean(q[0]), _trapezoid_mean(q[1])


def _trapezoid_mean(q: np.ndarray) -> np.ndarray:
    """Mean of a distribution whose quantile function is piecewise linear on equal CDF steps."""
    n = q.shape[-1] - 1
    return (q.sum(axis=-1) - 0.5 * (q[..., 0] + q[..., -1])) / n


def _read_file(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(g_bins, cdf, dg)`` of one CrossSim table file, checked; DataError naming the file."""
    where = str(path)
    if not path.is_file():
        raise DataError(f"{where}: missing (a CrossSim table folder holds {TABLE_FILES[0]} and "
                        f"{TABLE_FILES[1]})")
    try:
        numbered = [(i + 1, ln) for i, ln in enumerate(path.read_text().splitlines())
                    if ln.strip()]
    except UnicodeDecodeError:
        raise DataError(f"{where}: not a text file") from None

    def row(k):
        number, text = numbered[k]
        try:
            return np.array([float(v) for v in text.split(",") if v.strip()])
        except ValueError:
            raise DataError(f"{where}: line {number} has a non-numeric cell") from None

    if len(numbered) < 5:
        raise DataError(f"{where}: too short ({len(numbered)} non-empty lines): expected a "
                        f"description, the conductance bins, the CDF points and a dG row per "
                        f"CDF point")
    g, cdf = row(1), row(2)
    rows = [row(k) for k in range(3, len(numbered))]
    if any(len(r) != len(g) for r in rows):
        raise DataError(f"{where}: every dG row must have one value per conductance bin "
                        f"({len(g)})")
    dg = np.array(rows)
    if dg.shape[0] != len(cdf):
        raise DataError(f"{where}: {dg.shape[0]} dG rows but {len(cdf)} CDF points: expected one "
                        f"row per CDF point")
    if len(g) < 2 or not np.all(np.diff(g) > 0):
        raise DataError(f"{where}: the conductance bins (line 2) must be at least two increasing "
                        f"values")
    if not (np.all(np.isfinite(dg)) and np.all(np.isfinite(cdf))):
        raise DataError(f"{where}: NaN or infinite values")
    if np.any(np.diff(cdf) < 0) or abs(cdf[0]) > 1e-9 or abs(cdf[-1] - 1.0) > 1e-9:
        raise DataError(f"{where}: the CDF points (line 3) must rise from 0 to 1")
    if np.any(np.diff(dg, axis=0) < -1e-18):
        raise DataError(f"{where}: the dG values of a bin must not decrease with the CDF")
    return g, cdf, dg


@functools.lru_cache(maxsize=16)
def _load_cached(folder: str, mtimes: tuple) -> CrossSimTable:
    up = _read_file(Path(folder) / TABLE_FILES[0])
    down = _read_file(Path(folder) / TABLE_FILES[1])
    if not (np.array_equal(up[0], down[0]) and np.array_equal(up[1], down[1])):
        raise DataError(f"{folder}: {TABLE_FILES[0]} and {TABLE_FILES[1]} must share their "
                        f"conductance bins and CDF points")
    return CrossSimTable(source=folder, g_bins=up[0], cdf=up[1], dg_up=up[2], dg_down=down[2])


def load_crosssim_table(folder: str | os.PathLike) -> CrossSimTable:
    """Read a CrossSim table folder (or a shipped table by name), as it is.

    Raises
    ------
    ConfigError : no such folder or shipped table
    DataError : a file is missing or malformed (the message names the file and the problem)
    """
    path = resolve_table(folder)
    mtimes = tuple(os.stat(path / f).st_mtime_ns if (path / f).is_file() else 0
                   for f in TABLE_FILES)
    return _load_cached(str(path.resolve()), mtimes)


def lut_table(cfg: DeviceConfig, table: CrossSimTable | None = None) -> np.ndarray:
    """The kernel table of a ``lut`` device, (2, K, N_QUANTILES + 2) float64 in weight units:
    per direction and per bin (K bins equally spaced from ``g_min`` to ``g_max``, i.e. from
    ``w_min`` to ``w_max``) the step quantiles at ``N_QUANTILES + 1`` equal CDF levels, then the
    mean step."""
    table = table if table is not None else load_crosssim_table(cfg.lut_table)
    g_lo, g_hi = conductance_range(cfg, table)
    g = np.linspace(g_lo, g_hi, len(table.g_bins))
    levels = np.linspace(0.0, 1.0, N_QUANTILES + 1)
    q = table.quantiles(levels, g) * ((cfg.w_max - cfg.w_min) / (g_hi - g_lo))
    out = np.empty((2, len(g), N_QUANTILES + 2))
    out[:, :, :-1] = q
    out[:, :, -1] = _trapezoid_mean(q)
    return np.ascontiguousarray(out)


def conductance_range(cfg: DeviceConfig, table: CrossSimTable) -> tuple[float, float]:
    """``(g_min, g_max)`` of a lut device: the configured ones, or the table's range."""
    if cfg.g_min != 0.0 or cfg.g_max != 0.0:
        return float(cfg.g_min), float(cfg.g_max)
    return table.g_range


def table_dw_min(table: CrossSimTable, w_range: float = 2.0) -> float:
    """The table's mean step magnitude (up and down averaged over the bins) in weight units of a
    weight range ``w_range`` over the table's conductance range: the ``dw_min`` of a lut preset."""
    up, down = table.mean_steps()
    g_lo, g_hi = table.g_range
    return float(0.5 * (np.abs(up).mean() + np.abs(down).mean()) * w_range / (g_hi - g_lo))
