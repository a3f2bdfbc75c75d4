"""``rramsim map``: a saved network on simulated inference arrays."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from rramsim.cli._common import (
    _add_common,
    array_help,
    data_dir_arg,
    data_folder,
    int_range,
    output_dir,
)


def cmd_map(args) -> int:
    """Map a saved network onto inference arrays (or its digital twin) and evaluate it."""
    from rramsim.config import ArrayConfig
    from rramsim.data import train_test
    from rramsim.inference import map_network
    from rramsim.networks import load_model
    from rramsim.results import write_json

    cfg = ArrayConfig.from_overrides(args.overrides)
    model = load_model(args.model)
    data_folder(args.data_dir, args.dataset)
    output_dir(args.out)
    model.eval()
    x_cal, _, x_test, y_test = train_test(train_subset=args.calibration_images, seed=args.seed,
                                          dataset=args.dataset, data_dir=args.data_dir)
    images = model.spec.get("kind") != "mlp"
    if images:
        x_cal, x_test = x_cal.reshape(-1, 1, 28, 28), x_test.reshape(-1, 1, 28, 28)
    n = len(x_test) if args.test_images is None else min(args.test_images, len(x_test))
    x_test, y_test = x_test[:n], y_test[:n]
    t0 = time.perf_counter()
    digital = map_network(model, backend="digital").evaluate(x_test, y_test)
    net = map_network(model, cfg, calibration=x_cal, seed=args.seed, backend=args.backend)
    acc = net.evaluate(x_test, y_test, batch_size=250)
    cost = net.cost() if args.backend == "arrays" else None
    path = write_json(args.out / "mapping.json", {
        "model": str(args.model), "spec": model.spec, "backend": args.backend,
        "array": None if args.backend == "digital" else dataclasses.asdict(cfg),
        "dataset": args.dataset, "test_images": n, "calibration_images": len(x_cal),
        "seed": args.seed,
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



def add_parsers(sub, fmt, epilog: str) -> None:
    """Add this module's commands to the ``rramsim`` parser."""
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
    p.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default="mnist",
                   help="test set (default mnist)")
    p.add_argument("--test-images", type=int_range(1, 10000), default=None,
                   help="evaluate on the first N test images, 1-10,000 (default: all 10,000)")
    p.add_argument("--calibration-images", type=int_range(1, 60000), default=500,
                   help="training images that calibrate the DAC and ADC ranges, 1-60,000 "
                        "(default 500)")
    data_dir_arg(p)
    _add_common(p, "out/map", "mapping.json")
    p.set_defaults(func=cmd_map)
