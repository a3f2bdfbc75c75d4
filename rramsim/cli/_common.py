"""What every command shares: configuration arguments and their help, the output folder."""

from __future__ import annotations

import argparse
import os
import tempfile
import textwrap
from pathlib import Path

from rramsim.config import TileConfig, available_presets, load_preset
from rramsim.errors import InputError

PHYSICS_EPILOG_SECTIONS = ("device", "update", "forward", "backward", "reference", "mapping")


def _section_help(section: str, cls) -> list[str]:
    lines = []
    for name, default, unit, valid, doc in cls.field_docs():
        unit = f" [{unit}]" if unit else ""
        lines.append(f"    {section}.{name} = {default!r}{unit}, {valid}")
        lines.extend(textwrap.wrap(doc, 90, initial_indent="        ",
                                   subsequent_indent="        "))
    return lines


def physics_help() -> str:
    """The documented configuration fields, for ``--help`` epilogs."""
    lines = ["configuration keys for --set SECTION.KEY=VALUE (defaults; presets override them):"]
    for section in PHYSICS_EPILOG_SECTIONS:
        if section == "backward":
            lines.append("\n  [backward]  same keys as [forward], for the backward pass W^T d")
            continue
        lines.append(f"\n  [{section}]" + ("  (same keys for [backward])" if section == "forward"
                                           else ""))
        lines.extend(_section_help(section, TileConfig.SECTIONS[section]))
    return "\n".join(lines)


def array_help() -> str:
    """The inference-array fields, for ``rramsim map --help``."""
    from rramsim.config import ArrayConfig

    return "\n".join(["array keys for --set array.KEY=VALUE (defaults):", "\n  [array]"]
                     + _section_help("array", ArrayConfig))


def _add_config_args(p: argparse.ArgumentParser, default_preset: str | None):
    p.add_argument("--preset", default=default_preset,
                   help=f"device preset name from devices/ ({', '.join(available_presets())}) or "
                        f"a path to a TOML file (default: {default_preset})")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a configuration key, e.g. --set device.up_down=0.3 (repeatable;"
                        " keys listed below)")


def _add_common(p: argparse.ArgumentParser, out_default: str):
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same numbers)")
    p.add_argument("--out", type=Path, default=Path(out_default),
                   help=f"output folder for JSON and PNG (default: {out_default})")


def _config(args) -> TileConfig:
    cfg = load_preset(args.preset, args.overrides)
    return cfg



def output_dir(path, option: str = "--out") -> Path:
    """Create the output folder ``path`` and check that files can be written in it, before any
    work starts; a path that is a file, lies under a file, or is not writable is one clear
    :class:`~rramsim.errors.InputError` naming the option."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} {path}: is a file, not a folder; choose a folder for the "
                         f"results")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".rramsim-write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise InputError(f"{option} {path}: cannot write there ({why}); choose a folder you can "
                         f"write to") from None
    return path
