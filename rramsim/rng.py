"""Seeds: every random number in rramsim descends from one integer seed.

A run's seed feeds a :class:`numpy.random.SeedSequence`; each consumer (a tile's device-to-device
draw, its kernel streams, the data shuffling, ...) spawns its own child, so adding a consumer
does not change the numbers another one gets as long as the spawn order is kept.
"""

from __future__ import annotations

import numpy as np

from rramsim.errors import InputError


def as_seed_sequence(seed) -> np.random.SeedSequence:
    """Return a SeedSequence for ``seed`` (an int, a list of ints, None, or a SeedSequence)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    entries = seed if isinstance(seed, (list, tuple)) else [seed]
    if seed is not None and not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool)
                                    and s >= 0 for s in entries):
        raise InputError(f"seed must be a non-negative integer (or a list of them) or None, "
                         f"got {seed!r}")
    return np.random.SeedSequence(seed)


def spawn(seed, n: int) -> list[np.random.SeedSequence]:
    """Spawn ``n`` independent child sequences of ``seed``."""
    return as_seed_sequence(seed).spawn(n)


def generator(seed) -> np.random.Generator:
    """A numpy Generator (PCG64) for the host-side draws of ``seed``."""
    return np.random.default_rng(as_seed_sequence(seed))


def stream_states(seed, n: int) -> np.ndarray:
    """``n`` SplitMix64 stream states (uint64, shape (n,)) for the kernels' random streams.

    Each state is a 64-bit word from the SeedSequence's entropy pool; SplitMix64 outputs of
    distinct starting words are decorrelated by its mixing function.
    """
    ss = as_seed_sequence(seed)
    words = ss.generate_state(max(2 * n, 2), dtype=np.uint32).astype(np.uint64)
    return (words[0::2][:n] << np.uint64(32)) | words[1::2][:n]
