"""``rramsim presets``, ``pulse-response`` and ``symmetry-point``: devices and arrays without a
network."""

from __future__ import annotations

from rramsim.cli._common import (
    _add_common,
    _add_config_args,
    _config,
    file_stem,
    finite_float,
    int_range,
    output_dir,
)
from rramsim.config import ConfigError, available_presets, find_preset, load_preset
from rramsim.validation import check_memory

#: Bytes per device of a tile: weights, references, symmetry points and the drawn parameters
#: (float64), with the working copies of the protocol.
TILE_BYTES_PER_DEVICE = 16 * 8
#: Bytes per recorded weight of a pulse response: the float64 trace and its JSON text.
TRACE_BYTES_PER_WEIGHT = 8 + 26


def cmd_presets(args) -> int:
    import tomllib

    for name in available_presets():
        meta = tomllib.loads(find_preset(name).read_text()).get("meta", {})
        print(f"{name:24s} {meta.get('description', '')}")
        if meta.get("source"):
            print(f"{'':24s} source: {meta['source']}")
    return 0


def cmd_pulse_response(args) -> int:
    from rramsim import plotting
    from rramsim.experiments.devices import measure_pulse_response
    from rramsim.results import write_json

    cfg = _config(args)
    if args.up < 0 or args.down < 0 or args.up + args.down == 0:
        raise ConfigError("--up and --down must be >= 0 and not both 0")
    if args.devices < 1:
        raise ConfigError("--devices must be >= 1")
    n_weights = (args.up + args.down + 1) * args.devices
    check_memory(n_weights * TRACE_BYTES_PER_WEIGHT,
                 f"pulse-response with {args.up + args.down:,} pulses on {args.devices:,} "
                 f"device(s)")
    output_dir(args.out)
    m = measure_pulse_response(cfg, args.up, args.down, w0=args.w0, n_devices=args.devices,
                               seed=args.seed)
    trace, devices = m["trace"], m["devices"]
    result = {"command": "pulse-response", "preset": args.preset, "seed": args.seed,
              "up": args.up, "down": args.down, "w0": args.w0,
              "device": cfg.to_dict()["device"],
              "weights": trace[:, 0], "devices": devices}
    if args.devices > 1:
        result["weights_all_devices"] = trace.T
    write_json(args.out / f"{args.name}.json", result)
    plotting.pulse_response(trace, args.up, args.down,
                            f"{args.preset}: {args.devices} device(s), seed {args.seed}",
                            args.out / f"{args.name}.png")
    w = trace[:, 0]
    print(f"pulse response ({args.preset}): start {w[0]:+.4f}, after {args.up} up "
          f"{w[args.up]:+.4f}, after {args.down} down {w[-1]:+.4f}; device bounds "
          f"[{devices['w_min'][0]:+.3f}, {devices['w_max'][0]:+.3f}]")
    print(f"wrote {args.out / args.name}.json and {args.name}.png")
    return 0


