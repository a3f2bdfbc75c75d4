"""Device models: per-device parameters (device-to-device variation), pulse responses, and the
closed-form symmetry point.

A device model turns a :class:`~rramsim.config.DeviceConfig` into the per-device arrays of the
linear-step family that the kernels apply pulse by pulse (see :mod:`rramsim.kernels.device`)::

    up:    w <- w + (a_up   - b_up   * w) * (1 + dw_min_ctoc * xi)
    down:  w <- w - (a_down - b_down * w) * (1 + dw_min_ctoc * xi),   clipped to [w_min, w_max]

Models are registered by name in :data:`DEVICE_MODELS`; ``soft_bounds`` and ``constant_step``
differ only in the bound slopes ``b``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rramsim.config import DeviceConfig
from rramsim.errors import InputError
from rramsim.rng import generator, stream_states


@dataclass
class DeviceArray:
    """Per-device parameters of an array, drawn once (shapes (n_out, n_in), weight units).

    Attributes
    ----------
    a_up, a_down : step sizes of an up / down pulse at w = 0 (> 0)
    b_up, b_down : bound slopes; the step is ``a_up - b_up * w`` up, ``a_down - b_down * w`` down
    w_min, w_max : per-device bounds (w_min < 0 < w_max)
    ctoc : cycle-to-cycle relative std of every pulse
    """

    a_up: np.ndarray
    a_down: np.ndarray
    b_up: np.ndarray
    b_down: np.ndarray
    w_min: np.ndarray
    w_max: np.ndarray
    ctoc: float

    @property
    def shape(self) -> tuple[int, ...]:
        return self.a_up.shape

    def kernel_args(self) -> tuple[np.ndarray, ...]:
        """``(a_up, a_down, b_up, b_down, w_min, w_max)`` in kernel argument order."""
        return (self.a_up, self.a_down, self.b_up, self.b_down, self.w_min, self.w_max)

    def symmetry_point(self) -> np.ndarray:
        """Closed-form symmetry point, where an up and a down pulse cancel on average.

        ``w_sp = (a_up - a_down) / (b_up - b_down)``, which for soft bounds is
        ``(a_up - a_down) / (a_up / w_max - a_down / w_min)``. Devices without a finite one
        (constant step) drift to the bound of their larger step; equal steps give 0.
        The result is clipped to the device bounds.
        """
        num = self.a_up - self.a_down
        den = self.b_up - self.b_down
        with np.errstate(divide="ignore", invalid="ignore"):
            sp = np.where(den > 0, num / np.where(den > 0, den, 1.0),
                          np.where(num > 0, self.w_max, np.where(num < 0, self.w_min, 0.0)))
        return np.clip(sp, self.w_min, self.w_max)

    def subset(self, index) -> DeviceArray:
        """Parameters of the devices selected by a numpy ``index`` (flattened to 1-d)."""
        pick = lambda a: np.ascontiguousarray(np.asarray(a)[index]).reshape(-1)  # noqa: E731
        return DeviceArray(*(pick(a) for a in self.kernel_args()), ctoc=self.ctoc)


#: Registered device models: name -> soft-bound strength gamma (1: soft, 0: constant step),
#: the bound slopes ``b_up = gamma a_up / w_max``, ``b_down = gamma a_down / w_min``. The names
#: are the choices of :attr:`DeviceConfig.model <rramsim.config.DeviceConfig.model>`.
DEVICE_MODELS = {"soft_bounds": 1.0, "constant_step": 0.0}


def sample_devices(cfg: DeviceConfig, shape: tuple[int, int], seed=None) -> DeviceArray:
    """Draw the per-device parameters of an array of ``shape`` (device-to-device variation).

    Follows aihwkit's convention (see :class:`~rramsim.config.DeviceConfig`): the four normal
    draws per device are made in the order step size, up/down, w_max, w_min from a generator
    seeded by ``seed``.
    """
    rng = generator(seed)
    g = 1.0 + cfg.dw_min_dtod * rng.standard_normal(shape)
    r = cfg.up_down_dtod * rng.standard_normal(shape)
    xi_max = rng.standard_normal(shape)
    xi_min = rng.standard_normal(shape)
    # Mirror negative steps (aihwkit's enforce_consistency): a pulse never moves the wrong way.
    a_up = np.abs(cfg.dw_min * (g + min(cfg.up_down, 0.0) + r))
    a_down = np.abs(cfg.dw_min * (g - max(cfg.up_down, 0.0) - r))
    # Keep each bound on its side of zero by at least one mean step.
    w_max = np.maximum(cfg.w_max * (1.0 + cfg.w_max_dtod * xi_max), cfg.dw_min)
    w_min = np.minimum(cfg.w_min * (1.0 + cfg.w_min_dtod * xi_min), -cfg.dw_min)
    gamma = DEVICE_MODELS[cfg.model]
    return DeviceArray(a_up=a_up, a_down=a_down, b_up=gamma * a_up / w_max,
                       b_down=gamma * a_down / w_min, w_min=w_min, w_max=w_max,
                       ctoc=float(cfg.dw_min_ctoc))


def nominal_device(cfg: DeviceConfig) -> DeviceArray:
    """The one device with the nominal parameters (no device-to-device variation), shape (1,)."""
    return sample_devices(cfg.__class__(**{**cfg.__dict__, "dw_min_dtod": 0.0, "up_down_dtod": 0.0,
                                           "w_min_dtod": 0.0, "w_max_dtod": 0.0}), (1,), seed=0)


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
