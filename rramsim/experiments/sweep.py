"""Sweeps of any device, peripheral, algorithm or job parameter, as data.

A sweep spec is a TOML file::

    job = "train"                      # a registered job (rramsim.experiments.jobs.JOBS)
    preset = "softbounds_asymmetric"   # base device preset (tile jobs); default: the job's
    seeds = [0, 1, 2]                  # every point runs once per seed

    [args]                             # fixed job arguments
    epochs = 1
    train_subset = 2000

    [set]                              # fixed configuration overrides (dotted keys)
    "forward.out_noise" = 0.0

    [grid]                             # cartesian product
    "device.up_down" = [0.0, 0.25, 0.5]
    "reference.zero_shift" = [false, true]

    [zip]                              # keys that move together (equal lengths)
    "device.dw_min" = [0.001, 0.002]
    "update.bl" = [31, 15]

    [random]                           # n points drawn from distributions, seeded
    n = 4
    seed = 0
    "device.dw_min_dtod" = { dist = "uniform", low = 0.0, high = 0.5 }
    "args.lr" = { dist = "loguniform", low = 0.001, high = 0.1 }

Keys are configuration keys (``device.*``, ``update.*``, ``forward.*``, ``backward.*``,
``reference.*``, ``mapping.*`` for tile jobs, ``array.*`` for the ``map`` job) or job arguments
(``args.NAME``). The points are the product of the blocks present (grid x zip rows x random
draws), each run for every seed. Every point is resolved and validated (the same checks and
messages as ``--set``) before anything runs.

A point's record is named by a content hash of its job, resolved arguments, resolved
configuration, seed and rramsim version, so the same point gives the same name in any sweep;
``OUT/records/<hash>.json`` holds its metrics (or its error) and is written atomically.
``OUT/sweep.json`` lists the points; an ``OUT`` that holds a different sweep is refused.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import itertools
import json
import math
import os
import socket
import time
import tomllib
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rramsim._version import __version__
from rramsim.config import ArrayConfig, TileConfig, load_preset
from rramsim.errors import ConfigError, InputError
from rramsim.experiments.jobs import get_job
from rramsim.experiments.runner import run_tasks
from rramsim.results import write_json
from rramsim.validation import suggest

TOP_KEYS = ("job", "preset", "seeds", "description", "args", "set", "grid", "zip", "random")
DISTRIBUTIONS = ("uniform", "loguniform", "normal", "randint", "choice")
#: Record fields that say where, when and how long a point ran: the only fields in which two
#: records of the same point may differ.
RUN_INFO = "run"


@dataclass(frozen=True)
class Point:
    """One run of a sweep: its ``name`` (the record's content hash), the swept ``values``
    (key -> value, in spec order), ``seed``, the resolved ``args`` and ``config``
    (``to_dict()`` or None)."""

    name: str
    values: dict
    seed: int
    job: str
    args: dict
    config: dict | None

    def task(self, verbose: bool = False) -> dict:
        return {"name": self.name, "job": self.job, "values": self.values, "seed": self.seed,
                "args": self.args, "config": self.config, "verbose": verbose}


@dataclass(frozen=True)
class Sweep:
    """A parsed, validated sweep spec and its points."""

    spec: dict
    points: list[Point]
    keys: list[str]

    @property
    def spec_hash(self) -> str:
        return _hash(sorted(p.name for p in self.points))


def _hash(obj) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _table(spec: dict, name: str, source: str) -> dict:
    value = spec.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: [{name}] must be a table of key = value")
    return value


def load_spec(path) -> dict:
    """Read a sweep spec (TOML); ConfigError for a missing, unreadable or invalid file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"sweep spec {str(path)!r} does not exist" if not path.exists() else
                          f"sweep spec {str(path)!r} is not a file")
    try:
        return tomllib.loads(path.read_text())
    except UnicodeDecodeError:
        raise ConfigError(f"sweep spec {str(path)!r} is not a text (TOML) file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"sweep spec {str(path)!r} is not valid TOML: {exc}") from None


def _draw(key: str, dist, rng: np.random.Generator, source: str):
    if not isinstance(dist, dict) or "dist" not in dist:
        raise ConfigError(f"{source}: [random] {key} must be a table such as "
                          f"{{ dist = \"uniform\", low = 0.0, high = 1.0 }}")
    kind = dist["dist"]
    if kind not in DISTRIBUTIONS:
        raise ConfigError(f"{source}: [random] {key}: unknown dist {kind!r}"
                          f"{suggest(str(kind), DISTRIBUTIONS)}; valid: {', '.join(DISTRIBUTIONS)}")
    need = {"uniform": ("low", "high"), "loguniform": ("low", "high"), "normal": ("mean", "std"),
            "randint": ("low", "high"), "choice": ("values",)}[kind]
    extra = set(dist) - set(need) - {"dist"}
    if extra or any(k not in dist for k in need):
        raise ConfigError(f"{source}: [random] {key}: dist {kind!r} takes exactly "
                          f"{', '.join(need)}")
    if kind == "choice":
        values = dist["values"]
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{source}: [random] {key}: values must be a non-empty list")
        return lambda: values[int(rng.integers(len(values)))]
    a, b = (dist[k] for k in need)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b)):
        raise ConfigError(f"{source}: [random] {key}: {need[0]} and {need[1]} must be numbers")
    if kind == "loguniform" and not (0 < a < b):
        raise ConfigError(f"{source}: [random] {key}: loguniform needs 0 < low < high")
    if kind in ("uniform", "randint") and not a <= b:
        raise ConfigError(f"{source}: [random] {key}: needs low <= high")
    if kind == "uniform":
        return lambda: float(rng.uniform(a, b))
    if kind == "loguniform":
        return lambda: float(math.exp(rng.uniform(math.log(a), math.log(b))))
    if kind == "normal":
        return lambda: float(rng.normal(a, b))
    if not (isinstance(a, int) and isinstance(b, int)):
        raise ConfigError(f"{source}: [random] {key}: randint needs integer low and high")
    return lambda: int(rng.integers(a, b + 1))


