"""The ``rramsim`` command: device responses, symmetry points, training, the demo."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

from rramsim._version import __version__
from rramsim.config import (
    ConfigError,
    TileConfig,
    available_presets,
    find_preset,
    load_preset,
)
from rramsim.errors import InputError, RramsimError

PHYSICS_EPILOG_SECTIONS = ("device", "update", "forward", "backward", "reference", "mapping")


def _section_help(section: str, cls) -> list[str]:
    lines = []
    for name, default, unit, valid, doc in cls.field_docs():
        unit = f" [{unit}]" if unit else ""
        lines.append(f"    {section}.{name} = {default!r}{unit}, {valid}")
        lines.extend(textwrap.wrap(doc, 90, initial_indent="        ",
                                   subsequent_indent="        "))
    return lines


def physics_help() -> str:
    """The documented configuration fields, for ``--help`` epilogs."""
    lines = ["configuration keys for --set SECTION.KEY=VALUE (defaults; presets override them):"]
    for section in PHYSICS_EPILOG_SECTIONS:
        if section == "backward":
            lines.append("\n  [backward]  same keys as [forward], for the backward pass W^T d")
            continue
        lines.append(f"\n  [{section}]" + ("  (same keys for [backward])" if section == "forward"
                                           else ""))
        lines.extend(_section_help(section, TileConfig.SECTIONS[section]))
    return "\n".join(lines)


def array_help() -> str:
    """The inference-array fields, for ``rramsim map --help``."""
    from rramsim.config import ArrayConfig

    return "\n".join(["array keys for --set array.KEY=VALUE (defaults):", "\n  [array]"]
                     + _section_help("array", ArrayConfig))


def _add_config_args(p: argparse.ArgumentParser, default_preset: str | None):
    p.add_argument("--preset", default=default_preset,
                   help=f"device preset name from devices/ ({', '.join(available_presets())}) or "
                        f"a path to a TOML file (default: {default_preset})")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a configuration key, e.g. --set device.up_down=0.3 (repeatable;"
                        " keys listed below)")


def _add_common(p: argparse.ArgumentParser, out_default: str):
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same numbers)")
    p.add_argument("--out", type=Path, default=Path(out_default),
                   help=f"output folder for JSON and PNG (default: {out_default})")


def _config(args) -> TileConfig:
    cfg = load_preset(args.preset, args.overrides)
    return cfg


# ---------------------------------------------------------------------------------- commands

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
    from rramsim.analog.devices import pulse_response, sample_devices
    from rramsim.results import write_json

    cfg = _config(args)
    if args.up < 0 or args.down < 0 or args.up + args.down == 0:
        raise ConfigError("--up and --down must be >= 0 and not both 0")
    if args.devices < 1:
        raise ConfigError("--devices must be >= 1")
    from rramsim.rng import spawn

    dev_seed, noise_seed = spawn(args.seed, 2)
    devices = sample_devices(cfg.device, (args.devices,), dev_seed)
    directions = np.r_[np.ones(args.up, dtype=np.int8), -np.ones(args.down, dtype=np.int8)]
    trace = pulse_response(devices, directions, w0=args.w0, seed=noise_seed)
    result = {"command": "pulse-response", "preset": args.preset, "seed": args.seed,
              "up": args.up, "down": args.down, "w0": args.w0,
              "device": cfg.to_dict()["device"],
              "weights": trace[:, 0],
              "devices": {"a_up": devices.a_up, "a_down": devices.a_down, "w_min": devices.w_min,
                          "w_max": devices.w_max, "symmetry_point": devices.symmetry_point()}}
    if args.devices > 1:
        result["weights_all_devices"] = trace.T
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / f"{args.name}.json", result)
    plotting.pulse_response(trace, args.up, args.down,
                            f"{args.preset}: {args.devices} device(s), seed {args.seed}",
                            args.out / f"{args.name}.png")
    w = trace[:, 0]
    print(f"pulse response ({args.preset}): start {w[0]:+.4f}, after {args.up} up "
          f"{w[args.up]:+.4f}, after {args.down} down {w[-1]:+.4f}; device bounds "
          f"[{devices.w_min[0]:+.3f}, {devices.w_max[0]:+.3f}]")
    print(f"wrote {args.out / args.name}.json and {args.name}.png")
    return 0


def cmd_symmetry_point(args) -> int:
    from rramsim import plotting
    from rramsim.analog.tile import AnalogTile
    from rramsim.results import write_json

    overrides = list(args.overrides) + [f"reference.sp_pairs={args.pairs}",
                                        f"reference.sp_ramp={args.ramp}"]
    cfg = load_preset(args.preset, overrides)
    if args.rows < 1 or args.cols < 1:
        raise ConfigError("--rows and --cols must be >= 1")
    tile = AnalogTile(args.rows, args.cols, cfg, seed=args.seed)
    closed = tile.find_symmetry_points("closed_form")
    t0 = time.perf_counter()
    measured = tile.find_symmetry_points("pulses")
    seconds = time.perf_counter() - t0
    err = measured - closed
    n_pulses = args.rows * args.cols * (2 * args.ramp + 2 * args.pairs)
    result = {"command": "symmetry-point", "preset": args.preset, "seed": args.seed,
              "rows": args.rows, "cols": args.cols, "pairs": args.pairs, "ramp": args.ramp,
              "config": cfg.to_dict(),
              "measured": {"mean": measured.mean(), "std": measured.std()},
              "closed_form": {"mean": closed.mean(), "std": closed.std()},
              "error": {"mean_abs": np.abs(err).mean(), "max_abs": np.abs(err).max(),
                        "mean": err.mean()},
              "seconds": seconds, "pulses_per_second": n_pulses / seconds}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / f"{args.name}.json", result)
    plotting.symmetry_point_histogram(measured.ravel(), closed.ravel(),
                                      f"{args.preset}: {args.rows}x{args.cols} devices, "
                                      f"{args.pairs} pairs", args.out / f"{args.name}.png")
    print(f"symmetry points ({args.preset}, {args.rows}x{args.cols}, {args.pairs} pairs): "
          f"pulse protocol mean {measured.mean():+.4f} (std {measured.std():.4f}), closed form "
          f"mean {closed.mean():+.4f} (std {closed.std():.4f}); |error| mean "
          f"{np.abs(err).mean():.4f}, max {np.abs(err).max():.4f}")
    print(f"wrote {args.out / args.name}.json and {args.name}.png")
    return 0


def cmd_train(args) -> int:
    from rramsim import plotting
    from rramsim.experiments.mnist import train_mnist_mlp
    from rramsim.networks import save_model
    from rramsim.results import write_json

    if args.floating_point:
        cfg = None
        if args.zero_shift or args.overrides or args.sp_method:
            raise ConfigError("--floating-point takes no --zero-shift, --sp-method or --set")
    else:
        overrides = list(args.overrides)
        if args.zero_shift:
            overrides.append("reference.zero_shift=true")
        if args.sp_method is not None:
            overrides.append(f"reference.sp_method={args.sp_method}")
        cfg = load_preset(args.preset, overrides)
        if args.sp_method is not None and not cfg.reference.zero_shift:
            raise ConfigError("--sp-method chooses how zero-shifting finds the symmetry points: "
                              "it needs --zero-shift (or --set reference.zero_shift=true)")
    label = "floating point" if cfg is None else args.preset + (" + zero-shift"
                                                                 if args.zero_shift else "")
    print(f"training 784-256-128-10 sigmoid MLP ({label}), {args.epochs} epochs, batch "
          f"{args.batch_size}, lr {args.lr}, seed {args.seed}", file=sys.stderr)
    if cfg is not None and cfg.reference.zero_shift:
        how = (f"pulse protocol, {cfg.reference.sp_pairs} up/down pairs per device"
               if cfg.reference.sp_method == "pulses" else "closed form")
        print(f"zero-shifting: finding every device's symmetry point ({how}) ...",
              file=sys.stderr)
    model, history, info = train_mnist_mlp(
        cfg, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        train_subset=args.train_subset, seed=args.seed, data_dir=args.data_dir,
        progress=not args.quiet)
    result = {"command": "train", "preset": None if cfg is None else args.preset,
              "floating_point": cfg is None, "zero_shift": bool(args.zero_shift),
              "seed": args.seed, "epochs_requested": args.epochs, "batch_size": args.batch_size,
              "lr": args.lr, "train_subset": args.train_subset,
              "config": None if cfg is None else cfg.to_dict(), "info": info, "epochs": history}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "history.json", result)
    plotting.learning_curves({label: history}, args.out / "learning_curve.png",
                             f"MNIST MLP, {label}")
    layers = {}
    for k, layer in enumerate(l for l in model.layers if hasattr(l, "n_in")):
        W = layer.get_weights()[0] if hasattr(layer, "tile") else layer.weight.value
        layers[f"layer {k + 1} ({layer.n_in}->{layer.n_out})"] = W
    plotting.weight_histograms(layers, args.out / "weight_histogram.png", f"weights, {label}")
    if args.save_model:
        save_model(args.out / "model.npz", model, meta={"history": result})
    final = history[-1]
    print(f"final test accuracy {100 * final['test_accuracy']:.2f} % after {final['epoch']} "
          f"epochs; wrote {args.out / 'history.json'}, learning_curve.png, weight_histogram.png")
    return 0


def cmd_demo(args) -> int:
    from rramsim.cli.demo import run_demo

    return run_demo(out=args.out, seed=args.seed, data_dir=args.data_dir,
                    train_subset=args.train_subset, epochs=args.epochs, jobs=args.jobs,
                    sp_pairs=args.sp_pairs)


def cmd_train_binary(args) -> int:
    """Train one of the binary networks of issue 4 (or its full-precision twin)."""
    import json

    from rramsim.experiments.binary import train_network
    from rramsim.networks import FLOOR_RUNS, check_spec, save_model
    from rramsim.results import write_json

    run = dict(FLOOR_RUNS[args.net])
    for key in ("epochs", "batch_size", "lr", "dataset"):
        if getattr(args, key) is not None:
            run[key] = getattr(args, key)
    spec = dict(run.pop("spec"))
    if args.spec is not None:
        try:
            extra = json.loads(args.spec)
        except json.JSONDecodeError as exc:
            raise InputError(f"--spec is not valid JSON ({exc}); give a JSON object, e.g. "
                             f"'{{\"family\": \"bireal\"}}'") from None
        if not isinstance(extra, dict):
            raise InputError(f"--spec must be a JSON object of builder arguments, e.g. "
                             f"'{{\"family\": \"bireal\"}}', got {type(extra).__name__}")
        spec.update(extra)
    if args.bitsplit is not None:
        spec = {"kind": "bitsplit", "bits": args.bitsplit,
                "path": {k: v for k, v in spec.items() if k != "act"}}
        if args.width_scale is not None:
            spec["width_scale"] = args.width_scale
    elif args.width_scale is not None:
        from rramsim.networks import scale_widths

        spec = scale_widths(spec, args.width_scale)
    check_spec(spec)
    print(f"training {args.net}: {json.dumps(spec)} on {run['dataset']}, {run['epochs']} epochs, "
          f"batch {run['batch_size']}, Adam lr {run['lr']} (cosine), seed {args.seed}")
    args.out.mkdir(parents=True, exist_ok=True)
    head = {"net": args.net, "spec": spec, "run": run, "seed": args.seed,
            "train_subset": args.train_subset}
    partial = []

    def on_epoch(rec):  # history.json grows epoch by epoch, so an interrupted run leaves data
        partial.append(rec)
        write_json(args.out / "history.json", dict(head, history=partial, finished=False))
        if args.quiet and rec["epoch"] > 0:
            print(f"  epoch {rec['epoch']}: test accuracy {100 * rec['test_accuracy']:.2f} %, "
                  f"{rec['seconds']:.1f} s", flush=True)

    model, history, info = train_network(spec, seed=args.seed, train_subset=args.train_subset,
                                         data_dir=args.data_dir, progress=not args.quiet,
                                         on_epoch=on_epoch, **run)
    write_json(args.out / "history.json", dict(head, history=history, info=info, finished=True))
    save_model(args.out / "model.npz", model, meta={"net": args.net, "seed": args.seed})
    print(f"final test accuracy {100 * history[-1]['test_accuracy']:.2f} %; wrote "
          f"{args.out / 'history.json'} and {args.out / 'model.npz'}")
    return 0


def cmd_map(args) -> int:
    """Map a saved network onto inference arrays (or its digital twin) and evaluate it."""
    from rramsim.config import ArrayConfig
    from rramsim.data import train_test
    from rramsim.inference import map_network
    from rramsim.networks import load_model
    from rramsim.results import write_json

    cfg = ArrayConfig.from_overrides(args.overrides)
    model = load_model(args.model)
    model.eval()
    x_cal, _, x_test, y_test = train_test(train_subset=args.calibration_images, seed=args.seed,
                                          dataset=args.dataset, data_dir=args.data_dir)
    images = model.spec.get("kind") != "mlp"
    if images:
        x_cal, x_test = x_cal.reshape(-1, 1, 28, 28), x_test.reshape(-1, 1, 28, 28)
    n = args.test_images or len(x_test)
    x_test, y_test = x_test[:n], y_test[:n]
    t0 = time.perf_counter()
    digital = map_network(model, backend="digital").evaluate(x_test, y_test)
    net = map_network(model, cfg, calibration=x_cal, seed=args.seed, backend=args.backend)
    acc = net.evaluate(x_test, y_test, batch_size=250)
    cost = net.cost() if args.backend == "arrays" else None
    args.out.mkdir(parents=True, exist_ok=True)
    path = write_json(args.out / "mapping.json", {
        "model": str(args.model), "spec": model.spec, "backend": args.backend,
        "array": None if args.backend == "digital" else dataclasses.asdict(cfg),
        "dataset": args.dataset, "test_images": n, "seed": args.seed,
        "digital_accuracy": digital, "accuracy": acc, "cost": cost,
        "seconds": time.perf_counter() - t0})
    print(f"digital network: {100 * digital:.2f} %; {args.backend}: {100 * acc:.2f} % on {n} "
          f"test images")
    if cost is not None:
        print(f"per inference: {cost['adc_conversions']:,} ADC conversions, "
              f"{cost['array_activations']:,} array activations, {cost['input_cycles']:,} input "
              f"cycles; {cost['arrays']:,} arrays, {cost['devices']:,} devices")
        for c in cost["layers"]:
            where = (f"arrays: {c['adc_conversions']:,} conversions, {c['cycles']} cycle(s)"
                     if c["on_arrays"] else f"digital: {c['digital_macs']:,} MACs")
            print(f"  {c['layer']:12s} {c['n_in']:>5d} -> {c['n_out']:<5d} {c['inputs']:>16s}"
                  f"  {where}")
    print(f"wrote {path}")
    return 0


# ---------------------------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="rramsim", formatter_class=fmt,
        description="Pulse-level simulator of analog training on resistive (RRAM) crossbar "
                    "arrays. Weights are normalised conductance differences w - r; every update "
                    "is a train of device pulses through a soft-bound device model.")
    parser.add_argument("--version", action="version", version=f"rramsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    epilog = physics_help()

    p = sub.add_parser("presets", help="list the device presets and their sources")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("pulse-response", formatter_class=fmt, epilog=epilog,
                       help="weight of a device after each of N up and M down pulses",
                       description="Apply N up pulses then M down pulses to one device (or "
                                   "several, --devices) and record the weight after each pulse.")
    _add_config_args(p, "softbounds_symmetric")
    p.add_argument("--up", type=int, default=1000, help="number of up pulses (default 1000)")
    p.add_argument("--down", type=int, default=1000, help="number of down pulses (default 1000)")
    p.add_argument("--w0", type=float, default=0.0, help="start weight (default 0)")
    p.add_argument("--devices", type=int, default=1,
                   help="number of devices drawn with device-to-device variation (default 1; "
                        "the JSON 'weights' list is the first device)")
    _add_common(p, "out/pulse_response")
    p.add_argument("--name", default="pulse_response",
                   help="file stem of the JSON and PNG (default: pulse_response)")
    p.set_defaults(func=cmd_pulse_response)

    p = sub.add_parser("symmetry-point", formatter_class=fmt, epilog=epilog,
                       help="per-device symmetry points: pulse protocol vs closed form",
                       description="Drive every device of an array with alternating up/down "
                                   "pulse pairs until it oscillates around its symmetry point, "
                                   "and compare with w_sp = (a_up - a_down) / (a_up / w_max - "
                                   "a_down / w_min).")
    _add_config_args(p, "softbounds_asymmetric")
    p.add_argument("--rows", type=int, default=64, help="array rows (default 64)")
    p.add_argument("--cols", type=int, default=64, help="array columns (default 64)")
    p.add_argument("--pairs", type=int, default=10000,
                   help="alternating up/down pulse pairs per device (default 10000; the "
                        "approach to w_sp decays like exp(-pairs * dw_min * (1/w_max + 1/|w_min|)))")
    p.add_argument("--ramp", type=int, default=0,
                   help="full-up then full-down pulses before the pairs (default 0)")
    _add_common(p, "out/symmetry_point")
    p.add_argument("--name", default="symmetry_point",
                   help="file stem of the JSON and PNG (default: symmetry_point)")
    p.set_defaults(func=cmd_symmetry_point)

    p = sub.add_parser("train", formatter_class=fmt, epilog=epilog,
                       help="train the 784-256-128-10 MLP on MNIST on simulated arrays",
                       description="Train a sigmoid MLP on real MNIST, every forward pass, "
                                   "backward pass and update through simulated tiles (or in "
                                   "floating point with --floating-point). Writes "
                                   "history.json, learning_curve.png, weight_histogram.png.")
    _add_config_args(p, "softbounds_symmetric")
    p.add_argument("--floating-point", action="store_true",
                   help="floating-point baseline (no devices, no peripherals)")
    p.add_argument("--zero-shift", action="store_true",
                   help="zero-shifting: program each reference device to its partner's symmetry "
                        "point before training")
    p.add_argument("--sp-method", choices=("pulses", "closed_form"), default=None,
                   help="with --zero-shift: how the symmetry points are found, by the pulse "
                        "protocol or from the closed form (default: the preset's "
                        "reference.sp_method, pulses)")
    p.add_argument("--epochs", type=int, default=10, help="training epochs (default 10)")
    p.add_argument("--batch-size", type=int, default=1,
                   help="mini-batch size; a batch is applied as consecutive rank-one updates "
                        "(default 1)")
    p.add_argument("--lr", type=float, default=0.01, help="learning rate (default 0.01)")
    p.add_argument("--train-subset", type=int, default=None,
                   help="train on a seeded random subset of N images (default: all 60,000)")
    p.add_argument("--data-dir", default=None,
                   help="folder with the MNIST IDX files (default: $RRAMSIM_DATA_DIR or the "
                        "packaged copy)")
    p.add_argument("--save-model", action="store_true", help="also write model.npz")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    _add_common(p, "out/train")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("demo", formatter_class=fmt,
                       help="the main job: a small real zero-shifting study in 2-3 minutes",
                       description="Train the MNIST MLP on three simulated devices (symmetric, "
                                   "strongly asymmetric, asymmetric with zero-shifting) and on "
                                   "floating point; print a table and write figures.")
    p.add_argument("--train-subset", type=int, default=None,
                   help="train on a seeded subset of N images (default: all 60,000)")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default 2)")
    p.add_argument("--data-dir", default=None, help="folder with the MNIST IDX files")
    p.add_argument("--jobs", type=int, default=None,
                   help="runs in parallel worker processes (default: 2, or 1 on one core; 0: "
                        "in this process)")
    p.add_argument("--sp-pairs", type=int, default=None,
                   help="up/down pulse pairs of the zero-shifting symmetry-point search "
                        "(default: the preset's 10000; fewer is faster and leaves slow "
                        "devices further from their symmetry points)")
    _add_common(p, "out/demo")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("train-binary", formatter_class=fmt,
                       help="train a binary network (BNN / XNOR / Bi-Real) on (Fashion-)MNIST",
                       description="Train one of the binary networks of rramsim.binary_nets "
                                   "with its floor settings (FLOOR_RUNS): mlp and lenet on "
                                   "MNIST, vgg and its full-precision twin vgg_fp on "
                                   "Fashion-MNIST, lenet5 (full precision). Writes "
                                   "history.json and model.npz.")
    p.add_argument("--net", choices=("mlp", "lenet", "vgg", "vgg_fp", "lenet5"),
                   default="lenet", help="network (default lenet)")
    p.add_argument("--spec", default=None,
                   help="JSON dict of builder arguments to override, e.g. "
                        "'{\"family\": \"bireal\"}'")
    p.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate")
    p.add_argument("--train-subset", type=int, default=None)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--bitsplit", type=int, default=None, metavar="K",
                   help="train the BitSplit-Net of the network: K paths, path i carrying bit i "
                        "of the K-bit activation")
    p.add_argument("--width-scale", type=float, default=None, metavar="S",
                   help="multiply every hidden width (of each BitSplit path) by S: 1/sqrt(K) "
                        "gives BitSplit the conventional network's binary weights (devices), "
                        "sqrt(K) gives a binary network BitSplit's devices and 1-bit MACs")
    _add_common(p, "out/train_binary")
    p.set_defaults(func=cmd_train_binary)

    p = sub.add_parser("map", formatter_class=fmt, epilog=array_help(),
                       help="run a saved network on simulated inference arrays",
                       description="Map a network saved by train-binary or train --save-model "
                                   "onto RRAM inference arrays (weights as conductance pairs, "
                                   "arrays of array.array_rows inputs, one ADC per array column, "
                                   "partial sums added digitally; programming error, read noise, "
                                   "DAC and ADC resolution as set below), evaluate it on the "
                                   "test set beside its exact digital twin, and count ADC "
                                   "conversions, array activations and input cycles per "
                                   "inference. Writes mapping.json.")
    p.add_argument("model", type=Path, help="a saved network (.npz)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="array setting, e.g. --set array.adc_bits=4 (repeatable; keys below)")
    p.add_argument("--backend", choices=("arrays", "digital"), default="arrays",
                   help="arrays (default) or the digital twin (bit-packed integer arithmetic)")
    p.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default="mnist")
    p.add_argument("--test-images", type=int, default=None,
                   help="evaluate on the first N test images (default: all 10,000)")
    p.add_argument("--calibration-images", type=int, default=500,
                   help="training images that calibrate the DAC and ADC ranges (default 500)")
    p.add_argument("--data-dir", default=None)
    _add_common(p, "out/map")
    p.set_defaults(func=cmd_map)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except RramsimError as exc:  # bad input: one line; anything else is a bug and keeps its traceback
        print(f"rramsim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except FloatingPointError as exc:  # a run that diverged: say so, no traceback
        print(f"\nrramsim {args.command}: error: {exc}; try a smaller --lr", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
