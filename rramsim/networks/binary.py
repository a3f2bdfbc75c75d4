"""Binary neural networks: builders (BNN, XNOR / Bi-Real families, BitSplit-Net), the named
networks of the accuracy floors, and BinaryDuo decoupling.

Every builder returns a :class:`~rramsim.nn.Sequential` with a JSON-able ``spec`` dict from
which :func:`~rramsim.networks.build_from_spec` (and so :func:`rramsim.networks.load_model`)
rebuilds it.

Networks (first and last layers full precision, the rest binary, as in the BNN papers):

- ``binary_mlp``: ``Linear -> BN -> act -> [BinaryLinear -> BN -> act] x k -> Linear``;
- ``binary_lenet`` (LeNet-5 style, 28 x 28 inputs): ``Conv5x5 -> pool -> BN -> act ->
  BinaryConv5x5 -> pool -> BN -> act -> BinaryLinear -> BN -> act -> Linear``;
- ``binary_vgg`` (small VGG, 28 x 28 inputs): ``Conv3x3 -> pool -> BN -> act -> BinaryConv3x3 ->
  BN -> act -> BinaryConv3x3 -> pool -> BN -> act -> BinaryConv3x3 -> pool -> BN -> act ->
  BinaryLinear -> BN -> act -> Linear``.

Families (``family``):

- ``"xnor"``: XNOR-Net style, weights ``alpha_o sign(W)`` (mean |W| per output channel), batch
  norm right before each binary activation;
- ``"bireal"``: Bi-Real style, a real-valued identity shortcut around every binary convolution
  (or binary hidden linear layer of the MLP): ``x + BN(BinaryConv(act(x)))``; the shortcut
  repeats channels where the convolution multiplies them.

``act`` is the activation: a quantizer spec (``"ste_sign"``, ``{"name": "threshold",
"theta": 0.2}``, ``{"name": "nlevel", "n": 2}``, ...), ``"relu"``, ``"hardtanh"``, or
``{"name": "learnable_threshold", "theta": 0.0}`` (a learnable threshold per channel). The
full-precision twin of a network is the same builder with ``weight_quantizer="identity"`` and
``act="relu"``.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from rramsim.errors import InputError
from rramsim.networks.registry import build_from_spec, register
from rramsim.nn import (
    BatchNorm1d,
    BatchNorm2d,
    BinaryConv2d,
    BinaryLinear,
    Conv2d,
    Flatten,
    Hardtanh,
    LearnableThreshold,
    Linear,
    MaxPool2d,
    Module,
    Quantize,
    ReLU,
    Residual,
    Sequential,
)
from rramsim.nn.quantizers import Identity, NLevel, ScaledSign, get_quantizer
from rramsim.rng import spawn

FAMILIES = ("xnor", "bireal")


def _check_family(family):
    if family not in FAMILIES:
        raise InputError(f"unknown family {family!r}; valid: {', '.join(FAMILIES)}")


def _conv_channels(family: str, channels) -> tuple[int, int]:
    """Validate the family and the two convolution widths ``(c1, c2)`` of a CNN builder (Bi-Real
    repeats shortcut channels, so c2 must be a multiple of c1)."""
    _check_family(family)
    c1, c2 = (int(c) for c in channels)
    if family == "bireal" and c2 % c1:
        raise InputError(f"bireal needs c2 to be a multiple of c1, got {channels}")
    return c1, c2

def make_activation(act, channels: int, name: str) -> Module:
    """The activation layer for ``act`` (see the module docstring) on ``channels`` channels."""
    if act == "relu":
        return ReLU()
    if act == "hardtanh":
        return Hardtanh()
    if isinstance(act, dict) and act.get("name") == "learnable_threshold":
        kw = {k: v for k, v in act.items() if k != "name"}
        return LearnableThreshold(channels, name=f"{name}.threshold", **kw)
    return Quantize(get_quantizer(act))


def _latent_clip(weight_quantizer):
    return None if isinstance(get_quantizer(weight_quantizer), Identity) else 1.0


class _Seeds:
    """Independent child seeds for the layers of one network, in construction order."""

    def __init__(self, seed, n: int = 64):
        self.seeds = iter(spawn(seed, n))

    def seed(self):
        return next(self.seeds)


def _finish(layers, spec) -> Sequential:
    model = Sequential(*layers)
    model.spec = spec
    return model


@register("binary_mlp")
def build_binary_mlp(sizes=(784, 512, 512, 10), family: str = "xnor", act="ste_sign",
                     weight_quantizer="scaled_sign", seed=None) -> Sequential:
    """Binary MLP: full-precision first and last layers, binary hidden layers.

    Parameters
    ----------
    sizes : (n_in, h_1, ..., h_k, n_classes), k >= 1 hidden widths
    family : "xnor" or "bireal" (shortcut around each binary hidden layer with h_i == h_{i+1})
    act : activation spec
    weight_quantizer : quantizer of the hidden layers' weights
    seed : initialisation seed (layer by layer)

    Inputs (B, n_in) (images are flattened first), outputs logits (B, n_classes).
    """
    _check_family(family)
    sizes = [int(s) for s in sizes]
    if len(sizes) < 3 or min(sizes) < 1:
        raise InputError(f"sizes needs an input, at least one hidden width and the classes, got "
                         f"{sizes}")
    nm = _Seeds(seed)
    clip = _latent_clip(weight_quantizer)
    layers: list[Module] = [Flatten(), Linear(sizes[0], sizes[1], bias=False, seed=nm.seed(),
                                              name="fc1"), BatchNorm1d(sizes[1], name="bn1")]
    if family == "xnor":
        layers.append(make_activation(act, sizes[1], "act1"))
    for k, (n_in, n_out) in enumerate(zip(sizes[1:-2], sizes[2:-1]), start=2):
        lin = BinaryLinear(n_in, n_out, weight_quantizer, latent_clip=clip, seed=nm.seed(),
                           name=f"fc{k}")
        bn = BatchNorm1d(n_out, name=f"bn{k}")
        if family == "xnor":
            layers += [lin, bn, make_activation(act, n_out, f"act{k}")]
        else:
            branch = [make_activation(act, n_in, f"act{k}"), lin, bn]
            if n_in == n_out:
                layers.append(Residual(*branch))
            else:  # no identity shortcut across a change of width
                layers += branch
    if family == "bireal":
        layers.append(make_activation(act, sizes[-2], "act_out"))
    layers.append(Linear(sizes[-2], sizes[-1], seed=nm.seed(), name=f"fc{len(sizes) - 1}"))
    return _finish(layers, {"kind": "binary_mlp", "sizes": sizes, "family": family, "act": act,
                            "weight_quantizer": get_quantizer(weight_quantizer).config()})


@register("binary_lenet")
def build_binary_lenet(channels=(32, 64), hidden: int = 512, family: str = "xnor",
                       act="ste_sign", weight_quantizer="scaled_sign", in_channels: int = 1,
                       n_classes: int = 10, conv_dtype: str = "float64",
                       seed=None) -> Sequential:
    """LeNet-5-style binary CNN for 28 x 28 images (N, in_channels, 28, 28).

    xnor: ``Conv5x5(c1) -> pool2 -> BN -> act -> BinConv5x5(c2) -> pool2 -> BN -> act ->
    BinLinear(c2 * 4 * 4 -> hidden) -> BN -> act -> Linear(hidden -> classes)``.
    bireal: the binary convolution gets 'same' padding and a shortcut (channels repeated
    c2 / c1 times), so the flattened size is c2 * 6 * 6. ``conv_dtype`` is the convolutions'
    compute precision (:class:`~rramsim.nn.conv.Conv2d`).
    """
    c1, c2 = _conv_channels(family, channels)
    nm = _Seeds(seed)
    clip = _latent_clip(weight_quantizer)
    layers: list[Module] = [Conv2d(in_channels, c1, 5, bias=False, seed=nm.seed(), name="conv1",
                                   dtype=conv_dtype),
                            MaxPool2d(2), BatchNorm2d(c1, name="bn1")]
    if family == "xnor":
        layers += [make_activation(act, c1, "act1"),
                   BinaryConv2d(c1, c2, 5, weight_quantizer=weight_quantizer, latent_clip=clip,
                                seed=nm.seed(), name="conv2", dtype=conv_dtype),
                   MaxPool2d(2), BatchNorm2d(c2, name="bn2"), make_activation(act, c2, "act2")]
        flat = c2 * 4 * 4
    else:
        layers += [Residual(make_activation(act, c1, "act1"),
                            BinaryConv2d(c1, c2, 5, padding=2, weight_quantizer=weight_quantizer,
                                         latent_clip=clip, seed=nm.seed(), name="conv2",
                                         dtype=conv_dtype),
                            BatchNorm2d(c2, name="bn2"), repeat=c2 // c1),
                   MaxPool2d(2), make_activation(act, c2, "act2")]
        flat = c2 * 6 * 6
    layers += [Flatten(),
               BinaryLinear(flat, hidden, weight_quantizer, latent_clip=clip, seed=nm.seed(),
                            name="fc3"),
               BatchNorm1d(hidden, name="bn3"), make_activation(act, hidden, "act3"),
               Linear(hidden, n_classes, seed=nm.seed(), name="fc4")]
    return _finish(layers, {"kind": "binary_lenet", "channels": [c1, c2], "hidden": int(hidden),
                            "family": family, "act": act, "in_channels": int(in_channels),
                            "n_classes": int(n_classes), "conv_dtype": conv_dtype,
                            "weight_quantizer": get_quantizer(weight_quantizer).config()})


@register("binary_vgg")
def build_binary_vgg(channels=(32, 64), hidden: int = 256, family: str = "xnor", act="ste_sign",
                     weight_quantizer="scaled_sign", in_channels: int = 1, n_classes: int = 10,
                     dropout: float = 0.0, conv_dtype: str = "float64",
                     seed=None) -> Sequential:
    """Small VGG-style binary CNN for 28 x 28 images (N, in_channels, 28, 28), 3x3 convolutions
    with 'same' padding:

    ``Conv(c1) -> pool -> BN -> act`` (full precision, 28 -> 14), ``BinConv(c1 -> c1) -> BN ->
    act``, ``BinConv(c1 -> c2) -> pool -> BN -> act`` (14 -> 7), ``BinConv(c2 -> c2) -> pool ->
    BN -> act`` (7 -> 3), ``BinLinear(9 c2 -> hidden) -> BN -> act -> [Dropout] ->
    Linear(hidden -> classes)`` (full precision).

    bireal: each binary convolution becomes ``x + BN(BinConv(act(x)))`` (channels of the
    shortcut repeated c2 / c1 times where they grow), with the pools after the blocks.
    ``dropout`` (before the last layer) is seeded by ``seed``; ``conv_dtype`` is the
    convolutions' compute precision (:class:`~rramsim.nn.conv.Conv2d`).
    """
    from rramsim.nn import Dropout

    c1, c2 = _conv_channels(family, channels)
    nm = _Seeds(seed)
    clip = _latent_clip(weight_quantizer)

    def bconv(cin, cout, name):
        return BinaryConv2d(cin, cout, 3, padding=1, weight_quantizer=weight_quantizer,
                            latent_clip=clip, seed=nm.seed(), name=name, dtype=conv_dtype)

    layers: list[Module] = [Conv2d(in_channels, c1, 3, padding=1, bias=False, seed=nm.seed(),
                                   name="conv1", dtype=conv_dtype),
                            MaxPool2d(2), BatchNorm2d(c1, name="bn1")]
    plan = [(c1, c1, False), (c1, c2, True), (c2, c2, True)]  # (in, out, pool after)
    if family == "xnor":
        layers.append(make_activation(act, c1, "act1"))
        for k, (cin, cout, pool) in enumerate(plan, start=2):
            layers.append(bconv(cin, cout, f"conv{k}"))
            if pool:
                layers.append(MaxPool2d(2))
            layers += [BatchNorm2d(cout, name=f"bn{k}"), make_activation(act, cout, f"act{k}")]
    else:
        for k, (cin, cout, pool) in enumerate(plan, start=2):
            layers.append(Residual(make_activation(act, cin, f"act{k - 1}"),
                                   bconv(cin, cout, f"conv{k}"),
                                   BatchNorm2d(cout, name=f"bn{k}"), repeat=cout // cin))
            if pool:
                layers.append(MaxPool2d(2))
        layers.append(make_activation(act, c2, "act4"))
    layers += [Flatten(), BinaryLinear(c2 * 9, hidden, weight_quantizer, latent_clip=clip,
                                       seed=nm.seed(), name="fc5"),
               BatchNorm1d(hidden, name="bn5"), make_activation(act, hidden, "act5")]
    dseed = nm.seed()
    if dropout:
        layers.append(Dropout(dropout, seed=dseed))
    layers.append(Linear(hidden, n_classes, seed=nm.seed(), name="fc6"))
    return _finish(layers, {"kind": "binary_vgg", "channels": [c1, c2], "hidden": int(hidden),
                            "family": family, "act": act, "in_channels": int(in_channels),
                            "n_classes": int(n_classes), "dropout": float(dropout),
                            "conv_dtype": conv_dtype,
                            "weight_quantizer": get_quantizer(weight_quantizer).config()})


@register("lenet5")
def build_lenet5(conv_dtype: str = "float64", seed=None) -> Sequential:
    """The classic full-precision LeNet-5 (ReLU, max-pool) for 28 x 28 inputs:
    ``Conv5x5(6, pad 2) -> ReLU -> pool -> Conv5x5(16) -> ReLU -> pool -> 400 -> 120 -> 84 ->
    10`` (the speed benchmark's network); ``conv_dtype`` as in :class:`~rramsim.nn.Conv2d`."""
    nm = _Seeds(seed)
    layers = [Conv2d(1, 6, 5, padding=2, seed=nm.seed(), name="conv1", dtype=conv_dtype), ReLU(),
              MaxPool2d(2), Conv2d(6, 16, 5, seed=nm.seed(), name="conv2", dtype=conv_dtype),
              ReLU(), MaxPool2d(2), Flatten(),
              Linear(400, 120, seed=nm.seed(), name="fc1"), ReLU(),
              Linear(120, 84, seed=nm.seed(), name="fc2"), ReLU(),
              Linear(84, 10, seed=nm.seed(), name="fc3")]
    return _finish(layers, {"kind": "lenet5", "conv_dtype": conv_dtype})


def kbit_act(bits: int) -> dict:
    """The conventional k-bit activation spec: ``nlevel`` with ``n = 2^k - 1`` levels above 0
    (uniform quantizer on [0, 1], straight-through gradient on [0, 1])."""
    if int(bits) != bits or bits < 1:
        raise InputError(f"bits must be a positive integer, got {bits}")
    return {"name": "nlevel", "n": 2 ** int(bits) - 1, "ste": "rect"}


def scale_widths(spec: dict, factor: float) -> dict:
    """A copy of a ``binary_mlp`` / ``binary_lenet`` / ``binary_vgg`` spec with every hidden
    width (MLP hidden sizes; CNN channels and hidden units) multiplied by ``factor`` and rounded
    (at least 1). The input size and the classes stay.

    Binary-weight parameters (devices on arrays) and 1-bit MACs of the hidden layers scale as
    ``factor^2``, the full-precision first and last layers as ``factor``.
    """
    factor = float(factor)
    if not (math.isfinite(factor) and factor > 0):
        raise InputError(f"width factor must be a positive number, got {factor}")
    scale = lambda n: max(1, int(round(n * factor)))  # noqa: E731
    out = dict(spec)
    if spec.get("kind") == "binary_mlp":
        sizes = list(spec.get("sizes", (784, 512, 512, 10)))
        out["sizes"] = [sizes[0]] + [scale(n) for n in sizes[1:-1]] + [sizes[-1]]
    elif spec.get("kind") in ("binary_lenet", "binary_vgg"):
        defaults = {"binary_lenet": ((32, 64), 512), "binary_vgg": ((32, 64), 256)}[spec["kind"]]
        out["channels"] = [scale(c) for c in spec.get("channels", defaults[0])]
        out["hidden"] = scale(spec.get("hidden", defaults[1]))
    else:
        raise InputError(f"cannot scale the widths of a {spec.get('kind')!r} spec")
    return out


@register("bitsplit")
def build_bitsplit(path: dict, bits: int = 2, width_scale: float = 1.0,
                   seed=None) -> Sequential:
    """BitSplit-Net (Kim et al. 2019): ``bits`` copies of the network ``path`` (a builder spec
    of kind ``binary_mlp``, ``binary_lenet`` or ``binary_vgg``, family ``xnor``), path ``i``
    with every activation replaced by bit ``i`` of the k-bit activation
    (:class:`~rramsim.nn.quantizers.BitOf`), merged at the logits by
    :class:`~rramsim.nn.BitSplit`: ``y = sum_i 2^i f_i(x) / (2^k - 1)``.

    Cost matching: each path has the widths of the conventional k-bit network built from the
    same ``path`` spec with ``act = kbit_act(bits)``. The conventional network's binary-weight
    layers take k-bit inputs, i.e. k one-bit input planes (bit-serial on arrays); BitSplit's take
    one plane in each of k paths. Both therefore do the same number of 1-bit x 1-bit
    multiply-accumulates, array activations and ADC conversions per inference in those layers;
    BitSplit stores k times the weights (devices) and runs its k planes in parallel arrays
    instead of k cycles of one array. The full-precision first layer (and the last) is also k
    times larger.

    ``width_scale`` multiplies every hidden width of each path (:func:`scale_widths`).
    ``width_scale = 1 / sqrt(k)`` matches the other cost: the k paths together hold as many
    binary weights (devices) as the conventional network, and do k times fewer 1-bit MACs.
    """
    bits = int(bits)
    if not 1 <= bits <= 8:
        raise InputError(f"bits must be in [1, 8], got {bits}")
    if not isinstance(path, dict) or path.get("kind") not in ("binary_mlp", "binary_lenet",
                                                              "binary_vgg"):
        raise InputError("path must be a binary_mlp, binary_lenet or binary_vgg spec, got "
                         f"{path!r:.80}")
    if path.get("family", "xnor") != "xnor":
        raise InputError("BitSplit paths must be of family 'xnor' (a Bi-Real shortcut would "
                         "carry real values between the bits)")

    from rramsim.nn import BitSplit

    width_scale = float(width_scale)
    path_spec = {k: v for k, v in path.items() if k != "act"}
    built = scale_widths(path_spec, width_scale) if width_scale != 1.0 else path_spec
    seeds = spawn(seed, bits)
    paths = [build_from_spec(dict(built, act={"name": "bit", "bit": i, "bits": bits}),
                             seed=seeds[i]) for i in range(bits)]
    # the spec keeps the unscaled path and the factor: build_from_spec rebuilds the same net
    spec = {"kind": "bitsplit", "bits": bits, "path": path_spec}
    if width_scale != 1.0:
        spec["width_scale"] = width_scale
    return _finish([BitSplit(*paths)], spec)


_XNOR_W = {"name": "scaled_sign", "per_channel": True, "clip": None}

#: The networks and training settings of the accuracy floors, by name: ``spec`` for
#: :func:`~rramsim.networks.build_from_spec` and the keyword arguments of
#: :func:`rramsim.experiments.binary.train_network`.
FLOOR_RUNS = {
    "mlp": {"spec": {"kind": "binary_mlp", "sizes": [784, 512, 512, 10], "family": "xnor",
                     "act": "ste_sign", "weight_quantizer": _XNOR_W},
            "dataset": "mnist", "epochs": 10, "batch_size": 64, "lr": 3e-3},
    "lenet": {"spec": {"kind": "binary_lenet", "channels": [16, 32], "hidden": 256,
                       "family": "xnor", "act": "ste_sign", "weight_quantizer": _XNOR_W,
                       "in_channels": 1, "n_classes": 10, "conv_dtype": "float64"},
              "dataset": "mnist", "epochs": 10, "batch_size": 64, "lr": 3e-3},
    "vgg": {"spec": {"kind": "binary_vgg", "channels": [32, 64], "hidden": 256,
                     "family": "xnor", "act": "ste_sign", "weight_quantizer": _XNOR_W,
                     "in_channels": 1, "n_classes": 10, "dropout": 0.0,
                     "conv_dtype": "float32"},
            "dataset": "fashion-mnist", "epochs": 8, "batch_size": 64, "lr": 3e-3},
    "vgg_fp": {"spec": {"kind": "binary_vgg", "channels": [32, 64], "hidden": 256,
                        "family": "xnor", "act": "relu",
                        "weight_quantizer": {"name": "identity"}, "in_channels": 1,
                        "n_classes": 10, "dropout": 0.0, "conv_dtype": "float32"},
               "dataset": "fashion-mnist", "epochs": 8, "batch_size": 64, "lr": 1e-3},
    "lenet5": {"spec": {"kind": "lenet5", "conv_dtype": "float64"}, "dataset": "mnist",
               "epochs": 10, "batch_size": 64, "lr": 1e-3},
}


# BinaryDuo --------------------------------------------------------------------------------------

def _is_ternary(layer) -> bool:
    return isinstance(layer, Quantize) and isinstance(layer.q, NLevel) and layer.q.n == 2


def decouple(model: Sequential) -> Sequential:
    """BinaryDuo decoupling (Kim et al., ICLR 2020): a network with ternary activations
    ``round(2 clip(x, 0, 1)) / 2`` becomes a binary network (activation
    ``round(clip(x, 0, 1))``) of twice the width that computes the same function.

    ``tern(x) = (b(x + 1/4) + b(x - 1/4)) / 2`` with ``b(u) = round(clip(u, 0, 1))``, so each
    channel feeding a ternary activation is duplicated (the producing layer's output channels and
    the batch norm), the two copies' batch-norm biases are shifted by +1/4 and -1/4 (copies in
    channel blocks ``[c + 1/4 | c - 1/4]``), and the next weight layer's input weights are
    duplicated and halved. Max-pooling commutes with the monotone activations, so it may sit
    anywhere between. The binary weights must be scaled per output channel or per layer
    (``scaled_sign``): then ``q(W / 2) = q(W) / 2`` exactly.

    Parameters
    ----------
    model : an ``xnor``-family network built with ``act={"name": "nlevel", "n": 2}``

    Returns
    -------
    A new network (the input is not modified) whose ``spec`` is the same builder at twice the
    width with ``act={"name": "nlevel", "n": 1, ...}``, so it saves and loads like any other.
    """
    spec = getattr(model, "spec", None)
    if spec is None or spec.get("kind") not in ("binary_mlp", "binary_lenet", "binary_vgg") \
            or spec.get("family") != "xnor":
        raise InputError("decouple needs an xnor-family network built by rramsim.networks")
    try:
        act = get_quantizer(spec["act"])
    except ValueError:  # relu, hardtanh, learnable threshold
        act = None
    if not isinstance(act, NLevel) or act.n != 2:
        raise InputError(f"decouple needs ternary activations (nlevel, n=2), got {spec['act']!r}")
    wq = get_quantizer(spec["weight_quantizer"])
    if not isinstance(wq, (ScaledSign, Identity)):
        raise InputError(f"exact decoupling needs scaled (or full-precision) weights, got {wq!r}: "
                         "halving +-1 weights is not representable")
    new_spec = copy.deepcopy(spec)
    new_spec["act"] = dict(act.config(), n=1)
    if spec["kind"] == "binary_mlp":
        new_spec["sizes"] = [spec["sizes"][0]] + [2 * s for s in spec["sizes"][1:-1]] + \
            [spec["sizes"][-1]]
    else:
        new_spec["channels"] = [2 * c for c in spec["channels"]]
        new_spec["hidden"] = 2 * spec["hidden"]
    new = build_from_spec(new_spec, seed=0)
    old_layers, new_layers = model.layers, new.layers
    if len(old_layers) != len(new_layers):
        raise RuntimeError("decoupled network has a different layer structure")
    doubled_out = False  # whether the previous weight layer's outputs were duplicated
    for k, (old, nl) in enumerate(zip(old_layers, new_layers)):
        if isinstance(old, (Linear, BinaryLinear, Conv2d)):
            W = old.weight.value
            if doubled_out:  # inputs come in two copies: [W/2 | W/2] per input block
                if W.ndim == 2 and isinstance(old_layers[k - 1], Flatten):
                    c_prev = _channels_before(old_layers, k)
                    Wr = W.reshape(W.shape[0], c_prev, -1)
                    W = np.concatenate([Wr / 2, Wr / 2], axis=1).reshape(W.shape[0], -1)
                else:
                    W = np.concatenate([W / 2, W / 2], axis=1)
            feeds_ternary = any(_is_ternary(la) for la in old_layers[k + 1:k + 4])
            if feeds_ternary:
                W = np.concatenate([W, W], axis=0)
            nl.weight.value[...] = W
            if old.bias is not None:
                b = old.bias.value
                nl.bias.value[...] = np.concatenate([b, b]) if feeds_ternary else b
            doubled_out = feeds_ternary
        elif isinstance(old, (BatchNorm1d, BatchNorm2d)):
            nl.weight.value[...] = np.concatenate([old.weight.value, old.weight.value])
            nl.bias.value[...] = np.concatenate([old.bias.value + 0.25, old.bias.value - 0.25])
            nl.running_mean = np.concatenate([old.running_mean, old.running_mean])
            nl.running_var = np.concatenate([old.running_var, old.running_var])
    return new


# gradient mismatch ----------------------------------------------------------------------------


# training ------------------------------------------------------------------------------------


# analysis and task runner --------------------------------------------------------------------


def _channels_before(layers, k: int) -> int:
    """Channels of the image that layer k (after a Flatten) receives."""
    for la in reversed(layers[:k]):
        if isinstance(la, Conv2d):
            return la.out_channels
    raise RuntimeError("no convolution before the flattened linear layer")
