"""rramsim: a pulse-level analog in-memory training simulator for resistive crossbar arrays.

Layers of the library, each talking only to the one below::

    device model (devices.py) -> crossbar tile with reference array and peripherals (tile.py,
    peripherals.py) -> network layers (nn/) -> training loop (training.py) -> studies / CLI

Importing the package is cheap: numba kernels are compiled lazily on first use.
"""

__version__ = "0.1.0"

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
