"""Network pieces: gradients against finite differences, analog layers against floating point."""

import numpy as np
import pytest

from rramsim.config import load_preset
from rramsim.networks import build_mlp, load_model, save_model
from rramsim.nn import (SGD, AnalogLinear, Linear, MSELoss, ReLU, Sequential, Sigmoid,
                        SoftmaxCrossEntropy, Tanh)
from naive import numeric_grad




@pytest.mark.parametrize("act", [Sigmoid, Tanh, ReLU])
def test_network_gradients_match_finite_differences(act):
    rng = np.random.default_rng(0)
    net = Sequential(Linear(5, 7, seed=1, name="a"), act(), Linear(7, 3, seed=2, name="b"))
    net.layers[0].input_grad = True  # also check dL/dx
    x = rng.normal(size=(4, 5)) + 0.1  # keep ReLU inputs away from the kink
    y = np.array([0, 2, 1, 2])
    loss = SoftmaxCrossEntropy()

    def f():
        return loss(net.forward(x), y)

    f()
    for p in net.parameters():
        p.grad[...] = 0
    gx = net.backward(loss.grad())
    for p in net.parameters():
        np.testing.assert_allclose(p.grad, numeric_grad(f, p.value), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(gx, numeric_grad(f, x), rtol=1e-5, atol=1e-8)


def test_mse_gradient():
    rng = np.random.default_rng(1)
    z, t = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    loss = MSELoss()
    loss(z, t)
    np.testing.assert_allclose(loss.grad(), numeric_grad(lambda: loss(z, t), z), rtol=1e-6)


def test_cross_entropy_rejects_bad_labels_and_nan():
    loss = SoftmaxCrossEntropy()
    with pytest.raises(ValueError, match="labels"):
        loss(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(FloatingPointError, match="NaN"):
        loss(np.array([[np.nan, 0.0, 0.0]]), np.array([0]))


def test_ideal_analog_layer_equals_linear():
    """With the ideal preset, forward, backward and the (expected-mode) update are exact."""
    cfg = load_preset("ideal")
    rng = np.random.default_rng(2)
    ref = Linear(6, 4, seed=3)
    ana = AnalogLinear(6, 4, cfg, seed=4)
    ana.set_weights(ref.weight.value, ref.bias.value)
    x, d = rng.random((3, 6)), rng.normal(scale=0.1, size=(3, 4))
    np.testing.assert_allclose(ana.forward(x), ref.forward(x), atol=1e-14)
    np.testing.assert_allclose(ana.backward(d), ref.backward(d), atol=1e-14)
    SGD(ana, 0.05).step()
    ref.weight.value -= 0.05 * ref.weight.grad
    ref.bias.value -= 0.05 * ref.bias.grad
    W, b = ana.get_weights()
    np.testing.assert_allclose(W, ref.weight.value, atol=1e-12)
    np.testing.assert_allclose(b, ref.bias.value, atol=1e-12)


def _mnist_small(n=300):
    from rramsim.data import train_test

    return train_test(train_subset=n, test_subset=200, seed=0)


def test_ideal_analog_mlp_reproduces_floating_point_training():
    """Ideal devices + ideal peripherals + expected updates = floating-point SGD, to float
    precision, on real MNIST (batch 1 and a mini-batch)."""
    from rramsim.training import fit

    x, y, xt, yt = _mnist_small(200)
    # weight_scale 4: network weights on a quarter of the device range, same SGD
    for batch, overrides in ((1, []), (8, []), (4, ["mapping.weight_scale=4"])):
        fp = build_mlp(config=None, seed=5)
        an = build_mlp(config=load_preset("ideal", overrides), seed=5)
        h_fp = fit(fp, x, y, xt, yt, epochs=1, batch_size=batch, lr=0.05, seed=6)
        h_an = fit(an, x, y, xt, yt, epochs=1, batch_size=batch, lr=0.05, seed=6)
        for lf, la in zip(fp.layers[::2], an.layers[::2]):
            W, b = la.get_weights()
            np.testing.assert_allclose(W, lf.weight.value, atol=1e-10)
            np.testing.assert_allclose(b, lf.bias.value, atol=1e-10)
        assert h_fp[-1]["test_accuracy"] == h_an[-1]["test_accuracy"]
        assert h_fp[-1]["train_loss"] == pytest.approx(h_an[-1]["train_loss"], rel=1e-9)


def test_pulsed_mlp_follows_floating_point_statistically():
    """Pulsed updates on a linear device are unbiased at the network level: averaged over
    independent pulse streams, the weight change after 40 real MNIST samples matches
    floating-point SGD's (a single pulsed run is a noisy version of it)."""
    from rramsim.rng import stream_states
    from rramsim.training import fit

    x, y, xt, yt = _mnist_small(40)
    # lr max|x d| / dw_min <= 50 < bl = 64: no probability is clipped, so E[dW] = -lr d x^T.
    cfg = load_preset("ideal", ["update.mode=pulsed", "device.dw_min=0.0004"])
    fp = build_mlp(config=None, seed=7)
    w0 = fp.layers[-1].weight.value.copy()
    fit(fp, x, y, xt[:10], yt[:10], epochs=1, lr=0.02, seed=8)
    d_fp = fp.layers[-1].weight.value - w0
    runs = []
    for k in range(12):
        an = build_mlp(config=cfg, seed=7)
        for j, layer in enumerate(an.analog_layers()):
            layer.tile._x_state[:] = stream_states([k, j, 0], 1)
            layer.tile._row_states[:] = stream_states([k, j, 1], layer.tile.shape[0])
        fit(an, x, y, xt[:10], yt[:10], epochs=1, lr=0.02, seed=8)
        runs.append(an.layers[-1].get_weights()[0] - w0)
    single = np.corrcoef(d_fp.ravel(), runs[0].ravel())[0, 1]
    mean = np.corrcoef(d_fp.ravel(), np.mean(runs, axis=0).ravel())[0, 1]
    assert mean > 0.95 and mean > single, (single, mean)


def test_save_load_round_trip(tmp_path):
    cfg = load_preset("softbounds_symmetric")
    net = build_mlp((12, 6, 3), cfg, seed=9)
    rng = np.random.default_rng(0)
    x = rng.random((5, 12))
    net.forward(x)
    path = save_model(tmp_path / "m.npz", net)
    loaded = load_model(path)
    # Same device states, same parameters, same random-stream states: identical noisy outputs.
    np.testing.assert_array_equal(loaded.forward(x), net.forward(x))
    # the digital output scale is part of the saved configuration
    scaled = build_mlp((12, 6, 3), load_preset("softbounds_symmetric",
                                               ["mapping.weight_scale=3"]), seed=9)
    again = load_model(save_model(tmp_path / "s.npz", scaled))
    assert [a.tile.weight_scale for a in again.analog_layers()] == [3.0, 3.0]
    np.testing.assert_array_equal(again.layers[0].get_weights()[0],
                                  scaled.layers[0].get_weights()[0])
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a saved rramsim model"):
        load_model(tmp_path / "bad.npz")


def test_layer_input_validation():
    layer = AnalogLinear(4, 2, load_preset("softbounds_symmetric"), seed=0)
    with pytest.raises(ValueError, match=r"shape \(batch, 4\)"):
        layer.forward(np.zeros((1, 5)))
    with pytest.raises(ValueError, match="NaN"):
        layer.forward(np.full((1, 4), np.nan))
    with pytest.raises(ValueError, match="bias"):
        AnalogLinear(4, 2, bias="sideways")
