"""``rramsim demo``: a small but real version of the zero-shifting study, in about 2-3 minutes.

Trains the 784-256-128-10 sigmoid MLP on real MNIST (all 60,000 training images, 2 epochs,
batch 1, lr 0.01; the full 10,000-image test set) four times: floating point, a symmetric
soft-bound device, a strongly asymmetric one (up_down = 0.5), and the asymmetric one zero-shifted
(symmetry points found by the pulse protocol). The runs go two at a time in worker processes.
Prints a table and writes figures and JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

from rramsim._version import __version__
from rramsim.cli._common import _add_common, data_dir_arg, data_folder, int_range, output_dir

DEMO_EPOCHS = 2

# (name, preset, zero_shift); the zero-shifted run goes first: it is the longest
# (symmetry-point search of 235,000 devices x 10,000 pulse pairs before training).
RUNS = [
    ("asymmetric device + zero-shifting", "softbounds_asymmetric", True),
    ("floating point (no device)", None, False),
    ("symmetric device", "softbounds_symmetric", False),
    ("asymmetric device", "softbounds_asymmetric", False),
]


def _points(diff: float, more: str, less: str) -> str:
    """``diff`` (a fraction) in words: '12.3 points more' / 'less'; 'as much' within 0.05."""
    if abs(100 * diff) < 0.05:
        return "about as much as"
    return f"{abs(100 * diff):.1f} points {more if diff > 0 else less}"


#: Below this test accuracy on all three device runs the demo says nothing was learned (ten
#: classes: chance is 10 %).
LEARNED = 0.2


def reading(sym: float, asym: float, zs: float) -> str:
    """The plain-language reading of the demo's three device runs (final test accuracies)."""
    if max(sym, asym, zs) < LEARNED:
        return ("What it shows: nothing yet. None of the device runs got past chance (10 %), so "
                "this run says nothing about\nasymmetry or zero-shifting: at batch 1 and lr 0.01 "
                "the network needs about 10,000 training images\nbefore it learns; run with more "
                "images (--train-subset) or epochs.")
    return (f"What it shows: when a device's down steps are half its up steps, its symmetry point "
            f"(the weight where an up and a down\npulse cancel) sits near w = +1/3 instead of 0. "
            f"Every update pulls the weights towards it; here the network\nlearned "
            f"{_points(asym - sym, 'more than', 'less than')} on the symmetric device. "
            f"Zero-shifting programs each reference device to its\npartner's symmetry point, so "
            f"that weight 0 is where the pull vanishes: it learned "
            f"{_points(zs - asym, 'more than', 'less than')}\nthe asymmetric device without it.")


