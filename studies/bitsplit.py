"""Study: BitSplit-Net against the conventional k-bit network and the binary network.

Question (Kim et al. 2019, "BitSplit-Net: Multi-bit Deep Neural Network with Bitwise Activation
Function"): if each bit of a k-bit activation travels through its own binary path and the paths
merge only at the logits, does the network keep the accuracy of the conventional k-bit network
of the same cost, while every hidden layer sees 1-bit inputs like a binary network?

Networks (``rramsim.networks``; first and last layers full precision, hidden weights
``alpha_o sign(W)``):

- binary: activations ``sign(x)`` (+-1);
- conventional k-bit: activations ``round((2^k - 1) clip(x, 0, 1)) / (2^k - 1)``, straight-through
  gradient on [0, 1];
- BitSplit k: k paths of the conventional network's widths, path i with activation bit i of the
  k-bit code (:class:`rramsim.nn.quantizers.BitOf`), logits ``sum_i 2^i f_i(x) / (2^k - 1)``.
  Same number of 1-bit x 1-bit multiply-accumulates (and ADC conversions on arrays) in the
  binary-weight layers as the conventional k-bit network; k times its weights.

For LeNet, the same architecture in full precision (ReLU activations, real weights) is the
reference for mapping onto arrays. Two more networks pin down "at the same cost" (LeNet
only): BitSplit k "narrow", whose paths are 1/sqrt(k) as wide (``width_scale``), so that it
holds as many binary weights (devices) as the conventional network and does k times fewer
1-bit MACs; and "binary wide kx", the binary network with sqrt(k) times the widths, which has
BitSplit k's devices and 1-bit MACs (is splitting the bits better than a wider binary network
of the same cost?); k = 2, 3, 4 and k = 2, 4.

Models: LeNet-5-style on MNIST (``Conv5x5(16) -> pool -> BN -> act -> BinConv5x5(32) -> pool ->
BN -> act -> BinLinear(512 -> 256) -> BN -> act -> Linear(256 -> 10)``, 4 epochs) and the small
VGG on Fashion-MNIST (``--vgg``; the accuracy-floor network: 3x3 convolutions, channels 32/64,
hidden 256, 3 epochs). Adam (lr 3e-3), cosine schedule, batch 64, k = 2, 3, 4.

Outputs (``--out``, default ``plots/``): ``bitsplit__accuracy.png`` (test accuracy against k
per network kind, mean and min-max over seeds), ``bitsplit.json`` (every run and the summary),
per-run JSON and the trained networks (``.npz``, used by ``studies/array_mapping.py``) under
``<out>/bitsplit_runs/``.

    python studies/bitsplit.py            # full: LeNet on MNIST, 13 networks x 3 seeds, 4 epochs
    python studies/bitsplit.py --vgg      # adds the small VGG on Fashion-MNIST: 7 networks x 3
                                          # seeds, 3 epochs
    python studies/bitsplit.py --quick    # a few minutes: 1 seed, 6,000 images, 1 epoch
"""

from __future__ import annotations

from rramsim.experiments.binary import run_binary_tasks as run_tasks
from rramsim.experiments.runner import study_args
from rramsim.networks import FLOOR_RUNS, kbit_act, scale_widths
from rramsim.plotting import bitsplit as plots
from rramsim.results import summary_stats, write_json

BITS = (2, 3, 4)
LENET = dict(FLOOR_RUNS["lenet"]["spec"], conv_dtype="float32")
VGG = dict(FLOOR_RUNS["vgg"]["spec"])
#: k of the cost-matching variants (LeNet): BitSplit with narrow paths, wide binary network
NARROW_BITS, WIDE_BITS = (2, 3, 4), (2, 4)
FULL = dict(seeds=[0, 1, 2], epochs=4, train_subset=None, vgg_seeds=[0, 1, 2], vgg_epochs=3)
QUICK = dict(seeds=[0], epochs=1, train_subset=6000, vgg_seeds=[0], vgg_epochs=1)


