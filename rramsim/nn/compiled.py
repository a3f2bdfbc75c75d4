"""The compiled training step of a network of analog dense layers (the fast path of
:func:`rramsim.training.fit`).

:class:`CompiledStep` describes an eligible network to the compiled kernel
:func:`rramsim.kernels.step.train_batches` once per training run (layer sizes, peripherals,
update settings, and the tiles' own arrays and random streams, no copies), and then trains a run
of mini-batches per call: forward through every tile's peripherals, softmax cross-entropy,
backward, every tile's update, with no Python between samples. The layer-by-layer path
(``model.forward``, ``loss``, ``model.backward``, ``optimizer.step``) stays the readable
reference; the compiled step gives its numbers bit for bit (``tests/test_step.py``).

Eligible (:func:`compiled_step` returns None otherwise, with the reason in
:func:`why_not_compiled`): a :class:`~rramsim.nn.Sequential` of
:class:`~rramsim.nn.AnalogLinear` layers with ``bias`` 'analog' or 'none', each on a plain
:class:`~rramsim.analog.tile.AnalogTile` (``algorithm.kind = 'sgd'``), a
:class:`~rramsim.analog.transfer.TransferTile` (``ttv1``, ``ttv2``, ``c-ttv2``, ``agad``) with
``algorithm.gamma = 0`` (the network reads the slow array C alone) or a
:class:`~rramsim.analog.transfer.MixedPrecisionTile`, every array of a
linear-family device (soft bounds, constant step, linear step), each layer followed by at most
one :class:`~rramsim.nn.Sigmoid` or :class:`~rramsim.nn.ReLU`, the last one giving the logits;
:class:`~rramsim.nn.SoftmaxCrossEntropy`; plain :class:`~rramsim.nn.SGD` (no momentum, no weight
decay). Every update mode, peripheral and algorithm setting is supported, except ``gamma > 0``
(forward and backward through ``gamma A + C``), which the layer-by-layer path runs.

The kernel keeps every tile's state as the reference path does: arrays, buffers, choppers,
accumulators, counters, random streams, and each array's ``pulse_count``, ``bm_repeats`` and
``update_count`` (its calls of :meth:`AnalogTile.update`, which the saturation check samples).
"""

from __future__ import annotations

import numpy as np

from rramsim.analog.tile import AnalogTile
from rramsim.analog.transfer import MixedPrecisionTile, TransferTile
from rramsim.config.algorithm import CHOPPED
from rramsim.errors import InputError
from rramsim.nn.losses import SoftmaxCrossEntropy
from rramsim.nn.modules import AnalogLinear, ReLU, Sequential, Sigmoid
from rramsim.nn.optim import SGD

_MODES = {"pulsed": 0, "expected": 1, "ideal": 2}


def _tile_arrays_ok(tile) -> bool:
    """Whether an AnalogTile's arrays are C-contiguous float64 of its shape."""
    arrays = (tile.w, tile._w_eff, tile.ref, *tile.devices.kernel_args())
    return all(a.dtype == np.float64 and a.flags.c_contiguous and a.shape == tile.shape
               for a in arrays)


def _why_not_tile(tile) -> str | None:
    """Why one layer's tile cannot take the compiled step (None: it can)."""
    if type(tile) is MixedPrecisionTile:
        n = tile.shape[0] * tile.shape[1]
        own = [(tile.chi, np.float64, tile.shape), (tile._counters, np.int64, (1,)),
               (tile._rows, np.int64, (n,)), (tile._cols, np.int64, (n,)),
               (tile._counts, np.int64, (n,))]
        if any(a.dtype != dt or not a.flags.c_contiguous or a.shape != shape
               for a, dt, shape in own):
            return "mixed-precision state arrays not C-contiguous of the tile's dtypes and shapes"
        arrays = (tile.device,)
    elif type(tile) is TransferTile:
        if tile.algorithm.gamma:
            return "the tile reads gamma A + C (algorithm.gamma != 0, not compiled)"
        arrays = (tile.fast, tile.slow)
        own = [(tile.buffer, np.float64, tile.shape), (tile.mean, np.float64, tile.shape),
               (tile.mean_ref, np.float64, tile.shape), (tile.phase, np.int8, tile.shape[1:]),
               (tile.in_chop, np.int8, tile.shape[1:]), (tile.out_chop, np.int8, tile.shape[:1]),
               (tile._counters, np.int64, (3,)), (tile._read_state, np.uint64, (1,)),
               (tile._chop_state, np.uint64, (1,))]
        if any(a.dtype != dt or not a.flags.c_contiguous or a.shape != shape
               for a, dt, shape in own):
            return "transfer state arrays not C-contiguous of the tile's dtypes and shapes"
    elif type(tile) is AnalogTile:
        arrays = (tile,)
    else:
        return f"tile {type(tile).__name__} is not compiled"
    for t in arrays:
        if len(t.devices.kernel_args()) != 6:
            return f"device model {t.config.device.model!r} (table-driven)"
        if not _tile_arrays_ok(t):
            return "tile arrays not C-contiguous float64 (n_out, n_in)"
    return None


