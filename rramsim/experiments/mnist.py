"""MNIST-MLP training runs (the zero-shifting study, ``rramsim train`` and the demo)."""

from __future__ import annotations

import time

from rramsim.analysis.symmetry import layer_weights_vs_symmetry_point
from rramsim.config import TileConfig, load_preset
from rramsim.data import train_test
from rramsim.experiments.runner import run_tasks
from rramsim.networks import MNIST_MLP, build_mlp
from rramsim.rng import spawn
from rramsim.training import fit


def train_mnist_mlp(config: TileConfig | None, epochs: int = 10, batch_size: int = 1,
                    lr: float = 0.01, train_subset: int | None = None, seed: int = 0,
                    data_dir=None, progress: bool = False, sizes=MNIST_MLP, bias: str = "analog",
                    on_epoch=None, fast: bool | None = None):
    """Train the MNIST MLP (analog when ``config`` is given, floating point when None).

    The seed is split into three children: the training subset, the network (initial weights,
    devices, random streams) and the shuffling. Evaluation always uses the full 10,000-image
    test set.

    ``fast`` selects the training step (:func:`rramsim.training.fit`): None the compiled one
    when eligible, False the layer-by-layer reference path.

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
                  lr=lr, seed=shuffle_seed, progress=progress, on_epoch=on_epoch,
                  fast=fast)
    analog = model.analog_layers()
    info = {"setup_seconds": setup,
            "device_pulses": int(sum(a.tile.pulse_count for a in analog)),
            "clipped_at_init": [float(a.clipped_at_init) for a in analog]}
    return model, history, info


def _run_training_task(task: dict) -> dict:
    """One training run described by a JSON-able dict (for worker processes)."""
    cfg = None
    if task.get("preset") is not None:
        cfg = load_preset(task["preset"], task.get("overrides", {}))
    def report(rec):  # one line per epoch from each worker, so long sweeps show progress
        if task.get("verbose", True) and rec["epoch"] > 0:
            print(f"    {task['name']}: epoch {rec['epoch']}/{task['epochs']}, test accuracy "
                  f"{100 * rec['test_accuracy']:.2f} %, {rec['seconds']:.0f} s", flush=True)

    model, history, info = train_mnist_mlp(cfg, epochs=task["epochs"],
                                           batch_size=task.get("batch_size", 1),
                                           lr=task.get("lr", 0.01),
                                           train_subset=task.get("train_subset"),
                                           seed=task["seed"], data_dir=task.get("data_dir"),
                                           on_epoch=report)
    out = dict(task, history=history, info=info,
               final_test_accuracy=history[-1]["test_accuracy"])
    if cfg is not None and task.get("record_weights"):
        out["weights_vs_sp"] = [dict(layer_weights_vs_symmetry_point(model, k, max_points=3000),
                                     layer=k + 1) for k in range(len(model.analog_layers()))]
    return out


def _describe_training(res: dict) -> str:
    return f"test accuracy {100 * res['final_test_accuracy']:.2f} %"


def run_training_tasks(tasks: list[dict], jobs: int = 1, cache_dir=None,
                       progress=print, cached_only: bool = False) -> list[dict]:
    """Run MNIST-MLP training tasks (:func:`_run_training_task`: ``name``, ``preset``,
    ``overrides``, ``epochs``, ``batch_size``, ``lr``, ``train_subset``, ``seed``, ``data_dir``,
    ``record_weights``) through :func:`rramsim.experiments.runner.run_tasks` (``cached_only``:
    only the finished ones, nothing run)."""
    return run_tasks(tasks, _run_training_task, jobs=jobs, cache_dir=cache_dir,
                     progress=progress, describe=_describe_training, cached_only=cached_only)
