"""The training loop: seeded shuffling, SGD steps through (analog) layers, per-epoch records."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np

from rramsim.analog.tile import SATURATION_CHECK_FIRST
from rramsim.errors import InputError
from rramsim.metrics import accuracy
from rramsim.nn import SGD, Loss, Module, SoftmaxCrossEntropy
from rramsim.rng import generator
from rramsim.validation import check_lr


def evaluate(model: Module, x: np.ndarray, y: np.ndarray, batch_size: int = 1000,
             metric: Callable[[np.ndarray, np.ndarray], float] = accuracy) -> float:
    """``metric(model(x), y)`` in eval mode, forwarding ``batch_size`` samples at a time.

    The default metric is classification accuracy; the model's outputs of all batches are
    concatenated before the metric is applied, so any metric (RMSE, ...) works. The model is
    left in the mode it was in (``model.training``), also when the forward pass raises.
    """
    outs = _forward_in_eval_mode(model, x, batch_size)
    return float(metric(np.concatenate(outs, axis=0), y))


def _forward_in_eval_mode(model: Module, x, batch_size: int) -> list[np.ndarray]:
    """Outputs of ``model`` on ``x`` in batches, in eval mode; the previous mode is restored."""
    was_training = model.training
    model.eval()
    try:
        return [model.forward(x[start:start + batch_size])
                for start in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)


class Progress:
    """A one-line progress display on stderr (epochs, samples per second, running loss)."""

    def __init__(self, enabled: bool = True, stream=sys.stderr, every: float = 1.0):
        self.enabled, self.stream, self.every = enabled, stream, every
        self._last = 0.0

    def update(self, epoch, epochs, done, total, rate, loss, force=False):
        now = time.perf_counter()
        if not self.enabled or (not force and now - self._last < self.every):
            return
        self._last = now
        self.stream.write(f"\r  epoch {epoch}/{epochs}  {done:>6}/{total} samples  "
                          f"{rate:8.0f} samples/s  loss {loss:.4f}   ")
        self.stream.flush()

    def done(self, message: str):
        if self.enabled:
            self.stream.write("\r" + message.ljust(78) + "\n")
            self.stream.flush()


def fit(model: Module, x_train, y_train, x_test, y_test, epochs: int = 10, batch_size: int = 1,
        lr: float | None = None, seed=None, progress: bool | Progress = False,
        on_epoch: Callable[[dict], None] | None = None, loss: Loss | None = None,
        metric: Callable[[np.ndarray, np.ndarray], float] = accuracy,
        metric_name: str = "test_accuracy", optimizer=None,
        lr_schedule: Callable[[int], float] | None = None,
        fast: bool | None = None) -> list[dict]:
    """Train ``model`` by minibatch gradient descent; evaluate on the test set each epoch.

    Parameters
    ----------
    x_train (N, ...), y_train (N, ...), x_test, y_test : data
    epochs, batch_size : number of passes over the training set, samples per step
    lr : learning rate, constant unless ``lr_schedule`` is given. Without ``optimizer`` it is
        the rate of the default SGD (None: 0.01). With ``optimizer`` the optimizer's own ``lr``
        is used; ``lr`` may then be left out (None) or repeat that value, and a different value
        is an :class:`~rramsim.errors.InputError` (one rate, stated once, never silently
        dropped)
    seed : seeds the shuffling (one permutation per epoch)
    progress : show a progress line on stderr
    on_epoch : called with each epoch's record
    loss : the training loss (default: softmax cross-entropy on integer labels)
    metric, metric_name : test metric ``metric(outputs, y_test)`` and its key in the records
        (default: classification accuracy as ``test_accuracy``)
    optimizer : an object with ``zero_grad()``, ``step()`` and an ``lr`` attribute (default:
        ``SGD(model, lr)``, :class:`~rramsim.nn.SGD`; analog layers are always updated by their
        tiles)
    lr_schedule : ``epoch (1-based) -> learning rate``, applied at the start of each epoch
    fast : the compiled training step (:mod:`rramsim.nn.compiled`: one compiled call per run
        of mini-batches, the same numbers as the layer-by-layer path). None (default): when
        the model, loss and optimizer are eligible; False: always the layer-by-layer reference
        path; True: the compiled step, an :class:`~rramsim.errors.InputError` saying why when
        not eligible

    Returns
    -------
    list of ``{epoch, <metric_name>, train_loss, seconds, samples_per_second}``; epoch 0 is the
    untrained network (train_loss None, seconds 0).
    """
    if epochs < 0 or batch_size < 1:
        raise InputError(f"epochs must be >= 0 and batch_size >= 1, got {epochs}, {batch_size}")
    if optimizer is None:
        lr = check_lr(0.01 if lr is None else lr)
    else:
        opt_lr = getattr(optimizer, "lr", None)
        if lr is not None and (check_lr(lr) != opt_lr):
            raise InputError(f"fit: lr={lr!r} differs from the optimizer's lr={opt_lr!r}; the "
                             f"optimizer's learning rate is used, so leave lr out (or pass the "
                             f"same value)")
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise InputError("inputs and labels must have the same length")
    for name, arr in (("x_train", x_train), ("x_test", x_test), ("y_train", y_train),
                      ("y_test", y_test)):
        if not np.all(np.isfinite(arr)):
            raise InputError(f"{name} contains NaN or infinite values")
    if loss is None and not all(np.issubdtype(np.asarray(y).dtype, np.integer)
                                for y in (y_train, y_test)):
        raise InputError("the default loss (softmax cross-entropy) needs integer class labels; "
                         "got y_train / y_test of dtype "
                         f"{np.asarray(y_train).dtype} / {np.asarray(y_test).dtype}: convert "
                         "them with .astype(int) or pass a regression loss")
    bar = progress if isinstance(progress, Progress) else Progress(bool(progress))
    rng = generator(seed)
    loss_fn = loss if loss is not None else SoftmaxCrossEntropy()
    opt = optimizer if optimizer is not None else SGD(model, lr)
    n = len(x_train)
    step = None
    if fast is not False:
        from rramsim.nn.compiled import compiled_step, why_not_compiled

        step = compiled_step(model, loss_fn, opt)
        if step is None and fast:
            raise InputError(f"fit(fast=True): {why_not_compiled(model, loss_fn, opt)}")
        if step is not None:
            step.set_data(x_train, y_train)
    history = [{"epoch": 0, metric_name: evaluate(model, x_test, y_test, metric=metric),
                "train_loss": None, "seconds": 0.0, "samples_per_second": None}]
    if on_epoch:
        on_epoch(history[-1])
    model.train()
    for epoch in range(1, epochs + 1):
        if lr_schedule is not None:
            opt.lr = check_lr(float(lr_schedule(epoch)), f"lr_schedule({epoch})")
        order = rng.permutation(n)
        t0 = time.perf_counter()
        total_loss = 0.0
        # With the compiled step, the first updates of a run still take the reference path
        # (the same numbers: both draw from the tiles' own streams), so that AnalogTile.update
        # checks them for saturating pulse probabilities; the compiled kernel does not.
        head = n if step is None else (
            min(n, -(-SATURATION_CHECK_FIRST // batch_size) * batch_size) if epoch == 1 else 0)
        for start in range(0, head, batch_size):
            idx = order[start:start + batch_size]
            out = model.forward(x_train[idx])
            total_loss += loss_fn(out, y_train[idx]) * len(idx)
            opt.zero_grad()
            model.backward(loss_fn.grad())
            opt.step()
            done = start + len(idx)
            bar.update(epoch, epochs, done, n, done / (time.perf_counter() - t0), total_loss / done)
        if step is not None:
            total_loss = _compiled_epoch(step, order, batch_size, bar, epoch, epochs, t0,
                                         begin=head, total_loss=total_loss)
        seconds = time.perf_counter() - t0
        score = evaluate(model, x_test, y_test, metric=metric)
        rec = {"epoch": epoch, metric_name: score, "train_loss": total_loss / n,
               "seconds": seconds, "samples_per_second": n / seconds}
        history.append(rec)
        shown = (f"test accuracy {100 * score:.2f} %" if metric is accuracy
                 else f"{metric_name} {score:.4g}")
        bar.done(f"  epoch {epoch}/{epochs}: {shown}, train loss "
                 f"{rec['train_loss']:.4f}, {seconds:.1f} s ({n / seconds:.0f} samples/s)")
        if on_epoch:
            on_epoch(rec)
    return history


#: Samples per compiled call of the fast path (rounded up to whole batches): long enough that
#: the call costs nothing per sample, short enough for a live progress line.
_COMPILED_CHUNK = 4096


def _compiled_epoch(step, order, batch_size, bar, epoch, epochs, t0, begin: int = 0,
                    total_loss: float = 0.0) -> float:
    """The epoch from sample ``begin`` (a whole number of batches) on through the compiled
    step; returns the summed training loss (``total_loss`` of the samples before ``begin`` plus
    these), formed exactly as the reference loop forms it (each batch's mean loss times its
    size, in order)."""
    n = len(order)
    chunk = -(-_COMPILED_CHUNK // batch_size) * batch_size
    for c0 in range(begin, n, chunk):
        c1 = min(c0 + chunk, n)
        ll = step.train(order, c0, c1, batch_size)
        if batch_size == 1:  # the mean of one value is that value
            for v in ll.tolist():
                total_loss += -v
        else:
            for b0 in range(0, c1 - c0, batch_size):
                part = ll[b0:b0 + batch_size]
                total_loss += float(-np.mean(part)) * len(part)
        bar.update(epoch, epochs, c1, n, c1 / (time.perf_counter() - t0), total_loss / c1)
    return total_loss


def predict(model, x, batch_size: int = 1000) -> np.ndarray:
    """Network outputs (N,) for inputs (N, n_in), in eval mode; the model is left in the mode
    it was in."""
    return np.concatenate(_forward_in_eval_mode(model, x, batch_size)).ravel()
