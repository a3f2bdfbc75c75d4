"""``rramsim train`` (the MNIST MLP on simulated tiles) and ``train-binary`` (binary and BitSplit
networks)."""

from __future__ import annotations

import json
import sys

from rramsim.cli._common import (
    _add_common,
    _add_config_args,
    data_dir_arg,
    data_folder,
    int_range,
    output_dir,
    positive_float,
)
from rramsim.config import ConfigError, load_preset
from rramsim.errors import InputError


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
    n_train = args.train_subset or 60000
    if args.batch_size > n_train:
        raise InputError(f"--batch-size {args.batch_size} is larger than the {n_train:,} "
                         f"training images")
    data_folder(args.data_dir)
    output_dir(args.out)
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
    write_json(args.out / "history.json", result)
    plotting.learning_curves({label: history}, args.out / "learning_curve.png",
                             f"MNIST MLP, {label}")
    layers = {}
    for k, layer in enumerate(la for la in model.layers if hasattr(la, "n_in")):
        W = layer.get_weights()[0] if hasattr(layer, "tile") else layer.weight.value
        layers[f"layer {k + 1} ({layer.n_in}->{layer.n_out})"] = W
    plotting.weight_histograms(layers, args.out / "weight_histogram.png", f"weights, {label}")
    if args.save_model:
        save_model(args.out / "model.npz", model, meta={"history": result})
    final = history[-1]
    print(f"final test accuracy {100 * final['test_accuracy']:.2f} % after {final['epoch']} "
          f"epochs; wrote {args.out / 'history.json'}, learning_curve.png, weight_histogram.png")
    return 0


def cmd_train_binary(args) -> int:
    """Train one of the named binary networks of the accuracy floors (or its full-precision
    twin)."""
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
    data_folder(args.data_dir, run["dataset"])
    output_dir(args.out)
    print(f"training {args.net}: {json.dumps(spec)} on {run['dataset']}, {run['epochs']} epochs, "
          f"batch {run['batch_size']}, Adam lr {run['lr']} (cosine), seed {args.seed}")
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



def add_parsers(sub, fmt, epilog: str) -> None:
    """Add this module's commands to the ``rramsim`` parser."""
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
    p.add_argument("--epochs", type=int_range(1), default=10,
                   help="training epochs, >= 1 (default 10)")
    p.add_argument("--batch-size", type=int_range(1), default=1,
                   help="mini-batch size, 1 to the number of training images; a batch is "
                        "applied as consecutive rank-one updates (default 1)")
    p.add_argument("--lr", type=positive_float("lr"), default=0.01,
                   help="SGD learning rate, > 0 (default 0.01)")
    p.add_argument("--train-subset", type=int_range(1, 60000), default=None,
                   help="train on a seeded random subset of N images, 1-60,000 (default: all "
                        "60,000; in this setting, batch 1 and lr 0.01, the network stays at "
                        "chance below about 10,000 images)")
    data_dir_arg(p)
    p.add_argument("--save-model", action="store_true", help="also write model.npz")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    _add_common(p, "out/train", "history.json, learning_curve.png, weight_histogram.png")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("train-binary", formatter_class=fmt,
                       help="train a binary network (BNN / XNOR / Bi-Real) on (Fashion-)MNIST",
                       description="Train one of the binary networks of rramsim.networks "
                                   "with its floor settings (FLOOR_RUNS): mlp and lenet on "
                                   "MNIST, vgg and its full-precision twin vgg_fp on "
                                   "Fashion-MNIST, lenet5 (full precision). Writes "
                                   "history.json and model.npz.")
    p.add_argument("--net", choices=("mlp", "lenet", "vgg", "vgg_fp", "lenet5"),
                   default="lenet",
                   help="network (default lenet); its data set, epochs, batch size and learning "
                        "rate are the defaults of the options below: mlp, lenet and lenet5 on "
                        "MNIST, 10 epochs; vgg and vgg_fp on Fashion-MNIST, 8 epochs; batch 64; "
                        "lr 3e-3 (vgg_fp and lenet5: 1e-3)")
    p.add_argument("--spec", default=None,
                   help="JSON object of builder arguments that override the network's, e.g. "
                        "'{\"family\": \"bireal\"}' (keys are checked)")
    p.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default=None,
                   help="data set (default: the network's)")
    p.add_argument("--epochs", type=int_range(1), default=None,
                   help="training epochs, >= 1 (default: the network's)")
    p.add_argument("--batch-size", type=int_range(1), default=None,
                   help="mini-batch size, >= 1 (default: the network's, 64)")
    p.add_argument("--lr", type=positive_float("lr"), default=None,
                   help="Adam learning rate, > 0 (default: the network's)")
    p.add_argument("--train-subset", type=int_range(1, 60000), default=None,
                   help="train on a seeded random subset of N images, 1-60,000 (default: all)")
    data_dir_arg(p)
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--bitsplit", type=int_range(1, 16), default=None, metavar="K",
                   help="train the BitSplit-Net of the network: K paths, path i carrying bit i "
                        "of the K-bit activation")
    p.add_argument("--width-scale", type=positive_float("width factor"), default=None,
                   metavar="S",
                   help="multiply every hidden width (of each BitSplit path) by S: 1/sqrt(K) "
                        "gives BitSplit the conventional network's binary weights (devices), "
                        "sqrt(K) gives a binary network BitSplit's devices and 1-bit MACs")
    _add_common(p, "out/train_binary", "history.json and model.npz")
    p.set_defaults(func=cmd_train_binary)
