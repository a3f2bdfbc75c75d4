"""``rramsim sweep``: run a sweep spec, and read its folder (status, collect, plot)."""

from __future__ import annotations

import sys
from pathlib import Path

from rramsim.cli._common import output_dir
from rramsim.errors import InputError

ACTIONS = ("status", "collect", "plot")

EPILOG = """\
A sweep spec is a TOML file: job, preset, seeds, [args] (fixed job arguments), [set] (fixed
configuration keys), and the points: [grid] (cartesian product), [zip] (keys that move
together), [random] (n draws from distributions, seeded). Keys are configuration keys
(device.up_down, update.bl, array.adc_bits, ...) or job arguments (args.lr). See
docs/sweeps.md.

  rramsim sweep SPEC --out DIR [--jobs N | --dask-local N | --dask-scheduler ADDR]
  rramsim sweep SPEC --dry-run           the points and their count; runs nothing
  rramsim sweep status DIR               done / failed / to do
  rramsim sweep collect DIR              DIR/results.csv, one row per point
  rramsim sweep plot DIR --x KEY --y METRIC [--hue KEY]
"""


def _jobs_text() -> str:
    from rramsim.experiments.jobs import JOBS, REQUIRED

    lines = ["\njobs and their arguments (args.NAME):"]
    for job in JOBS.values():
        cfg = {"tile": "tile configuration keys", "array": "array.* keys", None: "no config"}
        lines.append(f"  {job.name}: {job.doc} ({cfg[job.config]})")
        for name, arg in job.args.items():
            default = "required" if arg.default is REQUIRED else f"default {arg.default!r}"
            lines.append(f"      {name} ({arg.type}, {default}): {arg.doc}")
    return "\n".join(lines)


def _executor(args):
    """The executor the options ask for, and a closer (None for local processes)."""
    chosen = [o for o, v in (("--jobs", args.jobs is not None), ("--dask-local", args.dask_local),
                             ("--dask-scheduler", args.dask_scheduler)) if v]
    if len(chosen) > 1:
        raise InputError(f"choose one executor: {' and '.join(chosen)} were both given")
    if args.jobs is not None and args.jobs < 0:
        raise InputError(f"--jobs {args.jobs}: must be >= 0 (0 runs in this process)")
    if not (args.dask_local or args.dask_scheduler):
        return None, None
    if args.dask_local is not None and args.dask_local < 1:
        raise InputError(f"--dask-local {args.dask_local}: must be >= 1 worker")
    try:
        from rramsim.experiments.dask import connect, local_cluster
    except ImportError:  # pragma: no cover - exercised without the extra
        raise InputError("Dask executors need the dask extra: pip install 'rramsim[dask]'") \
            from None
    if args.dask_local:
        return local_cluster(args.dask_local)
    return connect(args.dask_scheduler)


def cmd_sweep(args) -> int:
    from rramsim.experiments import sweep as sw

    if args.what in ACTIONS:
        return _action(args, sw)
    spec_path = Path(args.what)
    if args.dir is not None:
        raise InputError(f"unexpected argument {args.dir!r}: give the output folder with --out")
    sweep = sw.parse_sweep(sw.load_spec(spec_path), source=f"sweep spec {spec_path}")
    n = len(sweep.points)
    if args.dry_run:
        print(f"{n} points ({len(sweep.spec.get('seeds', [0]))} seed(s)) of job "
              f"{sweep.spec['job']!r}; keys: {', '.join(sweep.keys) or '(none)'}")
        for p in sweep.points:
            vals = ", ".join(f"{k}={v}" for k, v in p.values.items())
            print(f"  {p.name}  {vals + ', ' if vals else ''}seed {p.seed}")
        return 0
    if args.out is None:
        raise InputError("--out DIR is required to run a sweep (or --dry-run to list it)")
    output_dir(args.out)
    sw.prepare_out(sweep, args.out)  # refuse a folder of another sweep before any work
    executor, close = _executor(args)
    try:
        records = sw.run_sweep(sweep, args.out, executor=executor,
                               jobs=1 if args.jobs is None else args.jobs,
                               retry_failed=args.retry_failed, verbose=args.verbose,
                               progress=lambda line: print(line, file=sys.stderr, flush=True))
    finally:
        if close is not None:
            close()
    failed = sum(r.get("status") == "failed" for r in records)
    path = sw.collect(args.out)
    print(f"{n - failed} of {n} points done, {failed} failed; records in "
          f"{Path(args.out) / 'records'}, table {path}")
    return 1 if failed else 0


