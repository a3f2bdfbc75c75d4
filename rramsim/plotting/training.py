"""Figures of training runs: learning curves, weight histograms, accuracy against device
asymmetry, trained weights against the devices' symmetry points."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rramsim.plotting.base import save_figure, subplots


def learning_curves(curves: dict[str, list[dict]], path, title: str = "") -> Path:
    """Test accuracy per epoch; ``curves`` maps a label to a history (list of epoch records
    with ``epoch`` and ``test_accuracy``) or to a list of histories (several seeds: mean line,
    min-max band)."""
    fig, ax = subplots(figsize=(6, 4))
    for label, hist in curves.items():
        runs = hist if hist and isinstance(hist[0], list) else [hist]
        epochs = [r["epoch"] for r in runs[0]]
        acc = np.array([[100 * r["test_accuracy"] for r in run] for run in runs])
        line, = ax.plot(epochs, acc.mean(axis=0), marker="o", ms=3, label=label)
        if len(runs) > 1:
            ax.fill_between(epochs, acc.min(axis=0), acc.max(axis=0), alpha=0.2,
                            color=line.get_color())
    ax.set_xlabel("epoch")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def weight_histograms(layers: dict[str, np.ndarray], path, title: str = "") -> Path:
    """One histogram per layer of its weights (``layers[name]``: array of any shape)."""
    fig, axes = subplots(1, len(layers), figsize=(3.2 * len(layers), 3))
    for ax, (name, w) in zip(np.atleast_1d(axes), layers.items()):
        ax.hist(np.ravel(w), bins=80)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("weight")
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def accuracy_vs_asymmetry(summary: dict, path) -> Path:
    """Final test accuracy against up_down, with and without zero-shifting (mean, min-max).

    ``summary["curves"][label]`` is a list of ``{"up_down", "mean", "min", "max"}`` (accuracy
    as a fraction); optional ``summary["baselines"][label]`` (an accuracy drawn as a
    horizontal line, grey where the label says "float") and ``summary["title"]``.
    """
    fig, ax = subplots(figsize=(6, 4))
    for label, rows in summary["curves"].items():
        x = [r["up_down"] for r in rows]
        m = [100 * r["mean"] for r in rows]
        lo = [100 * (r["mean"] - r["min"]) for r in rows]
        hi = [100 * (r["max"] - r["mean"]) for r in rows]
        ax.errorbar(x, m, yerr=[lo, hi], marker="o", ms=4, capsize=3, label=label)
    for label, acc in summary.get("baselines", {}).items():
        ax.axhline(100 * acc, ls="--", lw=1, color="gray" if "float" in label else "k",
                   label=label)
    ax.set_xlabel("up/down asymmetry up_down (down step = (1 - up_down) x up step)")
    ax.set_ylabel("final test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(summary.get("title", ""), fontsize=9)
    return save_figure(fig, path)


def weights_vs_symmetry_points(panels: dict[str, list[dict]], path, title: str = "") -> Path:
    """Scatter of trained device weights w (and references r) against each device's symmetry
    point: one column per run (``panels[label]``), one row per layer (the list of
    :func:`rramsim.analysis.symmetry.layer_weights_vs_symmetry_point` dicts, each with
    ``symmetry_point``, ``device_weight``, ``reference`` and optionally ``layer`` and the
    slopes ``slope_device_weight``, ``slope_weight``)."""
    n_rows = max(len(v) for v in panels.values())
    fig, axes = subplots(n_rows, len(panels), figsize=(3.9 * len(panels), 3.3 * n_rows),
                         squeeze=False)
    for col, (label, layers) in enumerate(panels.items()):
        for row, d in enumerate(layers):
            ax = axes[row][col]
            ax.scatter(d["symmetry_point"], d["device_weight"], s=1, alpha=0.3, label="device w")
            ax.scatter(d["symmetry_point"], d["reference"], s=1, alpha=0.3, color="C3",
                       label="reference r")
            sp = np.asarray(d["symmetry_point"])
            lo, hi = np.percentile(sp, [0.5, 99.5])
            pad = 0.1 * (hi - lo) + 0.05
            lim = [min(lo - pad, -0.2), max(hi + pad, 0.6)]
            ax.plot(lim, lim, "k--", lw=0.8)
            ax.set_xlim(lim)
            ax.set_xlabel("device symmetry point w_sp")
            ax.set_ylabel(f"layer {d.get('layer', row + 1)}: w, r")
            if row == 0:
                ax.set_title(label, fontsize=9)
                ax.legend(fontsize=7, markerscale=8, loc="upper left")
            if "slope_device_weight" in d:
                ax.text(0.97, 0.03, f"slope of w on w_sp: {d['slope_device_weight']:.2f}\n"
                                    f"slope of w - r on w_sp: {d['slope_weight']:.2f}",
                        transform=ax.transAxes, ha="right", va="bottom", fontsize=7)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)
