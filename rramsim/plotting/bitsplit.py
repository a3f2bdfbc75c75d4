"""Figure of the BitSplit study: test accuracy against the activation bits k per network
kind, with the binary and full-precision networks as horizontal lines."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rramsim.plotting.base import save_figure, subplots

#: (legend label, network name pattern with ``{k}``) of the curves drawn against k.
CURVES = (("conventional k-bit", "{k}-bit"), ("BitSplit k-bit", "BitSplit {k}-bit"),
          ("BitSplit k-bit, 1/sqrt(k)-wide paths (conventional's devices)",
           "BitSplit {k}-bit narrow"),
          ("binary, sqrt(k)-wide (BitSplit k's devices and MACs)", "binary wide {k}x"))


def accuracy_vs_bits(summary: dict, path, title: str, *, bits) -> Path:
    """Test accuracy against the activation bits k, one panel per model: mean over seeds
    (line) and min-max (band) for each kind of network in :data:`CURVES` that was run, the
    binary (grey) and full-precision (black) networks as dashed lines at their mean.

    ``summary[model][network]`` holds ``values`` (final test accuracy per seed),
    ``dataset`` and ``epochs``; networks are named ``"binary"``, ``"full precision"`` and
    as in :data:`CURVES` with ``k`` from ``bits``.
    """
    fig, axes = subplots(1, len(summary), figsize=(5.5 * len(summary), 5.2), squeeze=False)
    for ax, (model, nets) in zip(axes[0], summary.items()):
        for c, (label, key) in enumerate(CURVES):
            ks = [k for k in bits if key.format(k=k) in nets]
            if not ks:
                continue
            acc = [100 * np.array(nets[key.format(k=k)]["values"]) for k in ks]
            ax.plot(ks, [a.mean() for a in acc], marker="o", color=f"C{c}", label=label)
            ax.fill_between(ks, [a.min() for a in acc], [a.max() for a in acc], color=f"C{c}",
                            alpha=0.2)
        for name, color in (("binary", "gray"), ("full precision", "k")):
            if name in nets:
                b = 100 * np.array(nets[name]["values"])
                label = "binary (+-1 activations)" if name == "binary" else name
                ax.axhline(b.mean(), color=color, ls="--", lw=1, label=label)
        ax.set_xticks(bits)
        ax.set_xlabel("activation bits k")
        ax.set_ylabel("test accuracy (%)")
        first = next(iter(nets.values()))
        ns = sorted({len(r["values"]) for r in nets.values()})
        seeds = f"{ns[0]}" if len(ns) == 1 else f"{ns[0]}-{ns[-1]}"
        ax.set_title(f"{model} on {first['dataset']}, {first['epochs']} epochs "
                     f"({seeds} seeds per point)", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1)
    fig.suptitle(title, fontsize=9)
    fig.subplots_adjust(bottom=0.36)
    return save_figure(fig, path)
