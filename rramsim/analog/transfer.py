"""Tiles that train with an algorithm other than plain SGD (``[algorithm]``, see
:class:`~rramsim.config.AlgorithmConfig` and ``docs/algorithms.md``).

- :class:`TransferTile`: a fast array A that takes the pulsed gradient updates and a slow array C
  that the network reads (``W = gamma A + C``); columns of A are read in turn and moved onto C,
  directly (``ttv1``, Tiki-Taka) or through a digital buffer H of whole pulses (``ttv2``), with
  choppers (``c-ttv2``) and a dynamic reference (``agad``);
- :class:`MixedPrecisionTile`: one array and a digital accumulator of the gradient, written to
  the devices in whole pulses (``mixed-precision``);
- :func:`make_tile`: the tile that ``algorithm.kind`` asks for (an
  :class:`~rramsim.analog.tile.AnalogTile` for ``sgd``).

Both keep the interface of :class:`~rramsim.analog.tile.AnalogTile` (``forward``, ``backward``,
``update``, ``get_weights``, ``set_weights``, ``zero_shift``, ``state_dict``), so a layer does not
know which algorithm trains it. Every buffer, chopper, counter and random stream is in
``state_dict``: a restored tile continues with the same numbers.
"""

from __future__ import annotations

import numpy as np

from rramsim.analog.converters import analog_mvm
from rramsim.analog.tile import AnalogTile, _as_batch
from rramsim.config import TileConfig
from rramsim.config.algorithm import BUFFERED, CHOPPED, check_tile_algorithm
from rramsim.errors import InputError
from rramsim.rng import as_seed_sequence, stream_states


def make_tile(n_out: int, n_in: int, config: TileConfig | None = None, seed=None):
    """The tile of ``config.algorithm.kind``: :class:`AnalogTile` (``sgd``, built exactly as
    before the algorithm section existed), :class:`MixedPrecisionTile` or
    :class:`TransferTile`."""
    config = config if config is not None else TileConfig()
    kind = config.algorithm.kind
    if kind == "sgd":
        return AnalogTile(n_out, n_in, config, seed=seed)
    if kind == "mixed-precision":
        return MixedPrecisionTile(n_out, n_in, config, seed=seed)
    return TransferTile(n_out, n_in, config, seed=seed)


def _check_update_args(tile, x, d, lr):
    X = _as_batch(x, tile.shape[1], "x")
    D = _as_batch(d, tile.shape[0], "d")
    if X.shape[0] != D.shape[0]:
        raise InputError(f"x and d must have the same batch size, got {X.shape[0]} and "
                         f"{D.shape[0]}")
    if not np.isfinite(lr) or lr < 0:
        raise InputError(f"learning rate must be finite and >= 0, got {lr}")
    return X, D


def _chopper_period(prob: float) -> int:
    """Reads of a column per chopper phase when the choppers switch regularly (aihwkit's
    ``max(ceil(1 / in_chop_prob), 2)``); 1 when they never switch."""
    return max(int(np.ceil(1.0 / prob)), 2) if prob > 0 else 1


def _own_state(tile, state, what: str) -> dict[str, np.ndarray]:
    """The entries ``tile.STATE_KEYS`` of ``state`` as arrays of the tile's dtypes, checked
    against the tile's shapes before anything is loaded (KeyError / InputError naming them)."""
    own = {}
    for key in tile.STATE_KEYS:
        if key not in state:
            raise KeyError(f"{what} state has no entry {key!r}")
        cur = getattr(tile, key)
        arr = np.asarray(state[key], dtype=cur.dtype)
        if arr.shape != cur.shape:
            raise InputError(f"{what} state {key!r}: shape {arr.shape} != {cur.shape}")
        own[key] = arr
    return own


