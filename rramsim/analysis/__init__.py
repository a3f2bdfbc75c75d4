"""Measurements on trained networks: gradient mismatch of straight-through estimators
(:mod:`~rramsim.analysis.gradients`), activation statistics (:mod:`~rramsim.analysis.activations`)
and device weights against symmetry points (:mod:`~rramsim.analysis.symmetry`)."""

from rramsim.analysis.activations import activation_stats
from rramsim.analysis.gradients import gradient_mismatch
from rramsim.analysis.symmetry import layer_weights_vs_symmetry_point

__all__ = ["activation_stats", "gradient_mismatch", "layer_weights_vs_symmetry_point"]
