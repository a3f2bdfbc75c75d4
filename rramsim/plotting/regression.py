"""Figures of the regression (WES loss) study: pure functions from result dicts (as stored in
the study's JSON) to a saved PNG; no computation beyond averaging for display."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rramsim.plotting.base import save_figure, subplots

#: Display names of the metrics (keys of :func:`rramsim.metrics.regression_metrics`).
REGION_NAMES = {"rmse": "overall", "rmse_low_tail": "lowest 5 %", "rmse_high_tail": "highest 5 %",
                "rmse_tails": "both 5 % tails", "rmse_low_density": "low density"}


def _title(shape: str) -> str:
    return shape.replace("_", " ")


def label_histograms(summaries: dict[str, dict], path, title: str = "") -> Path:
    """The data: for each shape (one column), the training-label histogram with the fitted
    density (top) and a stretch of the clean and noisy label curve (bottom).

    ``summaries[shape]`` is :func:`rramsim.experiments.regression.data_summary`'s dict.
    """
    n = len(summaries)
    fig, axes = subplots(2, n, figsize=(3.6 * n, 5.6), squeeze=False)
    for k, (shape, s) in enumerate(summaries.items()):
        ax = axes[0, k]
        edges = np.linspace(0, 1, s["bins"] + 1)
        counts = np.asarray(s["train_counts"], dtype=float)
        width = edges[1] - edges[0]
        ax.bar(edges[:-1], counts / (counts.sum() * width), width=width, align="edge", alpha=0.5,
               label="training labels")
        tc = np.asarray(s["test_counts"], dtype=float)
        ax.step(edges, np.r_[tc, tc[-1]] / (tc.sum() * width), where="post", color="C2", lw=1,
                label="test labels")
        ax.plot(s["density_grid"], s["density"], "k", lw=1.2, label="fitted density g")
        ax.set_title(f"{_title(shape)}: skewness {s['skewness']:.2f}, {s['modes']} mode"
                     f"{'s' if s['modes'] != 1 else ''}", fontsize=9)
        ax.set_xlabel("label y")
        ax.set_ylabel("density")
        if k == 0:
            ax.legend(fontsize=7)
        ax = axes[1, k]
        ax.plot(s["noisy"], lw=0.6, color="0.6", label=f"observed (noise {s['spec']['noise']:g})")
        ax.plot(s["curve"], lw=1.0, color="C0", label="label curve y(t)")
        ax.set_xlabel("time step t")
        ax.set_ylabel("y")
        if k == 0:
            ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def rmse_by_region(overall: dict, change: dict, losses: list[str], path, title: str = "",
                   regions=("rmse", "rmse_low_tail", "rmse_high_tail", "rmse_low_density")) -> Path:
    """Grouped bars, one column of panels per shape: top, the RMSE of each loss in each region
    (mean over runs); bottom, its change against MSE in the same runs (%, mean and std over the
    paired runs). ``overall[shape][loss label][metric]`` and ``change[...]`` hold summary
    statistics (:func:`rramsim.experiments.regression.summarise_runs`)."""
    shapes = list(overall)
    fig, axes = subplots(2, len(shapes), figsize=(4.2 * len(shapes), 6.4), squeeze=False)
    x = np.arange(len(regions))
    width = 0.8 / len(losses)
    colors = _loss_colors(losses)
    for k, shape in enumerate(shapes):
        top, bottom = axes[0, k], axes[1, k]
        for j, lab in enumerate(losses):
            if lab not in overall[shape]:
                continue
            pos = x - 0.4 + (j + 0.5) * width
            top.bar(pos, [overall[shape][lab][r]["mean"] for r in regions], width,
                    color=colors[lab], label=lab)
            if lab != "MSE":
                ch = change[shape][lab]
                bottom.bar(pos, [100 * ch[r]["mean"] for r in regions], width,
                           yerr=[100 * ch[r]["std"] for r in regions], capsize=1.5,
                           color=colors[lab], error_kw={"lw": 0.6})
        for ax in (top, bottom):
            ax.set_xticks(x)
            ax.set_xticklabels([REGION_NAMES[r] for r in regions], fontsize=8)
            ax.grid(axis="y", alpha=0.3)
        bottom.axhline(0, color="k", lw=0.8)
        top.set_ylabel("test RMSE (label units)")
        bottom.set_ylabel("RMSE change vs MSE (%)")
        top.set_title(_title(shape), fontsize=9)
    axes[0, 0].legend(fontsize=7, ncol=2)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def _loss_colors(losses) -> dict:
    import matplotlib

    wes = [lab for lab in losses if lab.startswith("WES")]
    cmap = matplotlib.colormaps["viridis"]
    colors = {"MSE": "k", "MAE": "0.55", "Huber": "0.8"}
    for k, lab in enumerate(wes):
        colors[lab] = cmap(0.15 + 0.75 * k / max(len(wes) - 1, 1))
    return {lab: colors.get(lab, f"C{k}") for k, lab in enumerate(losses)}


def prediction_histograms(panels: dict[str, dict], path, title: str = "") -> Path:
    """Histograms of the predictions of several losses against the true test labels, one panel
    per shape. ``panels[shape] = {"test_counts": [...], "pred_counts": {loss label: [...]},
    "overlap": {loss label: value}}`` with counts as from
    :func:`rramsim.metrics.histogram_counts` (first and last entries: overflow bins)."""
    n = len(panels)
    fig, axes = subplots(1, n, figsize=(3.8 * n, 4.0), squeeze=False)
    for ax, (shape, p) in zip(axes[0], panels.items()):
        tc = np.asarray(p["test_counts"], dtype=float)
        bins = tc.size - 2
        edges = np.linspace(0, 1, bins + 1)
        width = edges[1] - edges[0]
        ax.bar(edges[:-1], tc[1:-1] / (tc.sum() * width), width=width, align="edge",
               color="0.8", label="true labels")
        colors = _loss_colors(list(p["pred_counts"]))
        for lab, counts in p["pred_counts"].items():
            c = np.asarray(counts, dtype=float)
            out = c[0] + c[-1]
            ax.step(edges, np.r_[c[1:-1], c[-2]] / (c.sum() * width), where="post", lw=1.2,
                    color=colors[lab],
                    label=f"{lab} (overlap {p['overlap'][lab]:.2f}"
                          + (f", {100 * out / c.sum():.1f} % outside [0, 1])" if out else ")"))
        ax.set_xlabel("label / prediction")
        ax.set_ylabel("density")
        ax.set_title(_title(shape) + (f" ({p['note']})" if p.get("note") else ""), fontsize=9)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.35)  # room for the legend
        ax.legend(fontsize=6, loc="upper right")
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def rmse_vs_beta(by_noise: dict, betas: list[float], path, title: str = "",
                 metrics=("rmse", "rmse_tails", "rmse_low_density")) -> Path:
    """RMSE (mean over seeds) against the WES hyperparameter beta, one panel per shape, one
    colour per noise level, one line style per metric; beta = 0 is the MSE run.
    ``by_noise[shape][noise][loss label][metric]`` holds summary statistics."""
    shapes = list(by_noise)
    styles = {"rmse": "-", "rmse_tails": "--", "rmse_low_density": ":"}
    fig, axes = subplots(1, len(shapes), figsize=(4.2 * len(shapes), 3.8), squeeze=False)
    for ax, shape in zip(axes[0], shapes):
        for c, (noise, d) in enumerate(by_noise[shape].items()):
            xs = [0.0] + list(betas)
            labels = ["MSE"] + [f"WES beta={b:g}" for b in betas]
            for metric in metrics:
                ys = [d[lab][metric]["mean"] if lab in d else np.nan for lab in labels]
                ax.plot(xs, ys, styles.get(metric, "-"), marker="o", ms=3, color=f"C{c}",
                        label=f"noise {noise}, {REGION_NAMES[metric]}")
        ax.set_xlabel("WES beta (0 = MSE)")
        ax.set_ylabel("test RMSE (label units)")
        ax.set_title(_title(shape), fontsize=9)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=6.5, ncol=1)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def analog_rmse(rows: list[dict], path, title: str = "",
                metrics=("rmse", "rmse_tails", "rmse_low_density")) -> Path:
    """Bars of RMSE (mean, std error bars) by metric for each (device, loss) row of the analog
    runs: ``rows`` are ``{"label": str, "device": str, metric: summary stats, ...}``; rows of
    one device share a hue (darker: the first loss)."""
    import matplotlib

    fig, ax = subplots(figsize=(9.5, 4.2))
    x = np.arange(len(metrics))
    width = 0.8 / max(len(rows), 1)
    devices = list(dict.fromkeys(r.get("device", r["label"]) for r in rows))
    cmap = matplotlib.colormaps["tab20c"]
    seen: dict[str, int] = {}
    for j, row in enumerate(rows):
        d = devices.index(row.get("device", row["label"]))
        shade = seen.setdefault(row.get("device", row["label"]), 0)
        seen[row.get("device", row["label"])] += 1
        ax.bar(x - 0.4 + (j + 0.5) * width, [row[m]["mean"] for m in metrics], width,
               yerr=[row[m]["std"] for m in metrics], capsize=2, label=row["label"],
               color=cmap((4 * d + min(shade, 3)) % 20), error_kw={"lw": 0.6})
    ax.set_xticks(x)
    ax.set_xticklabels([REGION_NAMES[m] for m in metrics], fontsize=8)
    ax.set_ylabel("test RMSE (label units)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)
