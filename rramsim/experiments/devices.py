"""Measurements on devices and arrays without a network: a pulse response and the symmetry-point
protocol against its closed form (``rramsim pulse-response``, ``symmetry-point`` and the sweep
jobs of the same names)."""

from __future__ import annotations

import time

import numpy as np

from rramsim.analog.devices import pulse_response, sample_devices
from rramsim.analog.tile import AnalogTile
from rramsim.config import TileConfig
from rramsim.rng import spawn


def measure_pulse_response(cfg: TileConfig, up: int, down: int, w0: float = 0.0,
                           n_devices: int = 1, seed=0) -> dict:
    """``up`` up pulses then ``down`` down pulses on ``n_devices`` devices drawn from
    ``cfg.device`` (device-to-device variation from the first child of ``seed``,
    cycle-to-cycle noise from the second).

    Returns ``trace`` (up + down + 1, n_devices): the weights after each pulse (row 0: ``w0``),
    and ``devices``, the drawn per-device parameters and symmetry points.
    """
    dev_seed, noise_seed = spawn(seed, 2)
    devices = sample_devices(cfg.device, (n_devices,), dev_seed)
    directions = np.r_[np.ones(up, dtype=np.int8), -np.ones(down, dtype=np.int8)]
    trace = pulse_response(devices, directions, w0=w0, seed=noise_seed)
    return {"trace": trace,
            "devices": {"a_up": devices.a_up, "a_down": devices.a_down, "w_min": devices.w_min,
                        "w_max": devices.w_max, "symmetry_point": devices.symmetry_point()}}


def measure_symmetry_points(cfg: TileConfig, rows: int, cols: int, seed=0) -> dict:
    """Symmetry points of a ``rows`` x ``cols`` tile by the pulse protocol of
    ``cfg.reference`` (``sp_pairs``, ``sp_ramp``, ``sp_average``) against the closed form.

    Returns ``measured`` and ``closed_form`` (rows, cols), their ``error`` statistics
    (``mean_abs``, ``max_abs``, ``mean``), ``seconds`` of the protocol and its
    ``pulses_per_second``.
    """
    tile = AnalogTile(rows, cols, cfg, seed=seed)
    closed = tile.find_symmetry_points("closed_form")
    t0 = time.perf_counter()
    measured = tile.find_symmetry_points("pulses")
    seconds = time.perf_counter() - t0
    err = measured - closed
    ref = cfg.reference
    n_pulses = rows * cols * (2 * ref.sp_ramp + 2 * ref.sp_pairs)
    return {"measured": measured, "closed_form": closed,
            "error": {"mean_abs": float(np.abs(err).mean()), "max_abs": float(np.abs(err).max()),
                      "mean": float(err.mean())},
            "seconds": seconds, "pulses_per_second": n_pulses / max(seconds, 1e-12)}
