"""Study: which training algorithm learns on which device?

Question: do the transfer algorithms (Tiki-Taka TTv1, TTv2, chopped TTv2, AGAD) and mixed
precision train where plain SGD on asymmetric soft-bound devices does not, and what does each
need (a reference at the symmetry point, many device states)? Three parts:

1. **offset toy** (after Rasch et al. 2024, Fig. 3): a 5 x 5 tile learns a fixed target from
   random inputs with noisy targets and perfect reads, so that only the update algorithm
   matters; the weight error against updates for SGD, TTv1, TTv2, c-TTv2 and AGAD, with the
   reference of the gradient array at its symmetry point and 0.3 and 0.8 of ``w_max`` above it;
2. **MNIST** in the zero-shifting study's setting (784-256-128-10, batch 1, lr 0.01): test
   accuracy after 3 and 10 epochs for SGD, SGD + zero-shifting, TTv1 + zero-shifting, TTv2 +
   zero-shifting, c-TTv2, AGAD (without and with zero-shifting) and mixed precision,
   ``up_down`` in {0, 0.3, 0.5}, reference programming error ``reference_std`` in {0, 0.1}
   (the arms with zero-shifting; the others keep the mid-value reference);
3. **number of states**: ``dw_min`` from 0.001 to 0.05 at ``up_down = 0.3`` (in full: one arm
   per algorithm, ``STATES_ARMS``).

Preset: ``softbounds_symmetric`` with ``--set device.up_down=...``; the toy device and every
algorithm's settings are the dictionaries below (``TOY_DEVICE``, ``TOY_ALGORITHMS``,
``MNIST_ALGORITHMS``).

Outputs (``--out``, default ``plots/``; ``<tag>`` is ``training_algorithms`` or
``training_algorithms_quick``, and ``--quick`` figures end in ``_quick``):
- ``training_algorithms__offset_toy[_quick].png``: weight error vs updates, one panel per
  reference offset;
- ``training_algorithms__mnist[_quick].png``: MNIST test accuracy per algorithm and device
  (last epoch);
- ``training_algorithms__states[_quick].png``: MNIST test accuracy vs ``dw_min`` at up_down 0.3;
- ``<tag>.json``: the settings, every run and the summaries the figures are drawn from;
- per-run JSON of the MNIST parts under ``<out>/<tag>_runs/`` (a rerun resumes).

    python studies/training_algorithms.py --part toy   # 5 algorithms x 3 offsets x 3 seeds
    python studies/training_algorithms.py              # all parts in full (many hours)
    python studies/training_algorithms.py --part mnist --cached-only   # what is done so far
    python studies/training_algorithms.py --part states --seeds 0   # one seed of every point
    python studies/training_algorithms.py --part chopper   # 7 short runs: c-TTv2's failure
    python studies/training_algorithms.py --quick --part mnist    # minutes: 1 seed, 2 epochs
    python studies/training_algorithms.py --quick --part states   # minutes
"""

from __future__ import annotations

import json

from rramsim.config import TileConfig, load_preset
from rramsim.experiments.algorithms import offset_toy
from rramsim.experiments.mnist import run_training_tasks
from rramsim.experiments.runner import study_args
from rramsim.plotting.algorithms import (
    accuracy_by_algorithm,
    accuracy_vs_states,
    offset_toy_errors,
)
from rramsim.results import summary_stats, write_json

#: The toy device: strongly asymmetric soft bounds (down steps half the up steps), about 200
#: states, perfect reads; zero-shifted by the closed form before any offset is added.
TOY_DEVICE = {"device.dw_min": 0.01, "device.up_down": 0.5, "device.w_min": -1.0,
              "device.w_max": 1.0, "device.dw_min_dtod": 0.1, "device.up_down_dtod": 0.0,
              "device.w_min_dtod": 0.1, "device.w_max_dtod": 0.1, "device.dw_min_ctoc": 0.3,
              "forward.is_perfect": True, "backward.is_perfect": True,
              "reference.zero_shift": True, "reference.sp_method": "closed_form"}
#: Toy problem: lr of the SGD step, target noise std, target scale, size.
TOY_PROBLEM = dict(lr=0.05, noise=0.5, target_scale=0.3, n=5)
#: Algorithm settings of the toy (label -> overrides): the same transfer rate for the four
#: transfer algorithms, one column read per update, one pulse per transfer at most (aihwkit's
#: defaults), buffer threshold one dw_min, choppers flipping with probability 0.2 per read.
TRANSFER = {"algorithm.transfer_lr": 0.05, "algorithm.transfer_every": 1,
            "algorithm.n_reads_per_transfer": 1}
