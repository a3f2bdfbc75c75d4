"""Training runs of binary, BinaryDuo and BitSplit networks on MNIST / Fashion-MNIST, and the
study task that trains, decouples or measures gradient mismatch."""

from __future__ import annotations

import time

from rramsim.analysis.activations import activation_stats
from rramsim.analysis.gradients import gradient_mismatch
from rramsim.data import train_test
from rramsim.errors import InputError
from rramsim.experiments.runner import run_tasks
from rramsim.networks import build_from_spec, decouple, save_model
from rramsim.nn import SGD, Adam, CosineLR, Sequential, SoftmaxCrossEntropy, StepLR
from rramsim.rng import spawn
from rramsim.training import evaluate, fit


def train_network(spec: dict, dataset: str = "mnist", epochs: int = 10, batch_size: int = 64,
                  lr: float = 1e-3, optimizer: str = "adam", schedule: str = "cosine",
                  weight_decay: float = 0.0, train_subset: int | None = None, seed: int = 0,
                  data_dir=None, model: Sequential | None = None, progress: bool = False,
                  on_epoch=None):
    """Train the network of ``spec`` (or ``model``, e.g. a decoupled one) on MNIST or
    Fashion-MNIST with :func:`rramsim.training.fit`.

    The seed is split into three children: the training subset, the initial weights and the
    shuffling (and the optimiser has no randomness), so the same seed gives the same numbers.
    Evaluation uses the full 10,000-image test set. Inputs are (N, 1, 28, 28) images in [0, 1].

    Parameters
    ----------
    spec : a builder spec (``model.spec``); ignored for building when ``model`` is given
    optimizer : "adam" or "sgd" (momentum 0.9); schedule : "cosine", "step" (x0.1 every third
        of the epochs) or "constant"

    Returns
    -------
    model, history (see :func:`rramsim.training.fit`), info ``{seconds, n_parameters}``
    """
    data_seed, model_seed, shuffle_seed = spawn(seed, 3)
    x_train, y_train, x_test, y_test = train_test(data_dir=data_dir, train_subset=train_subset,
                                                  seed=data_seed, dataset=dataset)
    x_train = x_train.reshape(-1, 1, 28, 28)
    x_test = x_test.reshape(-1, 1, 28, 28)
    if model is None:
        model = build_from_spec(spec, seed=model_seed)
    if optimizer == "adam":
        opt = Adam(model, lr, weight_decay=weight_decay)
    elif optimizer == "sgd":
        opt = SGD(model, lr, momentum=0.9, weight_decay=weight_decay)
    else:
        raise InputError(f"unknown optimizer {optimizer!r}; valid: adam, sgd")
    if schedule == "cosine":
        sched = CosineLR(lr, epochs)
    elif schedule == "step":
        sched = StepLR(lr, step_size=max(1, epochs // 3), gamma=0.1)
    elif schedule == "constant":
        sched = None
    else:
        raise InputError(f"unknown schedule {schedule!r}; valid: cosine, step, constant")
    t0 = time.perf_counter()
    history = fit(model, x_train, y_train, x_test, y_test, epochs=epochs, batch_size=batch_size,
                  lr=lr, seed=shuffle_seed, progress=progress, on_epoch=on_epoch, optimizer=opt,
                  lr_schedule=sched)
    info = {"seconds": time.perf_counter() - t0,
            "n_parameters": int(sum(p.value.size for p in model.parameters()))}
    return model, history, info


def run_task(task: dict) -> dict:
    """One run described by a JSON-able dict (for worker processes and caching).

    ``task["kind"]``:

    - ``"train"``: :func:`train_network` with ``spec``, ``dataset``, ``epochs``, ``batch_size``,
      ``lr``, ``train_subset``, ``seed``; adds ``activation_stats`` on the test set;
    - ``"binaryduo"``: train the coupled (ternary) network of ``spec`` for ``epochs`` at ``lr``,
      decouple it (:func:`decouple`), record the decoupled network's accuracy before any
      fine-tuning, then fine-tune it for ``finetune_epochs`` at ``finetune_lr``;
    - ``"mismatch"``: train as ``"train"``, then :func:`gradient_mismatch` of layer ``layer`` on
      ``mismatch_batch`` training images for each smoothing ``sigma`` in ``sigmas``
      (``n_coords``, ``n_noise``); adds ``mismatch`` (list of ``{sigma, cosine,
      cosine_halves}``).

    With ``save_model`` (a path), the trained network is saved there
    (:func:`rramsim.networks.save_model`) and the result gets ``model_path``.

    Returns the task dict plus ``history``, ``final_test_accuracy``, ``n_parameters`` and
    kind-specific fields.
    """
    common = dict(dataset=task.get("dataset", "mnist"), batch_size=task.get("batch_size", 64),
                  train_subset=task.get("train_subset"), data_dir=task.get("data_dir"),
                  optimizer=task.get("optimizer", "adam"), schedule=task.get("schedule", "cosine"))
    verbose = task.get("verbose", True)

    def report(rec):
        if verbose and rec["epoch"] > 0:
            print(f"    {task['name']}: epoch {rec['epoch']}, test accuracy "
                  f"{100 * rec['test_accuracy']:.2f} %, {rec['seconds']:.0f} s", flush=True)

    out = dict(task)
    if task.get("kind", "train") == "train":
        model, history, info = train_network(task["spec"], epochs=task["epochs"], lr=task["lr"],
                                             seed=task["seed"], on_epoch=report, **common)
    elif task["kind"] == "binaryduo":
        coupled, h1, info1 = train_network(task["spec"], epochs=task["epochs"], lr=task["lr"],
                                           seed=task["seed"], on_epoch=report, **common)
        model = decouple(coupled)
        _, _, x_test, y_test = train_test(data_dir=common["data_dir"], dataset=common["dataset"],
                                          train_subset=1, seed=0)
        x_test = x_test.reshape(-1, 1, 28, 28)
        out["coupled_test_accuracy"] = h1[-1]["test_accuracy"]
        out["decoupled_test_accuracy"] = evaluate(model, x_test, y_test)
        out["coupled_n_parameters"] = info1["n_parameters"]
        out["decoupled_spec"] = model.spec
        # the fine-tuning run shares the seed's data and shuffling children
        _, h2, info = train_network(model.spec, epochs=task["finetune_epochs"],
                                    lr=task["finetune_lr"], seed=task["seed"], model=model,
                                    on_epoch=report, **common)
        history = h1 + [dict(r, epoch=r["epoch"] + task["epochs"], stage="finetune")
                        for r in h2[1:]]
    elif task["kind"] == "mismatch":
        model, history, info = train_network(task["spec"], epochs=task["epochs"], lr=task["lr"],
                                             seed=task["seed"], on_epoch=report, **common)
        x_tr, y_tr, _, _ = train_test(data_dir=common["data_dir"], dataset=common["dataset"],
                                      train_subset=task["mismatch_batch"],
                                      seed=spawn(task["seed"], 4)[3])
        out["mismatch"] = []
        for sigma in task["sigmas"]:
            res = gradient_mismatch(model, task["layer"], x_tr.reshape(-1, 1, 28, 28), y_tr,
                                    SoftmaxCrossEntropy(), n_coords=task["n_coords"],
                                    n_noise=task["n_noise"], sigma=sigma, seed=task["seed"])
            out["mismatch"].append({"sigma": sigma, "cosine": res["cosine"],
                                    "cosine_halves": res["cosine_halves"]})
    else:
        raise InputError(f"unknown task kind {task.get('kind')!r}; valid: train, binaryduo, "
                         "mismatch")
    x_test = train_test(data_dir=common["data_dir"], dataset=common["dataset"], train_subset=1,
                        seed=0)[2].reshape(-1, 1, 28, 28)
    if task.get("save_model"):
        out["model_path"] = str(save_model(task["save_model"], model,
                                           meta={"task": task["name"]}))
    out.update(history=history, final_test_accuracy=history[-1]["test_accuracy"],
               n_parameters=info["n_parameters"], activation_stats=activation_stats(model,
                                                                                    x_test))
    return out


def run_binary_tasks(tasks: list[dict], jobs: int = 1, cache_dir=None,
                     progress=print) -> list[dict]:
    """Run :func:`run_task` tasks through :func:`rramsim.experiments.runner.run_tasks`:
    ``jobs`` at a time in single-threaded worker processes, with its per-run JSON cache (a task
    whose ``cache_dir/<name>.json`` exists is not run again)."""
    return run_tasks(tasks, run_task, jobs=jobs, cache_dir=cache_dir, progress=progress)
