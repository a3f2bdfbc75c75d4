"""Runs of the training-algorithm study (``studies/training_algorithms.py``): the offset toy
problem on one tile, and the MNIST-MLP tasks of the algorithm comparison.

The offset toy (after Rasch et al. 2024, Fig. 3): a tile of ``n x n`` devices learns a fixed
target ``W*`` from random inputs ``x ~ N(0, 1)`` and noisy targets ``y = W* x + sigma xi`` with
the error ``d = W x - y`` (the gradient of ``|W x - y|^2 / 2``), so that only the update
algorithm matters when the forward pass is perfect. The reference of the array that takes the
gradient updates (A, or the one array of SGD) sits at its symmetry point, or ``offset`` (in
units of ``device.w_max``) above it.
"""

from __future__ import annotations

import numpy as np

from rramsim.analog.tile import AnalogTile
from rramsim.analog.transfer import TransferTile, make_tile
from rramsim.config import TileConfig
from rramsim.rng import generator, spawn


def offset_reference(tile, offset: float) -> None:
    """Move the reference devices of the array that takes the gradient updates by ``offset``
    (weight units), leaving its devices where they are."""
    if isinstance(tile, TransferTile):
        tile.offset_fast_reference(offset)
        return
    array = tile if isinstance(tile, AnalogTile) else tile.device
    state = array.state_dict()
    state["ref"] = state["ref"] + offset
    array.load_state_dict(state)


def offset_toy(config: TileConfig, n_updates: int, offset: float = 0.0, lr: float = 0.1,
               n: int = 5, target_scale: float = 0.3, noise: float = 0.1, record_every: int = 100,
               seed=0) -> dict:
    """Train one ``n x n`` tile on the offset toy problem.

    Parameters
    ----------
    config : the tile (``algorithm.kind`` chooses the algorithm; the forward pass should be
        perfect, ``forward.is_perfect = true``, for "perfect reads")
    n_updates : rank-one updates (one random input each)
    offset : reference offset of the gradient array from its symmetry point, in units of
        ``device.w_max`` (applied after zero-shifting)
    lr : learning rate of the SGD step
    target_scale : ``W* ~ U(-target_scale, target_scale)``
    noise : std ``sigma`` of the target noise
    record_every : updates between two records of the weight error
    seed : seeds the target (first child), the tile (second) and the inputs (third)

    Returns
    -------
    dict with ``updates`` (list) and ``error``: ``|W - W*|_F / |W*|_F`` after them, ``target``
    and ``final_weights`` (n x n lists).
    """
    target_seed, tile_seed, data_seed = spawn(seed, 3)
    target = generator(target_seed).uniform(-target_scale, target_scale, (n, n))
    tile = make_tile(n, n, config, seed=tile_seed)
    if config.reference.zero_shift:
        tile.zero_shift()
    if offset:
        offset_reference(tile, offset * config.device.w_max)
    tile.set_weights(np.zeros((n, n)))
    rng = generator(data_seed)
    norm = float(np.linalg.norm(target))
    updates, errors = [0], [float(np.linalg.norm(tile.get_weights() - target)) / norm]
    done = 0
    while done < n_updates:
        k = min(record_every, n_updates - done)
        X = rng.standard_normal((k, n))
        Y = X @ target.T + noise * rng.standard_normal((k, n))
        for b in range(k):
            x = X[b:b + 1]
            d = tile.forward(x) - Y[b:b + 1]
            tile.update(x, d, lr)
        done += k
        updates.append(done)
        errors.append(float(np.linalg.norm(tile.get_weights() - target)) / norm)
    return {"updates": updates, "error": errors, "target": target.tolist(),
            "final_weights": tile.get_weights().tolist()}
