"""Study: does the measured device learn?

Question: the MNIST MLP (784-256-128-10, batch 1, lr 0.01) trained pulse by pulse on two
measured devices, the RRAM trace of Gong et al. (2018, as shipped with IBM aihwkit) fitted by
``rramsim fit-device``, and the ENODe update table of Sandia's cross-sim-data used directly as a
look-up-table device; each with and without zero-shifting; against a soft-bound approximation of
the same measured device and against floating point. Which property of the measured device
costs how much accuracy, and what does zero-shifting buy on a real device?

Devices (all with the peripherals of ``devices/enode_lut.toml``: 7-bit inputs, 9-bit outputs,
output noise 0.06, pulsed updates with BL 31 and update management):
- **Gong fit**: the model ``fit-device --model auto`` picks for the measured trace (its reads
  are ~50 times noisier than a step, so it fits the whole trajectory). One device was measured,
  so the device-to-device spreads are not identified: the study uses those of aihwkit's fit
  (30 % of the step, 0.3 file units of the bounds, 1 % up/down). Two ablations of it, without
  zero-shifting: no write noise (``dw_min_ctoc = 0``), and symmetric steps (``up_down = 0``).
- **ENODe table**: ``devices/enode_lut.toml`` (the measured CDF table; 10 % device-to-device
  scale of steps and bounds).
- **ENODe soft-bound approximation**: ``fit-device --model soft_bounds`` applied to pulse
  traces of 20 simulated table devices (3 cycles of 400 up and 400 down pulses), i.e. the
  soft-bound device that a simulator without tables would use for the same measurement.

Outputs (``--out``, default ``plots/``; ``--quick`` names end in ``_quick``):
- ``measured_devices__pulse_response[_quick].png``: the measured Gong trace over simulated
  traces of its fit (with the fitted read noise), and the ENODe table device against its
  soft-bound approximation;
- ``measured_devices__symmetry_points[_quick].png``: symmetry points of 5,000 devices of each;
- ``measured_devices__accuracy[_quick].png``: test accuracy per device, with and without
  zero-shifting (mean over seeds, min-max);
- ``measured_devices[_quick].json``: the fitted devices, fit quality, every run, the summary;
- per-run JSON under ``<out>/measured_devices[_quick]_runs/`` (a rerun resumes).

    python studies/measured_devices.py            # 3 seeds x 3 epochs x 60,000 images
    python studies/measured_devices.py --quick    # minutes: 1 seed, 1 epoch, 5,000 images
"""

from __future__ import annotations

import dataclasses

import numpy as np

from rramsim.analog.devices import sample_devices
from rramsim.analog.lut import datasets_dir
from rramsim.analysis import device_fit as fit
from rramsim.config import DeviceConfig, load_preset
from rramsim.experiments.mnist import run_training_tasks
from rramsim.experiments.runner import study_args
from rramsim.plotting.algorithms import accuracy_by_algorithm
from rramsim.plotting.device_fit import pulse_response_bands
from rramsim.plotting.devices import symmetry_point_distributions
from rramsim.results import summary_stats, write_json

#: The preset whose peripherals every analog arm uses (its device is replaced).
PERIPHERALS = "enode_lut"
#: Device-to-device spreads of aihwkit's Gong fit (a single measured device does not give them):
#: step scale, up/down, bounds (absolute, in file units).
GONG_DTOD = dict(dw_min_dtod=0.3, up_down_dtod=0.01)
GONG_BOUND_SPREAD = 0.3
#: Traces of the simulated ENODe devices that the soft-bound approximation is fitted to.
ENODE_TRACES = dict(n_devices=20, cycles=3, run=400)

FULL = dict(seeds=[0, 1, 2], epochs=3, train_subset=None, sp_method="pulses")
QUICK = dict(seeds=[0], epochs=1, train_subset=5000, sp_method="closed_form")


def device_dict(cfg: DeviceConfig) -> dict:
    """Every key of a device section (so an override leaves nothing of another preset)."""
    return dataclasses.asdict(cfg)


