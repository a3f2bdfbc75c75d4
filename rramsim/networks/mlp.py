"""The sigmoid MLP of the in-situ training studies (784-256-128-10 on MNIST)."""

from __future__ import annotations

from rramsim.config import TileConfig
from rramsim.errors import InputError
from rramsim.networks.registry import register
from rramsim.nn import AnalogLinear, Linear, Sequential, Sigmoid
from rramsim.rng import spawn

MNIST_MLP = (784, 256, 128, 10)


@register("mlp")
def build_mlp(sizes=MNIST_MLP, config: TileConfig | dict | None = None, bias: str = "analog",
              seed=None) -> Sequential:
    """A sigmoid MLP (hidden units sigmoid, output logits; pair it with softmax cross-entropy).

    Parameters
    ----------
    sizes : layer widths, e.g. (784, 256, 128, 10)
    config : TileConfig (or its ``to_dict()``) for analog layers, or None for a floating-point
        network
    bias : 'analog' (an extra array column driven by 1), 'digital' or 'none' (analog only)
    seed : seeds the weight initialisation (layer k from child k) and each tile

    The floating-point and analog networks built with the same seed start from the same weights
    (as far as the devices can hold them).
    """
    sizes = [int(s) for s in sizes]
    if isinstance(config, dict):
        config = TileConfig.from_dict(config)
    if len(sizes) < 2 or min(sizes) < 1:
        raise InputError(f"sizes must list at least two positive layer widths, got {sizes}")
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


