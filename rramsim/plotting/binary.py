"""Figures of the binary-network studies: BinaryDuo against plain binary and full-precision
networks, shifted (unbalanced) activation thresholds, and the gradient mismatch of
straight-through estimators. Pure functions from the studies' summaries and runs (as stored in
their JSON) to a saved PNG; accuracies are fractions, drawn in %."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rramsim.plotting.base import save_figure, subplots


def binaryduo_accuracy(summary: dict, path, title: str) -> Path:
    """Final test accuracy per method: a bar at the mean, the seeds as points, the method's
    parameter count under its name; a dashed mark at BinaryDuo's accuracy right after
    decoupling, before fine-tuning.

    ``summary[method]`` holds ``values`` (final test accuracy per seed) and ``n_parameters``;
    the ``"BinaryDuo"`` entry also ``decoupled_before_finetune`` (summary statistics with
    ``mean``). Methods are drawn in the order of ``summary``.
    """
    methods = list(summary)
    fig, ax = subplots(figsize=(6, 4))
    for k, m in enumerate(methods):
        vals = 100 * np.array(summary[m]["values"])
        ax.bar(k, vals.mean(), color=f"C{k}", alpha=0.5)
        ax.scatter(np.full(len(vals), k), vals, color=f"C{k}", zorder=3, s=14)
        ax.text(k, vals.mean(), f"{vals.mean():.2f} %", ha="center", va="bottom", fontsize=8)
    if "BinaryDuo" in summary:
        d = 100 * summary["BinaryDuo"]["decoupled_before_finetune"]["mean"]
        j = methods.index("BinaryDuo")
        ax.plot([j - 0.25, j + 0.25], [d, d], "k--", lw=1,
                label="BinaryDuo after decoupling, before fine-tuning (= coupled ternary)")
        ax.legend(fontsize=7, loc="lower right")
    ax.set_xticks(range(len(methods)), [f"{m}\n{summary[m]['n_parameters']:,} params"
                                        for m in methods], fontsize=8)
    lo = min(100 * min(summary[m]["values"]) for m in methods)
    ax.set_ylim(max(0, lo - 3), 100)
    ax.set_ylabel("final test accuracy (%)")
    ax.grid(alpha=0.3, axis="y")
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def binaryduo_learning_curves(runs: list[dict], path, title: str, *, methods) -> Path:
    """Test accuracy per epoch from epoch 1 (mean line, min-max band over seeds), one colour
    per method in ``methods``; BinaryDuo's decoupled-before-fine-tuning accuracy marked at the
    decoupling epoch.

    Each run has ``method`` and ``history`` (epoch records with ``epoch`` and
    ``test_accuracy``, from epoch 0); BinaryDuo runs also ``epochs`` (of the coupled stage)
    and ``decoupled_test_accuracy``.
    """
    fig, ax = subplots(figsize=(6, 4))
    for k, m in enumerate(methods):
        hs = [r["history"][1:] for r in runs if r["method"] == m]
        ep = [h["epoch"] for h in hs[0]]
        acc = 100 * np.array([[h["test_accuracy"] for h in hist] for hist in hs])
        ax.plot(ep, acc.mean(axis=0), marker="o", ms=3, color=f"C{k}", label=m)
        ax.fill_between(ep, acc.min(axis=0), acc.max(axis=0), alpha=0.2, color=f"C{k}")
        if m == "BinaryDuo":
            sel = [r for r in runs if r["method"] == m]
            e = sel[0]["epochs"]
            ax.axvline(e, color="gray", ls=":", lw=1)
            ax.scatter([e], [100 * np.mean([r["decoupled_test_accuracy"] for r in sel])],
                       marker="x", color="k", zorder=4,
                       label="decoupled, before fine-tuning")
    ax.set_xlabel("epoch (BinaryDuo: coupled ternary up to the dotted line, then decoupled "
                  "binary)", fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def threshold_accuracy(summary: dict, path, title: str) -> Path:
    """Final test accuracy against the threshold shift theta (mean, min-max error bars), one
    colour per network family; learnable-threshold runs as stars at their mean learned theta.

    ``summary[family]["rows"]`` is a list of ``{"theta", "accuracy"}`` (accuracy: summary
    statistics with ``mean``, ``min``, ``max``); ``summary[family]["learnable"]`` is ``None``
    or ``{"accuracy", "learned_theta_mean"}``.
    """
    fig, ax = subplots(figsize=(6.5, 4.8))
    for k, (fam, s) in enumerate(summary.items()):
        rows = s["rows"]
        th = [r["theta"] for r in rows]
        m = np.array([100 * r["accuracy"]["mean"] for r in rows])
        lo = m - [100 * r["accuracy"]["min"] for r in rows]
        hi = np.array([100 * r["accuracy"]["max"] for r in rows]) - m
        ax.errorbar(th, m, yerr=[lo, hi], marker="o", ms=4, capsize=3, color=f"C{k}",
                    label=f"{fam}: fixed shift theta")
        ln = s["learnable"]
        if ln:
            a = ln["accuracy"]
            ax.errorbar([ln["learned_theta_mean"]], [100 * a["mean"]],
                        yerr=[[100 * (a["mean"] - a["min"])], [100 * (a["max"] - a["mean"])]],
                        marker="*", ms=11, capsize=3, color=f"C{k}", ls="none",
                        label=f"{fam}: learnable threshold (at its mean learned theta)")
    ax.set_xlabel("threshold shift theta (activation = +1 where x >= theta)")
    ax.set_ylabel("final test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def threshold_fraction_positive(summary: dict, path, title: str) -> Path:
    """Fraction of +1 activations (test set, all binary layers) against the threshold shift
    theta, one colour per family, learnable-threshold runs as stars.

    Same ``summary`` as :func:`threshold_accuracy`, whose rows and learnable entries also
    hold ``fraction_positive`` (summary statistics with ``mean``).
    """
    fig, ax = subplots(figsize=(6, 4))
    for k, (fam, s) in enumerate(summary.items()):
        rows = s["rows"]
        ax.plot([r["theta"] for r in rows],
                [r["fraction_positive"]["mean"] for r in rows], marker="o", color=f"C{k}",
                label=fam)
        ln = s["learnable"]
        if ln:
            ax.plot([ln["learned_theta_mean"]], [ln["fraction_positive"]["mean"]], marker="*",
                    ms=11, color=f"C{k}", ls="none", label=f"{fam}: learnable threshold")
    ax.axhline(0.5, color="gray", lw=0.8, ls=":")
    ax.set_xlabel("threshold shift theta")
    ax.set_ylabel("fraction of +1 activations (test set, all binary layers)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def mismatch_cosine(runs: list[dict], path, title: str, *, variants, sigmas) -> Path:
    """Cosine similarity of the straight-through gradient and the smoothed-loss gradient per
    activation variant (bar: mean over seeds, points: seeds; blue: rect STE, orange: triangle
    STE, green: the rest), one panel per smoothing width; grey marks: the estimator's own
    reproducibility (cosine between the smoothed gradients of two halves of the noise samples).

    Each run has ``variant`` (one of ``variants``, drawn in that order) and ``mismatch``, a
    list with one ``{"cosine", "cosine_halves"}`` per entry of ``sigmas``.
    """
    fig, axes = subplots(1, len(sigmas), figsize=(5.5 * len(sigmas), 4.2), squeeze=False)
    labels = list(variants)
    for ax, (k, sg) in zip(axes[0], enumerate(sigmas)):
        for i, label in enumerate(labels):
            vals = [r["mismatch"][k]["cosine"] for r in runs if r["variant"] == label]
            halves = [r["mismatch"][k]["cosine_halves"] for r in runs if r["variant"] == label]
            color = "C0" if "rect" in label and "full" not in label else (
                "C1" if "triangle" in label else "C2")
            ax.bar(i, np.mean(vals), color=color, alpha=0.5)
            ax.scatter(np.full(len(vals), i), vals, color=color, s=12, zorder=3)
            ax.scatter(np.full(len(halves), i) + 0.25, halves, color="gray", marker="_", s=60,
                       zorder=3)
        ax.set_xticks(range(len(labels)), labels, rotation=35, ha="right", fontsize=7)
        ax.set_ylabel("cosine(STE gradient, smoothed-loss gradient)")
        ax.set_ylim(min(0, ax.get_ylim()[0]), 1.05)
        ax.axhline(0, color="k", lw=0.6)
        ax.grid(alpha=0.3, axis="y")
        ax.set_title(f"sigma = {sg} (grey: estimator reproducibility)", fontsize=8)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)
