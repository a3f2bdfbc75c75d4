"""``rramsim fit-device``: a device preset fitted to a measured pulse response, or imported
from a measured CrossSim update table."""

from __future__ import annotations

from pathlib import Path

from rramsim.cli._common import _add_common, file_stem, int_range, output_dir

#: Models ``--model`` accepts (``auto`` fits them all; ``lut`` only for a CrossSim table folder).
FIT_CHOICES = ("auto", "soft_bounds", "linear_step", "constant_step", "exp_step", "pow_step",
               "piecewise_step", "lut")


def cmd_fit_device(args) -> int:
    import numpy as np

    from rramsim.analysis import device_fit as fit
    from rramsim.config import ConfigError, DeviceConfig
    from rramsim.plotting.device_fit import measured_vs_simulated
    from rramsim.results import write_json

    src = Path(args.measured)
    out = output_dir(args.out)
    meta = {"description": f"fitted to {src.name}", "source": str(src)}
    if src.is_dir():
        if args.model not in ("auto", "lut"):
            raise ConfigError(f"{src}: a CrossSim table folder becomes a 'lut' device; "
                              f"--model {args.model} fits pulse traces (give a CSV file)")
        device, summary = fit.lut_preset(src)
        DeviceConfig(**device)  # validates the keys
        meta["fit"] = "imported as a look-up table (CrossSim dG(G) format), no fit"
        (out / f"{args.name}.toml").write_text(fit.preset_text(device, meta))
        write_json(out / "fit.json", {"source": str(src), "model": "lut", "device": device,
                                      "table": summary})
        print(f"look-up-table device from {src}: {summary['bins']} bins, conductance "
              f"{summary['g_range_siemens'][0]:.4g}-{summary['g_range_siemens'][1]:.4g}, "
              f"dw_min {device['dw_min']:.4g}")
        print(f"wrote {out / args.name}.toml and fit.json")
        return 0
    if args.model == "lut":
        raise ConfigError(f"{src}: --model lut needs a CrossSim table folder (dG_increasing.txt, "
                          f"dG_decreasing.txt), not a pulse trace")
    meas = fit.read_measurement(src)
    method, snr = fit.choose_method(meas, args.method)
    if args.model == "auto":
        best, fits = fit.fit_auto(meas, method)
        unit = "step" if method == "steps" else "read about the mean path"
        criterion = f"lowest Gaussian negative log-likelihood per {unit} on held-out pulses " \
                    f"(every {fit.HOLDOUT_EVERY}th block of {fit.BLOCK} pulses)"
        if method == "trajectory":
            criterion += f", mean over {fit.HOLDOUT_EVERY} folds, among the fits with every " \
                         f"parameter identified (no bound at its limit, no parameter the reads " \
                         f"do not depend on)"
    else:
        best = fit.fit_device(meas, args.model, method)
        fits, criterion = {best.model: best}, "model given (--model)"
    DeviceConfig(**best.device)
    meta["fit"] = (f"rramsim fit-device --model {args.model} --method {args.method}: "
                   f"{best.model} by {method} (single-step SNR {snr:.3g}), "
                   f"{best.quality['n_devices']} device(s), {best.quality['n_pulses']} pulses")
    meta["read_noise"] = (f"{best.quality['read_noise_siemens']:.4g} (units of the file, std "
                          f"per read; a measurement property, not part of the device)")
    meta["conductance_map"] = (f"g_min = {best.g_min:.6g} is w_min = -1, g_max = "
                               f"{best.g_max:.6g} is w_max = +1 (units of the file)")
    (out / f"{args.name}.toml").write_text(fit.preset_text(best.device, meta))
    trace = meas.traces[0]
    sim = fit.simulate_traces(best.device, trace.pulses, args.draws, trace.conductance[0],
                              seed=args.seed, read_noise=best.quality["read_noise_siemens"])
    measured_vs_simulated(trace.conductance, sim,
                          f"{src.name}: measured vs fitted {best.model} "
                          f"(device {trace.name!r})", out / f"{args.name}.png",
                          unit="file units")
    rms = float(np.sqrt(np.mean((np.median(sim, axis=1) - trace.conductance) ** 2)))
    write_json(out / "fit.json", {
        "source": str(src), "format": meas.kind, "model": best.model, "criterion": criterion,
        "device": best.device, "uncertainty": best.uncertainty, "quality": best.quality,
        "trace_rms_median_vs_measured": rms,
        "models": {m: {"device": f.device, "uncertainty": f.uncertainty, "quality": f.quality}
                   for m, f in fits.items()}})
    q = best.quality
    fit_of = (f"R^2 of the reads {q['r2_reads']:.3f}" if method == "trajectory"
              else f"R^2 up {q['r2_up']:.3f} down {q['r2_down']:.3f}")
    print(f"{best.model} fitted to {src.name} by {method} (single-step SNR {snr:.3g}): dw_min "
          f"{best.device['dw_min']:.4g}, up_down {best.device['up_down']:+.3f}, dw_min_ctoc "
          f"{best.device['dw_min_ctoc']:.3f}, read noise {q['read_noise']:.3g} (weight units); "
          f"{fit_of}; held-out NLL {fit.heldout_nll(best):.3f}")
    print(f"wrote {out / args.name}.toml, fit.json and {args.name}.png")
    return 0


def add_parsers(sub, fmt, epilog: str) -> None:
    """Add ``fit-device`` to the ``rramsim`` parser."""
    p = sub.add_parser(
        "fit-device", formatter_class=fmt, epilog=epilog,
        help="fit a device preset to a measured pulse response (or import a CrossSim table)",
        description="Fit a device model to a measured pulse response and write a preset: "
                    "MEASURED is aihwkit's two-column pulse-response CSV (up sweep, down sweep), "
                    "a CSV with the header device,pulse,conductance (pulse +1 or -1, the "
                    "conductance read after it; one or many devices), or a CrossSim table folder "
                    "(dG_increasing.txt, dG_decreasing.txt; imported as a look-up-table device). "
                    "Writes NAME.toml (with a [meta] block), fit.json (parameters, "
                    "uncertainties, goodness of fit per model, read noise) and NAME.png "
                    "(measured trace over a band of simulated traces). See docs/devices.md.")
    p.add_argument("measured", help="the measured file or CrossSim table folder")
    p.add_argument("--model", choices=FIT_CHOICES, default="auto",
                   help="device model to fit (default auto: every model, the best on held-out "
                        "pulses)")
    p.add_argument("--method", choices=("auto", "steps", "trajectory"), default="auto",
                   help="steps: each measured step against the law; trajectory: the law's "
                        "mean path through all reads (for reads noisier than one step); "
                        "default auto: trajectory when the median single-step signal-to-noise "
                        "ratio of the devices is below 0.5")
    p.add_argument("--draws", type=int_range(1, 1000), default=20,
                   help="simulated cycle-to-cycle draws in the figure, 1-1000 (default 20)")
    _add_common(p, "out/fit_device", writes="preset, fit.json and PNG")
    p.add_argument("--name", type=file_stem, default="fitted_device",
                   help="file stem of the preset and the figure (default fitted_device)")
    p.set_defaults(func=cmd_fit_device)