TOY_ALGORITHMS = {
    "SGD": {"algorithm.kind": "sgd"},
    "TTv1": {"algorithm.kind": "ttv1", **TRANSFER},
    "TTv2": {"algorithm.kind": "ttv2", **TRANSFER, "algorithm.thres_scale": 1.0,
             "algorithm.transfer_bl": 1},
    "c-TTv2": {"algorithm.kind": "c-ttv2", **TRANSFER, "algorithm.in_chop_prob": 0.2},
    "AGAD": {"algorithm.kind": "agad", **TRANSFER, "algorithm.in_chop_prob": 0.2,
             "algorithm.tail_weightening": 5.0},
}
TOY_OFFSETS = [0.0, 0.3, 0.8]

#: The buffer of the MNIST runs: one column read per update, its reads into H at 30 x lr, up to
#: 31 whole pulses per device and transfer, the remainder kept (a column of the first layer is
#: read once every 785 updates, so one pulse per read would cap C's rate far below SGD's).
BUFFER = {"algorithm.transfer_lr": 30.0, "algorithm.transfer_bl": 31,
          "algorithm.forget_buffer": False}
#: MNIST arms: label -> (run tag, overrides). Zero-shifting (ZS) puts the references of both
#: arrays at their symmetry points (pulse protocol; closed form in --quick); ZS(C) only those of
#: the weight array C (``algorithm.zero_shift_slow``), which c-TTv2 and AGAD, built to cancel
#: the offset of A's reference, still need: C drifts towards its own symmetry points under the
#: transfer pulses. c-TTv2, AGAD and mixed precision run without any, as the issue asks, then
#: c-TTv2 and AGAD with ZS(C) and with full ZS.
MNIST_ALGORITHMS = {
    "SGD": ("sgd", {}),
    "SGD + ZS": ("sgdzs", {"reference.zero_shift": True}),
    "TTv1 + ZS": ("ttv1", {"algorithm.kind": "ttv1", "reference.zero_shift": True,
                           "algorithm.transfer_lr": 30.0}),
    "TTv2 + ZS": ("ttv2", {"algorithm.kind": "ttv2", "reference.zero_shift": True,
                           **BUFFER}),
    "c-TTv2": ("cttv2", {"algorithm.kind": "c-ttv2", "algorithm.in_chop_prob": 0.1, **BUFFER}),
    "AGAD": ("agad", {"algorithm.kind": "agad", "algorithm.in_chop_prob": 0.1, **BUFFER}),
    "c-TTv2 + ZS(C)": ("cttv2zsc", {"algorithm.kind": "c-ttv2", "algorithm.zero_shift_slow": True,
                                    "algorithm.in_chop_prob": 0.1, **BUFFER}),
    "AGAD + ZS(C)": ("agadzsc", {"algorithm.kind": "agad", "algorithm.zero_shift_slow": True,
                                 "algorithm.in_chop_prob": 0.1, **BUFFER}),
    "c-TTv2 + ZS": ("cttv2zs", {"algorithm.kind": "c-ttv2", "reference.zero_shift": True,
                                "algorithm.in_chop_prob": 0.1, **BUFFER}),
    "AGAD + ZS": ("agadzs", {"algorithm.kind": "agad", "reference.zero_shift": True,
                             "algorithm.in_chop_prob": 0.1, **BUFFER}),
    "mixed precision": ("mp", {"algorithm.kind": "mixed-precision"}),
}

#: The MNIST parts' device preset (its up_down, dw_min and reference error set per run).
PRESET = "softbounds_symmetric"

#: The issue's floor: the best of c-TTv2 and AGAD on up_down 0.5 devices with a reference
#: error of 0.1 against SGD on the symmetric device, 10 epochs, 3 seeds (label -> (up_down,
#: reference_std)), and the two without any zero-shifting (no programmed reference, so no
#: reference error). The runs are those of the full MNIST grid (same names, same cache).
FLOOR = {"SGD": (0.0, 0.0), "c-TTv2 + ZS(C)": (0.5, 0.1), "AGAD + ZS(C)": (0.5, 0.1),
         "c-TTv2": (0.5, 0.0), "AGAD": (0.5, 0.0)}

#: The number-of-states part in full: one arm per algorithm, each in the variant that needs no
#: more than the algorithm claims (SGD with and without zero-shifting for scale), 6 step sizes x
#: 3 seeds x 10 epochs (the quick run takes every arm).
STATES_ARMS = ("SGD", "SGD + ZS", "TTv1 + ZS", "TTv2 + ZS", "c-TTv2 + ZS", "AGAD + ZS(C)",
               "mixed precision")

