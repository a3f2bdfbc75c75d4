"""Figures of the training-algorithm study: weight error on the offset toy problem, MNIST
accuracy by algorithm and device, accuracy against the number of device states."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rramsim.plotting.base import save_figure, subplots


def offset_toy_errors(curves: dict, offsets: list, path, title: str = "") -> Path:
    """One panel per reference offset: relative weight error against updates, one line per
    algorithm (mean over seeds, min-max band). ``curves[offset][label] = {"updates": [...],
    "error": [[...] per seed]}``."""
    fig, axes = subplots(1, len(offsets), figsize=(4.2 * len(offsets), 3.6), sharey=True)
    for ax, off in zip(np.atleast_1d(axes), offsets):
        for label, c in curves[off].items():
            err = np.array(c["error"])
            line, = ax.plot(c["updates"], err.mean(axis=0), label=label)
            if len(err) > 1:
                ax.fill_between(c["updates"], err.min(axis=0), err.max(axis=0), alpha=0.15,
                                color=line.get_color())
        ax.set_yscale("log")
        ax.set_xlabel("updates")
        ax.set_title(f"reference offset {off} x w_max" if off else "reference at the symmetry "
                     "point", fontsize=9)
        ax.grid(alpha=0.3, which="both")
    np.atleast_1d(axes)[0].set_ylabel("|W - W*| / |W*|")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def accuracy_by_algorithm(rows: list[dict], groups: list[str], labels: list[str], path,
                          title: str = "") -> Path:
    """Grouped bars: mean test accuracy (min-max whiskers) per algorithm (``labels``) for each
    device setting (``groups``); ``rows``: dicts with ``group``, ``label``, ``mean``, ``min``,
    ``max`` (fractions)."""
    fig, ax = subplots(figsize=(max(6.0, 1.6 * len(groups) + 2), 4.8))
    width = 0.8 / max(len(labels), 1)
    # more arms than the 10 default colours: the 20 of tab20, so that no two arms share one
    from matplotlib import colormaps  # after subplots(), which chose the backend

    many = colormaps["tab20"] if len(labels) > 10 else None
    for k, label in enumerate(labels):
        xs, ys, lo, hi = [], [], [], []
        for g, group in enumerate(groups):
            r = next((r for r in rows if r["group"] == group and r["label"] == label), None)
            if r is None:
                continue
            xs.append(g - 0.4 + width * (k + 0.5))
            ys.append(100 * r["mean"])
            lo.append(100 * (r["mean"] - r["min"]))
            hi.append(100 * (r["max"] - r["mean"]))
        ax.bar(xs, ys, width, yerr=[lo, hi], label=label, capsize=2,
               color=None if many is None else many(k % 20))
    ax.set_xticks(range(len(groups)), groups, fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7, ncol=min(len(labels), 5), loc="upper center",
              bbox_to_anchor=(0.5, -0.1))
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def accuracy_vs_states(curves: dict, path, title: str = "") -> Path:
    """Test accuracy against ``dw_min`` (log axis; about 2 w_max / dw_min states), one line per
    algorithm with runs; ``curves[label] = [{"dw_min", "mean", "min", "max"[, "n"]}, ...]``
    (an algorithm with no rows is left out of the figure and its legend).
    A point that rests on fewer seeds (``n``) than the best-sampled point of the figure is drawn
    hollow, so that a sweep still under way does not read as a finished one."""
    fig, ax = subplots(figsize=(6, 4))
    n_most = max((r.get("n", 1) for rows in curves.values() for r in rows), default=1)
    partial = False
    for label, rows in curves.items():
        if not rows:
            continue
        x = [r["dw_min"] for r in rows]
        line, = ax.plot(x, [100 * r["mean"] for r in rows], marker="o", ms=3, label=label)
        few = [r for r in rows if r.get("n", 1) < n_most]
        if few:
            partial = True
            ax.plot([r["dw_min"] for r in few], [100 * r["mean"] for r in few], "o", ms=5,
                    mfc="white", color=line.get_color())
        ax.fill_between(x, [100 * r["min"] for r in rows], [100 * r["max"] for r in rows],
                        alpha=0.15, color=line.get_color())
    ax.set_xscale("log")
    ax.set_xlabel("dw_min (device states ~ 2 / dw_min)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    if partial:
        note = f"hollow: fewer than {n_most} seeds"
        title = f"{title}\n{note}" if title else note
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)
