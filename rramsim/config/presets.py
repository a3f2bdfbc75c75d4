"""Device presets (TOML files) and dotted ``section.key=value`` overrides."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rramsim.config.tile import TileConfig
from rramsim.errors import ConfigError
from rramsim.validation import suggest


def preset_dirs() -> list[Path]:
    """Folders searched for ``NAME.toml``: the installed presets (``rramsim/device_presets``,
    package data built from the checkout's ``devices/``), then the checkout's ``devices/``."""
    package = Path(__file__).resolve().parent.parent
    return [package / "device_presets", package.parent / "devices"]


def available_presets() -> list[str]:
    """Names of all presets found in :func:`preset_dirs`."""
    names = set()
    for d in preset_dirs():
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.toml"))
    return sorted(names)


def find_preset(name_or_path: str | os.PathLike) -> Path:
    """Resolve a preset name (``devices/NAME.toml``) or a path to a TOML file."""
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise ConfigError(f"a preset is a name or a path to a .toml file, got "
                          f"{type(name_or_path).__name__}")
    p = Path(name_or_path)
    if p.suffix == ".toml" or os.sep in str(name_or_path) or p.is_dir():
        if p.is_file():
            return p
        if p.is_dir():
            raise ConfigError(f"preset {str(p)!r} is a folder, not a .toml file")
        raise ConfigError(f"preset file {str(p)!r} does not exist")
    for d in preset_dirs():
        cand = d / f"{name_or_path}.toml"
        if cand.is_file():
            return cand
    names = available_presets()
    raise ConfigError(f"unknown preset {str(name_or_path)!r}{suggest(str(name_or_path), names)}; "
                      f"available: {', '.join(names) or '(none found)'}; or give a path to a "
                      f".toml file")


def load_preset(name_or_path: str | os.PathLike | None = None,
                overrides: Mapping[str, Any] | Sequence[str] = ()) -> TileConfig:
    """Load a preset (or the defaults when ``None``) and apply dotted overrides.

    Parameters
    ----------
    name_or_path : str or path or None
        A preset name from ``devices/`` (e.g. ``"softbounds_symmetric"``) or a TOML path.
    overrides : mapping or sequence of str
        ``{"device.up_down": 0.3}`` or ``["device.up_down=0.3"]``.
    """
    if name_or_path is None:
        cfg = TileConfig()
    else:
        path = find_preset(name_or_path)
        try:
            data = tomllib.loads(path.read_text())
        except UnicodeDecodeError:
            raise ConfigError(f"preset {str(path)!r} is not a text (TOML) file") from None
        except OSError as exc:
            raise ConfigError(f"preset {str(path)!r} cannot be read: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"preset {str(path)!r} is not valid TOML: {exc}") from None
        data.pop("meta", None)  # free-form provenance (source, citation); not configuration
        if not data:  # would silently run on the built-in defaults, which no preset uses
            raise ConfigError(f"preset {str(path)!r} sets nothing: give at least a [device] "
                              f"section (see devices/*.toml)")
        cfg = TileConfig.from_dict(data, source=f"preset {path.name}")
    return cfg.with_overrides(overrides) if overrides else cfg


def replace_section(cfg: TileConfig, section: str, **changes) -> TileConfig:
    """Copy of ``cfg`` with fields of one section replaced (validated)."""
    return replace(cfg, **{section: replace(getattr(cfg, section), **changes)})
