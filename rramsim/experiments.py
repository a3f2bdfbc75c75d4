"""Experiment runners shared by the command line, the demo and the studies (no file output)."""

from __future__ import annotations

import time

import numpy as np

from rramsim.config import TileConfig, load_preset
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

    Returns a dict of 1-d arrays (a random sample of at most ``max_points`` devices), all in
    device units: ``device_weight`` (w), ``weight`` (w - r; the network weight is
    ``weight_scale`` times it), ``reference`` (r), ``symmetry_point`` (closed form, the oracle
    of the pulse protocol), and the least-squares slopes ``slope_device_weight`` and
    ``slope_weight`` of w and w - r on w_sp.
    """
    tile = model.analog_layers()[layer].tile
    sp = tile.devices.symmetry_point().ravel()
    rng = np.random.default_rng(seed)
    idx = rng.choice(sp.size, size=min(max_points, sp.size), replace=False)
    out = {"device_weight": tile.w.ravel()[idx], "weight": (tile.w - tile.ref).ravel()[idx],
           "reference": tile.ref.ravel()[idx], "symmetry_point": sp[idx]}
    # Least-squares slopes against w_sp: 1 means fully pulled onto the symmetry point, 0 means
    # independent of it. The effective weight w - r should not depend on w_sp.
    x = out["symmetry_point"] - out["symmetry_point"].mean()
    for key in ("device_weight", "weight"):
        out[f"slope_{key}"] = float(np.dot(x, out[key] - out[key].mean()) / max(np.dot(x, x),
                                                                                   1e-300))
    return out


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


def run_tasks(tasks: list[dict], jobs: int = 1, cache_dir=None, progress=print, runner=None,
              describe=None) -> list[dict]:
    """Run training tasks, ``jobs`` at a time in worker processes (one thread each).

    Workers run single-threaded (numba and BLAS): runs are parallel across processes, and
    multi-threaded BLAS spinning on a loaded machine costs more than it gains at these sizes.
    ``jobs = 0`` runs the tasks in this process instead. Workers are started with ``spawn``:
    a script that calls this must guard its top level with ``if __name__ == "__main__":``.

    ``runner(task) -> dict`` runs one task (a module-level function, so workers can import it;
    default: MNIST MLP training, :func:`_run_training_task`); the result must keep the task's
    ``name``. ``describe(result) -> str`` words its progress line.

    With ``cache_dir``, each finished task is written to ``cache_dir/<task name>.json`` and a
    task whose file exists is not run again, so an interrupted sweep resumes where it stopped.
    """
    import json
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from pathlib import Path

    from rramsim.results import to_jsonable, write_json

    results: dict[str, dict] = {}
    todo = []
    for t in tasks:
        path = Path(cache_dir) / f"{t['name']}.json" if cache_dir else None
        if path is not None and path.is_file():
            results[t["name"]] = json.loads(path.read_text())
        else:
            todo.append(t)
    runner = runner or _run_training_task
    describe = describe or _describe_training
    if todo and progress:
        progress(f"{len(todo)} runs to do ({len(tasks) - len(todo)} cached), {jobs} at a time")
    t0 = time.perf_counter()

    def finish(res):
        res = to_jsonable(res)
        results[res["name"]] = res
        if cache_dir:
            write_json(Path(cache_dir) / f"{res['name']}.json", res)
        if progress:
            progress(f"  [{len(results)}/{len(tasks)}] {res['name']}: {describe(res)} "
                     f"({time.perf_counter() - t0:.0f} s)")

    if jobs <= 0:  # in this process (for debugging): BLAS / numba keep their thread settings
        for t in todo:
            finish(runner(t))
    elif todo:
        env_keys = ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
        old = {k: os.environ.get(k) for k in env_keys}
        os.environ.update({k: "1" for k in env_keys})  # inherited by the workers
        try:
            # spawn (not fork): the workers must import numpy/numba with one thread each
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
                futures = [pool.submit(runner, t) for t in todo]
                for f in as_completed(futures):
                    finish(f.result())
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return [results[t["name"]] for t in tasks]


def study_args(doc: str, name: str, argv=None, extra=None):
    """The command line every study script shares: ``--quick``, ``--jobs``, ``--out``,
    ``--data-dir``. Returns ``(args, tag)`` where ``tag`` is ``name`` or ``name_quick``, the
    stem of the study's output files. ``extra(parser)`` may add study-specific options."""
    import argparse
    from pathlib import Path

    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small version (a few minutes)")
    ap.add_argument("--jobs", type=int, default=2, help="runs in parallel (default 2)")
    ap.add_argument("--out", type=Path, default=Path("plots"), help="output folder (plots/)")
    ap.add_argument("--data-dir", default=None, help="folder with the data set's IDX files")
    if extra is not None:
        extra(ap)
    args = ap.parse_args(argv)
    return args, name + ("_quick" if args.quick else "")