def run_demo(out="out/demo", seed: int = 0, data_dir=None, train_subset: int | None = None,
             epochs: int | None = None, jobs: int | None = None, sp_pairs: int | None = None,
             stream=None) -> int:
    """Run the demo; print its table to ``stream`` (default: the current ``sys.stdout``) and
    write ``out/demo.json`` and figures.

    ``jobs``: worker processes (default 2, or 1 on one core; 0 runs in this process).
    ``sp_pairs``: up/down pulse pairs of the symmetry-point search (default: the preset's).
    """
    from rramsim import plotting
    from rramsim.experiments.mnist import run_training_tasks
    from rramsim.results import write_json

    out = Path(out)
    epochs = DEMO_EPOCHS if epochs is None else epochs
    jobs = min(2, os.cpu_count() or 1) if jobs is None else jobs
    stream = sys.stdout if stream is None else stream
    say = lambda *a: print(*a, file=stream, flush=True)  # noqa: E731
    n_img = "60,000" if train_subset is None else f"{train_subset:,}"
    say(f"rramsim demo: a 784-256-128-10 sigmoid MLP learns MNIST ({n_img} training images x "
        f"{epochs} epochs, batch 1, lr 0.01, seed {seed}; accuracy on all 10,000 test images).\n"
        f"In the analog runs every forward pass, backward pass and weight update goes through "
        f"simulated RRAM crossbars:\nsoft-bound devices with 30 % device-to-device and "
        f"cycle-to-cycle variation, 31-slot stochastic pulse trains, 7-bit DAC, 9-bit ADC, "
        f"output noise.\n")
    tasks = [dict(name=name, preset=preset, seed=seed, epochs=epochs, train_subset=train_subset,
                  batch_size=1, lr=0.01, data_dir=data_dir,
                  overrides=(dict({"reference.zero_shift": zs},
                                  **({} if sp_pairs is None else {"reference.sp_pairs": sp_pairs}))
                             if preset else {}),
                  zero_shift=zs, record_weights=preset is not None)
             for name, preset, zs in RUNS]
    # Finished runs are kept under out/runs/<settings hash>/ (interrupt and rerun: nothing is
    # trained twice); other settings get another folder, so no stale run is ever reused.
    key = hashlib.sha256(json.dumps([seed, epochs, train_subset, sp_pairs, str(data_dir),
                                     __version__]).encode()).hexdigest()[:12]
    t0 = time.perf_counter()
    runs = run_training_tasks(tasks, jobs=jobs, progress=say, cache_dir=out / "runs" / key)
    total = time.perf_counter() - t0
    by = {r["name"]: r for r in runs}

    say("\n  run                                  up/down steps    test accuracy per epoch")
    order = ["floating point (no device)", "symmetric device", "asymmetric device",
             "asymmetric device + zero-shifting"]
    for name in order:
        r = by[name]
        steps = {"softbounds_symmetric": "equal", "softbounds_asymmetric": "down = up / 2",
                 None: "-"}[r["preset"]]
        curve = "  ".join(f"{100 * e['test_accuracy']:5.1f} %" for e in r["history"][1:])
        say(f"  {name:<36s} {steps:<15s}  {curve}")
    sym = by["symmetric device"]["final_test_accuracy"]
    asym = by["asymmetric device"]["final_test_accuracy"]
    zs = by["asymmetric device + zero-shifting"]["final_test_accuracy"]
    say("\n" + reading(sym, asym, zs))
    write_json(out / "demo.json", {"command": "demo", "seed": seed, "epochs": epochs,
                                   "train_subset": train_subset, "seconds": total,
                                   "runs": runs})
    plotting.learning_curves({n: by[n]["history"] for n in order},
                             out / "demo__learning_curves.png",
                             f"MNIST MLP on simulated RRAM arrays, {epochs} epochs")
    plotting.weights_vs_symmetry_points(
        {n: by[n]["weights_vs_sp"] for n in order[2:]}, out / "demo__weights_vs_sp.png",
        "after training: device weight w and reference r vs the device's symmetry point")
    say(f"\nwrote {out / 'demo.json'}, {out / 'demo__learning_curves.png'}, "
        f"{out / 'demo__weights_vs_sp.png'}  ({total:.0f} s)")
    return 0


def cmd_demo(args) -> int:
    data_folder(args.data_dir)
    output_dir(args.out)
    from rramsim.cli.demo import run_demo

    return run_demo(out=args.out, seed=args.seed, data_dir=args.data_dir,
                    train_subset=args.train_subset, epochs=args.epochs, jobs=args.jobs,
                    sp_pairs=args.sp_pairs)



def add_parsers(sub, fmt, epilog: str) -> None:
    """Add ``rramsim demo`` to the ``rramsim`` parser."""
    p = sub.add_parser("demo", formatter_class=fmt,
                       help="the main job: a small real zero-shifting study in 2-3 minutes",
                       description="Train the MNIST MLP on three simulated devices (symmetric, "
                                   "strongly asymmetric, asymmetric with zero-shifting) and on "
                                   "floating point; print a table and write figures.")
    p.add_argument("--train-subset", type=int_range(1, 60000), default=None,
                   help="train on a seeded subset of N images, 1-60,000 (default: all 60,000; "
                        "below about 10,000 the networks stay near chance in this setting)")
    p.add_argument("--epochs", type=int_range(1), default=None,
                   help=f"epochs, >= 1 (default {DEMO_EPOCHS})")
    data_dir_arg(p)
    p.add_argument("--jobs", type=int_range(0), default=None,
                   help="runs in parallel worker processes, >= 0 (default: 2, or 1 on one core; "
                        "0: in this process)")
    p.add_argument("--sp-pairs", type=int_range(1), default=None,
                   help="up/down pulse pairs of the zero-shifting symmetry-point search "
                        "(default: the preset's 10000; fewer is faster and leaves slow "
                        "devices further from their symmetry points)")
    _add_common(p, "out/demo", "demo.json and figures; finished runs are kept in runs/")
    p.set_defaults(func=cmd_demo)
