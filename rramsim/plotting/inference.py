"""Figures of the array-mapping study: accuracy of networks mapped onto inference arrays
against the ADC resolution, and the ADC conversions each needs."""

from __future__ import annotations

import re
from pathlib import Path

from rramsim.plotting.base import save_figure, subplots


def _style(label: str) -> dict:
    """Line colour by activation bits (full precision red, binary black, k = 2, 3, 4 blue,
    orange, green), line style by kind: BitSplit solid (narrow paths dash-dot), conventional
    bit-serial dashed, conventional through a k-bit DAC dotted."""
    if label == "full precision":
        return dict(color="C3", ls="-")
    k = 1 if label == "binary" else int(re.search(r"(\d)-bit", label).group(1))
    color = {1: "k", 2: "C0", 3: "C1", 4: "C2"}[k]
    ls = ("-." if "narrow" in label else "-") if label.startswith("BitSplit") else (
        "--" if "DAC" not in label else ":")
    return dict(color=color, ls=ls)


def accuracy_vs_adc_bits(summary: dict, path, title: str, *, rows, adc_bits, draws=None,
                         draw_rows=None, draw_ids=()) -> Path:
    """Test accuracy against ADC bits, one panel per array height in ``rows``; at
    ``draw_rows``, the min-max over the draws ``draw_ids`` of the programming error and read
    noise as error bars.

    Parameters
    ----------
    summary : dict
        ``summary[network]["accuracy"][rows][adc bits]``: test accuracy (fraction), integer
        keys. Networks are labelled as in ``studies/array_mapping.py`` ("binary", "3-bit",
        "3-bit, 3-bit DAC", "BitSplit 3-bit", "BitSplit 2-bit narrow", "full precision").
    rows, adc_bits : sequences of int
        Array heights (one panel each) and the ADC resolutions on the x axis.
    draws : dict, optional
        ``draws[network]["accuracy"][adc bits]`` with ``min`` and ``max`` over the draws.
    draw_rows : int, optional
        The array height of ``draws``.
    draw_ids : sequence of int
        The draws, named in the panel's title.
    """
    fig, axes = subplots(1, len(rows), figsize=(4.2 * len(rows), 4), sharey=True)
    for ax, n_rows in zip(axes, rows):
        for label, row in summary.items():
            acc = row["accuracy"][n_rows]
            spread = (draws or {}).get(label) if n_rows == draw_rows else None
            yerr = None
            if spread is not None:
                yerr = [[100 * (acc[b] - spread["accuracy"][b]["min"]) for b in acc],
                        [100 * (spread["accuracy"][b]["max"] - acc[b]) for b in acc]]
            ax.errorbar(list(acc), [100 * a for a in acc.values()], yerr=yerr, marker="o",
                        ms=3, capsize=2, label=label, **_style(label))
        extra = (f", bars: min-max over draws {', '.join(map(str, draw_ids))}"
                 if draws and n_rows == draw_rows else "")
        ax.set_title(f"{n_rows} rows per array{extra}", fontsize=9)
        ax.set_xlabel("ADC bits")
        ax.set_xticks(adc_bits)
        ax.grid(alpha=0.3)
        ax.set_ylim(0, 100)
    axes[0].set_ylabel("test accuracy (%)")
    axes[-1].legend(fontsize=7, loc="lower right")
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def adc_cost(summary: dict, path, title: str, *, rows, tolerance: float) -> Path:
    """Left: ADC conversions per inference against array height. Right: the accuracy-cost
    trade-off, at each array height the accuracy with the smallest adequate ADC (labelled
    with its bits) against the conversions.

    ``summary[network]`` holds ``adc_conversions[rows]``, ``accuracy[rows][adc bits]``
    (fraction) and ``min_adc_bits[rows]`` (the smallest ADC within ``tolerance``, a fraction,
    of the digital network, or ``None``), integer keys.
    """
    from matplotlib.ticker import FuncFormatter, NullFormatter

    fig, (a1, a2) = subplots(1, 2, figsize=(11, 4))
    for label, row in summary.items():
        conv = [row["adc_conversions"][r] for r in rows]
        a1.plot(rows, conv, marker="o", ms=3, label=label, **_style(label))
        # the trade-off: at each array height, the accuracy with the smallest adequate ADC
        pts = [(row["adc_conversions"][r], 100 * row["accuracy"][r][row["min_adc_bits"][r]],
                row["min_adc_bits"][r]) for r in rows if row["min_adc_bits"][r] is not None]
        if pts:
            a2.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, label=label,
                    **_style(label))
            for c, a, b in pts:
                a2.annotate(f"{b}b", (c, a), fontsize=6, xytext=(2, 2),
                            textcoords="offset points")
    a1.set_xscale("log", base=2)
    a1.set_yscale("log")
    a1.set_xticks(rows, [str(r) for r in rows])
    a1.set_xlabel("rows per array")
    a1.set_ylabel("ADC conversions per inference\n(BitSplit k-bit = k-bit bit-serial)")
    a1.grid(alpha=0.3, which="both")
    a1.legend(fontsize=7)
    a2.set_xscale("log")
    a2.xaxis.set_minor_formatter(NullFormatter())
    a2.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    a2.set_xticks([1000, 2000, 5000, 10000, 20000, 50000, 100000])
    lo = min(min(r["adc_conversions"].values()) for r in summary.values())
    hi = max(max(r["adc_conversions"].values()) for r in summary.values())
    a2.set_xlim(lo / 1.3, hi * 1.3)
    a2.set_xlabel("ADC conversions per inference")
    a2.set_ylabel("test accuracy (%) at the smallest adequate ADC")
    a2.set_title(f"labels: ADC bits within {100 * tolerance:.1f} points of the digital network",
                 fontsize=8)
    a2.grid(alpha=0.3, which="both")
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)