def _with_spreads(f: fit.DeviceFit) -> dict:
    dev = dict(f.device, **GONG_DTOD)
    spread = GONG_BOUND_SPREAD * 2.0 / (f.g_max - f.g_min)  # normalised bounds are +-1
    dev.update(w_min_dtod=spread, w_max_dtod=spread)
    return device_dict(DeviceConfig(**dev))


def gong_devices() -> tuple[dict, dict, dict, fit.Measurement]:
    """The Gong device fitted by ``--model auto`` and by ``--model soft_bounds`` (both with
    aihwkit's spreads), and the fit's report (``device``, ``soft_bounds``: the fitted devices
    themselves, without spreads)."""
    meas = fit.read_measurement(datasets_dir() / "aihwkit_gong2018" / "gong_et_al.csv")
    best, fits = fit.fit_auto(meas)
    sb = fits["soft_bounds"]
    report = {"picked": best.model, "device": best.device, "quality": best.quality,
              "soft_bounds": sb.device, "soft_bounds_quality": sb.quality,
              "heldout_nll": {m: fit.heldout_nll(f) for m, f in fits.items()},
              "not_identified": {m: f.quality["devices_not_identified"]
                                 for m, f in fits.items()}}
    return _with_spreads(best), _with_spreads(sb), report, meas


def enode_devices(seed=0) -> tuple[dict, dict, dict]:
    """The ENODe table device and its soft-bound approximation (fitted to simulated traces of
    ENODE_TRACES table devices), with the approximation's fit report."""
    lut = device_dict(load_preset(PERIPHERALS).device)
    run, cycles = ENODE_TRACES["run"], ENODE_TRACES["cycles"]
    dirs = np.tile(np.r_[np.ones(run), -np.ones(run)], cycles).astype(np.int8)
    pulses = np.r_[1, dirs].astype(np.int8)
    g_mid = 0.5 * (lut["g_min"] + lut["g_max"])
    g = fit.simulate_traces(lut, pulses, 1, g_mid, seed=seed,
                            n_devices=ENODE_TRACES["n_devices"])
    meas = fit.Measurement("simulated ENODe table devices",
                           [fit.Trace(f"d{i}", pulses, g[:, i]) for i in range(g.shape[1])],
                           "long")
    sb = fit.fit_device(meas, "soft_bounds")
    report = {"device": sb.device, "quality": sb.quality, "traces": ENODE_TRACES}
    return lut, device_dict(DeviceConfig(**sb.device)), report


def arms(gong: dict, gong_sb: dict, lut: dict, sb: dict) -> list[tuple[str, str, dict | None]]:
    """(device group, label, device keys or None for floating point)."""
    out = [("floating point", "floating point", None)]
    for group, dev in (("Gong fit", gong), ("Gong soft-bound fit", gong_sb),
                       ("ENODe table", lut), ("ENODe soft-bound approx.", sb)):
        out += [(group, "no zero-shifting", dev), (group, "zero-shifting", dev)]
    # which property costs what: the fit without its write noise, without its variation
    out.insert(3, ("Gong fit, no write noise", "no zero-shifting", dict(gong, dw_min_ctoc=0.0)))
    out.insert(4, ("Gong fit, no device variation", "no zero-shifting",
                   dict(gong, dw_min_dtod=0.0, up_down_dtod=0.0, w_min_dtod=0.0,
                        w_max_dtod=0.0)))
    return out


def _tag(group: str, label: str) -> str:
    return "".join(c for c in f"{group}_{label}".lower().replace(" ", "_")
                   if c.isalnum() or c == "_")


def tasks(spec, data_dir, arm_list) -> list[dict]:
    out = []
    for group, label, dev in arm_list:
        for s in spec["seeds"]:
            t = dict(name=f"{_tag(group, label)}_seed{s}", group=group, label=label, seed=s,
                     epochs=spec["epochs"], train_subset=spec["train_subset"], batch_size=1,
                     lr=0.01, data_dir=data_dir, preset=None, overrides={})
            if dev is not None:
                over = {f"device.{k}": v for k, v in dev.items()}
                over["reference.zero_shift"] = label == "zero-shifting"
                over["reference.sp_method"] = spec["sp_method"]
                t.update(preset=PERIPHERALS, overrides=over)
            out.append(t)
    return out


