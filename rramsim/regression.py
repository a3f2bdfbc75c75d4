"""Regression on synthetic label curves, for the WES loss study (Koo & Kim 2020, arXiv:2009.03534).

Four pieces, each usable alone (no files written here; studies write):

- :class:`LabelDensity`: a smooth density of the training labels on a fixed interval
  (log-polynomial, maximum likelihood), the ``g`` of :class:`rramsim.nn.WESLoss`;
- :func:`make_dataset`: a seeded synthetic regression set: a long label curve whose values follow
  one of four shapes (unimodal, skewed unimodal, bimodal, skewed bimodal), normalised to [0, 1];
  inputs are Fourier coefficients of a sliding window of the curve with additive noise;
- :func:`regression_metrics`: RMSE overall, in the two 5 % tails of the label distribution and
  where the label density is low, and the overlap of the predicted and true label histograms;
- :func:`train_regressor` / :func:`run_wes_task`: a feed-forward regression network trained by
  :func:`rramsim.training.fit` with any loss, and one study run described by a JSON-able dict.

The data, step by step (:func:`label_curve`, :func:`fourier_features`)::

    s(t) = sum_{m=1}^{M} sin(2 pi f_m t + phi_m),  t = 0 .. T-1   (f_m log-uniform, phi_m uniform)
    u(t) = (rank of s(t) among s(0 .. T-1) + 1/2) / T           (values exactly uniform)
    q(t) = Q_shape(u(t))                                        (the shape's quantile function)
    y(t) = (q(t) - min q) / (max q - min q)                     (labels in [0, 1])
    x(t) = y(t) + noise * eps(t),  eps ~ N(0, 1) i.i.d.         (the observed, noisy curve)

A sample ending at time i has the label ``y(i + horizon)`` and the input features
``c_k = (1/W) sum_{j=0}^{W-1} x(i - W + 1 + j) h_j exp(-2 pi i k j / W)``, ``k = 0 .. K-1``, with
window length ``W`` and taper ``h`` (rectangular by default), as ``2K - 1`` real numbers
``[Re c_0, Re c_1, Im c_1, ..., Re c_{K-1}, Im c_{K-1}]`` standardised with the training set's
mean and standard deviation. The rank transform keeps the curve's time structure (it is
monotone) while making the label histogram the shape's exactly; rare, extreme labels are the
times when many of the M waves peak together.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr, ndtri

from rramsim.rng import generator, spawn

#: The four label-distribution shapes of the paper.
SHAPES = ("unimodal", "skewed_unimodal", "bimodal", "skewed_bimodal")

#: Mixture components (weight, mean, standard deviation) of the two bimodal shapes.
_MIXTURES = {"bimodal": ((0.5, -1.0, 0.5), (0.5, 1.0, 0.5)),
             "skewed_bimodal": ((0.7, -1.0, 0.5), (0.3, 1.2, 0.5))}

#: Log-standard deviation of the lognormal behind the skewed unimodal shape.
_LOGNORMAL_SIGMA = 0.5


def _check_choice(value, choices, name: str):
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")


def _check_positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_nonneg(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


# --- label density ---------------------------------------------------------------------------

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
    def uniform(cls, support=(0.0, 1.0)) -> "LabelDensity":
        """The uniform density ``1 / (b - a)`` on ``support``."""
        a, b = _check_support(support)
        return cls(np.zeros(0), (a, b), float(np.log(2.0)))

    @classmethod
    def fit(cls, labels, degree: int = 8, support=None, ridge: float = 1e-4,
            max_iter: int = 200, tol: float = 1e-10) -> "LabelDensity":
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
        degree = _check_positive_int(degree, "degree")
        ridge = _check_nonneg(ridge, "ridge")
        y = np.asarray(labels, dtype=np.float64).ravel()
        if not np.all(np.isfinite(y)):
            raise ValueError("LabelDensity.fit: labels contain NaN or infinite values")
        if np.unique(y).size <= degree:
            raise ValueError(f"LabelDensity.fit: need more than degree = {degree} distinct "
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
            raise ValueError("LabelDensity: labels contain NaN or infinite values")
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
        raise ValueError(f"support must be a pair (a, b), got {support!r}") from None
    if not (np.isfinite(a) and np.isfinite(b) and a < b):
        raise ValueError(f"support must be a finite interval (a, b) with a < b, got {support!r}")
    return a, b


def _check_inside(y: np.ndarray, support, what: str) -> None:
    a, b = support
    if y.size and (y.min() < a or y.max() > b):
        raise ValueError(f"{what} must lie in the fitted range [{a:.6g}, {b:.6g}], got values "
                         f"in [{y.min():.6g}, {y.max():.6g}]")


# --- synthetic data --------------------------------------------------------------------------

def shape_quantile(shape: str, u) -> np.ndarray:
    """Quantile function ``Q(u)`` of a label shape (before normalisation to [0, 1]).

    - ``unimodal``: the inverse normal CDF, ``Phi^-1(u)``;
    - ``skewed_unimodal``: lognormal, ``exp(0.5 Phi^-1(u))`` (right-skewed);
    - ``bimodal``: equal mixture of N(-1, 0.5^2) and N(1, 0.5^2);
    - ``skewed_bimodal``: 0.7 N(-1, 0.5^2) + 0.3 N(1.2, 0.5^2).

    ``u`` (any shape) must lie in (0, 1).
    """
    _check_choice(shape, SHAPES, "shape")
    u = np.asarray(u, dtype=np.float64)
    if u.size and not (np.all(u > 0) and np.all(u < 1)):
        raise ValueError("shape_quantile: u must lie in the open interval (0, 1)")
    z = ndtri(u)
    if shape == "unimodal":
        return z
    if shape == "skewed_unimodal":
        return np.exp(_LOGNORMAL_SIGMA * z)
    comps = _MIXTURES[shape]
    # Invert the mixture CDF: start from the interpolated grid inverse, polish by Newton steps.
    lo = min(m - 9 * s for _, m, s in comps)
    hi = max(m + 9 * s for _, m, s in comps)
    grid = np.linspace(lo, hi, 20001)
    cdf = sum(w * ndtr((grid - m) / s) for w, m, s in comps)
    x = np.interp(u, cdf, grid)
    for _ in range(4):
        F = sum(w * ndtr((x - m) / s) for w, m, s in comps)
        f = sum(w * np.exp(-0.5 * ((x - m) / s) ** 2) / (s * np.sqrt(2 * np.pi))
                for w, m, s in comps)
        x = x - (F - u) / np.maximum(f, 1e-300)
    return x


def label_curve(shape: str, length: int, seed=None, n_waves: int = 12,
                periods=(16.0, 256.0)) -> np.ndarray:
    """A label curve ``y(t)``, ``t = 0 .. length-1`` (length,), with values in [0, 1] whose
    histogram is the ``shape``'s (see the module docstring).

    Parameters
    ----------
    shape : one of :data:`SHAPES`
    length : number of time steps ``T``
    seed : seeds the waves' frequencies and phases
    n_waves : number ``M`` of sine waves in the driving signal
    periods : (shortest, longest) period of the waves in time steps (frequencies log-uniform)
    """
    _check_choice(shape, SHAPES, "shape")
    length = _check_positive_int(length, "length", 2)
    n_waves = _check_positive_int(n_waves, "n_waves")
    p_lo, p_hi = (float(p) for p in periods)
    if not (2.0 <= p_lo <= p_hi):
        raise ValueError(f"periods must be (shortest, longest) with 2 <= shortest <= longest, "
                         f"got {periods!r}")
    rng = generator(seed)
    freq = np.exp(rng.uniform(np.log(1.0 / p_hi), np.log(1.0 / p_lo), n_waves))
    phase = rng.uniform(0.0, 2 * np.pi, n_waves)
    t = np.arange(length, dtype=np.float64)
    s = np.sin(2 * np.pi * freq[:, None] * t[None, :] + phase[:, None]).sum(axis=0)
    rank = np.empty(length)
    rank[np.argsort(s, kind="stable")] = np.arange(length)
    q = shape_quantile(shape, (rank + 0.5) / length)
    return (q - q.min()) / (q.max() - q.min())


def fourier_features(curve, ends, window: int = 32, n_coef: int = 8,
                     taper: str = "rectangular") -> np.ndarray:
    """Low-frequency Fourier coefficients of the windows ``curve[i - window + 1 .. i]``.

    Parameters
    ----------
    curve : (T,) array
    ends : (N,) int array
        Last index ``i`` of each window (``window - 1 <= i < T``).
    window : window length ``W`` in time steps
    n_coef : number ``K`` of coefficients ``c_0 .. c_{K-1}`` kept (``K <= W // 2 + 1``)
    taper : 'rectangular' or 'hann' (the taper ``h`` applied before the transform)

    Returns
    -------
    (N, 2K - 1) array: ``[Re c_0, Re c_1, Im c_1, ..., Re c_{K-1}, Im c_{K-1}]`` with
    ``c_k = (1/W) sum_j x_j h_j exp(-2 pi i k j / W)`` (``c_0`` is real: the window mean).
    """
    curve = np.asarray(curve, dtype=np.float64)
    window = _check_positive_int(window, "window", 2)
    n_coef = _check_positive_int(n_coef, "n_coef")
    if n_coef > window // 2 + 1:
        raise ValueError(f"n_coef must be <= window // 2 + 1 = {window // 2 + 1}, got {n_coef}")
    _check_choice(taper, ("rectangular", "hann"), "taper")
    ends = np.asarray(ends, dtype=np.int64)
    if ends.size and (ends.min() < window - 1 or ends.max() >= curve.size):
        raise ValueError(f"window ends must be in [{window - 1}, {curve.size - 1}]")
    idx = ends[:, None] + np.arange(-window + 1, 1)[None, :]
    h = np.ones(window) if taper == "rectangular" else np.hanning(window + 2)[1:-1]
    c = np.fft.rfft(curve[idx] * h, axis=1)[:, :n_coef] / window
    parts = [c[:, :1].real]
    for k in range(1, n_coef):
        parts += [c[:, k:k + 1].real, c[:, k:k + 1].imag]
    return np.concatenate(parts, axis=1)


@dataclass
class RegressionData:
    """A synthetic regression set (see :func:`make_dataset`).

    Attributes
    ----------
    x_train (n_train, 2K - 1), y_train (n_train,), x_test (n_test, 2K - 1), y_test (n_test,)
        Standardised features and labels in [0, 1].
    curve (T,), noisy (T,)
        The clean label curve and the observed noisy curve the features come from.
    train_ends (n_train,), test_ends (n_test,)
        Window end indices into the curves (labels are ``curve[ends + horizon]``).
    spec : dict
        The arguments that made the set.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    curve: np.ndarray
    noisy: np.ndarray
    train_ends: np.ndarray
    test_ends: np.ndarray
    spec: dict


def make_dataset(shape: str, noise: float = 0.05, n_train: int = 4000, n_test: int = 2000,
                 window: int = 32, n_coef: int = 8, horizon: int = 0, taper: str = "rectangular",
                 n_waves: int = 12, periods=(16.0, 256.0), seed=None) -> RegressionData:
    """A seeded synthetic regression set: Fourier features of a noisy label curve -> label.

    One curve of ``T = n_train + n_test + 2 (window + horizon)`` steps is made (see the module
    docstring); the first ``n_train`` windows are the training set, the last ``n_test`` the test
    set, with a gap so that no test window or label overlaps a training one.

    Parameters
    ----------
    shape : one of :data:`SHAPES`
    noise : standard deviation of the additive Gaussian noise on the observed curve, in label
        units (labels span [0, 1]); >= 0
    n_train, n_test : numbers of samples
    window, n_coef, taper : the feature extraction (:func:`fourier_features`)
    horizon : steps from the window's last point to the labelled one (0: the last point itself,
        > 0: a forecast)
    n_waves, periods : the driving signal (:func:`label_curve`)
    seed : one seed for everything (split into the curve's and the noise's)
    """
    _check_choice(shape, SHAPES, "shape")
    noise = _check_nonneg(noise, "noise")
    n_train = _check_positive_int(n_train, "n_train", 2)
    n_test = _check_positive_int(n_test, "n_test", 2)
    window = _check_positive_int(window, "window", 2)
    horizon = _check_positive_int(horizon, "horizon", 0)
    curve_seed, noise_seed = spawn(seed, 2)
    length = n_train + n_test + 2 * (window + horizon)
    curve = label_curve(shape, length, curve_seed, n_waves=n_waves, periods=periods)
    noisy = curve + noise * generator(noise_seed).standard_normal(length)
    train_ends = np.arange(window - 1, window - 1 + n_train)
    test_ends = np.arange(length - horizon - n_test, length - horizon)
    f_train = fourier_features(noisy, train_ends, window, n_coef, taper)
    f_test = fourier_features(noisy, test_ends, window, n_coef, taper)
    mean, std = f_train.mean(axis=0), f_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    spec = dict(shape=shape, noise=noise, n_train=n_train, n_test=n_test, window=window,
                n_coef=n_coef, horizon=horizon, taper=taper, n_waves=n_waves,
                periods=list(periods))
    return RegressionData((f_train - mean) / std, curve[train_ends + horizon],
                          (f_test - mean) / std, curve[test_ends + horizon], curve, noisy,
                          train_ends, test_ends, spec)


def sample_skewness(y) -> float:
    """Sample skewness ``mean((y - mean)^3) / std^3`` of a 1-d array."""
    y = np.asarray(y, dtype=np.float64).ravel()
    d = y - y.mean()
    return float(np.mean(d ** 3) / np.mean(d ** 2) ** 1.5)


def count_modes(y, bins: int = 30, smooth: int = 3, min_prominence: float = 0.1) -> int:
    """Number of modes of the histogram of ``y`` (1-d): peaks of the moving-average smoothed
    histogram (``smooth`` bins) whose prominence is at least ``min_prominence`` times the highest
    bin (a peak at either end counts)."""
    from scipy.signal import find_peaks

    counts, _ = np.histogram(np.asarray(y, dtype=np.float64).ravel(), bins=bins)
    h = np.convolve(np.pad(counts.astype(float), smooth // 2, mode="edge"),
                    np.ones(smooth) / smooth, mode="valid")
    peaks, _ = find_peaks(np.pad(h, 1), prominence=min_prominence * h.max())
    return int(peaks.size)


# --- metrics ---------------------------------------------------------------------------------

def rmse(outputs, targets) -> float:
    """Root-mean-square error over all entries (outputs (N, 1) or (N,), targets (N,))."""
    z = np.asarray(outputs, dtype=np.float64).ravel()
    t = np.asarray(targets, dtype=np.float64).ravel()
    if z.size != t.size:
        raise ValueError(f"outputs ({z.size}) and targets ({t.size}) differ in size")
    return float(np.sqrt(np.mean((z - t) ** 2))) if z.size else float("nan")


#: Histogram bins (on [0, 1], plus one overflow bin each side) of the stored predictions.
HIST_BINS = 40


def histogram_counts(values, bins: int = HIST_BINS, value_range=(0.0, 1.0)) -> list[int]:
    """Counts of ``values`` in ``bins`` equal bins over ``value_range = (lo, hi)`` (the last bin
    closed), with one overflow bin on each side (``bins + 2`` numbers: ``< lo``, the bins,
    ``> hi``)."""
    lo, hi = _check_support(value_range)
    bins = _check_positive_int(bins, "bins")
    v = np.asarray(values, dtype=np.float64).ravel()
    inner = np.histogram(v[(v >= lo) & (v <= hi)], bins, (lo, hi))[0]  # last bin closed
    return [int(np.sum(v < lo))] + inner.tolist() + [int(np.sum(v > hi))]


def histogram_overlap(a, b, bins: int = HIST_BINS, value_range=(0.0, 1.0)) -> float:
    """Overlap coefficient ``sum_k min(p_k, q_k)`` of the histograms of ``a`` and ``b`` (each
    normalised to probabilities) on the bins of :func:`histogram_counts` (``bins`` equal bins
    over ``value_range`` and an overflow bin each side); 1 for identical histograms, 0 for
    disjoint ones."""
    p = np.asarray(histogram_counts(a, bins, value_range)) / max(np.size(a), 1)
    q = np.asarray(histogram_counts(b, bins, value_range)) / max(np.size(b), 1)
    return float(np.minimum(p, q).sum())


def regression_metrics(outputs, targets, train_labels, density: LabelDensity | None = None,
                       tail: float = 0.05, density_threshold: float = 0.5,
                       bins: int = HIST_BINS) -> dict:
    """Test-set metrics of a regression network.

    Parameters
    ----------
    outputs : (N, 1) or (N,) predictions; targets : (N,) true labels
    train_labels : (M,) training labels: they define the tails (their ``tail`` and
        ``1 - tail`` quantiles)
    density : the training-label density; the low-density region is where
        ``g(y) < density_threshold`` times the uniform density ``1 / (b - a)`` (default: fitted
        on ``train_labels`` with :meth:`LabelDensity.fit`)
    tail : tail probability (0.05: the lowest and highest 5 %)
    density_threshold : relative density below which a label is "low-density"
    bins : histogram bins for the overlap (on the support of ``density``)

    Returns
    -------
    dict with ``rmse``, ``rmse_low_tail``, ``rmse_high_tail``, ``rmse_tails`` (both tails
    together), ``rmse_low_density``, ``rmse_core`` (labels outside both tails), ``bias_low_tail``
    and ``bias_high_tail`` (mean prediction minus label), ``overlap`` (histogram overlap of
    predictions and labels), the region sizes ``n_*`` and the thresholds used.
    """
    if not (0 < tail < 0.5):
        raise ValueError(f"tail must be in (0, 0.5), got {tail}")
    z = np.asarray(outputs, dtype=np.float64).ravel()
    t = np.asarray(targets, dtype=np.float64).ravel()
    if z.size != t.size:
        raise ValueError(f"outputs ({z.size}) and targets ({t.size}) differ in size")
    train_labels = np.asarray(train_labels, dtype=np.float64).ravel()
    if density is None:
        density = LabelDensity.fit(train_labels, support=(train_labels.min(), train_labels.max()))
    lo_q, hi_q = np.quantile(train_labels, [tail, 1 - tail])
    a, b = density.support
    g = density.pdf(t)
    regions = {"low_tail": t <= lo_q, "high_tail": t >= hi_q,
               "low_density": g < density_threshold / (b - a)}
    regions["tails"] = regions["low_tail"] | regions["high_tail"]
    regions["core"] = ~regions["tails"]
    out = {"rmse": rmse(z, t)}
    for name, mask in regions.items():
        out[f"rmse_{name}"] = rmse(z[mask], t[mask])
        out[f"n_{name}"] = int(mask.sum())
    for name in ("low_tail", "high_tail"):
        m = regions[name]
        out[f"bias_{name}"] = float(np.mean(z[m] - t[m])) if m.any() else float("nan")
    out["overlap"] = histogram_overlap(z, t, bins, (a, b))
    out.update(tail_quantiles=[float(lo_q), float(hi_q)], density_threshold=density_threshold,
               tail=tail)
    return out


# --- networks and training -------------------------------------------------------------------

#: Losses by name (see :func:`make_loss`).
LOSSES = ("mse", "mae", "huber", "wes")


def make_loss(name: str, density: LabelDensity | None = None, beta: float = 1.0,
              delta: float = 0.1, density_floor: float = 0.0):
    """A regression loss by name: 'mse', 'mae', 'huber' (``delta`` in label units) or 'wes'
    (needs the training-label ``density``; ``beta``, ``density_floor``)."""
    from rramsim.nn import HuberLoss, MAELoss, MSELoss, WESLoss

    _check_choice(name, LOSSES, "loss")
    if name == "mse":
        return MSELoss()
    if name == "mae":
        return MAELoss()
    if name == "huber":
        return HuberLoss(delta)
    if density is None:
        raise ValueError("loss 'wes' needs the training-label density")
    return WESLoss(density, beta, density_floor=density_floor)


def build_regressor(n_in: int, hidden=(64, 64), activation: str = "tanh", config=None,
                    seed=None):
    """A feed-forward regression network ``n_in -> hidden... -> 1`` (linear output).

    Parameters
    ----------
    n_in : number of input features
    hidden : widths of the hidden layers
    activation : 'tanh', 'relu' or 'sigmoid' (after every hidden layer)
    config : a :class:`~rramsim.config.TileConfig` for analog layers (every layer on its own
        tile, analog bias column), or None for floating point
    seed : seeds the initial weights (layer k from child k) and the tiles
    """
    from rramsim.nn import AnalogLinear, Linear, ReLU, Sequential, Sigmoid, Tanh

    acts = {"tanh": Tanh, "relu": ReLU, "sigmoid": Sigmoid}
    _check_choice(activation, tuple(acts), "activation")
    sizes = [_check_positive_int(n_in, "n_in")] + [_check_positive_int(h, "hidden width")
                                                   for h in hidden] + [1]
    seeds = spawn(seed, len(sizes) - 1)
    layers = []
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        name = f"fc{k + 1}"
        layers.append(Linear(a, b, seed=seeds[k], name=name) if config is None
                      else AnalogLinear(a, b, config, seed=seeds[k], name=name))
        if k < len(sizes) - 2:
            layers.append(acts[activation]())
    return Sequential(*layers)


def predict(model, x, batch_size: int = 1000) -> np.ndarray:
    """Network outputs (N,) for inputs (N, n_in), in eval mode."""
    model.eval()
    out = np.concatenate([model.forward(x[s:s + batch_size])
                          for s in range(0, len(x), batch_size)])
    model.train()
    return out.ravel()


def train_regressor(data: RegressionData, loss, hidden=(64, 64), activation: str = "tanh",
                    epochs: int = 60, batch_size: int = 32, lr: float = 0.05,
                    lr_decay: float = 0.1, warmup: int = 0, config=None, seed=None,
                    progress: bool = False):
    """Train a regression network on ``data`` with ``loss`` by :func:`rramsim.training.fit`
    (SGD, test RMSE recorded each epoch as ``test_rmse``).

    Learning rate of epoch ``e`` (1-based): ``lr * min(1, e / (warmup + 1)) * (1 - (1 -
    lr_decay) (e - 1) / (epochs - 1))``: a linear warm-up over the first ``warmup`` epochs (WES
    gives a few samples weights of tens; a full step on them while the network is far from
    the data can diverge) and a linear decay to ``lr * lr_decay``. The seed is split into the
    network's (initial weights, tiles) and the shuffling's.

    Parameters
    ----------
    data : the training and test sets (:func:`make_dataset`)
    loss : a :class:`~rramsim.nn.Loss` (see :func:`make_loss`)
    hidden, activation, config : the network (:func:`build_regressor`)
    epochs, batch_size, lr, lr_decay, warmup : the SGD schedule (see above)
    seed : seeds the network and the shuffling
    progress : show a progress line on stderr

    Returns
    -------
    model, history (per-epoch records, see :func:`~rramsim.training.fit`), predictions (n_test,)
    """
    from rramsim.training import fit

    epochs = _check_positive_int(epochs, "epochs", 0)
    warmup = _check_positive_int(warmup, "warmup", 0)
    if not (0 < lr_decay <= 1):
        raise ValueError(f"lr_decay must be in (0, 1], got {lr_decay}")
    if not (lr > 0):
        raise ValueError(f"lr must be > 0, got {lr}")
    model_seed, shuffle_seed = spawn(seed, 2)
    model = build_regressor(data.x_train.shape[1], hidden, activation, config, model_seed)

    def schedule(epoch):
        frac = (epoch - 1) / max(epochs - 1, 1)
        return lr * min(1.0, epoch / (warmup + 1)) * (1.0 - (1.0 - lr_decay) * frac)

    history = fit(model, data.x_train, data.y_train, data.x_test, data.y_test, epochs=epochs,
                  batch_size=batch_size, lr=lr, seed=shuffle_seed, progress=progress, loss=loss,
                  metric=rmse, metric_name="test_rmse", lr_schedule=schedule)
    return model, history, predict(model, data.x_test)


# --- study runs ------------------------------------------------------------------------------

def data_summary(data: RegressionData, density: LabelDensity, bins: int = HIST_BINS,
                 snippet: int = 400) -> dict:
    """What the data figure shows: label histograms (train and test, on [0, 1]), the fitted
    density on a grid, skewness, number of modes and a stretch of the clean and noisy curve."""
    grid = np.linspace(*density.support, 201)
    start = int(data.train_ends[0])
    return {"spec": data.spec, "bins": bins,
            "train_counts": histogram_counts(data.y_train, bins)[1:-1],
            "test_counts": histogram_counts(data.y_test, bins)[1:-1],
            "density_grid": grid, "density": density.pdf(grid),
            "skewness": sample_skewness(data.y_train), "modes": count_modes(data.y_train),
            "curve": data.curve[start:start + snippet], "noisy": data.noisy[start:start + snippet]}


def loss_label(task: dict) -> str:
    """Display name of a task's loss: 'MSE', 'MAE', 'Huber', or 'WES beta=...'."""
    name = task["loss"]
    return f"WES beta={task['beta']:g}" if name == "wes" else \
        {"mse": "MSE", "mae": "MAE", "huber": "Huber"}[name]


def run_wes_task(task: dict) -> dict:
    """One study run described by a JSON-able dict; returns the dict with its results added.

    Keys: ``name``; ``shape``, ``noise``, ``seed`` and optionally ``data`` (more keyword
    arguments of :func:`make_dataset`); ``loss`` (one of :data:`LOSSES`) with ``beta``,
    ``delta``, ``density_floor``; ``train`` (keyword arguments of :func:`train_regressor`:
    hidden, activation, epochs, batch_size, lr, lr_decay); optionally ``preset`` and
    ``overrides`` (an analog network on tiles of that preset); ``density_degree``, ``tail``,
    ``density_threshold``.

    The data depend on (shape, noise, seed) only, so that every loss sees the same sets; the
    network's initial weights and the shuffling come from the same seed.

    Added keys: ``metrics`` (:func:`regression_metrics`), ``history`` (test RMSE and train loss
    of about 30 epochs, :func:`thin_history`), ``pred_counts`` and ``test_counts``
    (:func:`histogram_counts`), ``seconds``, and ``diverged`` (None, or the error message of a run whose outputs became NaN/infinite; its
    metrics are then NaN).
    """
    t0 = time.perf_counter()
    data_seed, train_seed = spawn(task["seed"], 2)
    data = make_dataset(task["shape"], task["noise"], seed=data_seed, **task.get("data", {}))
    density = LabelDensity.fit(data.y_train, degree=task.get("density_degree", 8),
                               support=(0.0, 1.0))
    loss = make_loss(task["loss"], density, beta=task.get("beta", 1.0),
                     delta=task.get("delta", 0.1),
                     density_floor=task.get("density_floor", 0.0))
    config = None
    if task.get("preset") is not None:
        from rramsim.config import load_preset

        config = load_preset(task["preset"], task.get("overrides", {}))
    try:
        _, history, pred = train_regressor(data, loss, config=config, seed=train_seed,
                                           **task.get("train", {}))
    except FloatingPointError as exc:  # diverged: recorded, not fatal to a sweep
        return dict(task, diverged=str(exc), metrics={k: float("nan") for k in _METRIC_KEYS},
                    history=[], pred_counts=None, test_counts=histogram_counts(data.y_test),
                    seconds=time.perf_counter() - t0)
    metrics = regression_metrics(pred, data.y_test, data.y_train, density,
                                 tail=task.get("tail", 0.05),
                                 density_threshold=task.get("density_threshold", 0.5))
    return dict(task, diverged=None, metrics=metrics, history=thin_history(history),
                pred_counts=histogram_counts(pred), test_counts=histogram_counts(data.y_test),
                seconds=time.perf_counter() - t0)


def thin_history(history: list[dict], points: int = 30) -> list[dict]:
    """``{epoch, test_rmse, train_loss}`` of about ``points`` evenly spaced epochs of a
    :func:`~rramsim.training.fit` history (every k-th epoch, k = len // points, and the last),
    to keep the stored learning curves small."""
    step = max(1, (len(history) - 1) // points)
    keep = list(range(0, len(history), step))
    if keep[-1] != len(history) - 1:
        keep.append(len(history) - 1)
    return [{"epoch": history[i]["epoch"], "test_rmse": history[i]["test_rmse"],
             "train_loss": history[i]["train_loss"]} for i in keep]


_METRIC_KEYS = ("rmse", "rmse_low_tail", "rmse_high_tail", "rmse_tails", "rmse_low_density",
                "rmse_core", "overlap")


def _describe_wes(res: dict) -> str:
    m = res["metrics"]
    return ("diverged" if res.get("diverged")
            else f"RMSE {m['rmse']:.4f}, tails {m['rmse_tails']:.4f}")


def run_regression_tasks(tasks: list[dict], jobs: int = 1, cache_dir=None,
                         progress=print) -> list[dict]:
    """Run :func:`run_wes_task` on every task through :func:`rramsim.experiments.run_tasks`:
    ``jobs`` at a time in single-threaded worker processes, with its per-run JSON cache (a task
    whose ``cache_dir/<name>.json`` exists is read instead of run, so a sweep resumes)."""
    from rramsim.experiments import run_tasks

    jobs = _check_positive_int(jobs, "jobs")
    return run_tasks(tasks, jobs=jobs, cache_dir=cache_dir, progress=progress,
                     runner=run_wes_task, describe=_describe_wes)


def summarise_runs(runs: list[dict], metrics=("rmse", "rmse_tails", "rmse_low_tail",
                                                "rmse_high_tail", "rmse_low_density",
                                                "overlap"), reference: str = "MSE") -> dict:
    """Statistics of each metric per shape and loss, from runs of :func:`run_wes_task`.

    Returns
    -------
    dict with
    ``by_noise[shape][noise][loss label][metric]``: stats over seeds;
    ``overall[shape][loss label][metric]``: stats over all (noise, seed) runs;
    ``change[shape][loss label][metric]``: stats over (noise, seed) pairs of the relative change
    ``metric / metric of the reference loss - 1`` in the same (shape, noise, seed) (the same
    data and initial weights), i.e. a paired comparison with ``reference`` (MSE);
    ``diverged``: the names of the runs that diverged.
    Stats are :func:`rramsim.results.summary_stats` dicts (mean, std, min, max, n) over the
    runs that did not diverge (their metrics are NaN; ``n`` tells how many remain).
    """
    from rramsim.results import summary_stats

    by_noise: dict = {}
    overall: dict = {}
    ref = {(r["shape"], r["noise"], r["seed"]): r["metrics"] for r in runs
           if loss_label(r) == reference}
    change: dict = {}
    for r in runs:
        label = loss_label(r)
        by_noise.setdefault(r["shape"], {}).setdefault(str(r["noise"]), {}) \
            .setdefault(label, []).append(r["metrics"])
        overall.setdefault(r["shape"], {}).setdefault(label, []).append(r["metrics"])
        base = ref.get((r["shape"], r["noise"], r["seed"]))
        if base is not None:
            change.setdefault(r["shape"], {}).setdefault(label, []).append(
                {k: _ratio(r["metrics"][k], base[k]) - 1.0 for k in metrics})

    def stats(ms):
        out = {}
        for k in metrics:
            v = [m[k] for m in ms if m[k] is not None and np.isfinite(m[k])]
            out[k] = summary_stats(v) if v else {"mean": float("nan"), "std": float("nan"),
                                                  "min": float("nan"), "max": float("nan"),
                                                  "n": 0}
        return out

    return {"by_noise": {s: {n: {lab: stats(ms) for lab, ms in d2.items()}
                             for n, d2 in d1.items()} for s, d1 in by_noise.items()},
            "overall": {s: {lab: stats(ms) for lab, ms in d1.items()}
                        for s, d1 in overall.items()},
            "change": {s: {lab: stats(ms) for lab, ms in d1.items()}
                       for s, d1 in change.items()},
            "diverged": [r["name"] for r in runs if r.get("diverged")]}


def _ratio(a, b) -> float:
    """a / b, NaN where either is missing (None in JSON, NaN for a diverged run)."""
    return float("nan") if a is None or b is None else float(a) / float(b)
