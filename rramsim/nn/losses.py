"""Losses: value and gradient with respect to the network output, averaged over the batch."""

from __future__ import annotations

import numpy as np


class Loss:
    """``loss(outputs, targets) -> float``; ``grad()`` -> dL/d(outputs) of that last call."""

    def __call__(self, outputs, targets) -> float:
        return self.forward(outputs, targets)

    def forward(self, outputs, targets) -> float:
        raise NotImplementedError

    def grad(self) -> np.ndarray:
        raise NotImplementedError


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits z (B, K), shifted by the row max for stability."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class SoftmaxCrossEntropy(Loss):
    """Softmax of the logits followed by cross-entropy with integer class labels.

    ``L = -mean_b log softmax(z_b)[y_b]``; ``dL/dz = (softmax(z) - onehot(y)) / B``.
    """

    def forward(self, logits, labels) -> float:
        logits = np.asarray(logits, dtype=np.float64)
        labels = np.asarray(labels)
        if logits.ndim != 2 or labels.shape != (logits.shape[0],):
            raise ValueError(f"logits must be (B, K) and labels (B,), got {logits.shape} and "
                             f"{labels.shape}")
        if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
            raise ValueError(f"labels must be in [0, {logits.shape[1] - 1}]")
        if not np.all(np.isfinite(logits)):
            raise FloatingPointError("logits contain NaN or infinite values (training diverged?)")
        p = softmax(logits)
        rows = np.arange(len(labels))
        self._p, self._labels = p, labels
        return float(-np.mean(np.log(np.maximum(p[rows, labels], 1e-300))))

    def grad(self):
        g = self._p.copy()
        g[np.arange(len(self._labels)), self._labels] -= 1.0
        return g / len(self._labels)


class MSELoss(Loss):
    """``L = mean_b sum_k (z - t)^2 / K``... averaged over all entries: ``mean((z - t)^2)``;
    ``dL/dz = 2 (z - t) / z.size``."""

    def forward(self, outputs, targets) -> float:
        z = np.asarray(outputs, dtype=np.float64)
        t = np.asarray(targets, dtype=np.float64).reshape(z.shape)
        self._diff = z - t
        return float(np.mean(self._diff ** 2))

    def grad(self):
        return 2.0 * self._diff / self._diff.size
