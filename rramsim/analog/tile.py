"""An analog tile: a crossbar array of devices, its reference array, and its peripherals.

The tile is the only object that sees conductances (device weights); layers talk to it in
network weights ``W = alpha (w - r)`` (device minus reference, times the digital output scale
``alpha = mapping.weight_scale``, 1 by default), shape (n_out, n_in):

- :meth:`AnalogTile.forward`  ``Y = X W^T`` through the forward peripherals,
- :meth:`AnalogTile.backward` ``Z = D W`` through the backward peripherals,
- :meth:`AnalogTile.update`   ``W <- W - lr D^T X`` as consecutive rank-one updates, applied to
  the devices by pulses (or their expectation, or in floating point; ``update.mode``).
"""

from __future__ import annotations

import warnings

import numpy as np

from rramsim.analog.converters import analog_mvm, pass_converters
from rramsim.analog.devices import DeviceArray, sample_devices
from rramsim.config import TileConfig
from rramsim.errors import ConfigError, InputError, RramsimWarning
from rramsim.rng import as_seed_sequence, generator, stream_states
from rramsim.validation import is_number

#: The saturation check of :meth:`AnalogTile.update` runs on the first this many updates of a
#: tile, then on every SATURATION_CHECK_EVERY-th.
SATURATION_CHECK_FIRST = 100
SATURATION_CHECK_EVERY = 1000


def _as_batch(a, n: int, name: str) -> np.ndarray:
    """Validate a (n,) or (B, n) float array; return it as C-contiguous float64 (B, n)."""
    a = np.asarray(a, dtype=np.float64)
    given = a.shape
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != n:
        raise InputError(f"{name} must have shape (B, {n}) or ({n},), got {given}")
    # A NaN or inf entry makes the sum NaN or inf; only then is the elementwise check needed
    # (a finite sum can overflow). One reduction instead of a temporary array per call.
    if not np.isfinite(a.sum()) and not np.all(np.isfinite(a)):
        raise InputError(f"{name} contains NaN or infinite values")
    return np.ascontiguousarray(a)


