"""Benchmark: how long does one MNIST training epoch take? (in-situ MNIST training)

Question: seconds for one full epoch (60,000 images) of the 784-256-128-10 sigmoid MLP
- on analog tiles in the default setting (batch 1, lr 0.01, BL 31),
- on analog tiles in the mini-batch setting of aihwkit's MNIST example (batch 64, lr 0.05,
  pulse length managed per update),
- in floating point (batch 1, and batch 64), with numpy layers and on the compiled path (the
  analog layers with perfect reads and ideal updates: the same SGD in float64),
- each analog setting also with the analog products in float32 (``product_dtype``),
- each analog setting also through the layer-by-layer reference path (``fit(fast=False)``;
  the default takes the compiled training step, ``rramsim.nn.compiled``), so the ratio of the
  two is measured in one run; ``--baseline-src DIR`` also times the analog settings with the
  package found in DIR (e.g. an unpacked earlier commit: ``git archive <commit> | tar -x -C
  DIR``), in a child process after this one's,
single-threaded, and the speed-up from a second thread (numba and BLAS threads).

On a shared machine the speed drifts over minutes, so ``--repeats R`` runs the children R times,
this package and the baseline alternating, and reports the median of each setting's times and
of the per-repeat ratios; ``--settings NAME ...`` times only those settings.

Preset: softbounds_symmetric. Output: JSON (``--out``, default out/bench/bench_training.json)
and a table. ``--subset N`` times N images and scales to 60,000 (for a quick look).

    python studies/bench_training.py [--threads 1 2] [--subset 60000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

SETTINGS = {
    "analog_batch1_lr0.01": dict(analog=True, batch_size=1, lr=0.01, overrides=()),
    "analog_batch1_lr0.01_reference": dict(analog=True, batch_size=1, lr=0.01, overrides=(),
                                           fast=False),
    "analog_batch64_lr0.05_plm": dict(analog=True, batch_size=64, lr=0.05,
                                      overrides=("update.pulse_length_management=true",)),
    "analog_batch64_lr0.05_plm_reference": dict(
        analog=True, batch_size=64, lr=0.05, overrides=("update.pulse_length_management=true",),
        fast=False),
    "float_batch1_lr0.01": dict(analog=False, batch_size=1, lr=0.01, overrides=()),
    "float_batch64_lr0.05": dict(analog=False, batch_size=64, lr=0.05, overrides=()),
}
#: Floating point on the compiled path: analog layers with perfect reads, ideal updates, no
#: device variation or noise and bounds far away, i.e. plain SGD in float64 (it gives the
#: numpy baseline's test accuracy to the last digit), so that the analog cost over digital is
#: measured on equal terms.
FLOAT_AS_IDEAL = ("forward.is_perfect=true", "backward.is_perfect=true", "update.mode=ideal",
                  "device.w_min=-1000", "device.w_max=1000", "device.up_down=0",
                  "device.dw_min_dtod=0", "device.up_down_dtod=0", "device.w_min_dtod=0",
                  "device.w_max_dtod=0", "device.dw_min_ctoc=0")
#: The analog settings with the products in float32 (``product_dtype``; not in earlier
#: packages, so the baseline skips them).
F32 = ("forward.product_dtype=float32", "backward.product_dtype=float32")
SETTINGS.update({
    "analog_batch1_lr0.01_f32": dict(analog=True, batch_size=1, lr=0.01, overrides=F32,
                                     new=True),
    "analog_batch64_lr0.05_plm_f32": dict(
        analog=True, batch_size=64, lr=0.05,
        overrides=("update.pulse_length_management=true",) + F32, new=True)})
SETTINGS.update({
    "float_batch1_lr0.01_compiled": dict(analog=True, batch_size=1, lr=0.01,
                                         overrides=FLOAT_AS_IDEAL),
    "float_batch64_lr0.05_compiled": dict(analog=True, batch_size=64, lr=0.05,
                                          overrides=FLOAT_AS_IDEAL)})


def measure(subset: int, names: list[str]) -> dict:
    from rramsim.config import load_preset
    from rramsim.experiments.mnist import train_mnist_mlp

    out = {}
    baseline = os.environ.get("RRAMSIM_BENCH_BASELINE") == "1"
    for name, s in SETTINGS.items():
        if name not in names:
            continue
        if baseline and (not s["analog"] or "fast" in s or "new" in s
                         or name.startswith("float")):
            continue  # an earlier package: only its (reference) analog path
        cfg = load_preset("softbounds_symmetric", list(s["overrides"])) if s["analog"] else None
        # one short warm-up run compiles (or loads) every kernel
        fast = s.get("fast") if not baseline else None
        train_mnist_mlp(cfg, epochs=1, batch_size=s["batch_size"], lr=s["lr"], train_subset=256,
                        **({} if baseline else {"fast": fast}))
        kw = {} if baseline else {"fast": fast}
        _, hist, _ = train_mnist_mlp(cfg, epochs=1, batch_size=s["batch_size"], lr=s["lr"],
                                     train_subset=subset if subset < 60000 else None, seed=1,
                                     **kw)
        out[name] = {"epoch_seconds_60k": hist[1]["seconds"] * 60000 / subset,
                     "test_accuracy_after_epoch": hist[1]["test_accuracy"]}
    return out


def _child(args, env, names, cwd=None) -> dict:
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", "--subset",
                          str(args.subset), "--settings", *names], env=env, check=True,
                         capture_output=True, text=True, cwd=cwd).stdout
    return json.loads(out.strip().splitlines()[-1])


def _median_runs(runs: list[dict]) -> dict:
    """Per setting: the median epoch time over the repeats, and every repeat's time."""
    out = {}
    for name in runs[0]:
        sec = [r[name]["epoch_seconds_60k"] for r in runs]
        out[name] = {"epoch_seconds_60k": statistics.median(sec), "repeats_seconds": sec,
                     "test_accuracy_after_epoch": runs[0][name]["test_accuracy_after_epoch"]}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                    help="numba and BLAS threads per child process (default: 1 2)")
    ap.add_argument("--subset", type=int, default=60000,
                    help="images timed, scaled to 60,000 (default: 60000)")
    ap.add_argument("--repeats", type=int, default=1,
                    help="interleaved repeats of every child; medians reported (default: 1)")
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS),
                    metavar="NAME", help="the settings to time (default: all)")
    ap.add_argument("--out", type=Path, default=Path("out/bench"))
    ap.add_argument("--baseline-src", type=Path, default=None,
                    help="a source tree of an earlier rramsim to time beside this one")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.subset, args.settings)))
        return
    results, ratios = {}, {}
    for t in args.threads:
        env = dict(os.environ, NUMBA_NUM_THREADS=str(t), OPENBLAS_NUM_THREADS=str(t),
                   OMP_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t))
        runs, base_runs = [], []
        for _ in range(args.repeats):
            runs.append(_child(args, env, args.settings))
            if args.baseline_src is not None:
                base_env = dict(env, PYTHONPATH=str(args.baseline_src.resolve()),
                                RRAMSIM_BENCH_BASELINE="1")
                base_runs.append(_child(args, base_env, args.settings,
                                        cwd=str(args.baseline_src)))
        results[f"threads_{t}"] = _median_runs(runs)
        if base_runs and base_runs[0]:
            results[f"threads_{t}_baseline"] = _median_runs(base_runs)
            for name in base_runs[0]:
                ratios[f"threads_{t} {name}: compiled / baseline package"] = statistics.median(
                    r[name]["epoch_seconds_60k"] / b[name]["epoch_seconds_60k"]
                    for r, b in zip(runs, base_runs))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_training.json").write_text(
        json.dumps({**results, "median_ratios": ratios}, indent=2) + "\n")
    print(f"{'seconds per 60,000-image epoch':40s}" + "".join(f"{k:>20s}" for k in results))
    for name in args.settings:
        print(f"{name:40s}" + "".join(f"{r[name]['epoch_seconds_60k']:20.1f}" if name in r
                                      else f"{'':20s}" for r in results.values()))
    for key, r in results.items():
        for name in ("analog_batch1_lr0.01", "analog_batch64_lr0.05_plm"):
            if name in r and name + "_f32" in r:
                print(f"{key} {name}: float32 / float64 products "
                      f"{r[name + '_f32']['epoch_seconds_60k'] / r[name]['epoch_seconds_60k']:.2f}")
            ref = r.get(name + "_reference")
            new = r.get(name)
            if ref and new:
                print(f"{key} {name}: compiled / reference path "
                      f"{new['epoch_seconds_60k'] / ref['epoch_seconds_60k']:.2f}")
            if f"{key} {name}: compiled / baseline package" in ratios:
                print(f"{key} {name}: compiled / baseline package "
                      f"{ratios[f'{key} {name}: compiled / baseline package']:.2f}"
                      + (f" (median of {args.repeats} interleaved pairs)"
                         if args.repeats > 1 else ""))
        for name, fp in (("analog_batch1_lr0.01", "float_batch1_lr0.01"),
                         ("analog_batch64_lr0.05_plm", "float_batch64_lr0.05")):
            if name in r and fp in r and fp + "_compiled" in r:
                sec = {k: r[k]["epoch_seconds_60k"] for k in (name, fp, fp + "_compiled")}
                print(f"{key} {name}: analog / floating point, both compiled "
                      f"{sec[name] / sec[fp + '_compiled']:.2f}; floating point compiled / "
                      f"numpy {sec[fp + '_compiled'] / sec[fp]:.2f}")
    plain = [r for k, r in results.items() if not k.endswith("_baseline")]
    if len(plain) > 1:
        first, last = plain[0], plain[-1]
        for name in args.settings:
            print(f"speed-up {name}: "
                  f"{first[name]['epoch_seconds_60k'] / last[name]['epoch_seconds_60k']:.2f}x")
    print(f"wrote {args.out / 'bench_training.json'}")


if __name__ == "__main__":
    main()
