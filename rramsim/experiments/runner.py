"""The one runner of rramsim: tasks on worker processes or a Dask cluster, each finished task
kept as a JSON record so that an interrupted run resumes without redoing or duplicating work.

A task is a JSON-able dict with a unique ``name``; a runner is a module-level function
``runner(task) -> dict`` (so that worker processes can import it) whose result keeps the name.
Records are written by the coordinating process only, one file per task, atomically
(:func:`rramsim.results.write_json`), so a kill at any moment leaves each record complete or
absent, and a task retried elsewhere (a lost Dask worker) is still recorded once.

Executors (:func:`local_executor`, :class:`DaskExecutor`) only submit and collect: the numbers
come from the task alone, never from the executor, the number of workers or the order in which
tasks finish.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path

from rramsim.errors import InputError
from rramsim.results import to_jsonable, write_json

#: Environment that makes numba and BLAS single-threaded in worker processes: runs are parallel
#: across processes, and multi-threaded BLAS spinning on a loaded machine costs more than it
#: gains at these sizes.
SINGLE_THREAD_ENV = ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                     "MKL_NUM_THREADS")


@contextmanager
def single_threaded_children():
    """Set :data:`SINGLE_THREAD_ENV` to 1 for processes started inside the block."""
    old = {k: os.environ.get(k) for k in SINGLE_THREAD_ENV}
    os.environ.update({k: "1" for k in SINGLE_THREAD_ENV})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class InProcessExecutor:
    """Runs each task in this process when its result is asked for (for debugging and tests;
    BLAS and numba keep this process's thread settings)."""

    workers = 1

    def map_unordered(self, fn: Callable, tasks: list) -> Iterator[tuple[dict, dict]]:
        for t in tasks:
            yield t, fn(t)


class ProcessExecutor:
    """``jobs`` single-threaded worker processes on this machine (started with ``spawn``: a
    script that uses them must guard its top level with ``if __name__ == "__main__":``)."""

    def __init__(self, jobs: int):
        self.workers = int(jobs)

    def map_unordered(self, fn: Callable, tasks: list) -> Iterator[tuple[dict, dict]]:
        if not tasks:
            return
        with single_threaded_children():
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx) as pool:
                futures = {pool.submit(fn, t): t for t in tasks}
                for f in as_completed(futures):
                    yield futures[f], f.result()


class DaskExecutor:
    """Tasks on a Dask distributed cluster through ``client`` (a ``distributed.Client``).

    Each task is submitted once with ``pure=False``; a worker lost while it runs a task makes
    the scheduler run it again on another worker, and the record is written here, once, when the
    result arrives."""

    def __init__(self, client):
        self.client = client
        self.workers = max(1, len(client.scheduler_info().get("workers", {})))

    def map_unordered(self, fn: Callable, tasks: list) -> Iterator[tuple[dict, dict]]:
        from distributed import as_completed as dask_completed

        if not tasks:
            return
        futures = {}
        for t in tasks:
            futures[self.client.submit(fn, t, pure=False, key=f"rramsim-{t['name']}")] = t
        for f in dask_completed(list(futures)):
            yield futures[f], f.result()