def summarise(runs, arm_list) -> list[dict]:
    rows = []
    for group, label, _ in arm_list:
        accs = [r["final_test_accuracy"] for r in runs
                if r["group"] == group and r["label"] == label]
        rows.append(dict(group=group, label=label, **summary_stats(accs)))
    return rows


def main():
    args, tag = study_args(__doc__, "measured_devices")
    spec = QUICK if args.quick else FULL

    def figure(name):
        return args.out / f"measured_devices__{name}{'_quick' if args.quick else ''}.png"

    gong, gong_sb, gong_report, meas = gong_devices()
    lut, sb, sb_report = enode_devices()
    print(f"Gong trace: auto picked {gong_report['picked']} "
          f"({gong_report['quality']['method']} fit)", flush=True)
    # Figures of the devices themselves (before training: cheap, and they show what is trained)
    trace = meas.traces[0]
    read = gong_report["quality"]["read_noise_siemens"]
    run = ENODE_TRACES["run"]
    pulses = np.r_[1, np.ones(run), -np.ones(run)].astype(np.int8)
    g_mid = 0.5 * (lut["g_min"] + lut["g_max"])
    panels = [
        {"title": "Gong et al. trace and its fits (simulated with the fitted read noise)",
         "unit": "file units", "measured": trace.conductance,
         "bands": {f"{gong_report['picked']} fit": fit.simulate_traces(
                       gong_report["device"], trace.pulses, 20, trace.conductance[0], seed=1,
                       read_noise=read),
                   "soft-bound fit": fit.simulate_traces(
                       gong_report["soft_bounds"], trace.pulses, 20, trace.conductance[0],
                       seed=1, read_noise=read)}},
        {"title": "ENODe: table device against its soft-bound approximation", "unit": "S",
         "measured": None,
         "bands": {"table (lut)": fit.simulate_traces(lut, pulses, 20, g_mid, seed=2),
                   "soft-bound approx.": fit.simulate_traces(sb, pulses, 20, g_mid, seed=2)}}]
    pulse_response_bands(panels, figure("pulse_response"))
    sps = {name: sample_devices(DeviceConfig(**dev), (5000,), seed=3).symmetry_point()
           for name, dev in ((f"Gong fit ({gong_report['picked']})", gong),
                             ("Gong soft-bound fit", gong_sb), ("ENODe table", lut),
                             ("ENODe soft-bound approx.", sb))}
    symmetry_point_distributions(sps, figure("symmetry_points"),
                                 "symmetry points of 5,000 devices (closed form or numeric)")

    arm_list = arms(gong, gong_sb, lut, sb)
    runs = run_training_tasks(tasks(spec, args.data_dir, arm_list), jobs=args.jobs,
                              cache_dir=args.out / f"{tag}_runs")
    rows = summarise(runs, arm_list)
    groups = list(dict.fromkeys(r["group"] for r in rows))
    accuracy_by_algorithm(rows, groups, ["floating point", "no zero-shifting", "zero-shifting"],
                          figure("accuracy"), f"MNIST MLP, {spec['epochs']} epoch(s), "
                          f"{len(spec['seeds'])} seed(s), test accuracy")
    print(f"\n{'device':28s} {'arm':18s} test accuracy")
    for r in rows:
        print(f"{r['group']:28s} {r['label']:18s} {100 * r['mean']:6.2f} % "
              f"(min {100 * r['min']:.2f}, max {100 * r['max']:.2f})")
    write_json(args.out / f"{tag}.json", {
        "spec": spec, "gong_fit": gong_report, "gong_device": gong,
        "gong_soft_bound_device": gong_sb, "enode_table": lut,
        "enode_soft_bound_fit": sb_report, "enode_soft_bound_device": sb,
        "symmetry_points": {k: summary_stats(v) for k, v in sps.items()},
        "summary": rows, "runs": runs})
    print(f"wrote {args.out / tag}.json and the figures measured_devices__*.png")


if __name__ == "__main__":
    main()