#: A diagnosis of c-TTv2 + ZS(C) on up_down 0.5 (``--part chopper``): the arm with other
#: transfer rates and chopper probabilities, and AGAD + ZS(C) at two of the chopper
#: probabilities for comparison, (label, transfer_lr, in_chop_prob), on 20,000 images, 2
#: epochs, seed 0, closed-form zero-shifting of C, whatever the spec.
CHOPPER_POINTS = [("c-TTv2 + ZS(C)", 30.0, 0.1), ("c-TTv2 + ZS(C)", 3.0, 0.1),
                  ("c-TTv2 + ZS(C)", 1.0, 0.1), ("c-TTv2 + ZS(C)", 30.0, 0.5),
                  ("c-TTv2 + ZS(C)", 30.0, 1.0), ("AGAD + ZS(C)", 30.0, 0.1),
                  ("AGAD + ZS(C)", 30.0, 1.0)]


def chopper_tasks(data_dir) -> list[dict]:
    out = []
    for label, tl, cp in CHOPPER_POINTS:
        tag = "" if label.startswith("c-TTv2") else "agad_"
        over = dict(MNIST_ALGORITHMS[label][1], **{
            "algorithm.transfer_lr": tl, "algorithm.in_chop_prob": cp, "device.up_down": 0.5,
            "reference.reference_std": 0.0, "reference.sp_method": "closed_form"})
        out.append(dict(name=f"chopper_{tag}tl{tl}_cp{cp}", label=label, transfer_lr=tl,
                        in_chop_prob=cp, preset=PRESET, epochs=2, train_subset=20000,
                        batch_size=1, lr=0.01, seed=0, data_dir=data_dir, overrides=over))
    return out


FULL = dict(toy_seeds=[0, 1, 2], toy_updates=30000, toy_every=500, seeds=[0, 1, 2], epochs=10,
            train_subset=None, up_down=[0.0, 0.3, 0.5], reference_std=[0.0, 0.1],
            dw_min=[0.001, 0.002, 0.005, 0.01, 0.02, 0.05], report_epochs=[3, 10],
            sp_method="pulses", states_arms=list(STATES_ARMS))
QUICK = dict(toy_seeds=[0], toy_updates=6000, toy_every=250, seeds=[0], epochs=2,
             train_subset=20000, up_down=[0.0, 0.5], reference_std=[0.0, 0.1],
             dw_min=[0.001, 0.01, 0.05], report_epochs=[1, 2], sp_method="closed_form",
             states_arms=None)


def run_toy(spec) -> dict:
    curves = {}
    for off in TOY_OFFSETS:
        curves[off] = {}
        for label, over in TOY_ALGORITHMS.items():
            cfg = TileConfig().with_overrides({**TOY_DEVICE, **over})
            runs = [offset_toy(cfg, spec["toy_updates"], offset=off,
                               record_every=spec["toy_every"], seed=s, **TOY_PROBLEM)
                    for s in spec["toy_seeds"]]
            curves[off][label] = {"updates": runs[0]["updates"],
                                  "error": [r["error"] for r in runs]}
            final = [r["error"][-1] for r in runs]
            print(f"  toy offset {off}: {label:7s} final error {summary_stats(final)['mean']:.3f}",
                  flush=True)
    return curves


def _tasks(spec, data_dir, part, up_down=None, seeds=None, dw_min=None) -> list[dict]:
    """The runs of one MNIST part; ``up_down``, ``seeds`` and ``dw_min`` (each ``None`` for all
    of the spec's) take a subset of the grid, e.g. one seed of every point first."""
    common = dict(epochs=spec["epochs"], train_subset=spec["train_subset"], batch_size=1,
                  lr=0.01, data_dir=data_dir, preset=PRESET, part=part)
    tasks = []
    default_dw = load_preset(PRESET).device.dw_min  # its runs are the MNIST grid's
    if part == "mnist":
        points = [(ud, rs) for ud in (up_down or spec["up_down"]) for rs in spec["reference_std"]]
    else:
        points = [(0.3, 0.0)]
    for label, (tag, over) in MNIST_ALGORITHMS.items():
        if part == "floor":
            if label not in FLOOR:
                continue
            points = [FLOOR[label]]
        if part == "states" and spec["states_arms"] and label not in spec["states_arms"]:
            continue
        zs = over.get("reference.zero_shift", False) or over.get("algorithm.zero_shift_slow",
                                                                  False)
        dws = (dw_min or spec["dw_min"]) if part == "states" else [None]
        for ud, rs in points:
            if rs and not zs:
                continue  # the reference error is that of the zero-shift
            for dw in dws:
                for s in seeds or spec["seeds"]:
                    o = dict(over, **{"device.up_down": ud, "reference.reference_std": rs,
                                      "reference.sp_method": spec["sp_method"]})
                    # the floor's runs are runs of the MNIST grid: same name, same cache
                    name = f"{'mnist' if part == 'floor' else part}_{tag}_ud{ud}_rs{rs}_seed{s}"
                    step = dw
                    if dw == default_dw:  # the preset's own step: the MNIST grid's run
                        name, step = name.replace("states_", "mnist_", 1), None
                    if step is not None:
                        o["device.dw_min"] = step
                        name += f"_dw{step}"
                    tasks.append(dict(common, name=name, label=label, up_down=ud,
                                      reference_std=rs, dw_min=step, seed=s, overrides=o))
    return tasks