class TransferTile:
    """Two arrays of ``n_out x n_in`` devices: fast A (gradient updates) and slow C (the
    network's weights), with the transfer of ``config.algorithm.kind`` (``ttv1``, ``ttv2``,
    ``c-ttv2``, ``agad``) between them.

    Parameters
    ----------
    n_out, n_in : int, array size
    config : TileConfig; ``[device]``, ``[update]``, ``[forward]``, ``[backward]``,
        ``[reference]`` and ``[mapping]`` apply to both arrays (each zero-shifted to its own
        symmetry points when ``reference.zero_shift``); ``[algorithm]`` to the transfer
    seed : seeds both arrays (independent device-to-device draws) and the algorithm's streams

    Attributes
    ----------
    fast, slow : AnalogTile, the arrays A and C
    buffer : ndarray (n_out, n_in), the digital buffer H in pulses (buffered kinds; zeros for
        ``ttv1``)
    in_chop (n_in,), out_chop (n_out,) : int8 choppers (+1 / -1)
    updates : rank-one updates so far; ``next_col``: the next column to read; ``passes``: full
        passes over the columns
    """

    def __init__(self, n_out: int, n_in: int, config: TileConfig | None = None, seed=None):
        config = config if config is not None else TileConfig()
        check_tile_algorithm(config)
        self.config = config
        self.algorithm = config.algorithm
        self.kind = self.algorithm.kind
        if self.kind not in ("ttv1",) + BUFFERED:
            raise InputError(f"TransferTile runs ttv1, {', '.join(BUFFERED)}; got {self.kind!r}")
        fast_seed, slow_seed, read_seed, chop_seed, fwd_seed, bwd_seed = \
            as_seed_sequence(seed).spawn(6)
        self.fast = AnalogTile(n_out, n_in, config, seed=fast_seed)
        self.slow = AnalogTile(n_out, n_in, config, seed=slow_seed)
        self.shape = self.slow.shape
        self.weight_scale = self.slow.weight_scale
        self._read_state = stream_states(read_seed, 1)
        self._chop_state = stream_states(chop_seed, 1)
        self._fwd_state = stream_states(fwd_seed, 1)
        self._bwd_state = stream_states(bwd_seed, 1)
        self.buffer = np.zeros(self.shape)
        self.mean = np.zeros(self.shape)
        self.mean_ref = np.zeros(self.shape)
        self.phase = np.zeros(self.shape[1], dtype=np.int8)
        self.in_chop = np.ones(self.shape[1], dtype=np.int8)
        self.out_chop = np.ones(self.shape[0], dtype=np.int8)
        # updates, next column, full passes: one array so that the kernel advances passes
        self._counters = np.zeros(3, dtype=np.int64)
        self.symmetry_points: np.ndarray | None = None
        self.bm_repeats_own = 0
        a = self.algorithm
        self._period = _chopper_period(a.in_chop_prob)
        self._beta = min(a.tail_weightening / self._period, 1.0)

    # ------------------------------------------------------------------ counters and views
    @property
    def updates(self) -> int:
        return int(self._counters[0])

    @property
    def next_col(self) -> int:
        return int(self._counters[1])

    @property
    def passes(self) -> int:
        return int(self._counters[2])

    @property
    def pulse_count(self) -> int:
        """Device pulses applied to both arrays (gradient updates and transfers)."""
        return self.fast.pulse_count + self.slow.pulse_count

    @property
    def bm_repeats(self) -> int:
        return self.fast.bm_repeats + self.slow.bm_repeats + self.bm_repeats_own

    @property
    def devices(self):
        """The slow array's per-device parameters (the array the network reads)."""
        return self.slow.devices

    @property
    def w(self) -> np.ndarray:
        return self.slow.w

    @property
    def ref(self) -> np.ndarray:
        return self.slow.ref

    # ------------------------------------------------------------------ weights
    def get_weights(self) -> np.ndarray:
        """The network weights ``alpha (gamma (w_A - r_A) + (w_C - r_C))``, (n_out, n_in)."""
        W = self.slow.get_weights()
        if self.algorithm.gamma:
            W += self.algorithm.gamma * self.fast.get_weights()
        return W

    def set_weights(self, weights) -> float:
        """Program C to ``weights`` and A to zero (its reference); returns the fraction of C's
        devices clipped."""
        self.fast.set_weights(np.zeros(self.shape))
        return self.slow.set_weights(weights)

    # ------------------------------------------------------------------ passes
    def _combined(self) -> np.ndarray:
        """``gamma (w_A - r_A) + (w_C - r_C)`` in device units."""
        return self.get_weights() / self.weight_scale

    def forward(self, x) -> np.ndarray:
        """``Y = X W^T`` through the forward peripherals (C alone when gamma = 0)."""
        if not self.algorithm.gamma:
            return self.slow.forward(x)
        X = _as_batch(x, self.shape[1], "x")
        Y, rep = analog_mvm(self._combined(), X, self.config.forward, self._fwd_state,
                            self.slow.forward_converters)
        self.bm_repeats_own += rep
        return Y * self.weight_scale

    def backward(self, d) -> np.ndarray:
        """``Z = D W`` through the backward peripherals (C alone when gamma = 0)."""
        if not self.algorithm.gamma:
            return self.slow.backward(d)
        D = _as_batch(d, self.shape[0], "d")
        Z, rep = analog_mvm(np.ascontiguousarray(self._combined().T), D, self.config.backward,
                            self._bwd_state, self.slow.backward_converters)
        self.bm_repeats_own += rep
        return Z * self.weight_scale

    def update(self, x, d, lr: float) -> None:
        """The pulsed update ``-fast_lr lr d_b x_b^T`` onto A for each sample in order (signs
        flipped by the choppers), with a transfer after every ``transfer_every``-th."""
        X, D = _check_update_args(self, x, d, lr)
        a = self.algorithm
        fast_lr = a.fast_lr * lr
        chopped = self.kind in CHOPPED
        B = X.shape[0]
        start = 0
        while start < B:
            stop = min(B, start + a.transfer_every - int(self._counters[0]) % a.transfer_every)
            Xc, Dc = X[start:stop], D[start:stop]
            if chopped:
                Xc = Xc * self.in_chop
                Dc = Dc * self.out_chop
            self.fast.update(Xc, Dc, fast_lr)
            self._counters[0] += stop - start
            if self._counters[0] % a.transfer_every == 0:
                self._transfer(lr)
            start = stop

    def _transfer(self, lr: float) -> None:
        a = self.algorithm
        n_in = self.shape[1]
        k = min(a.n_reads_per_transfer, n_in)
        first = int(self._counters[1])
        cols = np.array([first], dtype=np.int64) if k == 1 else \
            (first + np.arange(k, dtype=np.int64)) % n_in
        self._counters[1] = (first + k) % n_in
        R = self.fast.read_columns(cols, self._read_state)
        if self.kind == "ttv1":
            E = np.zeros((k, n_in))
            E[np.arange(k), cols] = 1.0
            self._counters[2] += int(np.count_nonzero(cols == n_in - 1))
            # C += transfer_lr lr a_j: the update -lr' d x^T with d = -a_j, x = e_j
            self.slow.update(E, -R, a.transfer_lr * lr * self.weight_scale)
            return
        from rramsim.kernels.transfer import buffered_transfer

        lr_scale = a.transfer_lr * lr / (a.thres_scale * self.config.device.dw_min)
        cap = a.buffer_cap * a.transfer_bl if not a.forget_buffer else 0.0
        chopped = self.kind in CHOPPED
        steps = buffered_transfer(R, cols, self.buffer, self.mean, self.mean_ref, self.phase,
                                  self.in_chop, self.out_chop, self._counters[2:],
                                  self.kind == "agad", lr_scale, a.momentum, a.forget_buffer,
                                  a.transfer_bl, cap, self._beta, self._period,
                                  a.in_chop_prob if chopped else 0.0, a.in_chop_random,
                                  a.out_chop_prob if chopped else 0.0, self._chop_state)
        c, i = np.nonzero(steps)
        if c.size:
            self.slow.apply_pulses(i, cols[c], steps[c, i])

    # ------------------------------------------------------------------ reference
    def zero_shift(self, method: str | None = None, fast: bool = True) -> np.ndarray | None:
        """Zero-shifting: each array's references to its own devices' symmetry points plus
        ``N(0, reference_std)``, the weights kept; returns A's symmetry points (None when A is
        left alone, ``fast=False``: ``algorithm.zero_shift_slow``).

        A needs it (ttv1, ttv2) because it reads its offset at rest on every transfer; C
        because whatever pulses it receives pull its weights towards its symmetry points.
        """
        sp = self.fast.zero_shift(method) if fast else None
        self.slow.zero_shift(method)
        self.symmetry_points = sp
        return sp

    def find_symmetry_points(self, method: str | None = None) -> np.ndarray:
        """Symmetry points of the fast array A (see :meth:`AnalogTile.find_symmetry_points`)."""
        return self.fast.find_symmetry_points(method)

    def offset_fast_reference(self, offset) -> None:
        """Move A's reference devices by ``offset`` (a number or (n_out, n_in)) without moving
        its devices: a reference programmed off its symmetry point, as in the offset study."""
        state = self.fast.state_dict()
        state["ref"] = state["ref"] + offset
        self.fast.load_state_dict(state)

    # ------------------------------------------------------------------ state
    #: The algorithm's own state arrays (besides the two arrays' ``fast.*`` and ``slow.*``).
    STATE_KEYS = ("buffer", "mean", "mean_ref", "phase", "in_chop", "out_chop", "_counters",
                  "_read_state", "_chop_state", "_fwd_state", "_bwd_state")

    def state_dict(self) -> dict[str, np.ndarray]:
        """Both arrays' states (``fast.<key>``, ``slow.<key>``, see
        :meth:`AnalogTile.state_dict`) and the algorithm's: the buffer H, AGAD's running mean
        and reference (``mean``, ``mean_ref``) and chopper phases (``phase``), the choppers,
        the counters (updates, next column, passes) and the random streams of the reads, the
        chopper flips and the combined passes (gamma > 0). Copies."""
        state = {f"fast.{k}": v for k, v in self.fast.state_dict().items()}
        state.update({f"slow.{k}": v for k, v in self.slow.state_dict().items()})
        for key in self.STATE_KEYS:
            state[key] = getattr(self, key).copy()
        return state

    def load_state_dict(self, state) -> None:
        """Restore a state written by :meth:`state_dict` (every key, with this tile's shapes)."""
        own = _own_state(self, state, "transfer tile")
        fast = {k[5:]: v for k, v in state.items() if k.startswith("fast.")}
        slow = {k[5:]: v for k, v in state.items() if k.startswith("slow.")}
        # both arrays check before either changes (a failing slow state leaves fast restored
        # otherwise): load into copies first
        backup = self.fast.state_dict()
        self.fast.load_state_dict(fast)
        try:
            self.slow.load_state_dict(slow)
        except (KeyError, InputError):
            self.fast.load_state_dict(backup)
            raise
        for key, arr in own.items():
            getattr(self, key)[...] = arr


