"""The registry of sweep jobs: what one point of a sweep runs.

A job takes a resolved configuration (a :class:`~rramsim.config.TileConfig`, an
:class:`~rramsim.config.ArrayConfig`, or nothing), its keyword arguments and a seed, and
returns ``{"metrics": {name: number}, "extra": {...}}``: the metrics become the columns of a
sweep's ``results.csv``; ``extra`` (learning curves and the like) stays in the record.
Every argument is declared with its type, default and meaning, so a sweep spec is checked
before anything runs. Register your own with :func:`register_job`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rramsim.errors import ConfigError
from rramsim.validation import suggest

_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "dict": dict}


@dataclass(frozen=True)
class Arg:
    """One keyword argument of a job: ``type`` ('int', 'float', 'str', 'bool', 'dict'),
    ``default`` (None: optional and absent; :data:`REQUIRED`: must be given), ``doc`` with
    its unit, ``lo`` the smallest valid number."""

    type: str
    default: object
    doc: str
    lo: float | None = None


#: Marks an argument without a default.
REQUIRED = object()


@dataclass(frozen=True)
class Job:
    """A sweep job: ``run(config, args, seed) -> {"metrics": ..., "extra": ...}``.

    ``config`` is 'tile' (the preset and ``device.*``, ``update.*``, ... keys), 'array' (the
    ``array.*`` keys of inference arrays) or None (no configuration keys);
    ``default_preset`` is the tile preset when the spec names none; a true value of the
    argument ``config_off`` (e.g. ``floating_point``) runs the job without a configuration."""

    name: str
    run: Callable
    doc: str
    config: str | None
    args: dict[str, Arg] = field(default_factory=dict)
    default_preset: str | None = None
    config_off: str | None = None

    def uses_config(self, args: dict) -> bool:
        """Whether a point with these (checked) arguments has a configuration."""
        return self.config is not None and not (self.config_off and args.get(self.config_off))

    def check_args(self, given: dict, where: str = "args") -> dict:
        """All arguments with defaults filled in, each checked; ConfigError naming the bad
        one (unknown, with the closest valid name; wrong type; below its range; missing)."""
        out = {}
        for key in given:
            if key not in self.args:
                raise ConfigError(f"{where}.{key}: unknown argument of job {self.name!r}"
                                  f"{suggest(key, self.args)}; valid: {', '.join(self.args)}")
        for key, arg in self.args.items():
            value = given.get(key, arg.default)
            if value is REQUIRED:
                raise ConfigError(f"{where}.{key} is required by job {self.name!r} "
                                  f"({arg.doc})")
            out[key] = _check_value(f"{where}.{key}", value, arg)
        return out


def _check_value(key: str, value, arg: Arg):
    if value is None:
        return None
    want = _TYPES[arg.type]
    ok = isinstance(value, want) and not (want is not bool and isinstance(value, bool))
    if arg.type == "float" and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise ConfigError(f"{key} = {value!r} is not a valid {arg.type} ({arg.doc})")
    if arg.lo is not None and (not np.isfinite(value) or value < arg.lo):
        raise ConfigError(f"{key} = {value!r} is out of range: must be >= {arg.lo} ({arg.doc})")
    return value


#: Jobs by name, in registration order.
JOBS: dict[str, Job] = {}


def register_job(job: Job) -> Job:
    """Add ``job`` to :data:`JOBS` (its ``run`` must be a module-level function so that worker
    processes can import it)."""
    if job.name in JOBS and JOBS[job.name] is not job:
        raise ValueError(f"sweep job {job.name!r} is registered twice")
    JOBS[job.name] = job
    return job


def get_job(name) -> Job:
    if name not in JOBS:
        raise ConfigError(f"unknown job {name!r}{suggest(str(name), JOBS)}; valid jobs: "
                          f"{', '.join(JOBS)}")
    return JOBS[name]


# --------------------------------------------------------------------------------- the jobs

def _train(config, args, seed, verbose=False):
    from rramsim.experiments.mnist import train_mnist_mlp

    def report(rec):
        if verbose and rec["epoch"] > 0:
            print(f"    epoch {rec['epoch']}: test accuracy {100 * rec['test_accuracy']:.2f} %",
                  flush=True)

    _, history, info = train_mnist_mlp(config, epochs=args["epochs"],
                                       batch_size=args["batch_size"], lr=args["lr"],
                                       train_subset=args["train_subset"], seed=seed,
                                       data_dir=args["data_dir"], on_epoch=report)
    acc = [h["test_accuracy"] for h in history]
    return {"metrics": {"test_accuracy": acc[-1], "best_test_accuracy": max(acc),
                        "train_loss": history[-1].get("train_loss", float("nan")),
                        "device_pulses": info["device_pulses"]},
            "extra": {"test_accuracy_by_epoch": acc}}


def _train_binary(config, args, seed, verbose=False):
    from rramsim.experiments.binary import train_network
    from rramsim.networks import FLOOR_RUNS, check_spec

    if args["net"] not in FLOOR_RUNS:
        raise ConfigError(f"args.net = {args['net']!r}{suggest(args['net'], FLOOR_RUNS)}; "
                          f"valid: {', '.join(FLOOR_RUNS)}")
    run = dict(FLOOR_RUNS[args["net"]])
    spec = dict(run.pop("spec"), **args["spec"])
    check_spec(spec)
    for key in ("dataset", "epochs", "batch_size", "lr"):
        if args[key] is not None:
            run[key] = args[key]
    _, history, info = train_network(spec, seed=seed, train_subset=args["train_subset"],
                                     data_dir=args["data_dir"], **run)
    acc = [h["test_accuracy"] for h in history]
    return {"metrics": {"test_accuracy": acc[-1], "best_test_accuracy": max(acc),
                        "n_parameters": info["n_parameters"]},
            "extra": {"test_accuracy_by_epoch": acc, "spec": spec}}


def _pulse_response(config, args, seed, verbose=False):
    from rramsim.experiments.devices import measure_pulse_response

    m = measure_pulse_response(config, args["up"], args["down"], w0=args["w0"],
                               n_devices=args["devices"], seed=seed)
    trace = m["trace"]
    return {"metrics": {"w_after_up": float(trace[args["up"]].mean()),
                        "w_final": float(trace[-1].mean()),
                        "w_span": float((trace.max(axis=0) - trace.min(axis=0)).mean()),
                        "symmetry_point": float(np.mean(m["devices"]["symmetry_point"]))},
            "extra": {"weights_first_device": trace[:, 0]}}


def _symmetry_point(config, args, seed, verbose=False):
    from rramsim.experiments.devices import measure_symmetry_points

    m = measure_symmetry_points(config, args["rows"], args["cols"], seed=seed)
    return {"metrics": {"error_mean_abs": m["error"]["mean_abs"],
                        "error_max_abs": m["error"]["max_abs"],
                        "error_mean": m["error"]["mean"],
                        "measured_mean": float(m["measured"].mean()),
                        "closed_form_mean": float(m["closed_form"].mean())},
            "extra": {}}


def _map(config, args, seed, verbose=False):
    from rramsim.data import train_test
    from rramsim.inference import map_network
    from rramsim.networks import load_model

    model = load_model(args["model"])
    model.eval()
    x_cal, _, x_test, y_test = train_test(train_subset=args["calibration_images"], seed=seed,
                                          dataset=args["dataset"], data_dir=args["data_dir"])
    if model.spec.get("kind") != "mlp":
        x_cal, x_test = x_cal.reshape(-1, 1, 28, 28), x_test.reshape(-1, 1, 28, 28)
    n = min(args["test_images"] or len(x_test), len(x_test))
    x_test, y_test = x_test[:n], y_test[:n]
    digital = map_network(model, backend="digital").evaluate(x_test, y_test)
    net = map_network(model, config, calibration=x_cal, seed=seed)
    acc = net.evaluate(x_test, y_test, batch_size=250)
    cost = {k: v for k, v in net.cost().items() if k != "layers"}
    return {"metrics": {"accuracy": acc, "digital_accuracy": digital,
                        **{k: v for k, v in cost.items() if isinstance(v, (int, float))}},
            "extra": {"test_images": n}}


_DATA_DIR = Arg("str", None, "folder with the data set's IDX files (default: the packaged "
                             "MNIST, $RRAMSIM_DATA_DIR)")

register_job(Job(
    "train", _train, "the 784-256-128-10 sigmoid MLP on MNIST through simulated tiles (or in "
    "floating point)", "tile", default_preset="softbounds_symmetric",
    config_off="floating_point", args={
        "epochs": Arg("int", 1, "training epochs", lo=1),
        "batch_size": Arg("int", 1, "mini-batch size, applied as consecutive rank-one updates",
                          lo=1),
        "lr": Arg("float", 0.01, "learning rate", lo=1e-300),
        "train_subset": Arg("int", None, "train on a seeded subset of N images (default all "
                                         "60,000)", lo=1),
        "floating_point": Arg("bool", False, "floating-point baseline: no devices (no "
                                             "configuration keys may be swept)"),
        "data_dir": _DATA_DIR}))

register_job(Job(
    "train-binary", _train_binary, "a named binary network (mlp, lenet, vgg, vgg_fp, lenet5) "
    "with its floor settings", None, args={
        "net": Arg("str", "lenet", "network name (FLOOR_RUNS)"),
        "spec": Arg("dict", {}, "builder arguments that override the network's spec"),
        "dataset": Arg("str", None, "mnist or fashion-mnist (default: the network's)"),
        "epochs": Arg("int", None, "epochs (default: the network's)", lo=1),
        "batch_size": Arg("int", None, "mini-batch size (default: the network's)", lo=1),
        "lr": Arg("float", None, "Adam learning rate (default: the network's)", lo=1e-300),
        "train_subset": Arg("int", None, "train on a seeded subset of N images", lo=1),
        "data_dir": _DATA_DIR}))

register_job(Job(
    "pulse-response", _pulse_response, "N up then M down pulses on devices drawn with "
    "device-to-device variation", "tile", default_preset="softbounds_symmetric", args={
        "up": Arg("int", 1000, "up pulses", lo=0),
        "down": Arg("int", 1000, "down pulses", lo=0),
        "w0": Arg("float", 0.0, "start weight [normalised weight units]"),
        "devices": Arg("int", 1, "devices drawn; metrics are means over them", lo=1)}))

register_job(Job(
    "symmetry-point", _symmetry_point, "the symmetry-point pulse protocol (reference.sp_pairs, "
    "sp_ramp) on an array against the closed form", "tile",
    default_preset="softbounds_asymmetric", args={
        "rows": Arg("int", 16, "array rows", lo=1),
        "cols": Arg("int", 16, "array columns", lo=1)}))

register_job(Job(
    "map", _map, "a saved network on inference arrays (array.* keys) against its digital twin",
    "array", args={
        "model": Arg("str", REQUIRED, "path of a saved network (.npz)"),
        "dataset": Arg("str", "mnist", "mnist or fashion-mnist"),
        "test_images": Arg("int", None, "evaluate on the first N test images (default all)",
                           lo=1),
        "calibration_images": Arg("int", 500, "training images that calibrate the DAC and ADC "
                                              "ranges", lo=1),
        "data_dir": _DATA_DIR}))
