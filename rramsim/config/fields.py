"""The documented-field machinery of every configuration section.

A field is declared once with :func:`_f` (default, meaning, unit, valid range, aliases); a
section (:class:`_Section`) coerces and range-checks its fields on construction, and
``field_docs`` feeds the command line's help, the error messages and the generated
configuration reference.

Aliases: a field may also be accepted under other names (``_f(..., aliases=("adc_bits",))``),
the earlier name of a setting that was renamed so that one concept has one name across
sections. An alias works wherever the field's name does: keyword arguments of a section
decorated with :func:`accepts_aliases`, presets, ``--set section.alias=value`` and attribute
reads; error messages name the key as it was given.
"""

from __future__ import annotations

import functools
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import field, fields
from typing import Any

import numpy as np

from rramsim.errors import ConfigError
from rramsim.validation import suggest


def _f(default, doc: str, unit: str = "", lo=None, hi=None, lo_open=False, hi_open=False,
       choices: Sequence[str] | None = None, aliases: Sequence[str] = ()):
    """A documented dataclass field with its valid range (checked in ``__post_init__``) and the
    other names it is accepted under (``aliases``)."""
    return field(default=default, metadata=dict(doc=doc, unit=unit, lo=lo, hi=hi, default=default,
                                                lo_open=lo_open, hi_open=hi_open, choices=choices,
                                                aliases=tuple(aliases)))


def aliases_of(cls) -> dict[str, str]:
    """``{alias: field name}`` of a section class."""
    return {a: f.name for f in fields(cls) for a in f.metadata.get("aliases", ())}


def accepts_aliases(cls):
    """Class decorator (above ``@dataclass``): the section's constructor takes each field's
    aliases as keyword arguments, and each alias reads as a property.

    Giving a field under two names is an error, unless both give the same value
    (``dataclasses.replace`` passes every field by its name).
    """
    alias_map = aliases_of(cls)
    init = cls.__init__

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        given = {}
        for alias, name in alias_map.items():
            if alias not in kwargs:
                continue
            value = kwargs.pop(alias)
            if name in kwargs and kwargs[name] != value:
                raise ConfigError(f"{cls.SECTION}.{alias} and {cls.SECTION}.{name} are one "
                                  f"setting ({alias} is an alias of {name}): give one, got "
                                  f"{value!r} and {kwargs[name]!r}")
            kwargs[name] = value
            given[name] = alias
        # Read by __post_init__, so that error messages name the key as given.
        object.__setattr__(self, "_given_names", given)
        try:
            init(self, *args, **kwargs)
        finally:
            object.__delattr__(self, "_given_names")

    cls.__init__ = __init__
    for alias, name in alias_map.items():
        setattr(cls, alias, property(lambda self, _n=name: getattr(self, _n),
                                     doc=f"Alias of :attr:`{name}`."))
    return cls


def valid_keys_text(cls) -> str:
    """The field names of a section, then its aliases, for error messages."""
    text = ", ".join(sorted(f.name for f in fields(cls)))
    alias_map = aliases_of(cls)
    if alias_map:
        text += " (aliases: " + ", ".join(f"{a} = {n}" for a, n in sorted(alias_map.items())) + ")"
    return text


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
        given = self.__dict__.get("_given_names", {})
        for f in fields(self):
            value = getattr(self, f.name)
            key = f"{self.SECTION}.{given.get(f.name, f.name)}"
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
        """``(name, default, unit, valid range, doc)`` for every field, for help texts; the
        doc ends with the field's aliases, if it has any."""
        def doc(meta):
            aliases = meta.get("aliases", ())
            text = meta.get("doc", "")
            if aliases:
                text += f" (Also accepted as {', '.join(aliases)}.)"
            return text

        return [(f.name, f.default, f.metadata.get("unit", ""), _range_text(f.metadata),
                 doc(f.metadata)) for f in fields(cls)]


def _coerce(key: str, value, typ):
    """Check a TOML / command-line / library value against the field's declared type, or raise
    ConfigError. Numbers are numbers and booleans are booleans: a quoted ``"0.001"`` or
    ``"false"`` in a preset is a type error, not silently converted (the command line's
    ``--set key=0.001`` is parsed as TOML first, so it arrives as a number)."""
    typ = typ if isinstance(typ, str) else getattr(typ, "__name__", str(typ))
    number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_))
    if typ == "bool":
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise ConfigError(f"{key} = {value!r} is not a valid bool: write true or false"
                          + (" (without quotes)" if isinstance(value, str) else ""))
    if typ in ("int", "float"):
        if not number:
            hint = " (a number without quotes)" if isinstance(value, str) else ""
            raise ConfigError(f"{key} = {value!r} is not a valid {typ}{hint}")
        if typ == "int":
            if isinstance(value, (float, np.floating)) and not float(value).is_integer():
                raise ConfigError(f"{key} = {value!r} is not a valid int")
            return int(value)
        return float(value)
    if typ == "str" and not isinstance(value, str):
        raise ConfigError(f"{key} = {value!r} is not a valid str")
    return value


def check_key(cls, section: str, key: str, where: str) -> str:
    """The field name ``key`` stands for in a section (itself or the field it is an alias of);
    an unknown key raises ConfigError with the closest valid key and the list of valid ones."""
    alias_map = aliases_of(cls)
    valid = {f.name for f in fields(cls)}
    if key in valid:
        return key
    if key in alias_map:
        return alias_map[key]
    raise ConfigError(f"{where}: unknown key {key!r} in [{section}]"
                      f"{suggest(key, valid | set(alias_map))}; valid keys: {valid_keys_text(cls)}")


def _make_section(cls, name: str, values: Mapping[str, Any], source: str):
    seen: dict[str, str] = {}
    for key in values:
        field_name = check_key(cls, name, key, source)
        if field_name in seen:
            raise ConfigError(f"{source}: [{name}] gives {seen[field_name]!r} and {key!r}, one "
                              f"setting under two names; keep {field_name!r}")
        seen[field_name] = key
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
