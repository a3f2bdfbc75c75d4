"""Saving and loading trained networks: one ``.npz`` file holding a JSON header (the builder
spec and free-form metadata) and every state array of the network."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from rramsim.config import TileConfig
from rramsim.config.algorithm import NEEDS_REFERENCE
from rramsim.errors import ModelFileError, ModelFileMissing
from rramsim.networks.registry import BUILDERS, build_from_spec
from rramsim.nn import Sequential


def save_model(path, model: Sequential, meta: dict | None = None) -> Path:
    """Save a network built by a registered builder (:data:`rramsim.networks.BUILDERS`) to one
    ``.npz`` file: its spec, and its state (weights, batch-norm statistics; for analog layers
    the device states and parameters, references and random-stream states).

    Returns the path written (``.npz`` appended when missing, as numpy does).
    """
    spec = getattr(model, "spec", None)
    if not isinstance(spec, dict) or spec.get("kind") not in BUILDERS:
        raise ModelFileError("save_model: this network has no builder spec (model.spec); only "
                             "networks built by a builder of rramsim.networks "
                             f"({', '.join(BUILDERS)}) can be saved and loaded")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = model.state_dict()
    header = {"spec": spec, "meta": meta or {}}
    np.savez(path, __header__=np.array(json.dumps(header)), **state)
    return path if path.suffix == ".npz" else path.with_suffix(path.suffix + ".npz")


def load_model(path) -> Sequential:
    """Load a network saved by :func:`save_model` (rebuilt from its spec, then its state)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileMissing(f"no saved model at {path}")
    try:
        # open the file here: np.load leaks its handle when a truncated archive fails to open
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as data:
            header = json.loads(str(data["__header__"]))
            state = {k: data[k] for k in data.files if k != "__header__"}
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as exc:
        why = str(exc).split("\n")[0] if not isinstance(exc, EOFError) else "the file is empty"
        if "allow_pickle" in why:
            why = "it holds pickled Python objects, which rramsim never writes or reads"
        raise ModelFileError(f"{path} is not a saved rramsim model (save one with rramsim "
                             f"train --save-model or train-binary --save-model): {why}") from None
    spec = header.get("spec") if isinstance(header, dict) else None
    if not isinstance(spec, dict) or spec.get("kind") not in BUILDERS:
        kind = spec.get("kind") if isinstance(spec, dict) else None
        raise ModelFileError(f"{path}: unknown model kind {kind!r}; valid: {', '.join(BUILDERS)}")
    build = dict(spec)
    if build.get("config") is not None:
        # A zero-shift search already ran before saving: its result is in the state. An
        # algorithm that needs a zero-shifted reference (ttv1, ttv2) is rebuilt with the cheap
        # closed-form search instead, whose result the saved state overwrites.
        cfg = TileConfig.from_dict(build["config"])
        skip = ({"reference.sp_method": "closed_form"} if cfg.algorithm.kind in NEEDS_REFERENCE
                else {"reference.zero_shift": False})
        build["config"] = cfg.with_overrides(skip).to_dict()
    model = build_from_spec(build, seed=0)
    model.load_state_dict(state)
    model.spec = spec
    return model
