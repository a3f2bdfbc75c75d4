"""The figure of a sweep: a metric against a swept key, mean and spread over seeds."""

from __future__ import annotations

from pathlib import Path

from rramsim.plotting.base import save_figure, subplots


def sweep_metric(summary: dict, x: str, y: str, path, hue: str | None = None,
                 title: str = "") -> Path:
    """Draw ``summary`` (:func:`rramsim.experiments.sweep.summarise`: per hue value, the x
    values with the mean, standard deviation and count of ``y``) as lines with error bars of
    one standard deviation over seeds. Categorical x values are placed at equal spacing."""
    fig, ax = subplots(figsize=(6.0, 4.0))
    xs_all = [v for g in summary.values() for v in g["x"]]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in xs_all)
    order = sorted(set(map(str, xs_all))) if not numeric else None
    for h, g in summary.items():
        pos = g["x"] if numeric else [order.index(str(v)) for v in g["x"]]
        n = max(g["n"]) if g["n"] else 0
        label = (f"{hue} = {h}" if hue is not None else y) + f" (n = {n})"
        ax.errorbar(pos, g["mean"], yerr=g["std"], marker="o", capsize=3, label=label)
    if not numeric:
        ax.set_xticks(range(len(order)), order)
    ax.set_xlabel(x)
    ax.set_ylabel(f"{y} (mean +- std over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return save_figure(fig, path)
