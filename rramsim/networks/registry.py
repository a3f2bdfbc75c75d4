"""The one registry of network builders, by spec ``kind``.

A builder returns a :class:`~rramsim.nn.Sequential` whose ``spec`` attribute is a JSON-able
dict ``{"kind": KIND, **keyword arguments of the builder}``; :func:`build_from_spec` rebuilds
the same architecture from it (with fresh weights), which is how
:func:`rramsim.networks.load_model` restores a saved network. Builder modules register
themselves on import; importing :mod:`rramsim.networks` imports them all.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from rramsim.errors import InputError
from rramsim.validation import suggest

#: Builders by spec kind, in registration order.
BUILDERS: dict[str, Callable] = {}


def register(kind: str):
    """Decorator: register a builder ``f(**spec_without_kind, seed=...)`` under ``kind``."""

    def deco(fn):
        if kind in BUILDERS and BUILDERS[kind] is not fn:
            raise InputError(f"network kind {kind!r} is registered twice")
        BUILDERS[kind] = fn
        return fn

    return deco


def check_spec(spec) -> dict:
    """Check a network spec before anything is built: a dict whose ``kind`` is registered and
    whose other keys are parameters of that builder (an unknown key is named, with the closest
    valid one). Returns the spec."""
    if not isinstance(spec, dict):
        raise InputError(f"a network spec must be a dict with a 'kind', got {type(spec).__name__}")
    kind = spec.get("kind")
    if kind not in BUILDERS:
        raise InputError(f"unknown network kind {kind!r}{suggest(str(kind), BUILDERS)}; "
                         f"valid: {', '.join(BUILDERS)}")
    params = [p for p in inspect.signature(BUILDERS[kind]).parameters if p != "seed"]
    for key in spec:
        if key != "kind" and key not in params:
            raise InputError(f"unknown key {key!r} in a {kind!r} network spec"
                             f"{suggest(key, params)}; valid keys: {', '.join(params)}")
    return spec


def build_from_spec(spec: dict, seed=0):
    """Rebuild a network from its ``spec`` (weights freshly initialised from ``seed``)."""
    check_spec(spec)
    return BUILDERS[spec["kind"]](**{k: v for k, v in spec.items() if k != "kind"}, seed=seed)
