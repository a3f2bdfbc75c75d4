"""rramsim: a pulse-level analog in-memory training simulator for resistive crossbar arrays.

The package is layered; each layer imports only from the ones below it (``tests/test_layers.py``
checks every import, including those inside functions)::

    errors, validation, rng, results    (base)
    kernels                             numba kernels, each beside its public wrapper
    config                              documented configuration sections, presets
    analog                              devices, converters (DAC/ADC), the crossbar tile
    nn                                  layers, losses, quantizers, optimisers
    metrics, data                       accuracy and regression metrics; MNIST, synthetic curves
    training                            the training loop
    networks, inference, analysis       builders and save/load; inference arrays; measurements
    experiments, plotting               study runners; figures
    cli                                 the ``rramsim`` command

Importing the package is cheap: numba kernels are compiled lazily on first use.
"""

from rramsim._version import __version__  # noqa: F401
from rramsim.config import (  # noqa: F401  (re-exported public API)
    ConfigError,
    DeviceConfig,
    IOConfig,
    MappingConfig,
    ReferenceConfig,
    TileConfig,
    UpdateConfig,
    load_preset,
)