def cmd_symmetry_point(args) -> int:
    from rramsim import plotting
    from rramsim.experiments.devices import measure_symmetry_points
    from rramsim.results import write_json

    overrides = list(args.overrides) + [f"reference.sp_pairs={args.pairs}",
                                        f"reference.sp_ramp={args.ramp}"]
    cfg = load_preset(args.preset, overrides)
    if args.rows < 1 or args.cols < 1:
        raise ConfigError("--rows and --cols must be >= 1")
    check_memory(args.rows * args.cols * TILE_BYTES_PER_DEVICE,
                 f"symmetry-point on {args.rows:,} x {args.cols:,} devices")
    output_dir(args.out)
    m = measure_symmetry_points(cfg, args.rows, args.cols, seed=args.seed)
    measured, closed, err = m["measured"], m["closed_form"], m["error"]
    result = {"command": "symmetry-point", "preset": args.preset, "seed": args.seed,
              "rows": args.rows, "cols": args.cols, "pairs": args.pairs, "ramp": args.ramp,
              "config": cfg.to_dict(),
              "measured": {"mean": measured.mean(), "std": measured.std()},
              "closed_form": {"mean": closed.mean(), "std": closed.std()},
              "error": err, "seconds": m["seconds"],
              "pulses_per_second": m["pulses_per_second"]}
    write_json(args.out / f"{args.name}.json", result)
    plotting.symmetry_point_histogram(measured.ravel(), closed.ravel(),
                                      f"{args.preset}: {args.rows}x{args.cols} devices, "
                                      f"{args.pairs} pairs", args.out / f"{args.name}.png")
    print(f"symmetry points ({args.preset}, {args.rows}x{args.cols}, {args.pairs} pairs): "
          f"pulse protocol mean {measured.mean():+.4f} (std {measured.std():.4f}), closed form "
          f"mean {closed.mean():+.4f} (std {closed.std():.4f}); |error| mean "
          f"{err['mean_abs']:.4f}, max {err['max_abs']:.4f}")
    print(f"wrote {args.out / args.name}.json and {args.name}.png")
    return 0


def add_parsers(sub, fmt, epilog: str) -> None:
    """Add this module's commands to the ``rramsim`` parser."""
    p = sub.add_parser("presets", help="list the device presets and their sources",
                       description="List the device presets (devices/*.toml) with their "
                                   "descriptions and sources. Writes nothing.")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("pulse-response", formatter_class=fmt, epilog=epilog,
                       help="weight of a device after each of N up and M down pulses",
                       description="Apply N up pulses then M down pulses to one device (or "
                                   "several, --devices) and record the weight after each pulse.")
    _add_config_args(p, "softbounds_symmetric")
    p.add_argument("--up", type=int_range(0), default=1000,
                   help="number of up pulses, >= 0 (default 1000)")
    p.add_argument("--down", type=int_range(0), default=1000,
                   help="number of down pulses, >= 0 (default 1000)")
    p.add_argument("--w0", type=finite_float, default=0.0,
                   help="start weight [normalised weight units], clipped to each device's "
                        "bounds (default 0)")
    p.add_argument("--devices", type=int_range(1), default=1,
                   help="number of devices drawn with device-to-device variation, >= 1 "
                        "(default 1; the JSON 'weights' list is the first device)")
    _add_common(p, "out/pulse_response")
    p.add_argument("--name", type=file_stem, default="pulse_response",
                   help="file stem of the JSON and PNG inside --out (default: pulse_response)")
    p.set_defaults(func=cmd_pulse_response)

    p = sub.add_parser("symmetry-point", formatter_class=fmt, epilog=epilog,
                       help="per-device symmetry points: pulse protocol vs closed form",
                       description="Drive every device of an array with alternating up/down "
                                   "pulse pairs until it oscillates around its symmetry point, "
                                   "and compare with w_sp = (a_up - a_down) / (a_up / w_max - "
                                   "a_down / w_min).")
    _add_config_args(p, "softbounds_asymmetric")
    p.add_argument("--rows", type=int_range(1), default=64, help="array rows, >= 1 (default 64)")
    p.add_argument("--cols", type=int_range(1), default=64,
                   help="array columns, >= 1 (default 64)")
    p.add_argument("--pairs", type=int_range(1), default=10000,
                   help="alternating up/down pulse pairs per device, >= 1 (default 10000; the "
                        "approach to w_sp decays like exp(-pairs dw_min (1/w_max + 1/|w_min|)))")
    p.add_argument("--ramp", type=int_range(0), default=0,
                   help="full-up then full-down pulses before the pairs, >= 0 (default 0)")
    _add_common(p, "out/symmetry_point")
    p.add_argument("--name", type=file_stem, default="symmetry_point",
                   help="file stem of the JSON and PNG inside --out (default: symmetry_point)")
    p.set_defaults(func=cmd_symmetry_point)
