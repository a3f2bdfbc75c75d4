"""Experiment runners shared by the command line, the demo and the studies (no file output)."""

from __future__ import annotations

import time

import numpy as np

from rramsim.config import TileConfig
from rramsim.data import train_test
from rramsim.models import MNIST_MLP, build_mlp
from rramsim.rng import spawn
from rramsim.training import fit


def train_mnist_mlp(config: TileConfig | None, epochs: int = 10, batch_size: int = 1,
                    lr: float = 0.01, train_subset: int | None = None, seed: int = 0,
                    data_dir=None, progress: bool = False, sizes=MNIST_MLP, bias: str = "analog",
                    on_epoch=None):
    """Train the MNIST MLP (analog when ``config`` is given, floating point when None).

    The seed is split into three children: the training subset, the network (initial weights,
    devices, random streams) and the shuffling. Evaluation always uses the full 10,000-image
    test set.

    Returns
    -------
    model : the trained network
    history : list of per-epoch records (see :func:`rramsim.training.fit`)
    info : dict with ``setup_seconds`` (building the network, including any symmetry-point
        search), ``device_pulses`` (total pulses applied by updates) and ``clipped_at_init``.
    """
    data_seed, model_seed, shuffle_seed = spawn(seed, 3)
    x_train, y_train, x_test, y_test = train_test(data_dir=data_dir, train_subset=train_subset,
                                                  seed=data_seed)
    t0 = time.perf_counter()
    model = build_mlp(sizes, config, bias=bias, seed=model_seed)
    setup = time.perf_counter() - t0
    history = fit(model, x_train, y_train, x_test, y_test, epochs=epochs, batch_size=batch_size,
                  lr=lr, seed=shuffle_seed, progress=progress, on_epoch=on_epoch)
    analog = model.analog_layers()
    info = {"setup_seconds": setup,
            "device_pulses": int(sum(a.tile.pulse_count for a in analog)),
            "clipped_at_init": [float(a.clipped_at_init) for a in analog]}
    return model, history, info


def layer_weights_vs_symmetry_point(model, layer: int = 0, max_points: int = 20000, seed=0):
    """Device weights of one analog layer against the devices' closed-form symmetry points.

    Returns a dict of 1-d arrays (a random sample of at most ``max_points`` devices):
    ``device_weight`` (w), ``weight`` (w - r), ``reference`` (r), ``symmetry_point``.
    """
    tile = model.analog_layers()[layer].tile
    sp = tile.devices.symmetry_point().ravel()
    rng = np.random.default_rng(seed)
    idx = rng.choice(sp.size, size=min(max_points, sp.size), replace=False)
    return {"device_weight": tile.w.ravel()[idx], "weight": tile.get_weights().ravel()[idx],
            "reference": tile.ref.ravel()[idx], "symmetry_point": sp[idx]}
