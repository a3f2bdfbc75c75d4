"""Figures: pure functions from results (dicts / arrays, as the studies store them in JSON) to
a saved PNG; no computation here beyond what a figure shows (means, ranges).

Figures are drawn with matplotlib's object-oriented API, never through pyplot
(:mod:`rramsim.plotting.base`): drawing changes no backend and leaves no figure open, so the
functions are safe to call from a notebook or an interactive session. matplotlib itself is
imported on the first figure, so importing rramsim stays cheap.

One module per topic; the device and training figures are also available here::

    devices      pulse_response, symmetry_point_histogram, symmetry_point_distributions
    device_fit   measured vs simulated pulse responses (fit-device, measured-devices study)
    training     learning_curves, weight_histograms, accuracy_vs_asymmetry,
                 weights_vs_symmetry_points
    binary       BinaryDuo, unbalanced thresholds, gradient mismatch (binary-network studies)
    bitsplit     accuracy against activation bits (BitSplit study)
    inference    accuracy against ADC bits, ADC cost (array-mapping study)
    regression   the WES loss study
    sweep        a metric against a swept key (``rramsim sweep``)
    algorithms   offset toy, accuracy by algorithm, accuracy vs states (training algorithms)
"""

from rramsim.plotting import (  # noqa: F401
    algorithms,
    binary,
    bitsplit,
    devices,
    inference,
    regression,
    sweep,
    training,
)
from rramsim.plotting.base import save_figure, subplots  # noqa: F401
from rramsim.plotting.devices import (  # noqa: F401
    pulse_response,
    symmetry_point_distributions,
    symmetry_point_histogram,
)
from rramsim.plotting.training import (  # noqa: F401
    accuracy_vs_asymmetry,
    learning_curves,
    weight_histograms,
    weights_vs_symmetry_points,
)
