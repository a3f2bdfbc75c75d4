"""WES-study runs: train a regressor with a loss, one study run as a JSON-able task, the
process-pool runner for many, and the summary statistics the figures are drawn from."""

from __future__ import annotations

import time

import numpy as np

from rramsim.config import load_preset
from rramsim.data.regression import RegressionData, make_dataset
from rramsim.errors import InputError
from rramsim.experiments.runner import run_tasks
from rramsim.metrics import (
    HIST_BINS,
    count_modes,
    histogram_counts,
    regression_metrics,
    rmse,
    sample_skewness,
)
from rramsim.networks.regressor import build_regressor
from rramsim.nn.density import LabelDensity
from rramsim.nn.losses import make_loss
from rramsim.results import summary_stats
from rramsim.rng import spawn
from rramsim.training import fit, predict
from rramsim.validation import check_positive_int


def train_regressor(data: RegressionData, loss, hidden=(64, 64), activation: str = "tanh",
                    epochs: int = 60, batch_size: int = 32, lr: float = 0.05,
                    lr_decay: float = 0.1, warmup: int = 0, config=None, seed=None,
                    progress: bool = False):
    """Train a regression network on ``data`` with ``loss`` by :func:`rramsim.training.fit`
    (SGD, test RMSE recorded each epoch as ``test_rmse``).

    Learning rate of epoch ``e`` (1-based): ``lr * min(1, e / (warmup + 1)) * (1 - (1 -
    lr_decay) (e - 1) / (epochs - 1))``: a linear warm-up over the first ``warmup`` epochs (WES
    gives a few samples weights of tens; a full step on them while the network is far from
    the data can diverge) and a linear decay to ``lr * lr_decay``. The seed is split into the
    network's (initial weights, tiles) and the shuffling's.

    Parameters
    ----------
    data : the training and test sets (:func:`make_dataset`)
    loss : a :class:`~rramsim.nn.Loss` (see :func:`make_loss`)
    hidden, activation, config : the network (:func:`build_regressor`)
    epochs, batch_size, lr, lr_decay, warmup : the SGD schedule (see above)
    seed : seeds the network and the shuffling
    progress : show a progress line on stderr

    Returns
    -------
    model, history (per-epoch records, see :func:`~rramsim.training.fit`), predictions (n_test,)
    """
    epochs = check_positive_int(epochs, "epochs", 0)
    warmup = check_positive_int(warmup, "warmup", 0)
    if not (0 < lr_decay <= 1):
        raise InputError(f"lr_decay must be in (0, 1], got {lr_decay}")
    if not (lr > 0):
        raise InputError(f"lr must be > 0, got {lr}")
    model_seed, shuffle_seed = spawn(seed, 2)
    model = build_regressor(data.x_train.shape[1], hidden, activation, config, model_seed)

    def schedule(epoch):
        frac = (epoch - 1) / max(epochs - 1, 1)
        return lr * min(1.0, epoch / (warmup + 1)) * (1.0 - (1.0 - lr_decay) * frac)

    history = fit(model, data.x_train, data.y_train, data.x_test, data.y_test, epochs=epochs,
                  batch_size=batch_size, lr=lr, seed=shuffle_seed, progress=progress, loss=loss,
                  metric=rmse, metric_name="test_rmse", lr_schedule=schedule)
    return model, history, predict(model, data.x_test)


def data_summary(data: RegressionData, density: LabelDensity, bins: int = HIST_BINS,
                 snippet: int = 400) -> dict:
    """What the data figure shows: label histograms (train and test, on [0, 1]), the fitted
    density on a grid, skewness, number of modes and a stretch of the clean and noisy curve."""
    grid = np.linspace(*density.support, 201)
    start = int(data.train_ends[0])
    return {"spec": data.spec, "bins": bins,
            "train_counts": histogram_counts(data.y_train, bins)[1:-1],
            "test_counts": histogram_counts(data.y_test, bins)[1:-1],
            "density_grid": grid, "density": density.pdf(grid),
            "skewness": sample_skewness(data.y_train), "modes": count_modes(data.y_train),
            "curve": data.curve[start:start + snippet], "noisy": data.noisy[start:start + snippet]}


def loss_label(task: dict) -> str:
    """Display name of a task's loss: 'MSE', 'MAE', 'Huber', or 'WES beta=...'."""
    name = task["loss"]
    return f"WES beta={task['beta']:g}" if name == "wes" else \
        {"mse": "MSE", "mae": "MAE", "huber": "Huber"}[name]


