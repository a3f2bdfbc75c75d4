"""Activation statistics of binary networks: the fraction of positive outputs of every
activation quantizer, learned thresholds and batch-norm biases."""

from __future__ import annotations

import numpy as np

from rramsim.nn import (
    BatchNorm1d,
    BatchNorm2d,
    BitSplit,
    LearnableThreshold,
    Quantize,
    Residual,
    Sequential,
)


def _walk(layers):
    for la in layers:
        if isinstance(la, Residual):
            yield from _walk(la.inner.layers)
        elif isinstance(la, BitSplit):
            for path in la.paths:
                yield from _walk(path.layers)
        elif isinstance(la, Sequential):
            yield from _walk(la.layers)
        else:
            yield la


def activation_stats(model: Sequential, x: np.ndarray, batch_size: int = 1000) -> dict:
    """Fraction of outputs above zero of every activation-quantizer layer, in eval mode on ``x``:
    the fraction of +1 of a sign/threshold activation, of 1 of a {0, 1} one. Also
    returns the learned thresholds (mean over channels per layer) of learnable-threshold layers
    and the mean batch-norm bias beta of the batch norms feeding activations.

    Returns
    -------
    dict with ``fraction_positive`` (list, one per activation layer), ``mean_fraction_positive``,
    ``learned_theta`` (list) and ``bn_bias_mean`` (list).
    """
    acts = [la for la in _walk(model.layers) if isinstance(la, (Quantize, LearnableThreshold))]
    counts = np.zeros(len(acts))
    totals = np.zeros(len(acts))
    model.eval()
    try:
        for start in range(0, len(x), batch_size):
            model.forward(x[start:start + batch_size])
            for k, la in enumerate(acts):  # each layer kept its last input
                y = la.forward(la._x)
                counts[k] += np.count_nonzero(y > 0)
                totals[k] += y.size
    finally:
        model.train()
    frac = counts / np.maximum(totals, 1)
    return {"fraction_positive": frac.tolist(),
            "mean_fraction_positive": float(frac.mean()) if len(frac) else float("nan"),
            "learned_theta": [float(la.theta.value.mean()) for la in acts
                              if isinstance(la, LearnableThreshold)],
            "bn_bias_mean": [float(la.bias.value.mean()) for la in _walk(model.layers)
                             if isinstance(la, (BatchNorm1d, BatchNorm2d))]}