def _acc(run, epoch) -> float:
    return next(h["test_accuracy"] for h in run["history"] if h["epoch"] == epoch)


def summarise_mnist(runs, spec) -> list[dict]:
    rows = []
    for label in MNIST_ALGORITHMS:
        keys = sorted({(r["up_down"], r["reference_std"]) for r in runs if r["label"] == label})
        for ud, rs in keys:
            sel = [r for r in runs if r["label"] == label and r["up_down"] == ud
                   and r["reference_std"] == rs]
            row = dict(label=label, up_down=ud, reference_std=rs,
                       group=f"up_down {ud}" + (f", ref. error {rs}" if rs else ""))
            for e in spec["report_epochs"]:
                row[f"epoch{e}"] = summary_stats([_acc(r, e) for r in sel])
            row.update(row[f"epoch{spec['report_epochs'][-1]}"])
            rows.append(row)
    return rows


def floor_check(rows, spec) -> dict:
    """The floor: the best of the FLOOR's transfer arms within 3 points of SGD (last epoch,
    mean over the seeds)."""
    last = f"epoch{spec['report_epochs'][-1]}"
    acc = {r["label"]: r[last]["mean"] for r in rows if r["label"] in FLOOR}
    best = max((lab for lab in acc if lab != "SGD"), key=acc.get)
    gap = acc["SGD"] - acc[best]
    return dict(epochs=spec["epochs"], seeds=spec["seeds"], accuracy=acc, best=best,
                gap_points=100 * gap, within_3_points=bool(gap <= 0.03))


def summarise_states(runs, spec) -> dict:
    default_dw = load_preset(PRESET).device.dw_min  # the runs of the MNIST grid
    curves = {}
    for label in MNIST_ALGORITHMS:
        rows = []
        for dw in spec["dw_min"]:
            accs = [r["final_test_accuracy"] for r in runs if r["label"] == label
                    and (r["dw_min"] if r["dw_min"] is not None else default_dw) == dw]
            if accs:
                rows.append(dict(dw_min=dw, **summary_stats(accs)))
        if rows:  # the full part runs STATES_ARMS only: no empty curve in figure or JSON
            curves[label] = rows
    return curves


