"""BitSplit-Net: the bitwise activation, the merge, the builder, saving and loading."""

import numpy as np
import pytest
from naive import numeric_grad

from rramsim.networks import (
    build_binary_lenet,
    build_binary_mlp,
    build_bitsplit,
    build_from_spec,
    kbit_act,
    load_model,
    save_model,
)
from rramsim.nn import BitSplit, Linear, Sequential, SoftmaxCrossEntropy
from rramsim.nn.quantizers import BitOf, NLevel, get_quantizer


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_bits_recompose_the_k_bit_activation(rng, k):
    x = np.concatenate([rng.uniform(-0.5, 1.5, 5000),
                        np.arange(2 ** k) / (2 ** k - 1)])  # the levels themselves
    n = 2 ** k - 1
    bits = [BitOf(i, k)(x) for i in range(k)]
    assert all(set(np.unique(b)) <= {0.0, 1.0} for b in bits)
    merged = sum(2 ** i * b for i, b in enumerate(bits)) / n
    np.testing.assert_array_equal(merged, NLevel(n)(x))
    # the straight-through gradient is the k-bit quantizer's (clipped identity)
    g = rng.normal(size=x.shape)
    for i in range(k):
        np.testing.assert_array_equal(BitOf(i, k).backward(x, g), NLevel(n).backward(x, g))


def test_bit_quantizer_validates_and_round_trips():
    q = get_quantizer({"name": "bit", "bit": 2, "bits": 3})
    assert isinstance(q, BitOf) and get_quantizer(q.config()) == q
    with pytest.raises(ValueError, match="bit must be"):
        BitOf(3, 3)
    with pytest.raises(ValueError, match="bits must be"):
        BitOf(0, 0)


def test_bitsplit_merge_and_gradients(rng):
    paths = [Sequential(Linear(6, 4, seed=i), Linear(4, 3, seed=10 + i)) for i in range(3)]
    net = Sequential(BitSplit(*paths))
    x = rng.normal(size=(5, 6))
    y = net.forward(x)
    want = sum(2 ** i * p.forward(x) for i, p in enumerate(paths)) / 7
    np.testing.assert_allclose(y, want, rtol=1e-13)
    loss = SoftmaxCrossEntropy()
    labels = rng.integers(0, 3, 5)

    def f():
        return loss.forward(net.forward(x), labels)

    for p in net.parameters():
        p.grad[...] = 0
    f()
    net.backward(loss.grad())
    for p in net.parameters():
        np.testing.assert_allclose(p.grad, numeric_grad(f, p.value), rtol=1e-6, atol=1e-8)


def test_bitsplit_passes_gradients_when_it_is_not_the_first_layer(rng):
    paths = [Sequential(Linear(4, 3, seed=i)) for i in range(2)]
    net = Sequential(Linear(5, 4, seed=9), BitSplit(*paths))
    x = rng.normal(size=(6, 5))
    first = net.layers[0].weight

    def f():
        return float(np.sum(net.forward(x) ** 2))

    first.grad[...] = 0
    y = net.forward(x)
    net.backward(2 * y)
    np.testing.assert_allclose(first.grad, numeric_grad(f, first.value), rtol=1e-6, atol=1e-8)
    assert np.abs(first.grad).max() > 0


def test_bitsplit_network_matches_its_definition(rng):
    path = build_binary_mlp((784, 16, 12, 10), act="ste_sign", seed=0).spec
    net = build_bitsplit({k: v for k, v in path.items() if k != "act"}, bits=3, seed=5)
    x = rng.random((20, 1, 28, 28))
    net.forward(x)
    net.eval()
    bs = net.layers[0]
    # each path is the conventional network with bit i as its activation
    for i, p in enumerate(bs.paths):
        acts = [la.q for la in p.layers if hasattr(la, "q")]
        assert acts and all(a == BitOf(i, 3) for a in acts)
    conv = build_from_spec(dict(path, act=kbit_act(3)), seed=0)
    assert sum(p.value.size for p in net.parameters()) == 3 * sum(
        p.value.size for p in conv.parameters())
    # parameter names are unique in the state (paths are prefixed)
    state = net.state_dict()
    assert len(state) == sum(len(p.state_dict()) for p in bs.paths)
    assert all(k.startswith("path") for k in state)


def test_bitsplit_save_load_round_trip(tmp_path, rng):
    path = {k: v for k, v in build_binary_lenet((4, 6), 12, seed=0).spec.items() if k != "act"}
    net = build_bitsplit(path, bits=2, seed=1)
    x = rng.random((6, 1, 28, 28))
    net.forward(x)
    net.eval()
    back = load_model(save_model(tmp_path / "bs", net))
    back.eval()
    assert back.spec == net.spec
    np.testing.assert_array_equal(back.forward(x), net.forward(x))


def test_bitsplit_builder_validates():
    path = build_binary_mlp((784, 8, 8, 10), seed=0).spec
    with pytest.raises(ValueError, match="bits must be"):
        build_bitsplit(path, bits=0)
    with pytest.raises(ValueError, match="family 'xnor'"):
        build_bitsplit(dict(path, family="bireal"), bits=2)
    with pytest.raises(ValueError, match="path must be"):
        build_bitsplit({"kind": "lenet5"}, bits=2)
    with pytest.raises(ValueError, match="at least one path"):
        BitSplit()


def test_width_scale_matches_the_cost_it_claims(tmp_path, rng):
    """Narrow BitSplit paths (1/sqrt(k) widths) hold about the conventional network's binary
    weights; a sqrt(k)-wide binary network about BitSplit's; the factor survives save/load."""
    from rramsim.config import ArrayConfig
    from rramsim.inference import map_network
    from rramsim.networks import kbit_act, scale_widths

    x = rng.random((3, 1, 28, 28))

    def binary_weights(net):  # devices of the binary-weight hidden layers / 2 (differential)
        mapped = map_network(net, ArrayConfig(adc_bits=0))
        mapped.forward(x)
        return mapped.cost()["devices"] // 2

    path = {k: v for k, v in build_binary_lenet((16, 32), 256, seed=0).spec.items()
            if k != "act"}
    conventional = build_binary_lenet((16, 32), 256, act=kbit_act(2), seed=0)
    full = build_bitsplit(path, bits=2, seed=1)
    narrow = build_bitsplit(path, bits=2, width_scale=2 ** -0.5, seed=1)
    wide = build_binary_lenet(**{k: v for k, v in scale_widths(path, 2 ** 0.5).items()
                                 if k != "kind"}, seed=0)
    assert scale_widths(path, 2 ** -0.5)["channels"] == [11, 23]
    assert binary_weights(full) == 2 * binary_weights(conventional)
    assert binary_weights(narrow) == pytest.approx(binary_weights(conventional), rel=0.03)
    assert binary_weights(wide) == pytest.approx(binary_weights(full), rel=0.03)
    narrow.eval()
    back = load_model(save_model(tmp_path / "narrow", narrow))
    back.eval()
    assert back.spec == narrow.spec and back.spec["width_scale"] == 2 ** -0.5
    np.testing.assert_array_equal(back.forward(x), narrow.forward(x))
    with pytest.raises(ValueError, match="width factor must be a positive number"):
        scale_widths(path, 0.0)
    with pytest.raises(ValueError, match="cannot scale the widths"):
        scale_widths({"kind": "lenet5"}, 2.0)