def why_not_compiled(model, loss, optimizer) -> str | None:
    """Why ``model`` with ``loss`` and ``optimizer`` cannot take the compiled step (None: it
    can)."""
    if type(model) is not Sequential:
        return "the model is not a Sequential"
    if type(loss) is not SoftmaxCrossEntropy:
        return "the loss is not SoftmaxCrossEntropy"
    if type(optimizer) is not SGD or optimizer.momentum or optimizer.weight_decay \
            or optimizer.model is not model:
        return "the optimizer is not plain SGD of this model"
    layers = model.layers
    if not layers or type(layers[-1]) is not AnalogLinear:
        return "the last layer is not an AnalogLinear"
    prev = width = None
    for layer in layers:
        if type(layer) is AnalogLinear:
            if layer.bias_mode not in ("analog", "none"):
                return f"{layer.name}: bias '{layer.bias_mode}' (digital bias not compiled)"
            why = _why_not_tile(layer.tile)
            if why is not None:
                return f"{layer.name}: {why}"
            if width is not None and layer.n_in != width:
                return f"{layer.name}: n_in {layer.n_in} != the width {width} below it"
            width = layer.n_out
        elif type(layer) in (Sigmoid, ReLU):
            if prev is not AnalogLinear:
                return "an activation that does not follow an AnalogLinear"
        else:
            return f"layer {type(layer).__name__} is not compiled"
        prev = type(layer)
    return None


