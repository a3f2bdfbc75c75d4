"""Figures of device fits: a measured pulse response against simulated traces of the fitted
device (``rramsim fit-device``, the measured-devices study)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rramsim.plotting.base import save_figure, subplots


def measured_vs_simulated(measured, simulated, title: str, path, unit: str = "S") -> Path:
    """The measured conductance after each pulse (black) over a band of simulated traces of the
    fitted device on the same pulse sequence (5-95 % of the draws shaded, median line).

    Parameters
    ----------
    measured : array (m,), conductance after each pulse
    simulated : array (m, n_draws), the simulated traces (conductance units of ``measured``)
    title : str
    path : path of the PNG
    unit : conductance unit for the axis label
    """
    fig, ax = subplots(figsize=(7, 3.6))
    sim = np.asarray(simulated)
    x = np.arange(len(measured))
    lo, mid, hi = np.percentile(sim, [5, 50, 95], axis=1)
    ax.fill_between(x, lo, hi, color="tab:orange", alpha=0.35, lw=0,
                    label=f"fitted device, {sim.shape[1]} draws (5-95 %)")
    ax.plot(x, mid, color="tab:orange", lw=1, label="fitted device, median")
    ax.plot(x, measured, color="k", lw=0.6, label="measured")
    ax.set_xlabel("pulse number")
    ax.set_ylabel(f"conductance [{unit}]")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="best")
    return save_figure(fig, path)


def pulse_response_bands(panels: list[dict], path) -> Path:
    """Side-by-side pulse responses: per panel an optional measured trace (black) over bands of
    simulated traces (5-95 % of the draws shaded, median line), one band per device model.

    ``panels``: dicts with ``title``, ``unit`` (axis label), ``measured`` (array (m,) or None)
    and ``bands`` (``{label: array (m, n_draws)}``, conductance units of the panel).
    """
    fig, axes = subplots(1, len(panels), figsize=(5.2 * len(panels), 3.6))
    for ax, panel in zip(np.atleast_1d(axes), panels):
        for (label, sim), color in zip(panel["bands"].items(), ("tab:orange", "tab:blue")):
            sim = np.asarray(sim)
            x = np.arange(len(sim))
            lo, mid, hi = np.percentile(sim, [5, 50, 95], axis=1)
            ax.fill_between(x, lo, hi, color=color, alpha=0.3, lw=0)
            ax.plot(x, mid, color=color, lw=1, label=f"{label} ({sim.shape[1]} draws, 5-95 %)")
        if panel.get("measured") is not None:
            ax.plot(np.arange(len(panel["measured"])), panel["measured"], color="k", lw=0.5,
                    label="measured")
        ax.set_xlabel("pulse number")
        ax.set_ylabel(f"conductance [{panel['unit']}]")
        ax.set_title(panel["title"], fontsize=9)
        ax.legend(fontsize=7, loc="best")
    return save_figure(fig, path)
