"""The study runner: per-task cache, resume after a kill, unreadable cache files redone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rramsim.experiments.runner import run_tasks
from rramsim.results import write_json

HERE = Path(__file__).resolve().parent


def square(task: dict) -> dict:
    """A tiny task runner (module level, so worker processes can import it)."""
    return dict(task, value=task["x"] ** 2, pad=[0.5] * task.get("pad", 0))


def test_cache_is_used_and_results_keep_task_order(tmp_path):
    tasks = [{"name": f"t{i}", "x": i} for i in range(4)]
    first = run_tasks(tasks, square, jobs=0, cache_dir=tmp_path, progress=None)
    assert [r["value"] for r in first] == [0, 1, 4, 9]
    write_json(tmp_path / "t2.json", dict(first[2], value=-1))  # a cached record is not redone
    again = run_tasks(tasks[::-1], square, jobs=0, cache_dir=tmp_path, progress=None)
    assert [r["value"] for r in again] == [9, -1, 1, 0]


def test_cached_only_runs_nothing_and_names_what_is_missing(tmp_path):
    tasks = [{"name": f"t{i}", "x": i} for i in range(4)]
    run_tasks(tasks[1:3], square, jobs=0, cache_dir=tmp_path, progress=None)
    lines = []
    got = run_tasks(tasks, square, jobs=0, cache_dir=tmp_path, progress=lines.append,
                    cached_only=True)
    assert [r["name"] for r in got] == ["t1", "t2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t1.json", "t2.json"]  # none run
    assert lines == ["2 of 4 runs not done yet (left out): t0, t3"]


def test_unreadable_cache_file_is_reported_and_redone(tmp_path):
    tasks = [{"name": "a", "x": 3}, {"name": "b", "x": 4}]
    (tmp_path / "a.json").write_text('{"name": "a", "val')  # truncated by a crash
    (tmp_path / "b.json").write_bytes(b"\x00\xff\x10 garbage")
    said = []
    res = run_tasks(tasks, square, jobs=0, cache_dir=tmp_path, progress=said.append)
    assert [r["value"] for r in res] == [9, 16]
    assert sum("unreadable" in s and "running the task again" in s for s in said) == 2
    assert json.loads((tmp_path / "a.json").read_text())["value"] == 9


def test_a_record_of_another_task_is_not_taken(tmp_path):
    write_json(tmp_path / "a.json", {"name": "b", "value": 0})
    res = run_tasks([{"name": "a", "x": 2}], square, jobs=0, cache_dir=tmp_path, progress=None)
    assert res[0]["value"] == 4


def test_worker_processes_give_the_same_results(tmp_path):
    tasks = [{"name": f"t{i}", "x": i} for i in range(3)]
    sys.path.insert(0, str(HERE))  # the spawned workers import this module by name
    try:
        import test_runner as me
        par = run_tasks(tasks, me.square, jobs=2, progress=None)
    finally:
        sys.path.remove(str(HERE))
    assert [r["value"] for r in par] == [0, 1, 4]


def test_killed_while_writing_then_resumed(tmp_path):
    """SIGKILL a run in the middle of writing its records; the rerun finishes every task once,
    and no half-written record is ever read back."""
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "from test_runner import square\n"
        "from rramsim.experiments.runner import run_tasks\n"
        "tasks = [{'name': f't{i}', 'x': i, 'pad': 200000} for i in range(40)]\n"
        f"run_tasks(tasks, square, jobs=0, cache_dir={str(tmp_path)!r}, progress=None)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(tmp_path.glob("t*.json"))) < 3:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {p.name for p in tmp_path.glob("t*.json")}
    assert 3 <= len(done_before) < 40, "the kill should land in the middle of the run"
    for p in tmp_path.glob("t*.json"):  # every record on disk is complete
        assert json.loads(p.read_text())["name"] == p.stem
    calls = []

    def counting(task):
        calls.append(task["name"])
        return square(task)

    tasks = [{"name": f"t{i}", "x": i, "pad": 200000} for i in range(40)]
    res = run_tasks(tasks, counting, jobs=0, cache_dir=tmp_path, progress=None)
    assert [r["value"] for r in res] == [i * i for i in range(40)]
    assert sorted(calls) == sorted(f"t{i}" for i in range(40) if f"t{i}.json" not in done_before)


def test_a_study_rejects_a_grid_point_outside_its_spec_before_any_run(tmp_path):
    """``study_args(check=...)``: a seed or step size outside the study's grid would run, be
    cached and reach no figure; it is refused with argparse's one error line and exit code 2."""
    script = Path(__file__).resolve().parents[1] / "studies" / "training_algorithms.py"
    for bad, named in ((["--seeds", "0", "7"], "--seeds 7"),
                       (["--dw-min", "0.03"], "--dw-min 0.03"),
                       (["--quick", "--up-down", "0.3"], "--up-down 0.3")):
        p = subprocess.run([sys.executable, str(script), "--part", "states", "--out", str(tmp_path),
                            *bad], capture_output=True, text=True, timeout=120)
        assert p.returncode == 2, p.stderr
        last = p.stderr.strip().splitlines()[-1]
        assert last.startswith("training_algorithms.py: error: " + named), last
        assert "not in the" in last and "Traceback" not in p.stderr
    assert not any(tmp_path.iterdir())  # nothing written
