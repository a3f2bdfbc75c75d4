"""Argument checks shared by the library: one place, one wording.

Each check raises :class:`~rramsim.errors.InputError` (a ``ValueError``) with a message that
names the argument and what would be valid, and returns the value in its canonical type. The
library calls them on user input before any long work starts.
"""

from __future__ import annotations

import difflib
import os

import numpy as np

from rramsim.errors import InputError


def is_number(x) -> bool:
    """True for an int or float (Python or numpy), False for bool and everything else."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def check_choice(value, choices, name: str):
    """``value`` must be one of ``choices``."""
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    """``value`` must be an integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_nonneg(value, name: str) -> float:
    """``value`` must be a finite number >= 0."""
    if not is_number(value) or not np.isfinite(value) or value < 0:
        raise InputError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_lr(lr, name: str = "lr") -> float:
    """A learning rate must be a positive finite number (checked before any device moves)."""
    if not (is_number(lr) and np.isfinite(lr) and lr > 0):
        raise InputError(f"{name} must be a positive finite number, got {lr!r}")
    return lr


def suggest(name: str, valid) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``valid`` to a misspelt ``name``, or ''."""
    close = difflib.get_close_matches(name, list(valid), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux: MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"


def check_memory(nbytes: float, what: str, fraction: float = 0.9) -> None:
    """InputError before an allocation of about ``nbytes`` that cannot fit: more than
    ``fraction`` of the memory available now (when that is known)."""
    avail = available_memory()
    if avail is not None and nbytes > fraction * avail:
        raise InputError(f"{what} would need about {_bytes(nbytes)} of memory; "
                         f"{_bytes(avail)} is available: choose a smaller size")
