"""Figure creation and saving without pyplot.

Figures are :class:`matplotlib.figure.Figure` objects made directly, not through pyplot: they
need no backend (saving a PNG picks matplotlib's Agg renderer for that one call), they never
enter pyplot's registry of open figures, and nothing global changes, so a caller's backend, an
interactive session or a notebook is left as it was. A figure is freed like any other object
once its last reference goes.
"""

from __future__ import annotations

from pathlib import Path

#: Resolution of every saved figure (dots per inch).
DPI = 120


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float], **kwargs):
    """A new figure and its grid of axes, as ``matplotlib.pyplot.subplots`` returns them but
    without pyplot: ``(fig, axes)``.

    Parameters
    ----------
    nrows, ncols : int
        Grid of axes.
    figsize : (float, float)
        Width and height in inches.
    **kwargs
        Passed on to :meth:`matplotlib.figure.Figure.subplots` (``sharey``, ``squeeze``, ...).
    """
    from matplotlib.figure import Figure  # lazily: importing rramsim stays cheap

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def save_figure(fig, path) -> Path:
    """Lay out ``fig`` (tight layout) and write it to ``path`` as PNG at :data:`DPI` dots per
    inch, creating folders as needed. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    return path
