"""The documented-field machinery of every configuration section.

A field is declared once with :func:`_f` (default, meaning, unit, valid range); a section
(:class:`_Section`) coerces and range-checks its fields on construction, and ``field_docs``
feeds the command line's help, the error messages and the generated configuration reference.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import field, fields
from typing import Any, Mapping, Sequence

from rramsim.errors import ConfigError
from rramsim.validation import suggest


def _f(default, doc: str, unit: str = "", lo=None, hi=None, lo_open=False, hi_open=False,
       choices: Sequence[str] | None = None):
    """A documented dataclass field with its valid range (checked in ``__post_init__``)."""
    return field(default=default, metadata=dict(doc=doc, unit=unit, lo=lo, hi=hi, default=default,
                                                lo_open=lo_open, hi_open=hi_open, choices=choices))


def _range_text(meta: Mapping[str, Any]) -> str:
    if isinstance(meta.get("default"), bool):
        return "true or false"
    if meta.get("choices"):
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    lo, hi = meta.get("lo"), meta.get("hi")
    left = "(" if meta.get("lo_open") or lo is None else "["
    right = ")" if meta.get("hi_open") or hi is None else "]"
    return f"in {left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"


class _Section:
    """Mixin: type coercion and range validation from field metadata."""

    SECTION = ""

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            key = f"{self.SECTION}.{f.name}"
            value = _coerce(key, value, f.type)
            object.__setattr__(self, f.name, value)
            meta = f.metadata
            if meta.get("choices") is not None:
                if value not in meta["choices"]:
                    raise ConfigError(f"{key} = {value!r} is invalid: must be {_range_text(meta)}")
                continue
            if isinstance(value, bool) or isinstance(value, str):
                continue
            if isinstance(value, float) and not math.isfinite(value):
                what = "is NaN" if math.isnan(value) else f"= {value} is not finite"
                raise ConfigError(f"{key} {what}: must be {_range_text(meta)}")
            lo, hi = meta.get("lo"), meta.get("hi")
            bad = (lo is not None and (value < lo or (meta.get("lo_open") and value == lo))) or (
                hi is not None and (value > hi or (meta.get("hi_open") and value == hi)))
            if bad:
                raise ConfigError(f"{key} = {value!r} is out of range: must be {_range_text(meta)}"
                                  f" ({meta['doc'].split('.')[0]})")
        self._check()

    def _check(self):
        """Cross-field checks (overridden where needed)."""

    @classmethod
    def field_docs(cls) -> list[tuple[str, Any, str, str, str]]:
        """``(name, default, unit, valid range, doc)`` for every field, for help texts."""
        return [(f.name, f.default, f.metadata.get("unit", ""), _range_text(f.metadata),
                 f.metadata.get("doc", "")) for f in fields(cls)]


def _coerce(key: str, value, typ):
    """Coerce a TOML / command-line value to the field's declared type, or raise ConfigError."""
    typ = typ if isinstance(typ, str) else getattr(typ, "__name__", str(typ))
    try:
        if typ == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
                return value.lower() in ("true", "1", "yes")
            raise TypeError
        if typ == "int":
            if isinstance(value, bool):
                raise TypeError
            if isinstance(value, float) and not value.is_integer():
                raise TypeError
            return int(value)
        if typ == "float":
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if typ == "str":
            if not isinstance(value, str):
                raise TypeError
            return value
    except (TypeError, ValueError):
        raise ConfigError(f"{key} = {value!r} is not a valid {typ}") from None
    return value


def _make_section(cls, name: str, values: Mapping[str, Any], source: str):
    valid = {f.name for f in fields(cls)}
    for key in values:
        if key not in valid:
            raise ConfigError(f"{source}: unknown key {key!r} in [{name}]{suggest(key, valid)}; "
                              f"valid keys: {', '.join(sorted(valid))}")
    return cls(**values)


def parse_overrides(items: Sequence[str]) -> dict[str, str]:
    """Parse ``["section.key=value", ...]`` into ``{"section.key": "value"}``."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"override {item!r}: expected SECTION.KEY=VALUE, "
                              f"e.g. device.up_down=0.3")
        key, _, value = item.partition("=")
        out[key.strip()] = _parse_scalar(value.strip())
    return out


def _parse_scalar(text: str):
    """A command-line value as TOML would read it (number, bool, or bare string)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
