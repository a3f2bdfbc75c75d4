"""The process-pool runner of study tasks, with a per-task JSON cache so that a sweep resumes."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from rramsim.results import to_jsonable, write_json


def _read_cached(path: Path, name: str, progress) -> dict | None:
    """The finished record of task ``name`` at ``path``, or None when there is none or it is
    unreadable."""
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
        if not isinstance(record, dict) or record.get("name") != name:
            raise ValueError("not the record of this task")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        if progress:
            progress(f"cache file {path} is unreadable ({str(exc).splitlines()[0]}): "
                     f"running the task again")
        return None
    return record


def run_tasks(tasks: list[dict], runner, jobs: int = 1, cache_dir=None, progress=print,
              describe=None) -> list[dict]:
    """Run ``runner`` on every task, ``jobs`` at a time in worker processes (one thread each).

    Workers run single-threaded (numba and BLAS): runs are parallel across processes, and
    multi-threaded BLAS spinning on a loaded machine costs more than it gains at these sizes.
    ``jobs = 0`` runs the tasks in this process instead. Workers are started with ``spawn``:
    a script that calls this must guard its top level with ``if __name__ == "__main__":``.

    ``runner(task) -> dict`` runs one task (a module-level function, so workers can import it);
    the result must keep the task's ``name``. ``describe(result) -> str`` words its progress
    line (default: the run's seconds only).

    With ``cache_dir``, each finished task is written to ``cache_dir/<task name>.json``
    (atomically: a killed run leaves a complete file or none) and a task whose file exists is
    not run again, so an interrupted sweep resumes where it stopped. A cache file that cannot be
    read (not JSON, or not this task's record) is reported and its task run again.
    """
    results: dict[str, dict] = {}
    todo = []
    for t in tasks:
        cached = None
        if cache_dir:
            cached = _read_cached(Path(cache_dir) / f"{t['name']}.json", t["name"], progress)
        if cached is not None:
            results[t["name"]] = cached
        else:
            todo.append(t)
    describe = describe or (lambda res: "done")
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
