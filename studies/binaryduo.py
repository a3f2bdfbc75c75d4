"""Study: BinaryDuo against a plain binary network and the full-precision network.

Question (Kim et al., ICLR 2020, "BinaryDuo: Reducing Gradient Mismatch in Binary Activation
Network by Coupling Binary Activations"): training a network with ternary activations
(two coupled binary ones) and then decoupling it exactly into a binary network of twice the
width, followed by fine-tuning, gives a better binary network than training that binary network
directly, at the same parameter count and the same number of binary operations.

Three networks with the same architecture at inference, a binary MLP 784-512-512-512-10 on
Fashion-MNIST (first and last layers full precision, hidden weights ``alpha_o sign(W)``):

- plain binary: activations ``round(clip(x, 0, 1))`` in {0, 1}, trained from scratch for
  ``epochs + finetune_epochs`` epochs at lr 3e-3;
- BinaryDuo: the coupled network 784-256-256-256-10 with ternary activations
  ``round(2 clip(x, 0, 1)) / 2`` trained ``epochs`` epochs at lr 3e-3, decoupled
  (:func:`rramsim.networks.decouple`: same outputs, width 512, {0, 1} activations), then
  fine-tuned ``finetune_epochs`` epochs at lr 3e-4;
- full precision: the same 784-512-512-512-10 with real weights and ReLU, same epochs as plain.

Adam with a cosine schedule, batch 100, straight-through estimator ``1{0 <= x <= 1}``.

Outputs (``--out``, default ``plots/``):
- ``binaryduo__accuracy.png``: final test accuracy per method (seeds as points, mean bar);
- ``binaryduo__learning_curves.png``: test accuracy per epoch (BinaryDuo's coupled and
  fine-tuning stages joined; the decoupled network's accuracy before fine-tuning marked);
- ``binaryduo.json``: every run and the summary; per-run JSON under ``<out>/binaryduo_runs/``.

    python studies/binaryduo.py            # full: 3 methods x 3 seeds, 60,000 images, 3 + 2 epochs
    python studies/binaryduo.py --quick    # a few minutes: 1 seed, 6,000 images, 2 + 1 epochs
"""

from __future__ import annotations

from rramsim.experiments.binary import run_binary_tasks as run_tasks
from rramsim.experiments.runner import study_args
from rramsim.networks import build_binary_mlp
from rramsim.plotting import binary as plots
from rramsim.results import summary_stats, write_json

FULL = dict(seeds=[0, 1, 2], epochs=3, finetune_epochs=2, train_subset=None, width=256,
            hidden_layers=3, dataset="fashion-mnist")
QUICK = dict(seeds=[0], epochs=2, finetune_epochs=1, train_subset=6000, width=256,
             hidden_layers=3, dataset="fashion-mnist")
METHODS = ("plain binary", "BinaryDuo", "full precision")
RECT = "rect"


def make_tasks(spec: dict, data_dir=None) -> list[dict]:
    w, k = spec["width"], spec["hidden_layers"]
    coupled = [784] + [w] * k + [10]
    wide = [784] + [2 * w] * k + [10]
    common = dict(dataset=spec["dataset"], batch_size=100, lr=3e-3,
                  train_subset=spec["train_subset"], data_dir=data_dir)
    total = spec["epochs"] + spec["finetune_epochs"]
    tasks = []
    for s in spec["seeds"]:
        tasks.append(dict(common, kind="train", name=f"plain_seed{s}", method="plain binary",
                          seed=s, epochs=total,
                          spec=build_binary_mlp(wide, act={"name": "nlevel", "n": 1,
                                                           "ste": RECT}, seed=0).spec))
        tasks.append(dict(common, kind="binaryduo", name=f"binaryduo_seed{s}",
                          method="BinaryDuo", seed=s, epochs=spec["epochs"],
                          finetune_epochs=spec["finetune_epochs"], finetune_lr=3e-4,
                          spec=build_binary_mlp(coupled, act={"name": "nlevel", "n": 2,
                                                              "ste": RECT}, seed=0).spec))
        tasks.append(dict(common, kind="train", name=f"fp_seed{s}", method="full precision",
                          seed=s, epochs=total,
                          spec=build_binary_mlp(wide, act="relu", weight_quantizer="identity",
                                                seed=0).spec))
    return tasks


def binary_ops(sizes) -> int:
    """Multiply-accumulates of the binary hidden layers (binary weights x binary inputs)."""
    return int(sum(a * b for a, b in zip(sizes[1:-2], sizes[2:-1])))


def summarise(runs: list[dict], spec: dict) -> dict:
    out = {}
    for m in METHODS:
        sel = [r for r in runs if r["method"] == m]
        row = {"accuracy": summary_stats([r["final_test_accuracy"] for r in sel]),
               "values": [r["final_test_accuracy"] for r in sel],
               "n_parameters": sel[0]["n_parameters"],
               "binary_macs_per_sample": 0 if m == "full precision" else binary_ops(
                   sel[0].get("decoupled_spec", sel[0]["spec"])["sizes"])}
        if m == "BinaryDuo":
            row["coupled_accuracy"] = summary_stats([r["coupled_test_accuracy"] for r in sel])
            row["decoupled_before_finetune"] = summary_stats(
                [r["decoupled_test_accuracy"] for r in sel])
            row["decoupling_exact"] = all(r["decoupled_test_accuracy"] ==
                                          r["coupled_test_accuracy"] for r in sel)
            row["coupled_n_parameters"] = sel[0]["coupled_n_parameters"]
        out[m] = row
    return out


def main():
    args, tag = study_args(__doc__, "binaryduo")
    spec = QUICK if args.quick else FULL
    runs = run_tasks(make_tasks(spec, args.data_dir), jobs=args.jobs,
                     cache_dir=args.out / f"{tag}_runs")
    summary = summarise(runs, spec)
    write_json(args.out / f"{tag}.json", {"spec": spec, "summary": summary, "runs": runs})
    w = spec["width"]
    title = (f"MLP 784-{2 * w}x{spec['hidden_layers']}-10 on {spec['dataset']}, "
             f"{spec['epochs']} + {spec['finetune_epochs']} epochs, {len(spec['seeds'])} seeds")
    plots.binaryduo_accuracy(summary, args.out / f"{tag}__accuracy.png", title)
    plots.binaryduo_learning_curves(runs, args.out / f"{tag}__learning_curves.png", title,
                                    methods=METHODS)
    for m in METHODS:
        a = summary[m]["accuracy"]
        print(f"{m:15s} {100 * a['mean']:6.2f} % (+-{100 * a['std']:.2f}, "
              f"{100 * a['min']:.2f}-{100 * a['max']:.2f})  {summary[m]['n_parameters']:,} "
              f"parameters, {summary[m]['binary_macs_per_sample']:,} binary MACs/sample")
    d = summary["BinaryDuo"]
    print(f"BinaryDuo coupled (ternary) {100 * d['coupled_accuracy']['mean']:.2f} %, decoupled "
          f"before fine-tuning {100 * d['decoupled_before_finetune']['mean']:.2f} % "
          f"(exact: {d['decoupling_exact']})")
    print(f"wrote {args.out / (tag + '.json')} and the figures {tag}__*.png")


if __name__ == "__main__":
    main()
