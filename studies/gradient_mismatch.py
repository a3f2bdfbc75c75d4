"""Study: gradient mismatch of straight-through estimators against activation precision.

Question (Kim et al., ICLR 2020, BinaryDuo, section 3): how far is the straight-through (STE)
gradient from the gradient of the Gaussian-smoothed loss ``L_sigma(W) = E[L(W + eps)]``,
``eps ~ N(0, sigma^2)``? The paper estimates the latter coordinate-wise by finite differences,
measures the cosine similarity, and claims that raising the activation precision (binary ->
ternary -> 2-bit) reduces the mismatch more than a better straight-through shape (Bi-Real's
ApproxSign ``triangle`` instead of the clipped identity ``rect``) does.

Network: MLP 784-256-256-10 on Fashion-MNIST with full-precision weights (to isolate the
activations), batch norm before each activation; activations on [0, 1]: binary
``round(clip(x, 0, 1))``, ternary ``round(2 clip) / 2``, 2-bit ``round(3 clip) / 3`` and full
precision ``clip(x, 0, 1)``, each trained one epoch with its own STE (Adam lr 3e-3), then
measured at the trained weights on the first layer (the gradient crosses both activation
layers): 32 random coordinates, 128 noise samples, central differences with step sigma, on 500
training images, for two smoothing widths sigma (0.03 and 0.1; the first layer's weights are
of order 0.05).

Outputs (``--out``, default ``plots/``):
- ``gradient_mismatch__cosine.png``: cosine similarity (STE vs smoothed) per activation and STE
  shape, one panel per sigma (seeds as points); the grey marks are the estimator's own
  reproducibility (cosine between the smoothed gradients of two halves of the noise samples);
- ``gradient_mismatch.json``: every run and the summary; per-run JSON under
  ``<out>/gradient_mismatch_runs/``.

    python studies/gradient_mismatch.py          # full: 7 variants x 3 seeds, 2 sigmas
    python studies/gradient_mismatch.py --quick  # a few minutes: 1 seed, fewer samples
"""

from __future__ import annotations

from rramsim.experiments.binary import run_binary_tasks as run_tasks
from rramsim.experiments.runner import study_args
from rramsim.networks import build_binary_mlp
from rramsim.plotting import binary as plots
from rramsim.results import summary_stats, write_json

#: (label, activation spec) in order of precision; STE shapes as separate variants.
VARIANTS = [
    ("binary, rect STE", {"name": "nlevel", "n": 1, "ste": "rect"}),
    ("binary, triangle STE", {"name": "nlevel", "n": 1, "ste": "triangle"}),
    ("ternary, rect STE", {"name": "nlevel", "n": 2, "ste": "rect"}),
    ("ternary, triangle STE", {"name": "nlevel", "n": 2, "ste": "triangle"}),
    ("2-bit, rect STE", {"name": "nlevel", "n": 3, "ste": "rect"}),
    ("2-bit, triangle STE", {"name": "nlevel", "n": 3, "ste": "triangle"}),
    ("full precision (clip)", {"name": "clip", "ste": "rect"}),
]
FULL = dict(seeds=[0, 1, 2], epochs=1, train_subset=10000, sigmas=[0.03, 0.1], n_coords=32,
            n_noise=128, batch=500, sizes=[784, 256, 256, 10], dataset="fashion-mnist")
QUICK = dict(seeds=[0], epochs=1, train_subset=3000, sigmas=[0.03], n_coords=16, n_noise=32,
             batch=200, sizes=[784, 256, 256, 10], dataset="fashion-mnist")


def make_tasks(spec: dict, data_dir=None) -> list[dict]:
    tasks = []
    for label, act in VARIANTS:
        for s in spec["seeds"]:
            slug = label.replace(", ", "_").replace(" ", "_").replace("(", "").replace(")", "")
            tasks.append(dict(
                kind="mismatch", name=f"{slug}_seed{s}", variant=label, seed=s,
                dataset=spec["dataset"], epochs=spec["epochs"], batch_size=100, lr=3e-3,
                train_subset=spec["train_subset"], data_dir=data_dir, layer=1,
                sigmas=spec["sigmas"], n_coords=spec["n_coords"], n_noise=spec["n_noise"],
                mismatch_batch=spec["batch"],
                spec=build_binary_mlp(spec["sizes"], act=act, weight_quantizer="identity",
                                      seed=0).spec))
    return tasks


def summarise(runs: list[dict], spec: dict) -> dict:
    out = {}
    for label, _ in VARIANTS:
        sel = [r for r in runs if r["variant"] == label]
        out[label] = {
            "test_accuracy": summary_stats([r["final_test_accuracy"] for r in sel]),
            "by_sigma": [{"sigma": sg,
                          "cosine": summary_stats([r["mismatch"][k]["cosine"] for r in sel]),
                          "cosine_halves": summary_stats([r["mismatch"][k]["cosine_halves"]
                                                          for r in sel])}
                         for k, sg in enumerate(spec["sigmas"])]}
    return out


def main():
    args, tag = study_args(__doc__, "gradient_mismatch")
    spec = QUICK if args.quick else FULL
    runs = run_tasks(make_tasks(spec, args.data_dir), jobs=args.jobs,
                     cache_dir=args.out / f"{tag}_runs")
    summary = summarise(runs, spec)
    write_json(args.out / f"{tag}.json", {"spec": spec, "summary": summary, "runs": runs})
    title = (f"gradient mismatch, MLP {'-'.join(map(str, spec['sizes']))} (real weights), "
             f"{spec['dataset']}, layer 1, {spec['n_coords']} coords x {spec['n_noise']} noise "
             f"samples, {len(spec['seeds'])} seeds")
    plots.mismatch_cosine(runs, args.out / f"{tag}__cosine.png", title,
                          variants=[label for label, _ in VARIANTS], sigmas=spec["sigmas"])
    print(f"{'variant':24s} " + "  ".join(f"cos @ sigma={sg:<6}" for sg in spec["sigmas"])
          + "  test acc")
    for label, _ in VARIANTS:
        s = summary[label]
        cells = "  ".join(f"{b['cosine']['mean']:+.3f} (+-{b['cosine']['std']:.3f}) "
                          for b in s["by_sigma"])
        print(f"{label:24s} {cells} {100 * s['test_accuracy']['mean']:.2f} %")
    print(f"wrote {args.out / (tag + '.json')} and the figure {tag}__cosine.png")


if __name__ == "__main__":
    main()
