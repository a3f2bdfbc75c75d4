"""Study: does zero-shifting rescue training on devices whose up and down steps differ?

Question (Kim et al. 2019, arXiv:1907.10228): test accuracy of the 784-256-128-10 sigmoid MLP on
MNIST trained in situ on soft-bound devices, against the up/down asymmetry ``up_down`` (down
step = (1 - up_down) x up step), with the reference device at the fixed mid value or
zero-shifted to each device's symmetry point, found by the pulse protocol or taken from the
closed form (the protocol's oracle: do the two zero-shifts train alike?); beside the
floating-point baseline. Several seeds per point. Two more arms repeat the mid reference and
the pulse-protocol zero-shift with the digital output scale ``mapping.weight_scale = 4`` (W =
4 (w - r)), the mapping with which the symmetric device meets the training floor: does the
better mapping change what asymmetry does, and does zero-shifting still repair it?

Preset: ``softbounds_symmetric`` with ``--set device.up_down=...`` (``softbounds_asymmetric`` is
its up_down = 0.5 point). Default setting: batch 1, lr 0.01.

Outputs (``--out``, default ``plots/``):
- ``zero_shifting__accuracy_vs_asymmetry.png``: final test accuracy vs up_down (mean, min-max),
  reference at mid value, zero-shifted by the pulse protocol, zero-shifted by the closed form,
  and the mid reference and the pulse zero-shift again with output scale 4;
- ``zero_shifting__learning_curves.png``: test accuracy per epoch at up_down 0 and the strongest
  asymmetry, with and without zero-shifting (and zero-shifted with output scale 4 at the
  strongest), and floating point;
- ``zero_shifting__weights_vs_sp.png``: trained device weights of every layer against the
  devices' symmetry points (the pull of the weights towards the symmetry point), seed 0, at
  up_down 0 and the strongest asymmetry, with and without zero-shifting;
- ``zero_shifting.json``: every run's history and the summary the figures are drawn from;
- per-run JSON under ``<out>/zero_shifting_runs/`` (a rerun resumes from them).

    python studies/zero_shifting.py          # 6 levels x 5 arms x 3 seeds, 60,000 images x 3 epochs
    python studies/zero_shifting.py --quick  # minutes: 3 levels, 1 seed, 30,000 images x 2 epochs
"""

from __future__ import annotations

from rramsim import plotting
from rramsim.experiments.mnist import run_training_tasks as run_tasks
from rramsim.experiments.runner import study_args
from rramsim.results import summary_stats, write_json

FULL = dict(levels=[0.0, 0.1, 0.2, 0.3, 0.4, 0.5], seeds=[0, 1, 2], epochs=3, train_subset=None)
QUICK = dict(levels=[0.0, 0.25, 0.5], seeds=[0], epochs=2, train_subset=30000)


# (label, run-name tag, zero_shift, sp_method, weight_scale): the three ways the reference is
# set, with the identity mapping W = w - r, and two of them again with W = 4 (w - r)
ARMS = [("reference at mid value", "nozs", False, None, 1.0),
        ("zero-shifted (pulse protocol)", "zs", True, "pulses", 1.0),
        ("zero-shifted (closed-form symmetry points)", "zscf", True, "closed_form", 1.0),
        ("reference at mid value, output scale 4", "nozs_ws4", False, None, 4.0),
        ("zero-shifted (pulse protocol), output scale 4", "zs_ws4", True, "pulses", 4.0)]


def _arm_of(run: dict) -> tuple:
    # runs written before the output-scale arms carry no weight_scale: they used 1
    return run["zero_shift"], run["sp_method"], run.get("weight_scale", 1.0)