def _blocks(spec: dict, source: str) -> tuple[list[list[dict]], list[str]]:
    """The point blocks (grid, zip, random), each a list of {key: value}, and the swept keys."""
    blocks, keys, seen = [], [], {}
    grid = _table(spec, "grid", source)
    zipped = _table(spec, "zip", source)
    rand = dict(_table(spec, "random", source))
    fixed = _table(spec, "set", source)
    if "grid" in spec and not grid:
        raise ConfigError(f"{source}: [grid] is empty: give each swept key a list of values")
    for block, table in (("grid", grid), ("zip", zipped), ("set", fixed)):
        for key in table:
            if key in seen:
                raise ConfigError(f"{source}: key {key!r} is in both [{seen[key]}] and "
                                  f"[{block}]; a key moves in one block only")
            seen[key] = block
    for key, values in list(grid.items()) + list(zipped.items()):
        block = seen[key]
        if not isinstance(values, list):
            raise ConfigError(f"{source}: [{block}] {key} must be a list of values, got "
                              f"{values!r}")
        if not values:
            raise ConfigError(f"{source}: [{block}] {key} is an empty list: nothing to sweep")
    if grid:
        blocks.append([dict(zip(grid, combo)) for combo in itertools.product(*grid.values())])
        keys += list(grid)
    if zipped:
        lengths = {k: len(v) for k, v in zipped.items()}
        if len(set(lengths.values())) != 1:
            raise ConfigError(f"{source}: [zip] lists must have equal lengths, got "
                              + ", ".join(f"{k}: {n}" for k, n in lengths.items()))
        n = next(iter(lengths.values()))
        blocks.append([{k: v[i] for k, v in zipped.items()} for i in range(n)])
        keys += list(zipped)
    if "random" in spec and not rand:
        raise ConfigError(f"{source}: [random] is empty: give n and the keys to draw")
    if rand:
        n = rand.pop("n", None)
        seed = rand.pop("seed", 0)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"{source}: [random] needs n = the number of points (an integer "
                              f">= 1), got {n!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"{source}: [random] seed must be an integer >= 0, got {seed!r}")
        if not rand:
            raise ConfigError(f"{source}: [random] draws no key")
        for key in rand:
            if key in seen:
                raise ConfigError(f"{source}: key {key!r} is in both [{seen[key]}] and "
                                  f"[random]; a key moves in one block only")
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        draws = {k: _draw(k, d, rng, source) for k, d in rand.items()}
        blocks.append([{k: f() for k, f in draws.items()} for _ in range(n)])
        keys += list(rand)
    return blocks, keys


