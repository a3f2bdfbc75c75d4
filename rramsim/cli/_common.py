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


class UsageError(InputError):
    """A command-line argument that argparse rejected (printed as one line, exit code 2)."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``rramsim CMD: error: argument --x: ...`` and a pointer
    to ``--help``, raised as :class:`UsageError` so that ``main`` returns 2 instead of exiting."""

    def error(self, message):
        raise UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def int_range(lo: int, hi: int | None = None):
    """argparse type: an integer in [lo, hi]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < lo or (hi is not None and value > hi):
            want = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
            raise argparse.ArgumentTypeError(f"must be an integer {want}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def positive_float(what: str):
    """argparse type: a finite number > 0; the message names ``what`` it is."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (value > 0 and value < float("inf")):
            raise argparse.ArgumentTypeError(f"{what} must be a positive finite number, got "
                                             f"{text}")
        return value

    parse.__name__ = "number"
    return parse


def finite_float(text: str) -> float:
    """argparse type: a finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def file_stem(text: str) -> str:
    """argparse type: a file name stem inside the output folder (no folders, not hidden)."""
    if not text or text.strip() != text or "/" in text or "\\" in text or text.startswith("."):
        raise argparse.ArgumentTypeError(f"must be a plain file name (no '/', not empty, not "
                                         f"starting with '.'), got {text!r}")
    return text


def folder(text: str) -> Path:
    """argparse type: a folder path (not empty)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a folder, got an empty string")
    return Path(text)


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


def _add_common(p: argparse.ArgumentParser, out_default: str, writes: str = "JSON and PNG"):
    p.add_argument("--seed", type=int_range(0), default=0,
                   help="random seed, an integer >= 0 (default 0; same seed, same numbers)")
    p.add_argument("--out", type=folder, default=Path(out_default),
                   help=f"output folder for the {writes} (default: {out_default}; created)")


def data_dir_arg(p: argparse.ArgumentParser):
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="folder with the data set's four IDX files, gzip-compressed or not "
                        "(default: $RRAMSIM_DATA_DIR / $RRAMSIM_FASHION_DIR, else the packaged "
                        "MNIST or Debian's Fashion-MNIST)")


def _config(args) -> TileConfig:
    return load_preset(args.preset, args.overrides)


def data_folder(data_dir, dataset: str = "mnist") -> None:
    """Check before any work that the data set's folder can be found (the files themselves are
    verified when they are read); a DataError names the folder and the fix."""
    from rramsim.data import mnist_dir

    mnist_dir(data_dir, dataset)


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
