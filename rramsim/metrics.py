"""Metrics of trained networks: classification accuracy and the regression metrics of the WES
study (RMSE overall, in the tails and where the label density is low; histogram overlap)."""

from __future__ import annotations

import numpy as np

from rramsim.errors import InputError
from rramsim.nn.density import LabelDensity, _check_support
from rramsim.validation import check_positive_int


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


def rmse(outputs, targets) -> float:
    """Root-mean-square error over all entries (outputs (N, 1) or (N,), targets (N,))."""
    z = np.asarray(outputs, dtype=np.float64).ravel()
    t = np.asarray(targets, dtype=np.float64).ravel()
    if z.size != t.size:
        raise InputError(f"outputs ({z.size}) and targets ({t.size}) differ in size")
    return float(np.sqrt(np.mean((z - t) ** 2))) if z.size else float("nan")


#: Histogram bins (on [0, 1], plus one overflow bin each side) of the stored predictions.
HIST_BINS = 40


def histogram_counts(values, bins: int = HIST_BINS, value_range=(0.0, 1.0)) -> list[int]:
    """Counts of ``values`` in ``bins`` equal bins over ``value_range = (lo, hi)`` (the last bin
    closed), with one overflow bin on each side (``bins + 2`` numbers: ``< lo``, the bins,
    ``> hi``)."""
    lo, hi = _check_support(value_range)
    bins = check_positive_int(bins, "bins")
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
        raise InputError(f"tail must be in (0, 0.5), got {tail}")
    z = np.asarray(outputs, dtype=np.float64).ravel()
    t = np.asarray(targets, dtype=np.float64).ravel()
    if z.size != t.size:
        raise InputError(f"outputs ({z.size}) and targets ({t.size}) differ in size")
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


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose largest output is the label (``metric`` of classification)."""
    return float(np.mean(np.argmax(outputs, axis=1) == labels))
