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

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from rramsim.errors import InputError
from rramsim.rng import generator, spawn
from rramsim.validation import check_choice, check_nonneg, check_positive_int

#: The four label-distribution shapes of the paper.
SHAPES = ("unimodal", "skewed_unimodal", "bimodal", "skewed_bimodal")

#: Mixture components (weight, mean, standard deviation) of the two bimodal shapes.
_MIXTURES = {"bimodal": ((0.5, -1.0, 0.5), (0.5, 1.0, 0.5)),
             "skewed_bimodal": ((0.7, -1.0, 0.5), (0.3, 1.2, 0.5))}

#: Log-standard deviation of the lognormal behind the skewed unimodal shape.
_LOGNORMAL_SIGMA = 0.5


# --- label density ---------------------------------------------------------------------------


# --- synthetic data --------------------------------------------------------------------------

def shape_quantile(shape: str, u) -> np.ndarray:
    """Quantile function ``Q(u)`` of a label shape (before normalisation to [0, 1]).

    - ``unimodal``: the inverse normal CDF, ``Phi^-1(u)``;
    - ``skewed_unimodal``: lognormal, ``exp(0.5 Phi^-1(u))`` (right-skewed);
    - ``bimodal``: equal mixture of N(-1, 0.5^2) and N(1, 0.5^2);
    - ``skewed_bimodal``: 0.7 N(-1, 0.5^2) + 0.3 N(1.2, 0.5^2).

    ``u`` (any shape) must lie in (0, 1).
    """
    check_choice(shape, SHAPES, "shape")
    u = np.asarray(u, dtype=np.float64)
    if u.size and not (np.all(u > 0) and np.all(u < 1)):
        raise InputError("shape_quantile: u must lie in the open interval (0, 1)")
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
    check_choice(shape, SHAPES, "shape")
    length = check_positive_int(length, "length", 2)
    n_waves = check_positive_int(n_waves, "n_waves")
    p_lo, p_hi = (float(p) for p in periods)
    if not (2.0 <= p_lo <= p_hi):
        raise InputError(f"periods must be (shortest, longest) with 2 <= shortest <= longest, "
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
    window = check_positive_int(window, "window", 2)
    n_coef = check_positive_int(n_coef, "n_coef")
    if n_coef > window // 2 + 1:
        raise InputError(f"n_coef must be <= window // 2 + 1 = {window // 2 + 1}, got {n_coef}")
    check_choice(taper, ("rectangular", "hann"), "taper")
    ends = np.asarray(ends, dtype=np.int64)
    if ends.size and (ends.min() < window - 1 or ends.max() >= curve.size):
        raise InputError(f"window ends must be in [{window - 1}, {curve.size - 1}]")
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
    check_choice(shape, SHAPES, "shape")
    noise = check_nonneg(noise, "noise")
    n_train = check_positive_int(n_train, "n_train", 2)
    n_test = check_positive_int(n_test, "n_test", 2)
    window = check_positive_int(window, "window", 2)
    horizon = check_positive_int(horizon, "horizon", 0)
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


# --- metrics ---------------------------------------------------------------------------------


# --- networks and training -------------------------------------------------------------------


# --- study runs ------------------------------------------------------------------------------


