"""Sweeps: specs checked before anything runs, records named by content, identical on every
executor (local processes, a real Dask LocalCluster), resumable after SIGKILL at any moment,
failures recorded, and a lost Dask worker's point recorded once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rramsim.cli import main
from rramsim.errors import ConfigError
from rramsim.experiments import sweep as sw
from rramsim.experiments.runner import InProcessExecutor, ProcessExecutor
from rramsim.networks import build_binary_mlp, save_model

ROOT = Path(__file__).resolve().parent.parent

PULSES = {"job": "pulse-response", "preset": "softbounds_asymmetric", "seeds": [0, 1],
          "args": {"up": 300, "down": 300, "devices": 3},
          "grid": {"device.up_down": [0.0, 0.4], "device.dw_min": [0.005, 0.01, 0.02]}}


def _write_spec(path: Path, spec: dict) -> Path:
    def value(v):
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return repr(v)

    lines = [f"{k} = {value(v)}" for k, v in spec.items() if not isinstance(v, dict)]
    for k, v in spec.items():
        if isinstance(v, dict):
            lines.append(f"[{k}]")
            lines += [f"{json.dumps(kk)} = {value(vv)}" for kk, vv in v.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _records(out: Path) -> dict:
    """name -> record without its run info (where, when, how long)."""
    recs = {}
    for p in sorted((out / "records").glob("*.json")):
        r = json.loads(p.read_text())
        r.pop(sw.RUN_INFO)
        recs[p.stem] = r
    return recs


# ------------------------------------------------------------------------------ the spec

def test_points_of_grid_zip_random_and_seeds():
    spec = {"job": "pulse-response", "seeds": [3, 4], "args": {"up": 5, "down": 5},
            "grid": {"device.up_down": [0.0, 0.5]},
            "zip": {"device.dw_min": [0.01, 0.02, 0.03], "args.w0": [0.0, 0.1, 0.2]},
            "random": {"n": 2, "seed": 7,
                       "device.dw_min_dtod": {"dist": "uniform", "low": 0.0, "high": 0.3}}}
    s = sw.parse_sweep(spec)
    assert len(s.points) == 2 * 3 * 2 * 2
    assert s.keys == ["device.up_down", "device.dw_min", "args.w0", "device.dw_min_dtod"]
    zipped = {(p.values["device.dw_min"], p.values["args.w0"]) for p in s.points}
    assert zipped == {(0.01, 0.0), (0.02, 0.1), (0.03, 0.2)}
    draws = {p.values["device.dw_min_dtod"] for p in s.points}
    assert len(draws) == 2 and all(0 <= d <= 0.3 for d in draws)
    again = sw.parse_sweep(spec)  # the random block is seeded
    assert [p.name for p in again.points] == [p.name for p in s.points]
    p = s.points[0]
    assert p.config["device"]["up_down"] == p.values["device.up_down"]
    assert p.args["w0"] == p.values["args.w0"] and p.args["devices"] == 1  # default filled in


def test_the_name_is_a_content_hash():
    a = sw.parse_sweep(dict(PULSES, seeds=[0]))
    b = sw.parse_sweep({"job": "pulse-response", "preset": "softbounds_asymmetric",
                        "args": {"up": 300, "down": 300, "devices": 3},
                        "zip": {"device.dw_min": [0.01], "device.up_down": [0.4]}})
    same = [p for p in a.points if p.values == {"device.up_down": 0.4, "device.dw_min": 0.01}]
    assert same[0].name == b.points[0].name  # the same run, whatever sweep it is part of
    assert len({p.name for p in a.points}) == len(a.points)


BAD_SPECS = [
    ({"job": "trian"}, "unknown job 'trian' (did you mean 'train'?)"),
    ({"job": "train", "gird": {}}, "unknown key 'gird' (did you mean 'grid'?)"),
    ({"job": "train", "grid": {"device.up_dwn": [0.1]}}, "did you mean 'up_down'"),
    ({"job": "train", "grid": {"args.epoch": [1]}}, "did you mean 'epochs'"),
    ({"job": "train", "grid": {}}, "[grid] is empty"),
    ({"job": "train", "grid": {"device.up_down": []}}, "empty list"),
    ({"job": "train", "grid": {"device.up_down": 0.3}}, "must be a list of values"),
    ({"job": "train", "grid": {"device.up_down": ["a lot"]}}, "is not a valid float"),
    ({"job": "train", "args": {"epochs": "2"}}, "args.epochs = '2' is not a valid int"),
    ({"job": "train", "args": {"epochs": 0}}, "args.epochs = 0 is out of range"),
    ({"job": "train", "seeds": [0, 1.5]}, "seeds must be a non-empty list of integers"),
    ({"job": "train", "seeds": "0"}, "seeds must be a non-empty list of integers"),
    ({"job": "train", "grid": {"device.up_down": [0.1]}, "zip": {"device.up_down": [0.2]}},
     "is in both [grid] and [zip]"),
    ({"job": "train", "zip": {"device.up_down": [0.1, 0.2], "device.dw_min": [0.001]}},
     "equal lengths"),
    ({"job": "train", "random": {"device.up_down": {"dist": "uniform", "low": 0, "high": 1}}},
     "needs n ="),
    ({"job": "train", "random": {"n": 2, "device.up_down": {"dist": "gauss"}}},
     "unknown dist 'gauss'"),
    ({"job": "train", "args": {"floating_point": True}, "grid": {"device.up_down": [0.1]}},
     "takes no configuration keys"),
    ({"job": "map", "grid": {"array.adc_bits": [4]}}, "args.model is required"),
    ({"job": "map", "args": {"model": "m.npz"}, "grid": {"device.dw_min": [0.1]}},
     "takes array.* keys"),
    ({"job": "train-binary", "preset": "softbounds_symmetric"}, "takes no preset"),
    ({"job": "train", "grid": {"args.lr": [0.01, 0.01]}}, "two points are the same run"),
]


@pytest.mark.parametrize("spec, words", BAD_SPECS, ids=[w for _, w in BAD_SPECS])
def test_bad_spec_is_one_line_and_runs_nothing(spec, words, tmp_path, capsys):
    with pytest.raises(ConfigError) as info:
        sw.parse_sweep(spec)
    assert words in str(info.value)
    path = _write_spec(tmp_path / "bad.toml", spec)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and "Traceback" not in err
    assert not out.exists()


def test_spec_file_problems(tmp_path, capsys):
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "bad.toml").write_text("job = \n")
    for name, words in (("missing.toml", "does not exist"), ("bin.toml", "not a text"),
                        ("bad.toml", "not valid TOML")):
        assert main(["sweep", str(tmp_path / name), "--dry-run"]) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1


def test_out_holding_another_sweep_is_refused(tmp_path, capsys):
    spec = dict(PULSES, seeds=[0], grid={"device.up_down": [0.0]})
    out = tmp_path / "out"
    assert main(["sweep", str(_write_spec(tmp_path / "a.toml", spec)), "--out", str(out)]) == 0
    capsys.readouterr()
    other = dict(spec, grid={"device.up_down": [0.0, 0.1]})
    assert main(["sweep", str(_write_spec(tmp_path / "b.toml", other)), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "holds a different sweep" in err and err.count("\n") == 1
    assert len(list((out / "records").glob("*.json"))) == 1


def test_dry_run_lists_the_points(tmp_path, capsys):
    path = _write_spec(tmp_path / "s.toml", PULSES)
    assert main(["sweep", str(path), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("12 points (2 seed(s)) of job 'pulse-response'")
    assert text.count("seed ") == 12


# ------------------------------------------------------------------------- running it

def test_local_processes_and_dask_give_identical_records(tmp_path):
    pytest.importorskip("distributed")
    from rramsim.experiments.dask import local_cluster

    spec = dict(PULSES, grid={"device.up_down": [0.0, 0.4], "device.dw_min": [0.005, 0.01,
                                                                                0.02]}, seeds=[5])
    sweep = sw.parse_sweep(spec)
    assert len(sweep.points) == 6
    sw.run_sweep(sweep, tmp_path / "inproc", executor=InProcessExecutor(), progress=None)
    sw.run_sweep(sweep, tmp_path / "procs", executor=ProcessExecutor(2), progress=None)
    executor, close = local_cluster(2)
    try:
        assert executor.workers == 2
        sw.run_sweep(sweep, tmp_path / "dask", executor=executor, progress=None)
    finally:
        close()
    ref = _records(tmp_path / "inproc")
    assert len(ref) == 6 and all(r["status"] == "done" for r in ref.values())
    assert _records(tmp_path / "procs") == ref
    assert _records(tmp_path / "dask") == ref


def test_failed_point_is_recorded_and_retried(tmp_path, capsys):
    model = save_model(tmp_path / "net.npz", build_binary_mlp((784, 16, 10), seed=0))
    spec = {"job": "map", "args": {"test_images": 40, "calibration_images": 20},
            "grid": {"args.model": [str(model), str(tmp_path / "missing.npz")],
                     "array.adc_bits": [2, 6]}}
    path = _write_spec(tmp_path / "map.toml", spec)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--jobs", "0"]) == 1
    st = sw.status(out)
    assert (st["done"], st["failed"], st["todo"]) == (2, 2, 0)
    assert all("no saved model" in f["error"] for f in st["failed_points"])
    assert main(["sweep", "status", str(out)]) == 0
    assert "2 done, 2 failed, 0 to do" in capsys.readouterr().out
    # the table: one row per point, the failed ones with their error
    rows = (out / "results.csv").read_text().splitlines()
    assert rows[0].startswith("name,status,args.model,array.adc_bits,seed,accuracy")
    assert len(rows) == 5 and sum(",failed," in r for r in rows) == 2
    # a plain rerun skips everything; --retry-failed runs the failed points again
    save_model(tmp_path / "missing.npz", build_binary_mlp((784, 16, 10), seed=1))
    assert main(["sweep", str(path), "--out", str(out), "--jobs", "0"]) == 1
    assert sw.status(out)["failed"] == 2
    assert main(["sweep", str(path), "--out", str(out), "--jobs", "0", "--retry-failed"]) == 0
    assert sw.status(out)["done"] == 4


def test_plot_draws_mean_and_spread(tmp_path, capsys):
    path = _write_spec(tmp_path / "s.toml", dict(PULSES, grid={"device.up_down": [0.0, 0.4]}))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--jobs", "0"]) == 0
    assert main(["sweep", "plot", str(out), "--x", "device.up_down", "--y", "w_final"]) == 0
    png = out / "sweep__w_final_vs_device_up_down.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summ = json.loads((out / "sweep__w_final_vs_device_up_down.json").read_text())["summary"]
    _, rows = sw.read_results(out)
    for i, x in enumerate(summ["None"]["x"]):
        vals = [r["w_final"] for r in rows if r["device.up_down"] == x]
        assert summ["None"]["mean"][i] == pytest.approx(np.mean(vals))
        assert summ["None"]["n"][i] == 2
    assert main(["sweep", "plot", str(out), "--x", "device.up_dwn", "--y", "w_final"]) == 2
    assert "did you mean 'device.up_down'" in capsys.readouterr().err


def _sweep_cmd(spec_path: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "rramsim.cli", "sweep", str(spec_path), "--out", str(out),
            "--jobs", "0"]


def test_sigkill_at_random_moments_then_resume(tmp_path):
    """Kill the sweep five times at random moments (mid-run and mid-write: each record holds a
    600,001-point trace), rerun after each: the final records equal an uninterrupted run's."""
    spec = {"job": "pulse-response", "preset": "softbounds_symmetric", "seeds": [0, 1, 2],
            "args": {"up": 300000, "down": 300000},
            "grid": {"device.up_down": [0.0, 0.2]}}
    path = _write_spec(tmp_path / "s.toml", spec)
    ref_out, out = tmp_path / "ref", tmp_path / "killed"
    subprocess.run(_sweep_cmd(path, ref_out), check=True, capture_output=True, cwd=ROOT)
    ref = _records(ref_out)
    assert len(ref) == 6
    rng = np.random.default_rng(0)
    kills = 0
    for _ in range(12):
        if kills >= 5:
            break
        proc = subprocess.Popen(_sweep_cmd(path, out), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, cwd=ROOT)
        time.sleep(float(rng.uniform(0.3, 2.5)))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        for p in (out / "records").glob("*.json"):  # never a partial record
            json.loads(p.read_text())
    assert kills == 5
    subprocess.run(_sweep_cmd(path, out), check=True, capture_output=True, cwd=ROOT)
    assert _records(out) == ref


