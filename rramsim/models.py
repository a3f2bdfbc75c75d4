"""Network builders and saving/loading of trained networks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rramsim.config import TileConfig
from rramsim.nn import AnalogLinear, Linear, Sequential, Sigmoid
from rramsim.rng import spawn

MNIST_MLP = (784, 256, 128, 10)


def build_mlp(sizes=MNIST_MLP, config: TileConfig | None = None, bias: str = "analog",
              seed=None) -> Sequential:
    """A sigmoid MLP (hidden units sigmoid, output logits; pair it with softmax cross-entropy).

    Parameters
    ----------
    sizes : layer widths, e.g. (784, 256, 128, 10)
    config : TileConfig for analog layers, or None for a floating-point network
    bias : 'analog' (an extra array column driven by 1), 'digital' or 'none' (analog only)
    seed : seeds the weight initialisation (layer k from child k) and each tile

    The floating-point and analog networks built with the same seed start from the same weights
    (as far as the devices can hold them).
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes must list at least two positive layer widths, got {sizes}")
    seeds = spawn(seed, len(sizes) - 1)
    layers = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if config is None:
            layers.append(Linear(n_in, n_out, seed=seeds[k].spawn(2)[0], name=f"fc{k + 1}"))
        else:
            layers.append(AnalogLinear(n_in, n_out, config, bias=bias, seed=seeds[k],
                                       name=f"fc{k + 1}"))
        if k < len(sizes) - 2:
            layers.append(Sigmoid())
    model = Sequential(*layers)
    model.spec = {"kind": "mlp", "sizes": sizes, "bias": bias,
                  "config": None if config is None else config.to_dict()}
    return model


def save_model(path, model: Sequential, meta: dict | None = None) -> Path:
    """Save a network built by :func:`build_mlp` (architecture, tile configuration, device
    states, device parameters, random-stream states) or by a builder of
    :mod:`rramsim.binary_nets` (architecture spec, weights, batch-norm running statistics) to
    one ``.npz`` file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = model.state_dict()
    header = {"spec": model.spec, "meta": meta or {}}
    np.savez(path, __header__=np.array(json.dumps(header)), **state)
    return path if path.suffix == ".npz" else path.with_suffix(path.suffix + ".npz")


def load_model(path) -> Sequential:
    """Load a network saved by :func:`save_model`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no saved model at {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["__header__"]))
            state = {k: data[k] for k in data.files if k != "__header__"}
    except (ValueError, KeyError, OSError) as exc:
        raise ValueError(f"{path} is not a saved rramsim model: {exc}") from None
    spec = header["spec"]
    from rramsim.binary_nets import BUILDERS, build_from_spec

    if spec.get("kind") in BUILDERS:
        model = build_from_spec(spec, seed=0)
        model.load_state_dict(state)
        model.spec = spec
        return model
    if spec.get("kind") != "mlp":
        raise ValueError(f"{path}: unknown model kind {spec.get('kind')!r}")
    config = None
    if spec["config"] is not None:
        # The zero-shift search already happened before saving: its result is in the state.
        config = TileConfig.from_dict(spec["config"]).with_overrides({"reference.zero_shift": False})
    model = build_mlp(spec["sizes"], config, bias=spec["bias"], seed=0)
    model.load_state_dict(state)
    model.spec = spec
    return model