def run_wes_task(task: dict) -> dict:
    """One study run described by a JSON-able dict; returns the dict with its results added.

    Keys: ``name``; ``shape``, ``noise``, ``seed`` and optionally ``data`` (more keyword
    arguments of :func:`make_dataset`); ``loss`` (one of :data:`LOSSES`) with ``beta``,
    ``delta``, ``density_floor``; ``train`` (keyword arguments of :func:`train_regressor`:
    hidden, activation, epochs, batch_size, lr, lr_decay); optionally ``preset`` and
    ``overrides`` (an analog network on tiles of that preset); ``density_degree``, ``tail``,
    ``density_threshold``.

    The data depend on (shape, noise, seed) only, so that every loss sees the same sets; the
    network's initial weights and the shuffling come from the same seed.

    Added keys: ``metrics`` (:func:`regression_metrics`), ``history`` (test RMSE and train loss
    of about 30 epochs, :func:`thin_history`), ``pred_counts`` and ``test_counts``
    (:func:`histogram_counts`), ``seconds``, and ``diverged`` (None, or the error message of a
    run whose outputs became NaN/infinite; its metrics are then NaN).
    """
    t0 = time.perf_counter()
    data_seed, train_seed = spawn(task["seed"], 2)
    data = make_dataset(task["shape"], task["noise"], seed=data_seed, **task.get("data", {}))
    density = LabelDensity.fit(data.y_train, degree=task.get("density_degree", 8),
                               support=(0.0, 1.0))
    loss = make_loss(task["loss"], density, beta=task.get("beta", 1.0),
                     delta=task.get("delta", 0.1),
                     density_floor=task.get("density_floor", 0.0))
    config = None
    if task.get("preset") is not None:
        config = load_preset(task["preset"], task.get("overrides", {}))
    try:
        _, history, pred = train_regressor(data, loss, config=config, seed=train_seed,
                                           **task.get("train", {}))
    except FloatingPointError as exc:  # diverged: recorded, not fatal to a sweep
        return dict(task, diverged=str(exc), metrics={k: float("nan") for k in _METRIC_KEYS},
                    history=[], pred_counts=None, test_counts=histogram_counts(data.y_test),
                    seconds=time.perf_counter() - t0)
    metrics = regression_metrics(pred, data.y_test, data.y_train, density,
                                 tail=task.get("tail", 0.05),
                                 density_threshold=task.get("density_threshold", 0.5))
    return dict(task, diverged=None, metrics=metrics, history=thin_history(history),
                pred_counts=histogram_counts(pred), test_counts=histogram_counts(data.y_test),
                seconds=time.perf_counter() - t0)


def thin_history(history: list[dict], points: int = 30) -> list[dict]:
    """``{epoch, test_rmse, train_loss}`` of about ``points`` evenly spaced epochs of a
    :func:`~rramsim.training.fit` history (every k-th epoch, k = len // points, and the last),
    to keep the stored learning curves small."""
    step = max(1, (len(history) - 1) // points)
    keep = list(range(0, len(history), step))
    if keep[-1] != len(history) - 1:
        keep.append(len(history) - 1)
    return [{"epoch": history[i]["epoch"], "test_rmse": history[i]["test_rmse"],
             "train_loss": history[i]["train_loss"]} for i in keep]


_METRIC_KEYS = ("rmse", "rmse_low_tail", "rmse_high_tail", "rmse_tails", "rmse_low_density",
                "rmse_core", "overlap")


def _describe_wes(res: dict) -> str:
    m = res["metrics"]
    return ("diverged" if res.get("diverged")
            else f"RMSE {m['rmse']:.4f}, tails {m['rmse_tails']:.4f}")


def run_regression_tasks(tasks: list[dict], jobs: int = 1, cache_dir=None,
                         progress=print) -> list[dict]:
    """Run :func:`run_wes_task` on every task through :func:`rramsim.experiments.run_tasks`:
    ``jobs`` at a time in single-threaded worker processes, with its per-run JSON cache (a task
    whose ``cache_dir/<name>.json`` exists is read instead of run, so a sweep resumes)."""
    jobs = check_positive_int(jobs, "jobs")
    return run_tasks(tasks, run_wes_task, jobs=jobs, cache_dir=cache_dir, progress=progress,
                     describe=_describe_wes)


def summarise_runs(runs: list[dict], metrics=("rmse", "rmse_tails", "rmse_low_tail",
                                                "rmse_high_tail", "rmse_low_density",
                                                "overlap"), reference: str = "MSE") -> dict:
    """Statistics of each metric per shape and loss, from runs of :func:`run_wes_task`.

    Returns
    -------
    dict with
    ``by_noise[shape][noise][loss label][metric]``: stats over seeds;
    ``overall[shape][loss label][metric]``: stats over all (noise, seed) runs;
    ``change[shape][loss label][metric]``: stats over (noise, seed) pairs of the relative change
    ``metric / metric of the reference loss - 1`` in the same (shape, noise, seed) (the same
    data and initial weights), i.e. a paired comparison with ``reference`` (MSE);
    ``diverged``: the names of the runs that diverged.
    Stats are :func:`rramsim.results.summary_stats` dicts (mean, std, min, max, n) over the
    runs that did not diverge (their metrics are NaN; ``n`` tells how many remain).
    """
    by_noise: dict = {}
    overall: dict = {}
    ref = {(r["shape"], r["noise"], r["seed"]): r["metrics"] for r in runs
           if loss_label(r) == reference}
    change: dict = {}
    for r in runs:
        label = loss_label(r)
        by_noise.setdefault(r["shape"], {}).setdefault(str(r["noise"]), {}) \
            .setdefault(label, []).append(r["metrics"])
        overall.setdefault(r["shape"], {}).setdefault(label, []).append(r["metrics"])
        base = ref.get((r["shape"], r["noise"], r["seed"]))
        if base is not None:
            change.setdefault(r["shape"], {}).setdefault(label, []).append(
                {k: _ratio(r["metrics"][k], base[k]) - 1.0 for k in metrics})

    def stats(ms):
        out = {}
        for k in metrics:
            v = [m[k] for m in ms if m[k] is not None and np.isfinite(m[k])]
            out[k] = summary_stats(v) if v else {"mean": float("nan"), "std": float("nan"),
                                                  "min": float("nan"), "max": float("nan"),
                                                  "n": 0}
        return out

    return {"by_noise": {s: {n: {lab: stats(ms) for lab, ms in d2.items()}
                             for n, d2 in d1.items()} for s, d1 in by_noise.items()},
            "overall": {s: {lab: stats(ms) for lab, ms in d1.items()}
                        for s, d1 in overall.items()},
            "change": {s: {lab: stats(ms) for lab, ms in d1.items()}
                       for s, d1 in change.items()},
            "diverged": [r["name"] for r in runs if r.get("diverged")]}


def _ratio(a, b) -> float:
    """a / b, NaN where either is missing (None in JSON, NaN for a diverged run)."""
    return float("nan") if a is None or b is None else float(a) / float(b)
