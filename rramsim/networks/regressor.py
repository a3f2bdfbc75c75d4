"""The feed-forward regression network of the WES study."""

from __future__ import annotations

from rramsim.config import TileConfig
from rramsim.networks.registry import register
from rramsim.nn import AnalogLinear, Linear, ReLU, Sequential, Sigmoid, Tanh
from rramsim.rng import spawn
from rramsim.validation import check_choice, check_positive_int


@register("regressor")
def build_regressor(n_in: int, hidden=(64, 64), activation: str = "tanh", config=None,
                    seed=None):
    """A feed-forward regression network ``n_in -> hidden... -> 1`` (linear output).

    Parameters
    ----------
    n_in : number of input features
    hidden : widths of the hidden layers
    activation : 'tanh', 'relu' or 'sigmoid' (after every hidden layer)
    config : a :class:`~rramsim.config.TileConfig` (or its ``to_dict()``) for analog layers
        (every layer on its own tile, analog bias column), or None for floating point
    seed : seeds the initial weights (layer k from child k) and the tiles
    """
    acts = {"tanh": Tanh, "relu": ReLU, "sigmoid": Sigmoid}
    check_choice(activation, tuple(acts), "activation")
    sizes = [check_positive_int(n_in, "n_in")] + [check_positive_int(h, "hidden width")
                                                   for h in hidden] + [1]
    if isinstance(config, dict):
        config = TileConfig.from_dict(config)
    seeds = spawn(seed, len(sizes) - 1)
    layers = []
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        name = f"fc{k + 1}"
        layers.append(Linear(a, b, seed=seeds[k], name=name) if config is None
                      else AnalogLinear(a, b, config, seed=seeds[k], name=name))
        if k < len(sizes) - 2:
            layers.append(acts[activation]())
    model = Sequential(*layers)
    model.spec = {"kind": "regressor", "n_in": sizes[0], "hidden": sizes[1:-1],
                  "activation": activation,
                  "config": None if config is None else config.to_dict()}
    return model
