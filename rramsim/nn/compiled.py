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
:class:`~rramsim.nn.AnalogLinear` layers with ``bias`` 'analog' or 'none' on plain
:class:`~rramsim.analog.tile.AnalogTile` tiles (``algorithm.kind = 'sgd'``) of a linear-family
device (soft bounds, constant step, linear step), each followed by at most one
:class:`~rramsim.nn.Sigmoid` or :class:`~rramsim.nn.ReLU`, the last one giving the logits;
:class:`~rramsim.nn.SoftmaxCrossEntropy`; plain :class:`~rramsim.nn.SGD` (no momentum, no weight
decay). Every update mode and peripheral setting is supported.
"""

from __future__ import annotations

import numpy as np

from rramsim.analog.tile import AnalogTile
from rramsim.errors import InputError
from rramsim.nn.losses import SoftmaxCrossEntropy
from rramsim.nn.modules import AnalogLinear, ReLU, Sequential, Sigmoid
from rramsim.nn.optim import SGD

_MODES = {"pulsed": 0, "expected": 1, "ideal": 2}


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
            tile = layer.tile
            if type(tile) is not AnalogTile:
                return f"{layer.name}: the tile runs a transfer algorithm"
            if len(tile.devices.kernel_args()) != 6:
                return f"{layer.name}: device model {tile.config.device.model!r} (table-driven)"
            arrays = (tile.w, tile._w_eff, tile.ref, *tile.devices.kernel_args())
            if any(a.dtype != np.float64 or not a.flags.c_contiguous or a.shape != tile.shape
                   for a in arrays):
                return f"{layer.name}: tile arrays not C-contiguous float64 (n_out, n_in)"
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
        from numba.typed import List

        from rramsim.kernels import step as k

        self._k = k
        self.model, self.optimizer = model, optimizer
        layers = model.layers
        self.analog = [layer for layer in layers if type(layer) is AnalogLinear]
        L = len(self.analog)
        imeta = np.zeros((L, k.N_IMETA), dtype=np.int64)
        fmeta = np.zeros((L, k.N_FMETA))
        arrs, states = List(), List()
        for li, layer in enumerate(self.analog):
            tile, cfg = layer.tile, layer.tile.config
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
            for io, (dac, adc), i0, f0 in ((cfg.forward, tile.forward_converters, k.F_PERFECT,
                                            k.F_INP_BOUND),
                                           (cfg.backward, tile.backward_converters,
                                            k.B_PERFECT, k.B_INP_BOUND)):
                imeta[li, i0:i0 + 6] = (io.is_perfect, dac.bits, adc.bits, io.noise_management,
                                       io.bound_management, io.bm_max_iter)
                fmeta[li, f0:f0 + 3] = (dac.bound, adc.bound, io.out_noise)
            for a in (tile.w, tile._w_eff, tile.ref, *tile.devices.kernel_args()):
                arrs.append(a)
            for key in AnalogTile.STREAM_KEYS:
                states.append(getattr(tile, key))
        self.imeta, self.fmeta, self.arrs, self.states = imeta, fmeta, arrs, states
        self._x = self._y = None

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
        counters = np.zeros((len(self.analog), 2), dtype=np.int64)
        order = np.ascontiguousarray(order, dtype=np.int64)
        ok = self._k.train_batches(self._x, self._y, order, int(start), int(stop),
                                   int(batch_size), float(self.optimizer.lr), self.imeta,
                                   self.fmeta, self.arrs, self.states, ll, counters)
        for layer, (pulses, repeats) in zip(self.analog, counters):
            layer.tile.pulse_count += int(pulses)
            layer.tile.bm_repeats += int(repeats)
        if not ok:
            raise FloatingPointError("logits contain NaN or infinite values (training diverged?)")
        return ll


def compiled_step(model, loss, optimizer) -> CompiledStep | None:
    """The compiled step of ``model`` trained with ``loss`` and ``optimizer``, or None when it
    is not eligible (:func:`why_not_compiled`)."""
    if why_not_compiled(model, loss, optimizer) is not None:
        return None
    return CompiledStep(model, optimizer)
