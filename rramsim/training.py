"""The training loop: seeded shuffling, SGD steps through (analog) layers, per-epoch records."""

from __future__ import annotations

import sys
import time
from typing import Callable

import numpy as np

from rramsim.nn import SGD, Module, SoftmaxCrossEntropy
from rramsim.rng import generator


def evaluate(model: Module, x: np.ndarray, y: np.ndarray, batch_size: int = 1000) -> float:
    """Classification accuracy of ``model`` on (x (N, n_in), y (N,)), in eval mode, batched."""
    model.eval()
    correct = 0
    for start in range(0, len(x), batch_size):
        out = model.forward(x[start:start + batch_size])
        correct += int(np.sum(np.argmax(out, axis=1) == y[start:start + batch_size]))
    model.train()
    return correct / len(x)


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
        lr: float = 0.01, seed=None, progress: bool | Progress = False,
        on_epoch: Callable[[dict], None] | None = None) -> list[dict]:
    """Train ``model`` with softmax cross-entropy and SGD; evaluate on the test set each epoch.

    Parameters
    ----------
    x_train (N, n_in), y_train (N,), x_test, y_test : data
    epochs, batch_size, lr : plain SGD schedule (constant learning rate)
    seed : seeds the shuffling (one permutation per epoch)
    progress : show a progress line on stderr
    on_epoch : called with each epoch's record

    Returns
    -------
    list of ``{epoch, test_accuracy, train_loss, seconds, samples_per_second}``; epoch 0 is the
    untrained network (train_loss None, seconds 0).
    """
    if epochs < 0 or batch_size < 1:
        raise ValueError(f"epochs must be >= 0 and batch_size >= 1, got {epochs}, {batch_size}")
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise ValueError("inputs and labels must have the same length")
    for name, arr in (("x_train", x_train), ("x_test", x_test)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinite values")
    bar = progress if isinstance(progress, Progress) else Progress(bool(progress))
    rng = generator(seed)
    loss_fn = SoftmaxCrossEntropy()
    opt = SGD(model, lr)
    n = len(x_train)
    history = [{"epoch": 0, "test_accuracy": evaluate(model, x_test, y_test), "train_loss": None,
                "seconds": 0.0, "samples_per_second": None}]
    if on_epoch:
        on_epoch(history[-1])
    model.train()
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        t0 = time.perf_counter()
        total_loss = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            out = model.forward(x_train[idx])
            total_loss += loss_fn(out, y_train[idx]) * len(idx)
            opt.zero_grad()
            model.backward(loss_fn.grad())
            opt.step()
            done = start + len(idx)
            bar.update(epoch, epochs, done, n, done / (time.perf_counter() - t0), total_loss / done)
        seconds = time.perf_counter() - t0
        acc = evaluate(model, x_test, y_test)
        rec = {"epoch": epoch, "test_accuracy": acc, "train_loss": total_loss / n,
               "seconds": seconds, "samples_per_second": n / seconds}
        history.append(rec)
        bar.done(f"  epoch {epoch}/{epochs}: test accuracy {100 * acc:.2f} %, train loss "
                 f"{rec['train_loss']:.4f}, {seconds:.1f} s ({n / seconds:.0f} samples/s)")
        if on_epoch:
            on_epoch(rec)
    return history