def main():
    def grid(key, spec=None):  # the grid's values of one option, for its help and its check
        if spec is None:
            return "; ".join(f"{grid(key, sp)}{q}"
                             for sp, q in ((FULL, ""), (QUICK, " with --quick")))
        return " ".join(map(str, spec[key]))

    def extra(ap):
        ap.add_argument("--part", choices=("all", "toy", "mnist", "states", "floor", "chopper"),
                        default="all", help="which part to run (default all; floor: only the "
                        "15 runs of the issue's floor, which the full MNIST grid reuses; chopper: "
                        "5 short runs that diagnose c-TTv2 + ZS(C))")
        ap.add_argument("--up-down", type=float, nargs="+", default=None,
                        help="MNIST part: only these up_down values of the grid (default all: "
                        f"{grid('up_down')})")
        ap.add_argument("--seeds", type=int, nargs="+", default=None,
                        help=f"MNIST and states parts: only these seeds (default all: "
                        f"{grid('seeds')})")
        ap.add_argument("--dw-min", type=float, nargs="+", default=None,
                        help="states part: only these pulse step sizes, in weight units "
                        f"(default all: {grid('dw_min')})")
        ap.add_argument("--cached-only", action="store_true",
                        help="run nothing: figures and JSON from the finished runs in the "
                        "run folder (the others are listed and left out)")

    def in_grid(args):  # a point outside the grid would run, be cached, and reach no figure
        spec = QUICK if args.quick else FULL
        for opt, key in (("--up-down", "up_down"), ("--seeds", "seeds"), ("--dw-min", "dw_min")):
            bad = [v for v in getattr(args, key) or () if v not in spec[key]]
            if bad:
                return (f"{opt} {' '.join(map(str, bad))}: not in the "
                        f"{'quick' if args.quick else 'full'} grid ({grid(key, spec)})")

    args, tag = study_args(__doc__, "training_algorithms", extra=extra, check=in_grid)
    spec = QUICK if args.quick else FULL

    def figure(name):  # <study>__<figure>[_quick].png, the names the docs check
        return args.out / f"training_algorithms__{name}{'_quick' if args.quick else ''}.png"

    out = {"spec": spec, "toy_device": TOY_DEVICE, "toy_problem": TOY_PROBLEM,
           "toy_algorithms": TOY_ALGORITHMS,
           "mnist_algorithms": {k: v[1] for k, v in MNIST_ALGORITHMS.items()}}
    if args.part in ("all", "toy"):
        curves = run_toy(spec)
        out["offset_toy"] = {str(k): v for k, v in curves.items()}
        offset_toy_errors(curves, TOY_OFFSETS, figure("offset_toy"),
                          f"offset toy: 5 x 5 target, up_down 0.5, noise {TOY_PROBLEM['noise']}")
    for part in ("mnist", "states", "floor"):
        if args.part not in ("all", part) or (part == "floor" and args.part == "all"):
            continue
        cache = args.out / f"{tag}_runs"
        runs = run_training_tasks(_tasks(spec, args.data_dir, part, args.up_down, args.seeds,
                                         args.dw_min),
                                  jobs=args.jobs, cache_dir=cache, cached_only=args.cached_only)
        if args.up_down or args.seeds or args.dw_min:  # figure and JSON: every finished run
            runs = run_training_tasks(_tasks(spec, args.data_dir, part), cache_dir=cache,
                                      cached_only=True, progress=None)
        if not runs:
            continue
        out[f"{part}_runs"] = runs
        if part in ("mnist", "floor"):
            rows = summarise_mnist(runs, spec)
            out[part] = rows
        if part == "floor":
            out["floor_check"] = floor_check(rows, spec)
            print(json.dumps(out["floor_check"], indent=1))
        elif part == "mnist":
            groups = list(dict.fromkeys(r["group"] for r in rows))
            accuracy_by_algorithm(rows, groups, list(MNIST_ALGORITHMS),
                                  figure("mnist"),
                                  f"MNIST MLP, {spec['epochs']} epochs, test accuracy")
            print(f"\n{'algorithm':18s} {'device':28s} " +
                  " ".join(f"{'epoch ' + str(e):>16s}" for e in spec["report_epochs"]))
            for r in rows:
                print(f"{r['label']:18s} {r['group']:28s} " + " ".join(
                    f"{100 * r[f'epoch{e}']['mean']:7.2f} % (+-{100 * r[f'epoch{e}']['std']:4.1f})"
                    for e in spec["report_epochs"]))
        else:
            curves = summarise_states(runs, spec)
            out["states"] = curves
            accuracy_vs_states(curves, figure("states"),
                               "MNIST MLP, up_down 0.3: accuracy vs step size")
            for label, rows in curves.items():
                print(f"{label:18s} " + "  ".join(f"dw_min {r['dw_min']}: "
                                                  f"{100 * r['mean']:.2f} %" for r in rows))
    if args.part == "chopper":
        runs = run_training_tasks(chopper_tasks(args.data_dir), jobs=args.jobs,
                                  cache_dir=args.out / f"{tag}_runs",
                                  cached_only=args.cached_only)
        out["chopper"] = [dict(label=r["label"], transfer_lr=r["transfer_lr"],
                               in_chop_prob=r["in_chop_prob"],
                               accuracy=[h["test_accuracy"] for h in r["history"]])
                          for r in runs]
        for r in out["chopper"]:
            print(f"{r['label']}, up_down 0.5: transfer_lr {r['transfer_lr']:5.1f}, "
                  f"in_chop_prob {r['in_chop_prob']:.1f}: test accuracy after epochs 1, 2 "
                  + ", ".join(f"{100 * a:.2f} %" for a in r["accuracy"][1:]))
    path = args.out / f"{tag}.json"
    if path.is_file() and args.part != "all":  # keep the other parts of an earlier run
        earlier = json.loads(path.read_text())
        if earlier.get("spec") == json.loads(json.dumps(spec)):
            out = {**earlier, **out}
    write_json(path, out)
    print(f"wrote {path} and the figures training_algorithms__*.png")


if __name__ == "__main__":
    main()
