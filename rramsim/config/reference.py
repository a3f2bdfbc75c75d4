"""The configuration reference (``docs/configuration.md``), generated from the field metadata.

Every configuration field is documented once, where it is declared (:func:`_f` in
:mod:`rramsim.config.fields`); this module turns those declarations into one Markdown page, so
the page cannot say anything the code does not. ``python -m rramsim.config`` prints it, and a
test compares the committed page with :func:`markdown`.
"""

from __future__ import annotations

import inspect
import re

from rramsim.config.array import ArrayConfig
from rramsim.config.tile import TileConfig

_NUMBER_WORDS = {6: "six", 7: "seven", 8: "eight", 9: "nine"}

#: The command that rewrites the committed page.
REGENERATE = "python -m rramsim.config > docs/configuration.md"

# Sphinx roles (:class:`~a.b.C`, :func:`f`) become plain code spans of the last name.
_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data):`~?([^`]+)`")


def _inline(text: str) -> str:
    """reST inline markup of a docstring as Markdown: roles and ``literals`` to `code`."""
    text = _ROLE.sub(lambda m: f"`{m.group(1).split('.')[-1]}`", text)
    return text.replace("``", "`")


def _docstring_markdown(cls) -> str:
    """A section's class docstring as Markdown: paragraphs joined, ``::`` blocks fenced."""
    lines = inspect.cleandoc(cls.__doc__ or "").splitlines()
    out: list[str] = []
    paragraph: list[str] = []
    i = 0

    def flush():
        if paragraph:
            out.append(_inline(" ".join(s.strip() for s in paragraph)))
            out.append("")
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        if not line.strip():
            flush()
            i += 1
            continue
        if line.rstrip().endswith("::"):
            head = line.rstrip()[:-2].rstrip()
            paragraph.append(head + ":" if head else "")
            flush()
            i += 1
            block = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
                block.append(lines[i])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            while block and not block[0].strip():
                block.pop(0)
            body = inspect.cleandoc("\n".join(block))
            out.extend(["```text", body, "```", ""])
            continue
        paragraph.append(line)
        i += 1
    flush()
    return "\n".join(out).rstrip() + "\n"


def _value(value) -> str:
    """A default as it is written in a TOML preset or after ``--set``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def _cell(text: str) -> str:
    return _inline(str(text)).replace("|", "\\|")


def _table(section: str, cls) -> list[str]:
    rows = ["| key | default | unit | valid values | meaning |", "|---|---|---|---|---|"]
    for name, default, unit, valid, doc in cls.field_docs():
        valid = valid[3:] if valid.startswith("in ") else valid
        rows.append(f"| `{section}.{name}` | `{_value(default)}` | {_cell(unit)} | "
                    f"{_cell(valid)} | {_cell(doc)} |")
    return rows


def _documented(cls):
    """The public class behind a section (``[forward]`` and ``[backward]`` are private
    subclasses of :class:`IOConfig` that only rename the section)."""
    return cls.__mro__[1] if cls.__name__.startswith("_") else cls


def _summary(cls) -> str:
    first = inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0]
    return _inline(" ".join(first.split()))


def markdown() -> str:
    """The configuration reference as one Markdown page (ends with a newline)."""
    tile_sections = list(TileConfig.SECTIONS.items())
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated from the field declarations in rramsim/config/ by",
        f"     `{REGENERATE}`; edit the declarations, not this page. -->",
        "",
        "Every key below is a field of a frozen dataclass in `rramsim.config`, documented once "
        "where it is declared. A device preset (`devices/NAME.toml`, listed by "
        "`rramsim presets`) is a TOML file with the same sections and keys; keys it leaves out "
        "take the defaults listed here. On the command line any key can be overridden with "
        "`--set SECTION.KEY=VALUE`, and in Python with "
        "`load_preset(name, [\"SECTION.KEY=VALUE\", ...])` or "
        "`TileConfig().with_overrides({...})`. An unknown key, a value of the wrong type and "
        "a value outside the valid range each raise `ConfigError`, naming the key and what "
        "would be valid.",
        "",
        "Weights are in normalised units (a device's conductance range maps onto "
        "`[w_min, w_max]`); see [concepts](concepts.md) for the equations behind each "
        "section.",
        "",
        "## Training tiles: `TileConfig`",
        "",
        "An analog training tile (`rramsim.analog.AnalogTile`, and every `AnalogLinear` layer) "
        f"is configured by {_NUMBER_WORDS.get(len(tile_sections), len(tile_sections))} "
        "sections:",
        "",
        "| section | class | what it configures |",
        "|---|---|---|",
    ]
    for name, cls in tile_sections:
        shown = _documented(cls)
        lines.append(f"| [`[{name}]`](#{name}) | `{shown.__name__}` | {_cell(_summary(shown))} |")
    lines += ["", "Inference arrays (networks mapped onto crossbars for inference, "
              "`rramsim.inference.map_network`, `rramsim map`) have their own section, "
              "[`[array]`](#array) (`ArrayConfig`).", ""]
    seen = set()
    for name, cls in tile_sections:
        lines += [f"### {name}", ""]
        shown = _documented(cls)
        if shown in seen:
            lines += [f"The same fields as `[forward]` (`{shown.__name__}`), for this pass.", ""]
        else:
            lines += [_docstring_markdown(shown).rstrip(), ""]
            seen.add(shown)
        lines += _table(name, cls) + [""]
    lines += ["## Inference arrays: `ArrayConfig`", "", "### array", "",
              _docstring_markdown(ArrayConfig).rstrip(), ""]
    lines += _table(ArrayConfig.SECTION, ArrayConfig) + [""]
    return "\n".join(lines).rstrip() + "\n"