def parse_sweep(spec: dict, source: str = "sweep spec") -> Sweep:
    """Validate ``spec`` (a dict read from TOML) and resolve every point; ConfigError naming the
    first problem. Nothing runs."""
    if not isinstance(spec, dict):
        raise ConfigError(f"{source}: expected a table of keys")
    for key in spec:
        if key not in TOP_KEYS:
            raise ConfigError(f"{source}: unknown key {key!r}{suggest(key, TOP_KEYS)}; valid "
                              f"keys: {', '.join(TOP_KEYS)}")
    if "job" not in spec:
        raise ConfigError(f"{source}: no job: say which, e.g. job = \"train\"")
    job = get_job(spec["job"])
    seeds = spec.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise ConfigError(f"{source}: seeds must be a non-empty list of integers >= 0, got "
                          f"{seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{source}: seeds repeat: {seeds}")
    base_args = _table(spec, "args", source)
    fixed = _table(spec, "set", source)
    blocks, keys = _blocks(spec, source)
    preset = spec.get("preset", job.default_preset)
    if preset is not None and job.config != "tile":
        raise ConfigError(f"{source}: job {job.name!r} takes no preset")
    base_cfg = load_preset(preset) if job.config == "tile" else None
    points, names = [], set()
    combos = [dict(itertools.chain.from_iterable(d.items() for d in c))
              for c in itertools.product(*blocks)] if blocks else [{}]
    for values in combos:
        moved = {**fixed, **values}
        args = dict(base_args)
        over = {}
        for key, value in moved.items():
            section, _, name = key.partition(".")
            if section == "args" and name:
                args[name] = value
            else:
                over[key] = value
        args = job.check_args(args)
        config = _resolve_config(job, args, base_cfg, over, source)
        for seed in seeds:
            name = _hash({"job": job.name, "args": args, "config": config, "seed": seed,
                          "version": __version__})
            if name in names:
                raise ConfigError(f"{source}: two points are the same run ({values}, seed "
                                  f"{seed}): a value repeats in a list")
            names.add(name)
            points.append(Point(name, values, seed, job.name, args, config))
    return Sweep(spec, points, keys)


def _resolve_config(job, args, base_cfg, over: dict, source: str) -> dict | None:
    if not job.uses_config(args):
        if over:
            raise ConfigError(f"{source}: job {job.name!r}"
                              + (f" with args.{job.config_off} = true" if job.config else "")
                              + f" takes no configuration keys, got {', '.join(over)}")
        return None
    if job.config == "array":
        for key in over:
            if not key.startswith("array."):
                raise ConfigError(f"{source}: key {key!r}: job {job.name!r} takes array.* "
                                  f"keys and args.*")
        return dataclasses.asdict(ArrayConfig.from_overrides(over))
    return (base_cfg.with_overrides(over) if over else base_cfg).to_dict()


def run_point(task: dict) -> dict:
    """Run one sweep point (a :meth:`Point.task` dict) and return its record. An exception in
    the job is recorded (``status = "failed"`` with the error) instead of raised, so the sweep
    goes on."""
    job = get_job(task["job"])
    config = task["config"]
    if config is not None:
        config = ArrayConfig(**config) if job.config == "array" else TileConfig.from_dict(config)
    t0 = time.perf_counter()
    record = {k: task[k] for k in ("name", "job", "values", "seed", "args", "config")}
    record["version"] = __version__
    try:
        out = job.run(config, task["args"], task["seed"], verbose=task.get("verbose", False))
        record.update(status="done", metrics=out["metrics"], extra=out.get("extra", {}),
                      error=None)
    except Exception as exc:  # noqa: BLE001 - recorded, the sweep goes on
        record.update(status="failed", metrics={}, extra={},
                      error=f"{type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc(limit=20))
    record[RUN_INFO] = {"seconds": time.perf_counter() - t0, "host": socket.gethostname(),
                        "pid": os.getpid()}
    return record


def _manifest(sweep: Sweep) -> dict:
    return {"rramsim_version": __version__, "spec": sweep.spec, "spec_hash": sweep.spec_hash,
            "keys": sweep.keys,
            "points": [{"name": p.name, "values": p.values, "seed": p.seed}
                       for p in sweep.points]}


def prepare_out(sweep: Sweep, out) -> Path:
    """Create ``out`` for ``sweep`` or check that it holds this sweep; InputError if it holds a
    different one."""
    out = Path(out)
    manifest = out / "sweep.json"
    if manifest.is_file():
        try:
            old = json.loads(manifest.read_text())
            old_hash = old["spec_hash"]
        except (ValueError, KeyError, TypeError, OSError):
            raise InputError(f"--out {out}: its sweep.json is unreadable; choose another folder "
                             f"or delete it") from None
        if old_hash != sweep.spec_hash:
            raise InputError(f"--out {out} holds a different sweep ({len(old.get('points', []))}"
                             f" points, spec hash {old_hash}; this spec: "
                             f"{len(sweep.points)} points, {sweep.spec_hash}); choose another "
                             f"folder")
    elif out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"--out {out}: exists and is not an empty folder nor a sweep's folder")
    (out / "records").mkdir(parents=True, exist_ok=True)
    if not manifest.is_file():
        write_json(manifest, _manifest(sweep))
    return out


def read_manifest(out) -> dict:
    out = Path(out)
    try:
        return json.loads((out / "sweep.json").read_text())
    except FileNotFoundError:
        raise InputError(f"{out}: not a sweep folder (no sweep.json); run rramsim sweep SPEC "
                         f"--out {out} first") from None
    except (ValueError, OSError) as exc:
        raise InputError(f"{out}/sweep.json is unreadable: {exc}") from None


