"""Figures of single devices: the pulse response and the symmetry points of an array."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rramsim.plotting.base import save_figure, subplots


def pulse_response(weights, n_up: int, n_down: int, title: str, path) -> Path:
    """Weight after each pulse: ``n_up`` up pulses, then ``n_down`` down pulses.

    Parameters
    ----------
    weights : array, (n_pulses + 1,) or (n_pulses + 1, n_devices)
        Normalised weight before the first pulse and after each one.
    n_up, n_down : int
        Pulses in each direction (a dotted line marks the turn).
    title : str
    path : path of the PNG.
    """
    fig, ax = subplots(figsize=(6, 3.5))
    w = np.asarray(weights)
    ax.plot(np.arange(len(w)), w, lw=1)
    ax.axvline(n_up, color="gray", ls=":", lw=1)
    ax.set_xlabel(f"pulse number ({n_up} up, then {n_down} down)")
    ax.set_ylabel("weight w (normalised)")
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def symmetry_point_histogram(measured, closed_form, title: str, path) -> Path:
    """Symmetry points of an array's devices, measured by the pulse protocol against their
    closed form: both histograms (left) and one against the other (right).

    Parameters
    ----------
    measured, closed_form : array, (n_devices,)
        Symmetry point ``w_sp`` of each device, normalised weight units.
    title : str
    path : path of the PNG.
    """
    fig, axes = subplots(1, 2, figsize=(9, 3.5))
    bins = np.linspace(min(np.min(measured), np.min(closed_form)),
                       max(np.max(measured), np.max(closed_form)), 60)
    axes[0].hist(closed_form, bins=bins, alpha=0.6, label="closed form")
    axes[0].hist(measured, bins=bins, alpha=0.6, label="pulse protocol")
    axes[0].set_xlabel("symmetry point w_sp")
    axes[0].set_ylabel("devices")
    axes[0].legend(fontsize=8)
    axes[1].scatter(closed_form, measured, s=2, alpha=0.4)
    lim = [bins[0], bins[-1]]
    axes[1].plot(lim, lim, "k--", lw=0.8)
    axes[1].set_xlabel("closed form")
    axes[1].set_ylabel("pulse protocol")
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def symmetry_point_distributions(points: dict, path, title: str = "") -> Path:
    """Histograms of the symmetry points of several device populations, one per label.

    ``points``: ``{label: array (n_devices,)}`` of symmetry points in normalised weight units.
    """
    fig, ax = subplots(figsize=(6.5, 3.6))
    allv = np.concatenate([np.ravel(v) for v in points.values()])
    bins = np.linspace(float(allv.min()), float(allv.max()) + 1e-12, 60)
    for label, v in points.items():
        v = np.ravel(v)
        ax.hist(v, bins=bins, alpha=0.5, label=f"{label} (median {np.median(v):+.2f})")
    ax.axvline(0.0, color="gray", ls=":", lw=1)
    ax.set_xlabel("symmetry point w_sp (normalised weight)")
    ax.set_ylabel("devices")
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)