def test_a_killed_dask_worker_point_is_rerun_and_recorded_once(tmp_path):
    pytest.importorskip("distributed")
    from rramsim.experiments.dask import local_cluster

    spec = {"job": "symmetry-point", "preset": "softbounds_asymmetric", "seeds": [0, 1],
            "args": {"rows": 32, "cols": 32}, "set": {"reference.sp_pairs": 100000}}
    sweep = sw.parse_sweep(spec)
    sw.run_sweep(sweep, tmp_path / "ref", executor=InProcessExecutor(), progress=None)
    executor, close = local_cluster(2)
    client = executor.client
    killed = []
    try:
        def kill_a_busy_worker():
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                busy = [w for w, tasks in client.processing().items() if tasks]
                if busy:
                    pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                    time.sleep(0.5)  # let it get into the point (about 2 s of pulses)
                    key = client.processing()[busy[0]][0]
                    record = tmp_path / "dask" / "records" / f"{key[len('rramsim-'):]}.json"
                    os.kill(pid, signal.SIGKILL)
                    killed.append((pid, record.exists()))
                    return
                time.sleep(0.05)

        import threading

        t = threading.Thread(target=kill_a_busy_worker)
        t.start()
        sw.run_sweep(sweep, tmp_path / "dask", executor=executor, progress=None)
        t.join()
    finally:
        close()
    assert killed and not killed[0][1], "no worker was killed in the middle of a point"
    assert _records(tmp_path / "dask") == _records(tmp_path / "ref")
    assert len(list((tmp_path / "dask" / "records").glob("*.json"))) == 2


@pytest.mark.parametrize("path", sorted((ROOT / "studies" / "sweeps").glob("*.toml")),
                         ids=lambda p: p.name)
def test_the_shipped_sweep_specs_parse(path):
    s = sw.parse_sweep(sw.load_spec(path), source=str(path))
    assert len(s.points) >= 2 and s.keys