def local_executor(jobs: int):
    """``jobs`` worker processes, or this process for ``jobs = 0``."""
    return InProcessExecutor() if jobs <= 0 else ProcessExecutor(jobs)


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


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def run_tasks(tasks: list[dict], runner, jobs: int = 1, cache_dir=None, progress=print,
              describe=None, executor=None, redo: Callable[[dict], bool] | None = None,
              failed: Callable[[dict], bool] | None = None,
              cached_only: bool = False) -> list[dict]:
    """Run ``runner`` on every task; return the results in the order of ``tasks``.

    Parameters
    ----------
    tasks : JSON-able dicts, each with a unique ``name``
    runner : module-level function ``runner(task) -> dict`` (the result keeps ``name``)
    jobs : worker processes when no ``executor`` is given (one thread each; 0: this process)
    cache_dir : folder of the records: each finished task is written to
        ``cache_dir/<name>.json`` (atomically) and a task whose record exists is not run again,
        so an interrupted run resumes where it stopped. A record that cannot be read (not JSON,
        or another task's) is reported and its task run again.
    progress : ``progress(line)`` for progress lines (None: silent)
    describe : ``describe(result) -> str`` words a finished task's line (default: "done")
    executor : an executor (:class:`InProcessExecutor`, :class:`ProcessExecutor`,
        :class:`DaskExecutor`); default from ``jobs``
    redo : ``redo(record) -> bool``: a cached record for which it is true is run again
        (e.g. failed sweep points with ``--retry-failed``)
    failed : ``failed(result) -> bool``: counts a result as failed in the progress lines
    cached_only : run nothing: return the records already in ``cache_dir`` (in task order),
        leaving out the tasks not done yet (a summary of a run still going or stopped)
    """
    names = [t["name"] for t in tasks]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"task names must be unique; repeated: {', '.join(map(str, dup[:5]))}")
    results: dict[str, dict] = {}
    todo = []
    for t in tasks:
        cached = None
        if cache_dir:
            cached = _read_cached(Path(cache_dir) / f"{t['name']}.json", t["name"], progress)
        if cached is not None and not (redo and redo(cached)):
            results[t["name"]] = cached
        else:
            todo.append(t)
    if cached_only:
        if todo and progress:
            progress(f"{len(todo)} of {len(tasks)} runs not done yet (left out): "
                     + ", ".join(t["name"] for t in todo[:3]) + (", ..." if len(todo) > 3 else ""))
        return [results[t["name"]] for t in tasks if t["name"] in results]
    executor = executor or local_executor(jobs)
    describe = describe or (lambda res: "done")
    failed = failed or (lambda res: False)
    n_cached = len(tasks) - len(todo)
    if todo and progress:
        progress(f"{len(todo)} runs to do ({n_cached} cached), {executor.workers} at a time")
    t0 = time.perf_counter()
    n_done = n_failed = 0
    for _, res in executor.map_unordered(runner, todo):
        res = to_jsonable(res)
        results[res["name"]] = res
        if cache_dir:
            write_json(Path(cache_dir) / f"{res['name']}.json", res)
        n_done += 1
        n_failed += bool(failed(res))
        if progress:
            elapsed = time.perf_counter() - t0
            left = len(todo) - n_done
            running = min(executor.workers, left)
            eta = f", about {_duration(elapsed / n_done * left)} left" if left else ""
            fails = f", {n_failed} failed" if n_failed else ""
            progress(f"  [{n_cached + n_done}/{len(tasks)}] {res['name']}: {describe(res)} "
                     f"({_duration(elapsed)}{fails}, {running} running{eta})")
    return [results[t["name"]] for t in tasks]


def study_args(doc: str, name: str, argv=None, extra=None, check=None):
    """The command line every study script shares: ``--quick``, ``--jobs``, ``--out``,
    ``--data-dir``. Returns ``(args, tag)`` where ``tag`` is ``name`` or ``name_quick``, the
    stem of the study's output files. ``extra(parser)`` may add study-specific options;
    ``check(args)`` may return a message that rejects them (argparse's error, exit code 2,
    before any work)."""
    import argparse

    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small version (a few minutes)")
    ap.add_argument("--jobs", type=int, default=2, help="runs in parallel (default 2)")
    ap.add_argument("--out", type=Path, default=Path("plots"), help="output folder (plots/)")
    ap.add_argument("--data-dir", default=None, help="folder with the data set's IDX files")
    if extra is not None:
        extra(ap)
    args = ap.parse_args(argv)
    if check is not None and (message := check(args)):
        ap.error(message)
    return args, name + ("_quick" if args.quick else "")
