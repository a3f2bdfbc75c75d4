"""Shared fixtures of the crossbar-core tests (naive twins live in ``tests/naive.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import numba
import numpy as np
import pytest

from rramsim.config import TileConfig

# The benchmark-only kernels live with the benchmarks (studies/bench_kernels.py).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "studies"))

#: A device without any variation: the closed-form oracles hold exactly.
NO_VARIATION = {"device.dw_min_dtod": 0.0, "device.up_down_dtod": 0.0, "device.w_min_dtod": 0.0,
                "device.w_max_dtod": 0.0, "device.dw_min_ctoc": 0.0}


def config(*bases: dict, **overrides) -> TileConfig:
    """A TileConfig from dotted overrides; keyword names use ``__`` for the dot
    (``device__dw_min=0.01``), positional dicts use dotted keys."""
    items: dict = {}
    for base in bases:
        items.update(base)
    items.update({k.replace("__", "."): v for k, v in overrides.items()})
    return TileConfig().with_overrides(items) if items else TileConfig()


@pytest.fixture
def make_config():
    """The :func:`config` builder, as a fixture."""
    return config


@pytest.fixture
def rng():
    """A fixed-seed numpy Generator for test inputs."""
    return np.random.default_rng(20240601)


@pytest.fixture
def restore_threads():
    """Restore numba's thread count after a test that changes it."""
    n = numba.get_num_threads()
    yield
    numba.set_num_threads(n)