class AnalogTile:
    """A crossbar of ``n_out x n_in`` devices with a reference array and peripherals.

    Parameters
    ----------
    n_out, n_in : int
        Array size (rows = outputs, columns = inputs).
    config : TileConfig
        Device, update, forward, backward and reference settings.
    seed : int or SeedSequence
        Seeds the device-to-device draw and every random stream of the tile.

    Attributes
    ----------
    devices : DeviceArray, per-device parameters (n_out, n_in)
    w : ndarray (n_out, n_in), device weights (normalised conductances)
    ref : ndarray (n_out, n_in), reference device weights
    weight_scale : float, digital output scale alpha (network weight = alpha (w - r))
    forward_converters, backward_converters : ``(dac, adc)`` of each pass, symmetric
        converters (``2**bits - 1`` levels, zero among them) built from ``config.forward`` and
        ``config.backward``
    pulse_count : int, device pulses applied by :meth:`update` so far
    """

    def __init__(self, n_out: int, n_in: int, config: TileConfig | None = None, seed=None):
        for name, n in (("n_out", n_out), ("n_in", n_in)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
                raise InputError(f"tile size must be positive integers, got {name}={n!r}")
        if config is not None and not isinstance(config, TileConfig):
            hint = (f"; for a preset use load_preset({config!r})" if isinstance(config, str)
                    else "")
            raise InputError(f"config must be a TileConfig, got {type(config).__name__}{hint}")
        self.config = config if config is not None else TileConfig()
        self.shape = (int(n_out), int(n_in))
        self.weight_scale = float(self.config.mapping.weight_scale)
        #: ``(dac, adc)`` of each pass, :class:`~rramsim.analog.converters.SymmetricConverter`.
        self.forward_converters = pass_converters(self.config.forward)
        self.backward_converters = pass_converters(self.config.backward)
        ss = as_seed_sequence(seed)
        dev_seed, fwd_seed, bwd_seed, x_seed, row_seed, ref_seed, sp_seed = ss.spawn(7)
        self.devices: DeviceArray = sample_devices(self.config.device, self.shape, dev_seed)
        self._fwd_state = stream_states(fwd_seed, 1)
        self._bwd_state = stream_states(bwd_seed, 1)
        self._x_state = stream_states(x_seed, 1)
        self._row_states = stream_states(row_seed, self.shape[0])
        self._ref_rng = generator(ref_seed)
        self._sp_seed = sp_seed
        ref_cfg, dev_cfg = self.config.reference, self.config.device
        mid = 0.5 * (dev_cfg.w_min + dev_cfg.w_max) if ref_cfg.enabled else 0.0
        self.ref = np.full(self.shape, mid)
        self.w = np.clip(self.ref.copy(), self.devices.w_min, self.devices.w_max)
        self._w_eff = self.w - self.ref
        self.pulse_count = 0
        #: number of calls of :meth:`update` (the saturation check samples them)
        self.update_count = 0
        self._saturation_warned = False
        self.bm_repeats = 0
        self.symmetry_points: np.ndarray | None = None

    # ------------------------------------------------------------------ weights
    def get_weights(self) -> np.ndarray:
        """The network weights ``alpha (w - r)`` (a new array), shape (n_out, n_in)."""
        return self.weight_scale * self._w_eff

    def set_weights(self, weights) -> float:
        """Program the devices so that ``alpha (w - r)`` equals ``weights`` (an ideal write).

        Values a device cannot hold are clipped to its bounds. Returns the fraction clipped.
        """
        W = np.asarray(weights, dtype=np.float64)
        if W.shape != self.shape:
            raise InputError(f"weights must have shape {self.shape}, got {W.shape}")
        if not np.all(np.isfinite(W)):
            raise InputError("weights contain NaN or infinite values")
        target = W / self.weight_scale + self.ref
        self.w = np.clip(target, self.devices.w_min, self.devices.w_max)
        self._w_eff = self.w - self.ref
        return float(np.mean(self.w != target))

    # ------------------------------------------------------------------ passes
    def forward(self, x) -> np.ndarray:
        """``Y = X W^T`` through the forward peripherals; x (B, n_in) or (n_in,) -> (B, n_out)."""
        X = _as_batch(x, self.shape[1], "x")
        Y, rep = analog_mvm(self._w_eff, X, self.config.forward, self._fwd_state,
                            self.forward_converters)
        self.bm_repeats += rep
        if self.weight_scale != 1.0:
            Y *= self.weight_scale
        return Y

    def backward(self, d) -> np.ndarray:
        """``Z = D W`` through the backward peripherals; d (B, n_out) or (n_out,) -> (B, n_in)."""
        D = _as_batch(d, self.shape[0], "d")
        Z, rep = analog_mvm(self._w_eff.T, D, self.config.backward, self._bwd_state,
                            self.backward_converters)
        self.bm_repeats += rep
        if self.weight_scale != 1.0:
            Z *= self.weight_scale
        return Z

    def update(self, x, d, lr: float) -> None:
        """Apply ``W <- W - lr d_b x_b^T`` for each sample b in order (consecutive rank-one).

        x (B, n_in), d (B, n_out): the layer input and the error at the layer output.
        In device units this is ``w <- w - (lr / alpha) d_b x_b^T``.
        """
        X = _as_batch(x, self.shape[1], "x")
        D = _as_batch(d, self.shape[0], "d")
        if X.shape[0] != D.shape[0]:
            raise InputError(f"x and d must have the same batch size, got {X.shape[0]} and "
                             f"{D.shape[0]}")
        if not is_number(lr) or not np.isfinite(lr) or lr < 0:
            raise InputError(f"learning rate must be finite and >= 0 (a number), got {lr!r}")
        up = self.config.update
        dw_min = self.config.device.dw_min
        lr = lr / self.weight_scale
        self.update_count += 1
        if (up.mode != "ideal" and not self._saturation_warned
                and (self.update_count <= SATURATION_CHECK_FIRST
                     or self.update_count % SATURATION_CHECK_EVERY == 0)):
            self._warn_if_saturated(X, D, lr)
        if up.mode == "ideal":
            # in place: the compiled training step holds these arrays
            np.subtract(self.w, lr * (D.T @ X), out=self.w)
            np.clip(self.w, self.devices.w_min, self.devices.w_max, out=self.w)
            np.subtract(self.w, self.ref, out=self._w_eff)
            return
        from rramsim.kernels import update as k

        args = (self.w, self._w_eff, self.ref, self.devices.kernel_args())
        if up.mode == "pulsed":
            self.pulse_count += k.pulsed_update(
                *args, self.devices.ctoc, X, D, float(lr), dw_min, up.bl, up.update_management,
                up.pulse_length_management, self._x_state, self._row_states)
        else:
            k.expected_update(*args, X, D, float(lr), dw_min, up.bl, up.update_management,
                              up.pulse_length_management)

    def _warn_if_saturated(self, X, D, lr: float) -> None:
        """Warn (once per tile) when some pulse probability of this update exceeds 1 and is
        clipped: the update is then smaller than ``lr d x^T``, as in hardware. The largest
        probability follows the scales of the update kernel: with update management
        ``sqrt(lr |x|max |d|max / (dw_min BL))`` on both sides, without it
        ``sqrt(lr / (dw_min BL))`` times the larger of ``|x|max`` and ``|d|max``. Checked on
        the first :data:`SATURATION_CHECK_FIRST` updates and then every
        :data:`SATURATION_CHECK_EVERY`-th, so that the batch-1 loop does not pay for it."""
        up = self.config.update
        dw_min = self.config.device.dw_min
        x_max = np.abs(X).max(axis=1)
        d_max = np.abs(D).max(axis=1)
        k = lr * x_max * d_max / dw_min
        n = (np.clip(np.ceil(k), 1, up.bl) if up.pulse_length_management
             else np.full_like(k, up.bl))
        if up.update_management:
            p = np.sqrt(k / n)
        else:
            p = np.sqrt(lr / (dw_min * n)) * np.maximum(x_max, d_max)
        worst = float(p.max()) if p.size else 0.0
        if worst > 1.0:
            self._saturation_warned = True
            warnings.warn(
                f"pulse probabilities saturate on a {self.shape[0]} x {self.shape[1]} tile (up "
                f"to {worst:.3g} at lr={lr * self.weight_scale:g}): the update is clipped and "
                f"smaller than lr d x^T, as in hardware; lower the learning rate or raise "
                f"update.bl", RramsimWarning, stacklevel=3)

    # ------------------------------------------------------------------ transfer helpers
    def read_columns(self, cols, state: np.ndarray) -> np.ndarray:
        """Device weights ``w - r`` of the columns ``cols``, read with one-hot inputs through
        the forward peripherals without noise or bound management (the reads of the transfer
        algorithms, :mod:`rramsim.analog.transfer`): the DAC of the value 1, output noise from
        ``state`` ((1,) uint64, advanced), the ADC. Device units (no ``weight_scale``); returns
        (len(cols), n_out)."""
        cols = np.ascontiguousarray(cols, dtype=np.int64)
        io = self.config.forward
        if io.is_perfect:
            return np.ascontiguousarray(self._w_eff[:, cols].T)
        from rramsim.kernels.transfer import read_columns

        dac, adc = self.forward_converters
        u = self.__dict__.get("_one_hot_dac")
        if u is None:  # the DAC output of the value 1, computed once (a numpy call per read)
            u = self._one_hot_dac = float(dac.convert(1.0))
        return read_columns(self._w_eff, cols, u, io.out_noise, adc.bound, adc.bits, state)

    def apply_pulses(self, rows, cols, counts) -> int:
        """Whole pulses: ``|counts[k]|`` onto device ``(rows[k], cols[k])``, up for a positive
        count, in list order (the writes of the buffered transfer algorithms and of mixed
        precision). ``update.mode`` decides how: ``"pulsed"`` with cycle-to-cycle noise (from
        the row's stream), ``"expected"`` without, ``"ideal"`` as ``counts * dw_min`` in
        floating point, clipped to the bounds. Returns the number of pulses."""
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        cols = np.ascontiguousarray(cols, dtype=np.int64)
        counts = np.ascontiguousarray(counts, dtype=np.int64)
        if rows.size == 0:
            return 0
        mode = self.config.update.mode
        if mode == "ideal":
            dw = np.zeros(self.shape)
            np.add.at(dw, (rows, cols), counts * self.config.device.dw_min)
            # in place: the compiled training step holds these arrays
            np.add(self.w, dw, out=self.w)
            np.clip(self.w, self.devices.w_min, self.devices.w_max, out=self.w)
            np.subtract(self.w, self.ref, out=self._w_eff)
            n = int(np.abs(counts).sum())
        else:
            from rramsim.kernels.transfer import apply_counts

            ctoc = self.devices.ctoc if mode == "pulsed" else 0.0
            n = apply_counts(self.w, self._w_eff, self.ref, self.devices.kernel_args(), ctoc,
                             rows, cols, counts, self._row_states)
        self.pulse_count += n
        return n

    # ------------------------------------------------------------------ reference
    def find_symmetry_points(self, method: str | None = None) -> np.ndarray:
        """Symmetry point of every device, shape (n_out, n_in).

        ``method="pulses"`` runs the search protocol on the devices themselves (they end near
        their symmetry points, as in hardware); ``"closed_form"`` evaluates the formula and
        leaves the devices untouched. Default: ``reference.sp_method``.
        """
        ref = self.config.reference
        method = method or ref.sp_method
        if method == "closed_form":
            sp = self.devices.symmetry_point()
        elif method == "pulses":
            from rramsim.kernels.device import symmetry_search

            n_avg = max(1, int(round(ref.sp_average * ref.sp_pairs)))
            sp = symmetry_search(self.w, self.devices.kernel_args(), self.devices.ctoc,
                                 ref.sp_ramp, ref.sp_pairs, n_avg,
                                 stream_states(self._sp_seed, self.shape[0]))
            self._w_eff = self.w - self.ref
        else:
            raise InputError(f"unknown symmetry-point method {method!r}; use 'pulses' or "
                             f"'closed_form'")
        self.symmetry_points = sp
        return sp

    def zero_shift(self, method: str | None = None) -> np.ndarray:
        """Zero-shifting (Kim et al. 2019): program each reference device to its partner's
        symmetry point plus ``N(0, reference_std)``, so that weight 0 sits at the symmetry point.

        The current weights ``w - r`` are kept (re-programmed against the new reference).
        Returns the symmetry points used.
        """
        if not self.config.reference.enabled:
            raise ConfigError("zero_shift programs the reference devices: it needs "
                              "reference.enabled = true")
        weights = self.get_weights()
        sp = self.find_symmetry_points(method)
        std = self.config.reference.reference_std
        self.ref = sp + (std * self._ref_rng.standard_normal(self.shape) if std > 0 else 0.0)
        self.set_weights(weights)
        return sp

    # ------------------------------------------------------------------ state
    #: Per-device parameters, in :meth:`DeviceArray.kernel_args` order.
    DEVICE_KEYS = ("a_up", "a_down", "b_up", "b_down", "w_min", "w_max")
    #: Random-stream states: forward noise, backward noise, input pulse trains, row pulse trains.
    STREAM_KEYS = ("_fwd_state", "_bwd_state", "_x_state", "_row_states")

    def state_dict(self) -> dict[str, np.ndarray]:
        """The tile's state as arrays (copies), for saving and restoring a trained tile.

        Keys: ``w`` and ``ref`` (device and reference weights, (n_out, n_in)), the per-device
        parameters ``a_up``, ``a_down``, ``b_up``, ``b_down``, ``w_min``, ``w_max`` (drawn once
        from the seed: device-to-device variation) and the random-stream states ``_fwd_state``,
        ``_bwd_state`` (output noise of the two passes), ``_x_state`` and ``_row_states`` (pulse
        trains of the update), so that a restored tile continues the same random numbers. The
        key names are those of the model files written so far. Not saved: the configuration
        (it rebuilds the tile), ``pulse_count``, ``bm_repeats`` and ``symmetry_points``
        (counters and a diagnostic of the last search; the reference devices hold its result).
        """
        state = {"w": self.w.copy(), "ref": self.ref.copy()}
        for key, arr in zip(self.DEVICE_KEYS, self.devices.kernel_args()):
            state[key] = arr.copy()
        for key in self.STREAM_KEYS:
            state[key] = getattr(self, key).copy()
        return state

    def load_state_dict(self, state) -> None:
        """Restore a state written by :meth:`state_dict` (every key must be present, with the
        shape of this tile's array).

        Raises
        ------
        KeyError : a key is missing
        InputError : an array has the wrong shape
        """
        def get(key, shape, dtype):
            if key not in state:
                raise KeyError(f"tile state has no entry {key!r}")
            arr = np.asarray(state[key], dtype=dtype)
            if arr.shape != shape:
                raise InputError(f"tile state {key!r}: shape {arr.shape} != {shape}")
            return arr

        w, ref = (get(key, self.shape, np.float64) for key in ("w", "ref"))
        params = [get(key, arr.shape, np.float64)
                  for key, arr in zip(self.DEVICE_KEYS, self.devices.kernel_args())]
        streams = [get(key, getattr(self, key).shape, np.uint64) for key in self.STREAM_KEYS]
        # Everything is checked before anything changes: a bad state leaves the tile as it was.
        self.w, self.ref = w.copy(), ref.copy()
        for arr, value in zip(self.devices.kernel_args(), params):
            arr[...] = value
        for key, value in zip(self.STREAM_KEYS, streams):
            getattr(self, key)[...] = value
        self._w_eff = self.w - self.ref
