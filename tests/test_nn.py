"""Network pieces: gradients against finite differences, analog layers against floating point."""

from pathlib import Path

import numpy as np
import pytest
from naive import numeric_grad

from rramsim.config import load_preset
from rramsim.networks import build_mlp, load_model, save_model
from rramsim.nn import (
    SGD,
    AnalogLinear,
    Linear,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
)


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


# ------------------------------------------------------------------------------------------
# Nested networks, fit's learning rate, evaluation mode, models saved by earlier code
# ------------------------------------------------------------------------------------------

def _three_linear(nest):
    a, b, c = (Linear(4, 5, seed=1, name="a"), Linear(5, 3, seed=2, name="b"),
               Linear(3, 2, seed=3, name="c"))
    if nest == "flat":
        return Sequential(a, Sigmoid(), b, Sigmoid(), c)
    if nest == "tail":
        return Sequential(a, Sigmoid(), Sequential(b, Sigmoid(), c))
    return Sequential(Sequential(a, Sigmoid()), Sequential(Sequential(b, Sigmoid()), c))


def test_nested_sequential_passes_gradients_to_the_layers_before_it():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(6, 4)), np.array([0, 1, 1, 0, 1, 0])
    loss = SoftmaxCrossEntropy()
    grads = {}
    for nest in ("flat", "tail", "deep"):
        net = _three_linear(nest)
        loss(net.forward(x), y)
        assert net.backward(loss.grad()) is None  # the network's own input needs no gradient
        grads[nest] = {p.name: p.grad.copy() for p in net.parameters()}
    for nest in ("tail", "deep"):
        for name, g in grads["flat"].items():
            assert np.abs(g).max() > 0
            np.testing.assert_array_equal(grads[nest][name], g, err_msg=f"{nest}: {name}")
    # the saved work: only the first layer of the outermost network skips dL/dx
    deep = _three_linear("deep")
    assert [deep.layers[0].layers[0].input_grad, deep.layers[1].layers[0].layers[0].input_grad,
            deep.layers[1].layers[1].input_grad] == [False, True, True]


def test_fit_takes_the_learning_rate_once():
    from rramsim.errors import InputError
    from rramsim.training import fit

    rng = np.random.default_rng(4)
    x, y = rng.random((30, 6)), rng.integers(0, 3, 30)
    runs = {}
    for how in ("lr", "optimizer", "both", "default"):
        net = Sequential(Linear(6, 3, seed=5, name="a"))
        kwargs = {"lr": dict(lr=0.05), "optimizer": dict(optimizer=SGD(net, 0.05)),
                  "both": dict(lr=0.05, optimizer=SGD(net, 0.05)), "default": {}}[how]
        fit(net, x, y, x, y, epochs=1, batch_size=4, seed=1, **kwargs)
        runs[how] = net.layers[0].weight.value.copy()
    np.testing.assert_array_equal(runs["optimizer"], runs["lr"])
    np.testing.assert_array_equal(runs["both"], runs["lr"])
    default = Sequential(Linear(6, 3, seed=5, name="a"))
    fit(default, x, y, x, y, epochs=1, batch_size=4, seed=1, lr=0.01)
    np.testing.assert_array_equal(runs["default"], default.layers[0].weight.value)  # 0.01
    net = Sequential(Linear(6, 3, seed=5, name="a"))
    with pytest.raises(InputError, match=r"lr=0\.1 differs from the optimizer's lr=0\.05"):
        fit(net, x, y, x, y, epochs=1, lr=0.1, optimizer=SGD(net, 0.05))
    with pytest.raises(InputError, match="lr must be a positive finite number"):
        fit(net, x, y, x, y, epochs=1, lr=-1.0, optimizer=SGD(net, 0.05))


def test_evaluate_and_predict_leave_the_mode_as_it_was():
    from rramsim.training import evaluate, predict

    rng = np.random.default_rng(5)
    net = Sequential(Linear(4, 3, seed=1), ReLU(), Linear(3, 2, seed=2))
    x, y = rng.random((7, 4)), rng.integers(0, 2, 7)
    for mode in (False, True, False):
        net.train(mode)
        evaluate(net, x, y, batch_size=3)
        assert net.training is mode and all(la.training is mode for la in net.layers)
        predict(net, x, batch_size=3)
        assert net.training is mode and all(la.training is mode for la in net.layers)
    net.train()
    with pytest.raises(ValueError):
        evaluate(net, np.ones((2, 5)), y[:2])  # a bad batch: the mode is restored all the same
    assert net.training is True


#: Saved by the code of commit 01cc695, before the tile saved its own state; its header's
#: ``meta`` holds the outputs on ``probe`` and the weights after one more SGD step, both
#: computed by that code on the network as saved.
SAVED_BEFORE = Path(__file__).resolve().parent / "data" / "analog_mlp_01cc695.npz"


def test_a_model_saved_by_earlier_code_loads_and_predicts_identically():
    import json

    with np.load(SAVED_BEFORE) as data:
        meta = json.loads(str(data["__header__"]))["meta"]
        keys = {k for k in data.files if k != "__header__"}
        saved = {k: data[k] for k in keys}
    net = load_model(SAVED_BEFORE)
    state = net.state_dict()
    assert set(state) == keys  # the same file layout, key for key
    for k in keys:
        np.testing.assert_array_equal(state[k], saved[k], err_msg=k)
    np.testing.assert_array_equal(net.forward(np.array(meta["probe"])), meta["expected_out"])
    # the random streams of the update continue where they stopped
    net = load_model(SAVED_BEFORE)
    rng = np.random.default_rng(7)
    x, y = rng.random((40, 12)), rng.integers(0, 3, 40)
    loss, opt = SoftmaxCrossEntropy(), SGD(net, 0.05)
    loss(net.forward(x[:3]), y[:3])
    opt.zero_grad()
    net.backward(loss.grad())
    opt.step()
    for layer, W in zip(net.analog_layers(), meta["expected_weights_after_step"]):
        np.testing.assert_array_equal(layer.get_weights()[0], W)


def test_fit_with_float_labels_is_a_clear_error():
    from rramsim.errors import InputError
    from rramsim.nn import Linear, Sequential, SoftmaxCrossEntropy
    from rramsim.training import fit

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 3)), rng.integers(0, 2, 8)
    net = Sequential(Linear(3, 2, seed=0))
    with pytest.raises(InputError, match="needs integer class labels"):
        fit(net, x, y.astype(float), x, y, epochs=1)
    with pytest.raises(InputError, match="labels must be integer class indices"):
        SoftmaxCrossEntropy()(np.zeros((2, 2)), np.array([0.0, 1.0]))