def make_tasks(levels, seeds, epochs, train_subset, data_dir=None) -> list[dict]:
    common = dict(epochs=epochs, train_subset=train_subset, batch_size=1, lr=0.01,
                  data_dir=data_dir)
    tasks = [dict(common, name=f"float_seed{s}", preset=None, seed=s, up_down=None,
                  zero_shift=False, sp_method=None) for s in seeds]
    for ud in levels:
        for _, tag, zs, method, ws in ARMS:
            for s in seeds:
                overrides = {"device.up_down": ud, "reference.zero_shift": zs}
                if method is not None:
                    overrides["reference.sp_method"] = method
                if ws != 1.0:
                    overrides["mapping.weight_scale"] = ws
                tasks.append(dict(
                    common, name=f"updown{ud:.2f}_{tag}_seed{s}",
                    preset="softbounds_symmetric", seed=s, up_down=ud, zero_shift=zs,
                    sp_method=method, weight_scale=ws, overrides=overrides,
                    record_weights=(s == seeds[0] and method != "closed_form" and ws == 1.0
                                    and ud in (levels[0], levels[-1]))))
    return tasks


def summarise(runs: list[dict], levels) -> dict:
    curves = {}
    for label, _, zs, method, ws in ARMS:
        rows = []
        for ud in levels:
            accs = [r["final_test_accuracy"] for r in runs
                    if r["preset"] is not None and r["up_down"] == ud
                    and _arm_of(r) == (zs, method, ws)]
            rows.append(dict(up_down=ud, **summary_stats(accs), values=accs))
        curves[label] = rows
    fp = [r["final_test_accuracy"] for r in runs if r["preset"] is None]
    return {"title": "MNIST MLP on soft-bound devices: accuracy vs up/down asymmetry",
            "curves": curves, "baselines": {"floating point (mean)": summary_stats(fp)["mean"]},
            "floating_point": summary_stats(fp)}


def main():
    args, tag = study_args(__doc__, "zero_shifting")
    spec = QUICK if args.quick else FULL
    tasks = make_tasks(spec["levels"], spec["seeds"], spec["epochs"], spec["train_subset"],
                       args.data_dir)
    runs = run_tasks(tasks, jobs=args.jobs, cache_dir=args.out / f"{tag}_runs")
    summary = summarise(runs, spec["levels"])
    write_json(args.out / f"{tag}.json", {"spec": spec, "summary": summary, "runs": runs})
    plotting.accuracy_vs_asymmetry(summary, args.out / f"{tag}__accuracy_vs_asymmetry.png")
    lo, hi = spec["levels"][0], spec["levels"][-1]
    def pick(ud, zs, ws=1.0):
        return [r["history"] for r in runs if r["preset"] is not None and r["up_down"] == ud
                and _arm_of(r) == (zs, "pulses" if zs else None, ws)]
    plotting.learning_curves(
        {"floating point": [r["history"] for r in runs if r["preset"] is None],
         f"up_down {lo}": pick(lo, False), f"up_down {lo}, zero-shifted": pick(lo, True),
         f"up_down {hi}": pick(hi, False), f"up_down {hi}, zero-shifted": pick(hi, True),
         f"up_down {hi}, zero-shifted, output scale 4": pick(hi, True, 4.0)},
        args.out / f"{tag}__learning_curves.png", "MNIST MLP test accuracy per epoch")
    panels = {f"up_down {r['up_down']}, " + ("zero-shifted" if r["zero_shift"] else
                                             "reference at mid value"): r["weights_vs_sp"]
              for r in runs if r.get("weights_vs_sp")}
    plotting.weights_vs_symmetry_points(panels, args.out / f"{tag}__weights_vs_sp.png",
                                        "after training: device weight w and reference r vs "
                                        "the device's symmetry point, per layer")
    print("\nmean test accuracy (+- std over seeds), by arm:")
    for k, label in enumerate(summary["curves"]):
        print(f"  [{k + 1}] {label}")
    print(f"{'up_down':>8s}  " + "  ".join(f"{f'[{k + 1}]':>20s}"
                                         for k in range(len(summary["curves"]))))
    for rows in zip(*summary["curves"].values()):
        print(f"{rows[0]['up_down']:8.2f}  " + "  ".join(
            f"{100 * r['mean']:8.2f} % (+-{100 * r['std']:5.2f})" for r in rows))
    print(f"floating point: {100 * summary['floating_point']['mean']:.2f} %")
    print(f"wrote {args.out / (tag + '.json')} and the figures {tag}__*.png")


if __name__ == "__main__":
    main()
