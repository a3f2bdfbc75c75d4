"""Peripherals of an analog pass: DAC, output noise, ADC, noise and bound management.

The conversion functions here are plain numpy (for users and tests); the tile's hot path runs
the same arithmetic inside the compiled kernel of :func:`rramsim.kernels.mvm.analog_mvm`.
"""

from __future__ import annotations

import numpy as np

from rramsim.config import IOConfig


def quantize(v, bound: float, bits: int) -> np.ndarray:
    """Clip ``v`` to [-bound, bound] and round to ``2**bits - 1`` equally spaced levels.

    The levels are ``k * step`` with ``step = 2 bound / (2**bits - 2)`` and
    ``|k| <= 2**(bits - 1) - 1``, so 0 and both bounds are levels. ``bits = 0``: clip only.
    Rounds half to even (numpy's ``round``).
    """
    v = np.clip(np.asarray(v, dtype=np.float64), -bound, bound)
    if bits > 0:
        step = 2.0 * bound / (2.0 ** bits - 2.0)
        v = np.round(v / step) * step
    return v


def analog_mvm(M: np.ndarray, X: np.ndarray, io: IOConfig, state: np.ndarray):
    """``Y = X M^T`` through the peripherals ``io``.

    Parameters
    ----------
    M : ndarray (n_out, n_in), the oriented weight matrix (``W`` forward, ``W.T`` backward)
    X : ndarray (B, n_in), inputs
    io : IOConfig
    state : uint64 array (1,), the output-noise random stream (advanced in place)

    Returns
    -------
    Y : ndarray (B, n_out)
    repeats : int, number of bound-management repetitions
    """
    if io.is_perfect:
        return X @ M.T, 0
    from rramsim.kernels.mvm import (
        analog_mvm as kernel,  # lazy: numba loads on first use
    )

    return kernel(M, X, io, state)
