"""Label densities: a smooth density of regression labels on a fixed interval (the ``g`` of the
WES loss, :class:`rramsim.nn.WESLoss`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rramsim.errors import InputError
from rramsim.validation import check_nonneg, check_positive_int

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(256)


@dataclass(frozen=True)
class LabelDensity:
    """A smooth, positive label density on ``support = (a, b)``: the exponential of a Legendre
    polynomial, normalised to integrate to one::

        u(y) = 2 (y - a) / (b - a) - 1                       (in [-1, 1])
        g(y) = exp(sum_{k=1}^{d} theta_k P_k(u(y)) - log_norm) * 2 / (b - a)
        log_norm = log integral_{-1}^{1} exp(sum_k theta_k P_k(u)) du

    ``theta`` maximises the mean log-likelihood of the training labels minus
    ``ridge / 2 * |theta|^2`` (see :meth:`fit`). This is the paper's "polynomial fit" done in
    the log domain: the density stays positive and smooth (WES raises it to ``-beta``, so a
    zero or negative value anywhere would be fatal), integrates to one by construction, and
    needs no bins or bandwidth. Uniform labels give ``theta = 0`` and ``g = 1 / (b - a)``.
    A kernel density estimate was not chosen because it is biased low near the interval's ends
    (half the density at the boundary for uniform labels), which is exactly where WES puts its
    weight.

    Attributes
    ----------
    theta : (d,) array
        Legendre coefficients of the log density (``P_1 .. P_d``; ``P_0`` is in ``log_norm``).
    support : (a, b)
        The label interval; :meth:`pdf` refuses labels outside it.
    log_norm : float
        Normalising constant (see above).
    """

    theta: np.ndarray
    support: tuple[float, float]
    log_norm: float = field(default=0.0)

    @classmethod
    def uniform(cls, support=(0.0, 1.0)) -> LabelDensity:
        """The uniform density ``1 / (b - a)`` on ``support``."""
        a, b = _check_support(support)
        return cls(np.zeros(0), (a, b), float(np.log(2.0)))

    @classmethod
    def fit(cls, labels, degree: int = 8, support=None, ridge: float = 1e-4,
            max_iter: int = 200, tol: float = 1e-10) -> LabelDensity:
        """Fit the log-polynomial density to ``labels`` by penalised maximum likelihood.

        The objective ``mean_i log g(y_i) - ridge/2 |theta|^2`` is concave in ``theta``; it is
        maximised by Newton's method with a backtracking line search, the normaliser computed
        by 256-point Gauss-Legendre quadrature.

        Parameters
        ----------
        labels : (N,) array
            Training labels, all inside ``support``.
        degree : int
            Degree ``d`` of the log-density polynomial, >= 1 (8 resolves the four shapes of
            the study; 2 is a Gaussian).
        support : (a, b) or None
            Interval of the density; None uses ``(min(labels), max(labels))``.
        ridge : float
            L2 penalty on ``theta`` (>= 0); keeps the tails tame where few labels lie.

        Raises
        ------
        ValueError
            For NaN/infinite labels, labels outside ``support``, fewer than ``degree + 1``
            distinct labels, or a bad ``degree``/``ridge``.
        """
        degree = check_positive_int(degree, "degree")
        ridge = check_nonneg(ridge, "ridge")
        y = np.asarray(labels, dtype=np.float64).ravel()
        if not np.all(np.isfinite(y)):
            raise InputError("LabelDensity.fit: labels contain NaN or infinite values")
        if np.unique(y).size <= degree:
            raise InputError(f"LabelDensity.fit: need more than degree = {degree} distinct "
                             f"labels, got {np.unique(y).size}")
        a, b = _check_support((y.min(), y.max()) if support is None else support)
        _check_inside(y, (a, b), "LabelDensity.fit: labels")
        P = np.polynomial.legendre.legvander(2.0 * (y - a) / (b - a) - 1.0, degree)[:, 1:]
        Pq = np.polynomial.legendre.legvander(_GL_NODES, degree)[:, 1:]
        mean_p = P.mean(axis=0)

        def objective(theta):
            e = Pq @ theta
            m = e.max()
            log_norm = m + np.log(np.dot(_GL_WEIGHTS, np.exp(e - m)))
            return mean_p @ theta - log_norm - 0.5 * ridge * theta @ theta, e

        theta = np.zeros(degree)
        value, e = objective(theta)
        for _ in range(max_iter):
            q = _GL_WEIGHTS * np.exp(e - e.max())
            q /= q.sum()
            mu = q @ Pq
            grad = mean_p - mu - ridge * theta
            cov = (Pq - mu).T @ ((Pq - mu) * q[:, None]) + ridge * np.eye(degree)
            step = np.linalg.solve(cov + 1e-12 * np.eye(degree), grad)
            t = 1.0
            while True:
                new_value, new_e = objective(theta + t * step)
                if new_value >= value - 1e-15 or t < 1e-8:
                    break
                t *= 0.5
            theta = theta + t * step
            done = new_value - value < tol
            value, e = new_value, new_e
            if done and np.max(np.abs(grad)) < 1e-6:
                break
        m = e.max()
        return cls(theta, (a, b), float(m + np.log(np.dot(_GL_WEIGHTS, np.exp(e - m)))))

    @property
    def degree(self) -> int:
        return int(self.theta.size)

    def log_pdf(self, y) -> np.ndarray:
        """``log g(y)`` (same shape as ``y``); ValueError for NaN or labels outside the support."""
        y = np.asarray(y, dtype=np.float64)
        if not np.all(np.isfinite(y)):
            raise InputError("LabelDensity: labels contain NaN or infinite values")
        _check_inside(y, self.support, "LabelDensity: labels")
        a, b = self.support
        u = 2.0 * (y - a) / (b - a) - 1.0
        poly = (np.polynomial.legendre.legval(u, np.concatenate([[0.0], self.theta]))
                if self.theta.size else np.zeros_like(u))
        return poly - self.log_norm + np.log(2.0 / (b - a))

    def pdf(self, y) -> np.ndarray:
        """``g(y)`` in 1 / label units (same shape as ``y``)."""
        return np.exp(self.log_pdf(y))

    def to_dict(self) -> dict:
        return {"theta": self.theta.tolist(), "support": list(self.support),
                "log_norm": self.log_norm}


def _check_support(support) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in support)
    except (TypeError, ValueError):
        raise InputError(f"support must be a pair (a, b), got {support!r}") from None
    if not (np.isfinite(a) and np.isfinite(b) and a < b):
        raise InputError(f"support must be a finite interval (a, b) with a < b, got {support!r}")
    return a, b


def _check_inside(y: np.ndarray, support, what: str) -> None:
    a, b = support
    if y.size and (y.min() < a or y.max() > b):
        raise InputError(f"{what} must lie in the fitted range [{a:.6g}, {b:.6g}], got values "
                         f"in [{y.min():.6g}, {y.max():.6g}]")