class MixedPrecisionTile:
    """One array of ``n_out x n_in`` devices trained by mixed precision (Nandakumar et al.
    2020): the gradient ``-lr d x^T`` accumulates in a floating-point matrix chi; every
    ``transfer_every`` rank-one updates each entry with ``|chi| >= eps`` sends
    ``n = trunc(chi / eps)`` whole pulses to its device and keeps the rest,
    ``chi <- chi - n eps`` (``eps = algorithm.granularity``, or ``device.dw_min`` when 0).

    Forward, backward, the reference and zero-shifting are those of the one array
    (``device``, an :class:`AnalogTile`).
    """

    def __init__(self, n_out: int, n_in: int, config: TileConfig | None = None, seed=None):
        config = config if config is not None else TileConfig()
        check_tile_algorithm(config)
        self.config = config
        self.algorithm = config.algorithm
        self.kind = self.algorithm.kind
        self.device = AnalogTile(n_out, n_in, config, seed=seed)
        self.shape = self.device.shape
        self.weight_scale = self.device.weight_scale
        self.eps = self.algorithm.granularity or config.device.dw_min
        self.chi = np.zeros(self.shape)
        self._counters = np.zeros(1, dtype=np.int64)
        n = self.shape[0] * self.shape[1]
        self._rows = np.empty(n, dtype=np.int64)
        self._cols = np.empty(n, dtype=np.int64)
        self._counts = np.empty(n, dtype=np.int64)

    @property
    def updates(self) -> int:
        return int(self._counters[0])

    @property
    def pulse_count(self) -> int:
        return self.device.pulse_count

    @property
    def bm_repeats(self) -> int:
        return self.device.bm_repeats

    @property
    def devices(self):
        return self.device.devices

    @property
    def w(self) -> np.ndarray:
        return self.device.w

    @property
    def ref(self) -> np.ndarray:
        return self.device.ref

    @property
    def symmetry_points(self):
        return self.device.symmetry_points

    def get_weights(self) -> np.ndarray:
        return self.device.get_weights()

    def set_weights(self, weights) -> float:
        return self.device.set_weights(weights)

    def forward(self, x) -> np.ndarray:
        return self.device.forward(x)

    def backward(self, d) -> np.ndarray:
        return self.device.backward(d)

    def update(self, x, d, lr: float) -> None:
        """Accumulate ``-lr d_b x_b^T`` (device units) for each sample; write whole pulses
        after every ``transfer_every``-th."""
        from rramsim.kernels.transfer import mixed_precision_accumulate

        X, D = _check_update_args(self, x, d, lr)
        every = self.algorithm.transfer_every
        lr = lr / self.weight_scale
        B = X.shape[0]
        start = 0
        while start < B:
            stop = min(B, start + every - int(self._counters[0]) % every)
            self._counters[0] += stop - start
            due = self._counters[0] % every == 0
            # one sample after a threshold pass: only its entries can have crossed eps
            scan = (1 if every == 1 else 2) if due else 0
            m = mixed_precision_accumulate(self.chi, X[start:stop], D[start:stop], lr, self.eps,
                                           scan, self._rows, self._cols, self._counts)
            if m:
                self.device.apply_pulses(self._rows[:m], self._cols[:m], self._counts[:m])
            start = stop

    def zero_shift(self, method: str | None = None, fast: bool = True) -> np.ndarray:
        """Zero-shifting of the one array (``fast`` is ignored: there is no gradient array)."""
        return self.device.zero_shift(method)

    def find_symmetry_points(self, method: str | None = None) -> np.ndarray:
        return self.device.find_symmetry_points(method)

    STATE_KEYS = ("chi", "_counters")

    def state_dict(self) -> dict[str, np.ndarray]:
        """The array's state (``device.<key>``, :meth:`AnalogTile.state_dict`), the accumulator
        ``chi`` and the update counter. Copies."""
        state = {f"device.{k}": v for k, v in self.device.state_dict().items()}
        state.update({key: getattr(self, key).copy() for key in self.STATE_KEYS})
        return state

    def load_state_dict(self, state) -> None:
        own = _own_state(self, state, "mixed-precision tile")
        self.device.load_state_dict({k[7:]: v for k, v in state.items()
                                     if k.startswith("device.")})
        for key, arr in own.items():
            getattr(self, key)[...] = arr
