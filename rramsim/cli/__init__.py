"""The ``rramsim`` command: one module per command group, each command one library call plus
its output (:mod:`~rramsim.cli.devices`, :mod:`~rramsim.cli.train`, :mod:`~rramsim.cli.demo`,
:mod:`~rramsim.cli.inference`, :mod:`~rramsim.cli.sweep`)."""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from rramsim._version import __version__
from rramsim.cli import demo, devices, fit, inference, sweep, train
from rramsim.cli._common import Parser, UsageError, physics_help
from rramsim.errors import RramsimError, RramsimWarning

#: The command modules, in the order ``rramsim --help`` lists their commands.
COMMAND_GROUPS = (devices, fit, train, demo, inference, sweep)


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = Parser(
        prog="rramsim", formatter_class=fmt,
        description="Pulse-level simulator of analog training on resistive (RRAM) crossbar "
                    "arrays. Weights are normalised conductance differences w - r; every update "
                    "is a train of device pulses through a device model (soft bounds, linear, "
                    "exponential, power or piecewise step, or a measured look-up table).")
    parser.add_argument("--version", action="version", version=f"rramsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    epilog = physics_help()
    for group in COMMAND_GROUPS:
        group.add_parsers(sub, fmt, epilog)
    return parser


def _one_line_warning(command: str):
    """A ``warnings.showwarning`` that prints rramsim's warnings as one line (no source line)."""
    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, RramsimWarning):
            print(f"\rrramsim {command}: warning: {message}", file=sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)
    return show


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:  # argparse's complaint, in one line
        print(exc, file=sys.stderr)
        return 2
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning(args.command)
            warnings.simplefilter("default", RramsimWarning)  # each distinct message once
            return int(args.func(args) or 0)
    except RramsimError as exc:  # bad input: one line; any other error is a bug: traceback
        print(f"rramsim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except FloatingPointError as exc:  # a run that diverged: say so, no traceback
        print(f"\nrramsim {args.command}: error: {exc}; try a smaller --lr", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into head & co.: stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130



if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