class CompiledStep:
    """The compiled training step of one eligible network (see the module text).

    Build it with :func:`compiled_step`; :meth:`train` runs mini-batches. It holds references
    to the tiles' arrays: nothing outside it may replace them while it is in use (``fit``
    builds one per run).
    """

    def __init__(self, model: Sequential, optimizer: SGD):
        from numba import types
        from numba.typed import List

        from rramsim.kernels import step as k

        self._k = k
        self.model, self.optimizer = model, optimizer
        layers = model.layers
        self.analog = [layer for layer in layers if type(layer) is AnalogLinear]
        L = len(self.analog)
        # the arrays the network reads (layer li's tile, or its slow array C) are 0 .. L - 1,
        # the fast arrays A of the transfer tiles follow
        reads = [t.slow if type(t) is TransferTile else t.device if type(t) is MixedPrecisionTile
                 else t for t in (la.tile for la in self.analog)]
        fasts = [la.tile.fast for la in self.analog if type(la.tile) is TransferTile]
        #: every AnalogTile the kernel trains, in its array order (counters rows)
        self.arrays = reads + fasts
        imeta = np.zeros((L, k.N_IMETA), dtype=np.int64)
        fmeta = np.zeros((L, k.N_FMETA))
        arrs = List.empty_list(types.float64[:, ::1])
        states = List.empty_list(types.uint64[::1])
        i8s = List.empty_list(types.int8[::1])
        i64s = List.empty_list(types.int64[::1])
        for tile in self.arrays:
            for a in (tile.w, tile._w_eff, tile.ref, *tile.devices.kernel_args()):
                arrs.append(a)
            for key in AnalogTile.STREAM_KEYS:
                states.append(getattr(tile, key))
        n_fast = 0
        for li, layer in enumerate(self.analog):
            tile, cfg = reads[li], reads[li].config
            pos = layers.index(layer)
            after = layers[pos + 1] if pos + 1 < len(layers) else None
            act = k.SIGMOID if type(after) is Sigmoid else k.RELU if type(after) is ReLU \
                else k.NO_ACT
            up = cfg.update
            imeta[li, [k.MODE, k.N_IN, k.N_OUT, k.BIAS, k.ACT, k.INPUT_GRAD, k.BL, k.UM,
                      k.PLM]] = (_MODES[up.mode], layer.n_in, layer.n_out,
                                 layer.bias_mode == "analog", act, layer.input_grad, up.bl,
                                 up.update_management, up.pulse_length_management)
            fmeta[li, [k.W_SCALE, k.DW_MIN, k.CTOC]] = (tile.weight_scale, cfg.device.dw_min,
                                                      tile.devices.ctoc)
            for io, (dac, adc), i0, f0, i32 in ((cfg.forward, tile.forward_converters,
                                                 k.F_PERFECT, k.F_INP_BOUND, k.F_F32),
                                                (cfg.backward, tile.backward_converters,
                                                 k.B_PERFECT, k.B_INP_BOUND, k.B_F32)):
                imeta[li, i0:i0 + 6] = (io.is_perfect, dac.bits, adc.bits, io.noise_management,
                                       io.bound_management, io.bm_max_iter)
                imeta[li, i32] = io.product_dtype == "float32"
                fmeta[li, f0:f0 + 3] = (dac.bound, adc.bound, io.out_noise)
            if type(layer.tile) is TransferTile:
                self._describe_transfer(li, layer.tile, L + n_fast, imeta, fmeta, arrs, states,
                                        i8s, i64s)
                n_fast += 1
            elif type(layer.tile) is MixedPrecisionTile:
                mp = layer.tile
                imeta[li, [k.KIND, k.TE, k.T_ARRS, k.T_I64]] = (
                    k.MIXED, mp.algorithm.transfer_every, len(arrs), len(i64s))
                fmeta[li, [k.MP_EPS, k.APPLY_CTOC]] = (
                    mp.eps, tile.devices.ctoc if up.mode == "pulsed" else 0.0)
                arrs.append(mp.chi)
                for arr in (mp._counters, mp._rows, mp._cols, mp._counts):
                    i64s.append(arr)
        self.imeta, self.fmeta, self.arrs, self.states = imeta, fmeta, arrs, states
        self.i8s, self.i64s = i8s, i64s
        self._x = self._y = None

    def _describe_transfer(self, li, tile, fa, imeta, fmeta, arrs, states, i8s, i64s):
        """Layer li's transfer settings and state (its fast array is array fa)."""
        k, a = self._k, tile.algorithm
        chopped = tile.kind in CHOPPED
        fast = tile.fast
        imeta[li, [k.KIND, k.FAST, k.TE, k.N_READS, k.T_ARRS, k.T_STATES, k.T_I8, k.T_I64,
                   k.CHOPPED, k.DYNAMIC, k.FORGET, k.T_BL, k.PERIOD, k.IN_RANDOM]] = (
            k.TTV1 if tile.kind == "ttv1" else k.BUFFERED, fa, a.transfer_every,
            a.n_reads_per_transfer, len(arrs), len(states), len(i8s), len(i64s), chopped,
            tile.kind == "agad", a.forget_buffer, a.transfer_bl, tile._period, a.in_chop_random)
        mode = tile.config.update.mode
        fmeta[li, [k.FAST_LR, k.TRANSFER_LR, k.THRES_DW, k.MOMENTUM, k.CAP, k.BETA, k.IN_PROB,
                   k.OUT_PROB, k.READ_U, k.FAST_CTOC, k.APPLY_CTOC]] = (
            a.fast_lr, a.transfer_lr, a.thres_scale * tile.config.device.dw_min, a.momentum,
            a.buffer_cap * a.transfer_bl if not a.forget_buffer else 0.0, tile._beta,
            a.in_chop_prob if chopped else 0.0, a.out_chop_prob if chopped else 0.0,
            float(fast.forward_converters[0].convert(1.0)), fast.devices.ctoc,
            tile.slow.devices.ctoc if mode == "pulsed" else 0.0)
        for arr in (tile.buffer, tile.mean, tile.mean_ref):
            arrs.append(arr)
        states.append(tile._read_state)
        states.append(tile._chop_state)
        for arr in (tile.phase, tile.in_chop, tile.out_chop):
            i8s.append(arr)
        i64s.append(tile._counters)

    def set_data(self, x, y) -> None:
        """The training set of the run: x (N, n_in) (as float64, C order; copied only if it is
        not), y (N,) integer labels in [0, n_classes), both checked here once."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        n_in, n_cls = self.imeta[0, self._k.N_IN], self.imeta[-1, self._k.N_OUT]
        if x.ndim != 2 or x.shape[1] != n_in:
            raise InputError(f"x must have shape (N, {n_in}), got {x.shape}")
        y = np.asarray(y)
        if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
            raise InputError("labels must be (N,) integer class indices")
        if y.size and (y.min() < 0 or y.max() >= n_cls):
            raise InputError(f"labels must be in [0, {n_cls - 1}]")
        self._x, self._y = x, np.ascontiguousarray(y, dtype=np.int64)

    def train(self, order: np.ndarray, start: int, stop: int, batch_size: int) -> np.ndarray:
        """Train on ``x[order[start:stop]]`` in mini-batches of ``batch_size`` (consecutive
        from ``start``) at the optimizer's current ``lr``; returns each sample's log-likelihood
        of its label (stop - start,). The tiles' pulse and bound-management counters advance.

        Raises FloatingPointError if some logits were not finite (the reference path raises
        at the batch itself; here after the run of batches, the tiles already updated).
        """
        ll = np.empty(stop - start)
        counters = np.zeros((len(self.arrays), 3), dtype=np.int64)
        order = np.ascontiguousarray(order, dtype=np.int64)
        ok = self._k.train_batches(self._x, self._y, order, int(start), int(stop),
                                   int(batch_size), float(self.optimizer.lr), self.imeta,
                                   self.fmeta, self.arrs, self.states, self.i8s, self.i64s, ll,
                                   counters)
        for tile, (pulses, repeats, updates) in zip(self.arrays, counters):
            tile.pulse_count += int(pulses)
            tile.bm_repeats += int(repeats)
            tile.update_count += int(updates)
        if not ok:
            raise FloatingPointError("logits contain NaN or infinite values (training diverged?)")
        return ll


def compiled_step(model, loss, optimizer) -> CompiledStep | None:
    """The compiled step of ``model`` trained with ``loss`` and ``optimizer``, or None when it
    is not eligible (:func:`why_not_compiled`)."""
    if why_not_compiled(model, loss, optimizer) is not None:
        return None
    return CompiledStep(model, optimizer)