def network_specs(path: dict, cost_variants: bool = False) -> dict[str, tuple[dict, int]]:
    """``{name: (builder spec, activation bits k)}``: binary, conventional k-bit and BitSplit k
    for k in BITS; with ``cost_variants`` also BitSplit k with 1/sqrt(k)-wide paths ("narrow":
    the conventional network's devices) and the binary network sqrt(k) times as wide ("wide":
    BitSplit k's devices and 1-bit MACs)."""
    specs = {"binary": (dict(path, act="ste_sign"), 1)}
    for k in BITS:
        specs[f"{k}-bit"] = (dict(path, act=kbit_act(k)), k)
        specs[f"BitSplit {k}-bit"] = ({"kind": "bitsplit", "bits": k, "path": path}, k)
    if cost_variants:
        # the same architecture in full precision (ReLU, real weights): what the arrays must
        # carry when nothing is binary
        specs["full precision"] = (dict(path, act="relu", weight_quantizer={"name": "identity"}),
                                   0)
        for k in NARROW_BITS:
            specs[f"BitSplit {k}-bit narrow"] = ({"kind": "bitsplit", "bits": k, "path": path,
                                                  "width_scale": k ** -0.5}, k)
        for k in WIDE_BITS:
            specs[f"binary wide {k}x"] = (scale_widths(dict(path, act="ste_sign"), k ** 0.5), k)
    return specs


def make_tasks(spec: dict, run_dir, vgg: bool, data_dir=None) -> list[dict]:
    models = [("lenet", "mnist", LENET, spec["seeds"], spec["epochs"], True)]
    if vgg:
        models.append(("vgg", "fashion-mnist", VGG, spec["vgg_seeds"], spec["vgg_epochs"], False))
    tasks = []
    for model, dataset, path, seeds, epochs, variants in models:
        for s in seeds:  # seed 0 of every network first: the array-mapping study needs it
            for net, (nspec, k) in network_specs(path, variants).items():
                name = f"{model}_{net.replace(' ', '_')}_seed{s}"
                tasks.append(dict(kind="train", name=name, model=model, network=net, spec=nspec,
                                  bits=k, dataset=dataset, epochs=epochs, batch_size=64, lr=3e-3,
                                  train_subset=spec["train_subset"], seed=s, data_dir=data_dir,
                                  save_model=str(run_dir / f"{name}.npz")))
    return tasks


def summarise(runs: list[dict]) -> dict:
    out = {}
    for r in runs:
        out.setdefault(r["model"], {}).setdefault(r["network"], []).append(r)
    return {model: {net: {"accuracy": summary_stats([r["final_test_accuracy"] for r in rs]),
                          "values": [r["final_test_accuracy"] for r in rs],
                          "n_parameters": rs[0]["n_parameters"], "dataset": rs[0]["dataset"],
                          "epochs": rs[0]["epochs"]}
                    for net, rs in nets.items()}
            for model, nets in out.items()}


def main():
    args, tag = study_args(__doc__, "bitsplit", extra=lambda ap: ap.add_argument(
        "--vgg", action="store_true", help="also the small VGG on Fashion-MNIST"))
    spec = QUICK if args.quick else FULL
    run_dir = args.out / f"{tag}_runs"
    runs = run_tasks(make_tasks(spec, run_dir, args.vgg, args.data_dir), jobs=args.jobs,
                     cache_dir=run_dir)
    summary = summarise(runs)
    write_json(args.out / f"{tag}.json", {"spec": spec, "summary": summary, "runs": runs})
    plots.accuracy_vs_bits(summary, args.out / f"{tag}__accuracy.png",
                           "BitSplit-Net vs conventional k-bit activations:\nequal 1-bit MACs "
                           "(BitSplit k-bit), equal devices (narrow paths)", bits=BITS)
    for model, nets in summary.items():
        for net, row in nets.items():
            a = row["accuracy"]
            print(f"{model:6s} {net:18s} {100 * a['mean']:6.2f} % (min {100 * a['min']:.2f}, "
                  f"max {100 * a['max']:.2f}, n {a['n']})  {row['n_parameters']:,} parameters")
    print(f"wrote {args.out / (tag + '.json')} and {tag}__accuracy.png")


if __name__ == "__main__":
    main()
