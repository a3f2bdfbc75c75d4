"""Losses: value and gradient with respect to the network output, averaged over the batch."""

from __future__ import annotations

import numpy as np

from rramsim.errors import InputError
from rramsim.nn.density import LabelDensity
from rramsim.validation import check_choice, is_number


class Loss:
    """``loss(outputs, targets) -> float``; ``grad()`` -> dL/d(outputs) of that last call."""

    def __call__(self, outputs, targets) -> float:
        return self.forward(outputs, targets)

    def forward(self, outputs, targets) -> float:
        raise NotImplementedError

    def grad(self) -> np.ndarray:
        raise NotImplementedError


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits z (B, K), shifted by the row max for stability (compiled,
    :func:`rramsim.kernels.activations.softmax_log_likelihood`, so that the compiled training
    step gives the same bits)."""
    from rramsim.kernels.activations import softmax_log_likelihood

    z = np.asarray(z, dtype=np.float64)
    return softmax_log_likelihood(z, np.zeros(len(z), dtype=np.int64))[0]


class SoftmaxCrossEntropy(Loss):
    """Softmax of the logits followed by cross-entropy with integer class labels.

    ``L = -mean_b log softmax(z_b)[y_b]``; ``dL/dz = (softmax(z) - onehot(y)) / B``.
    """

    def forward(self, logits, labels) -> float:
        logits = np.asarray(logits, dtype=np.float64)
        labels = np.asarray(labels)
        if logits.ndim != 2 or labels.shape != (logits.shape[0],):
            raise InputError(f"logits must be (B, K) and labels (B,), got {logits.shape} and "
                             f"{labels.shape}")
        if not np.issubdtype(labels.dtype, np.integer):
            raise InputError(f"labels must be integer class indices, got dtype {labels.dtype} "
                             f"(convert with labels.astype(int), or use a regression loss)")
        if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
            raise InputError(f"labels must be in [0, {logits.shape[1] - 1}]")
        if not np.all(np.isfinite(logits)):
            raise FloatingPointError("logits contain NaN or infinite values (training diverged?)")
        from rramsim.kernels.activations import softmax_log_likelihood

        # compiled softmax and log (numpy's SIMD exp and log differ from the compiled training
        # step's in the last bit); the mean stays numpy's (pairwise) sum, in both paths
        p, ll = softmax_log_likelihood(logits, labels)
        self._p, self._labels = p, labels
        return float(-np.mean(ll))

    def grad(self):
        g = self._p.copy()
        g[np.arange(len(self._labels)), self._labels] -= 1.0
        return g / len(self._labels)


class MSELoss(Loss):
    """Mean squared error over all entries: ``L = mean((z - t)^2)``;
    ``dL/dz = 2 (z - t) / z.size``."""

    def forward(self, outputs, targets) -> float:
        z = np.asarray(outputs, dtype=np.float64)
        t = np.asarray(targets, dtype=np.float64).reshape(z.shape)
        self._diff = z - t
        return float(np.mean(self._diff ** 2))

    def grad(self):
        return 2.0 * self._diff / self._diff.size


# Regression losses -------------------------------------------------------------------------
# Outputs z and targets t have the same number of entries (targets are reshaped to z's shape,
# so (B,) labels go with (B, 1) outputs); every loss is a mean over all entries, like MSELoss.

def _regression_pair(outputs, targets, name: str) -> tuple[np.ndarray, np.ndarray]:
    z = np.asarray(outputs, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    if t.size != z.size or z.size == 0:
        raise InputError(f"{name}: outputs {z.shape} and targets {t.shape} must have the same "
                         f"(non-zero) number of entries")
    if not np.all(np.isfinite(t)):
        raise InputError(f"{name}: targets contain NaN or infinite values")
    if not np.all(np.isfinite(z)):
        raise FloatingPointError(f"{name}: outputs contain NaN or infinite values "
                                 f"(training diverged?)")
    return z, t.reshape(z.shape)


class MAELoss(Loss):
    """Mean absolute error ``L = mean(|z - t|)``; ``dL/dz = sign(z - t) / z.size`` (0 at a tie)."""

    def forward(self, outputs, targets) -> float:
        z, t = _regression_pair(outputs, targets, "MAELoss")
        self._diff = z - t
        return float(np.mean(np.abs(self._diff)))

    def grad(self):
        return np.sign(self._diff) / self._diff.size


class HuberLoss(Loss):
    """Huber loss: quadratic for small errors, linear beyond ``delta`` (PyTorch's convention).

    ``L = mean(h(z - t))`` with ``h(r) = r^2 / 2`` for ``|r| <= delta`` and
    ``h(r) = delta (|r| - delta / 2)`` otherwise; ``dL/dz = clip(z - t, -delta, delta) / z.size``.

    Parameters
    ----------
    delta : float
        Error (in label units) at which the loss turns from quadratic to linear; > 0.
    """

    def __init__(self, delta: float = 1.0):
        if not is_number(delta) or not (np.isfinite(delta) and delta > 0):
            raise InputError(f"HuberLoss: delta must be a finite number > 0, got {delta}")
        self.delta = float(delta)

    def forward(self, outputs, targets) -> float:
        z, t = _regression_pair(outputs, targets, "HuberLoss")
        r = z - t
        self._diff = r
        a = np.abs(r)
        return float(np.mean(np.where(a <= self.delta, 0.5 * r ** 2,
                                      self.delta * (a - 0.5 * self.delta))))

    def grad(self):
        return np.clip(self._diff, -self.delta, self.delta) / self._diff.size


def _panel_quadrature(panels: int = 256, order: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of composite Gauss-Legendre quadrature on [-1, 1] (``panels`` equal
    panels of ``order`` points): spectrally accurate for smooth integrands, and still accurate
    (O(panel width^2)) across the kink that a density floor puts into the WES normaliser."""
    x, w = np.polynomial.legendre.leggauss(order)
    edges = np.linspace(-1.0, 1.0, panels + 1)
    half = 0.5 * np.diff(edges)
    nodes = (edges[:-1] + half)[:, None] + half[:, None] * x[None, :]
    return nodes.ravel(), (half[:, None] * w[None, :]).ravel()


#: Quadrature for the WES normaliser Z (2048 nodes on [-1, 1]).
_GL_NODES, _GL_WEIGHTS = _panel_quadrature()


class WESLoss(Loss):
    """Weighted empirical stretching (Koo & Kim 2020): squared errors weighted by the inverse
    label density to the power ``beta``, so that rare (tail) labels count more.

    With ``g`` the density of the training labels on its support ``[a, b]``
    (``integral_a^b g(y) dy = 1``), optionally floored at ``eps`` times the uniform density::

        g_eps(y) = max(g(y), eps / (b - a))                       (eps = 0: no floor)
        w(t)     = g_eps(t)^(-beta) / Z,   Z = integral_a^b g(y) g_eps(y)^(-beta) dy
        L        = mean_i  w(t_i) (z_i - t_i)^2
        dL/dz_i  = 2 w(t_i) (z_i - t_i) / N                        (N = z.size)

    ``Z`` makes the weights average to one over the label distribution (``E_{y~g}[w(y)] = 1``;
    ``Z = integral g^(1 - beta)`` without a floor), so the loss is on the scale of the MSE for
    every ``beta`` and one learning rate serves all. For uniform labels (``g = 1 / (b - a)``)
    every weight is 1 and WES is exactly the MSE; so it is for ``beta = 0``. The larger
    ``beta``, the more the low-density labels weigh: ``w(y1) / w(y2) = (g(y2) / g(y1))^beta``
    grows with ``beta`` wherever ``g(y1) < g(y2)`` (above the floor).

    The floor is not in the paper. It bounds the weights where the density estimate rests on a
    handful of labels (the extreme ends, where ``g`` can be 1/1000 of the uniform density and
    ``g^-beta`` would let one sample dominate a mini-batch, or, through ``Z``, shrink the weight
    of every other sample to nothing); the largest weight ratio is ``(max g (b - a) / eps)^beta``.

    Parameters
    ----------
    density : object
        The label density: ``density.pdf(y)`` returns ``g(y)`` (> 0, same shape as ``y``) and
        raises ``ValueError`` for labels outside ``density.support = (a, b)``. Usually a
        :class:`rramsim.regression.LabelDensity` fitted on the training labels
        (see :meth:`from_labels`).
    beta : float
        Scaling hyperparameter, >= 0 (0 gives the MSE).
    density_floor : float
        ``eps`` in [0, 1]: the density is floored at ``eps`` times the uniform density
        ``1 / (b - a)`` (0, the default, is the paper's unfloored form).
    """

    def __init__(self, density, beta: float = 1.0, density_floor: float = 0.0):
        if not is_number(beta) or not (np.isfinite(beta) and beta >= 0):
            raise InputError(f"WESLoss: beta (the scaling hyperparameter) must be a finite "
                             f"number >= 0, got {beta!r}")
        if not is_number(density_floor) or not (0 <= density_floor <= 1):
            raise InputError(f"WESLoss: density_floor must be a number in [0, 1] (a fraction "
                             f"of the uniform density), got {density_floor!r}")
        if not (hasattr(density, "pdf") and hasattr(density, "support")):
            raise TypeError(f"WESLoss: density must have .pdf(y) and .support, got "
                            f"{type(density).__name__}")
        a, b = (float(v) for v in density.support)
        if not (np.isfinite(a) and np.isfinite(b) and a < b):
            raise InputError(f"WESLoss: density.support must be a finite interval (a, b) with "
                             f"a < b, got {density.support}")
        self.density, self.beta = density, float(beta)
        self.density_floor = float(density_floor)
        self._g_min = self.density_floor / (b - a)
        half = 0.5 * (b - a)
        g = np.asarray(density.pdf(a + half * (_GL_NODES + 1.0)), dtype=np.float64)
        if not np.all(g > 0) or not np.all(np.isfinite(g)):
            raise InputError("WESLoss: the density must be finite and > 0 on its support")
        #: The normaliser Z = integral of g g_eps^-beta over the support (by quadrature).
        self.norm = float(half * np.dot(_GL_WEIGHTS, g * np.maximum(g, self._g_min)
                                        ** (-self.beta)))

    @classmethod
    def from_labels(cls, labels, beta: float = 1.0, support=None, degree: int = 8,
                    density_floor: float = 0.0) -> WESLoss:
        """WES with the density fitted on ``labels`` (N,) by
        :meth:`rramsim.regression.LabelDensity.fit` (log-polynomial of ``degree``)."""
        return cls(LabelDensity.fit(labels, degree=degree, support=support), beta, density_floor)

    def weights(self, targets) -> np.ndarray:
        """The normalised weights ``w(t)`` (same shape as ``targets``); ValueError for NaN or
        labels outside the density's support."""
        t = np.asarray(targets, dtype=np.float64)
        if not np.all(np.isfinite(t)):
            raise InputError("WESLoss: targets contain NaN or infinite values")
        g = np.asarray(self.density.pdf(t), dtype=np.float64)
        return np.maximum(g, self._g_min) ** (-self.beta) / self.norm

    def forward(self, outputs, targets) -> float:
        z, t = _regression_pair(outputs, targets, "WESLoss")
        self._w = self.weights(t)
        self._diff = z - t
        return float(np.mean(self._w * self._diff ** 2))

    def grad(self):
        return 2.0 * self._w * self._diff / self._diff.size


#: Losses by name (see :func:`make_loss`).
LOSSES = ("mse", "mae", "huber", "wes")


def make_loss(name: str, density: LabelDensity | None = None, beta: float = 1.0,
              delta: float = 0.1, density_floor: float = 0.0):
    """A regression loss by name: 'mse', 'mae', 'huber' (``delta`` in label units) or 'wes'
    (needs the training-label ``density``; ``beta``, ``density_floor``)."""
    check_choice(name, LOSSES, "loss")
    if name == "mse":
        return MSELoss()
    if name == "mae":
        return MAELoss()
    if name == "huber":
        return HuberLoss(delta)
    if density is None:
        raise InputError("loss 'wes' needs the training-label density")
    return WESLoss(density, beta, density_floor=density_floor)