def _describe(rec: dict) -> str:
    if rec.get("status") == "failed":
        return f"failed: {rec['error'][:120]}"
    vals = ", ".join(f"{k}={v}" for k, v in rec["values"].items())
    mets = ", ".join(f"{k} {v:.4g}" for k, v in list(rec["metrics"].items())[:2]
                     if isinstance(v, (int, float)))
    return f"{vals + ', ' if vals else ''}seed {rec['seed']}: {mets}"


def run_sweep(sweep: Sweep, out, executor=None, jobs: int = 1, retry_failed: bool = False,
              verbose: bool = False, progress=print) -> list[dict]:
    """Run every point of ``sweep`` that has no complete record in ``out`` (failed ones too
    with ``retry_failed``) and return all records in point order."""
    out = prepare_out(sweep, out)
    tasks = [p.task(verbose) for p in sweep.points]
    return run_tasks(tasks, run_point, jobs=jobs, cache_dir=out / "records", progress=progress,
                     describe=_describe, executor=executor,
                     redo=(lambda r: r.get("status") != "done") if retry_failed else None,
                     failed=lambda r: r.get("status") == "failed")


def status(out) -> dict:
    """Counts of done / failed / to-do points of the sweep in ``out``, and the failed ones."""
    manifest = read_manifest(out)
    counts = {"done": 0, "failed": 0, "todo": 0}
    failures = []
    for p in manifest["points"]:
        rec = _load_record(Path(out), p["name"])
        if rec is None:
            counts["todo"] += 1
        elif rec.get("status") == "done":
            counts["done"] += 1
        else:
            counts["failed"] += 1
            failures.append({"name": p["name"], "values": p["values"], "seed": p["seed"],
                             "error": rec.get("error")})
    return {"points": len(manifest["points"]), **counts, "failed_points": failures}


def _load_record(out: Path, name: str) -> dict | None:
    path = out / "records" / f"{name}.json"
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) and rec.get("name") == name else None


def collect(out) -> Path:
    """Write ``out/results.csv``: one row per point (name, status, each swept key, seed, each
    metric; empty cells for points not done), and return its path."""
    out = Path(out)
    manifest = read_manifest(out)
    keys = manifest["keys"]
    rows, metrics = [], []
    for p in manifest["points"]:
        rec = _load_record(out, p["name"]) or {"status": "todo", "metrics": {}}
        for m in rec.get("metrics", {}):
            if m not in metrics:
                metrics.append(m)
        rows.append((p, rec))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["name", "status", *keys, "seed", *metrics, "error"])
    for p, rec in rows:
        w.writerow([p["name"], rec.get("status", "todo"),
                    *[json.dumps(p["values"][k]) if isinstance(p["values"].get(k), (list, dict))
                      else p["values"].get(k) for k in keys],
                    p["seed"], *[rec["metrics"].get(m, "") for m in metrics],
                    rec.get("error") or ""])
    path = out / "results.csv"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(buf.getvalue())
    os.replace(tmp, path)
    return path


def read_results(out) -> tuple[list[str], list[dict]]:
    """``(keys, rows)`` of the done points: rows are ``{key: value, "seed": s, metric: v}``."""
    out = Path(out)
    manifest = read_manifest(out)
    rows = []
    for p in manifest["points"]:
        rec = _load_record(out, p["name"])
        if rec is not None and rec.get("status") == "done":
            rows.append({**p["values"], "seed": p["seed"], **rec["metrics"]})
    return manifest["keys"], rows


def summarise(rows: list[dict], x: str, y: str, hue: str | None = None) -> dict:
    """Mean, standard deviation and count of ``y`` over seeds (and any other swept key) for
    each value of ``x`` (and of ``hue``): ``{hue value: {"x": [...], "mean": [...], "std":
    [...], "n": [...]}}`` (one group None without ``hue``)."""
    groups: dict = {}
    for r in rows:
        if y not in r or x not in r or (hue is not None and hue not in r):
            continue
        g = groups.setdefault(None if hue is None else r[hue], {})
        g.setdefault(r[x], []).append(float(r[y]))
    out = {}
    for h, by_x in groups.items():
        xs = sorted(by_x, key=lambda v: (isinstance(v, str), v))
        vals = [np.asarray(by_x[v]) for v in xs]
        out[h] = {"x": xs, "mean": [float(v.mean()) for v in vals],
                  "std": [float(v.std(ddof=1)) if len(v) > 1 else 0.0 for v in vals],
                  "n": [len(v) for v in vals]}
    return out
