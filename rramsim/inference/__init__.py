"""Trained networks on inference arrays: weights on device pairs, layers tiled into arrays of at
most N rows, ADCs per column, 1-bit or bit-serial input drivers (:mod:`~rramsim.inference.arrays`);
conversion and latency cost; the exactness invariant (:mod:`~rramsim.inference.exactness`)."""

from rramsim.errors import MappingError
from rramsim.inference.arrays import (
    BACKENDS,
    REAL,
    ArrayLayer,
    InputCode,
    MappedNetwork,
    map_network,
)
from rramsim.inference.exactness import exactness_check

__all__ = ["BACKENDS", "REAL", "ArrayLayer", "InputCode", "MappedNetwork", "MappingError",
           "exactness_check", "map_network"]