def _action(args, sw) -> int:
    if args.dir is None:
        raise InputError(f"rramsim sweep {args.what} needs the sweep's folder: rramsim sweep "
                         f"{args.what} DIR")
    out = Path(args.dir)
    if args.what == "status":
        st = sw.status(out)
        print(f"{out}: {st['points']} points: {st['done']} done, {st['failed']} failed, "
              f"{st['todo']} to do")
        for f in st["failed_points"]:
            vals = ", ".join(f"{k}={v}" for k, v in f["values"].items())
            print(f"  failed {f['name']} ({vals}, seed {f['seed']}): {f['error']}")
        return 0
    if args.what == "collect":
        print(f"wrote {sw.collect(out)}")
        return 0
    if not (args.x and args.y):
        raise InputError("rramsim sweep plot needs --x KEY and --y METRIC")
    from rramsim.plotting.sweep import sweep_metric
    from rramsim.results import write_json

    keys, rows = sw.read_results(out)
    if not rows:
        raise InputError(f"{out}: no finished points to plot yet")
    metrics = [k for k in rows[0] if k not in keys and k != "seed"]
    for opt, key, valid in (("--x", args.x, keys), ("--hue", args.hue, keys),
                            ("--y", args.y, metrics)):
        if key is not None and key not in valid:
            from rramsim.validation import suggest

            raise InputError(f"{opt} {key!r} is not a {'metric' if opt == '--y' else 'swept key'}"
                             f"{suggest(key, valid)}; valid: {', '.join(valid)}")
    summary = sw.summarise(rows, args.x, args.y, args.hue)
    stem = f"sweep__{args.y}_vs_{args.x}" + (f"_by_{args.hue}" if args.hue else "")
    stem = stem.replace(".", "_")
    png = sweep_metric(summary, args.x, args.y, out / f"{stem}.png", hue=args.hue,
                       title=str(out.name))
    write_json(out / f"{stem}.json", {"x": args.x, "y": args.y, "hue": args.hue,
                                      "summary": {str(k): v for k, v in summary.items()}})
    print(f"wrote {png} and {stem}.json")
    return 0


def add_parsers(sub, fmt, epilog: str) -> None:
    """Add ``rramsim sweep`` to the ``rramsim`` parser."""
    p = sub.add_parser("sweep", formatter_class=fmt, epilog=EPILOG + _jobs_text(),
                       help="sweep device / peripheral / job parameters over seeds, resumable, "
                            "on local processes or a Dask cluster",
                       description="Run every point of a sweep spec (a TOML file) once per "
                                   "seed, one JSON record per point named by the hash of its "
                                   "resolved configuration; a rerun skips finished points. Or "
                                   "read a sweep's folder: status, collect, plot.")
    p.add_argument("what", metavar="SPEC|status|collect|plot",
                   help="a sweep spec to run, or an action on a sweep folder")
    p.add_argument("dir", nargs="?", metavar="DIR", help="the sweep folder (for the actions)")
    p.add_argument("--out", type=Path, default=None,
                   help="folder of the sweep's records and table (required to run)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the points and their count; run nothing")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="local single-threaded worker processes (default 1; 0: in this "
                        "process)")
    p.add_argument("--dask-local", type=int, default=None, metavar="N",
                   help="start a Dask LocalCluster of N single-threaded worker processes "
                        "(needs the dask extra)")
    p.add_argument("--dask-scheduler", default=None, metavar="ADDRESS",
                   help="connect to a running Dask scheduler, e.g. tcp://HOST:8786 (needs the "
                        "dask extra)")
    p.add_argument("--retry-failed", action="store_true",
                   help="run the points recorded as failed again")
    p.add_argument("--verbose", action="store_true",
                   help="per-epoch lines from training points")
    p.add_argument("--x", default=None, metavar="KEY", help="plot: the swept key on the x axis")
    p.add_argument("--y", default=None, metavar="METRIC", help="plot: the metric on the y axis")
    p.add_argument("--hue", default=None, metavar="KEY",
                   help="plot: one line per value of this swept key")
    p.set_defaults(func=cmd_sweep)

