"""Binary layers and networks: gradients, straight-through estimates against their formulas,
BinaryDuo's exact decoupling, save/load, a short real training run, bad input."""

import numpy as np
import pytest
from test_conv import check_module_grads

from rramsim.analysis import gradient_mismatch
from rramsim.experiments.binary import train_network
from rramsim.networks import (
    build_binary_lenet,
    build_binary_mlp,
    build_binary_vgg,
    build_from_spec,
    build_lenet5,
    decouple,
    load_model,
    save_model,
)
from rramsim.nn import (
    BatchNorm2d,
    BinaryConv2d,
    BinaryLinear,
    Conv2d,
    Dropout,
    Hardtanh,
    LearnableThreshold,
    Quantize,
    Residual,
    SoftmaxCrossEntropy,
    bireal_block,
)
from rramsim.nn.quantizers import get_quantizer


def test_binary_layers_with_identity_quantizer_have_exact_gradients(rng):
    lin = BinaryLinear(5, 3, weight_quantizer="identity", input_quantizer="identity", bias=True,
                       seed=0)
    check_module_grads(lin, rng.normal(size=(4, 5)))
    conv = BinaryConv2d(2, 3, 3, padding=1, weight_quantizer="identity", bias=True, seed=0)
    check_module_grads(conv, rng.normal(size=(2, 2, 4, 4)))


@pytest.mark.parametrize("wq", ["scaled_sign", "ste_sign", {"name": "scaled_sign",
                                                             "per_channel": False}])
def test_binary_linear_ste_gradient_formula(rng, wq):
    lin = BinaryLinear(6, 4, weight_quantizer=wq, input_quantizer="ste_sign", seed=1)
    x = rng.normal(size=(3, 6))
    g = rng.normal(size=(3, 4))
    q = get_quantizer(wq)
    W = lin.weight.value.copy()
    xb = np.where(x >= 0, 1.0, -1.0)
    np.testing.assert_allclose(lin.forward(x), xb @ q(W).T)
    gx = lin.backward(g)
    np.testing.assert_allclose(lin.weight.grad, q.backward(W, g.T @ xb))
    np.testing.assert_allclose(gx, (g @ q(W)) * (np.abs(x) <= 1))


def test_binary_conv_ste_gradient_formula(rng):
    conv = BinaryConv2d(2, 3, 3, seed=1)
    x = rng.normal(size=(2, 2, 5, 5))
    ref = Conv2d(2, 3, 3, bias=False, seed=1)
    q = get_quantizer("scaled_sign")
    ref.weight.value[...] = q(conv.weight.value)
    np.testing.assert_allclose(conv.forward(x), ref.forward(x))
    g = rng.normal(size=(2, 3, 3, 3))
    conv.input_grad = ref.input_grad = True
    np.testing.assert_allclose(conv.backward(g), ref.backward(g))
    np.testing.assert_allclose(conv.weight.grad, q.backward(conv.weight.value, ref.weight.grad))


def test_learnable_threshold(rng):
    lt = LearnableThreshold(3, theta=0.2, name="t")
    lt.theta.value[...] = [0.2, -0.5, 0.0]
    x = rng.normal(size=(4, 3, 2, 2))
    t = lt.theta.value[None, :, None, None]
    np.testing.assert_array_equal(lt.forward(x), np.where(x >= t, 1.0, -1.0))
    g = rng.normal(size=x.shape)
    win = np.abs(x - t) <= 1
    np.testing.assert_allclose(lt.backward(g), g * win)
    np.testing.assert_allclose(lt.theta.grad, -(g * win).sum(axis=(0, 2, 3)))
    assert [p.name for p in lt.parameters()] == ["t.theta"]


def test_hardtanh_and_residual_gradients(rng):
    x = rng.uniform(-2, 2, size=(3, 4))
    x[np.abs(np.abs(x) - 1) < 1e-3] = 0.5  # keep away from the kinks
    check_module_grads(Hardtanh(), x)
    res = Residual(Conv2d(2, 4, 3, padding=1, seed=0, name="c"), BatchNorm2d(4, name="bn"),
                   repeat=2)
    check_module_grads(res, rng.normal(size=(3, 2, 4, 4)), rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="shortcut gives"):
        Residual(Conv2d(2, 3, 3, padding=1)).forward(rng.normal(size=(1, 2, 4, 4)))
    block = bireal_block(3, seed=0, name="b")
    x = rng.normal(size=(2, 3, 5, 5))
    y = block.forward(x)
    assert y.shape == x.shape
    g = block.backward(np.ones_like(y))  # shortcut: at least the identity part comes through
    assert g.shape == x.shape and [p.name for p in block.parameters()] == [
        "b.conv.weight", "b.bn.weight", "b.bn.bias"]


def test_dropout_is_seeded_scaled_and_off_in_eval(rng):
    x = rng.normal(size=(200, 50))
    a, b = Dropout(0.3, seed=5), Dropout(0.3, seed=5)
    ya = a.forward(x)
    np.testing.assert_array_equal(ya, b.forward(x))
    kept = ya != 0
    assert 0.65 < kept.mean() < 0.75
    np.testing.assert_allclose(ya[kept], x[kept] / 0.7)
    np.testing.assert_array_equal(a.backward(np.ones_like(x)), kept / 0.7)
    a.eval()
    np.testing.assert_array_equal(a.forward(x), x)
    with pytest.raises(ValueError, match="dropout probability"):
        Dropout(1.0)


def _warm_up(model, x, steps=3, seed=0):
    """A few training-mode passes with random BN affine values: non-trivial statistics."""
    rng = np.random.default_rng(seed)
    for p in model.parameters():
        if p.name.endswith(".bias") and p.name.startswith("bn"):
            p.value[...] = rng.normal(0.4, 0.3, p.value.shape)
    for _ in range(steps):
        model.forward(x)
    model.eval()


@pytest.mark.parametrize("builder,kw", [
    (build_binary_mlp, dict(sizes=(784, 24, 16, 10))),
    (build_binary_lenet, dict(channels=(4, 6), hidden=12)),
    (build_binary_vgg, dict(channels=(3, 5), hidden=8, dropout=0.2)),
    (build_binary_mlp, dict(sizes=(784, 24, 16, 10), weight_quantizer="identity")),
])
def test_binaryduo_decoupling_is_exact(rng, builder, kw):
    ternary = {"name": "nlevel", "n": 2}
    coupled = builder(act=ternary, seed=3, **kw)
    x = rng.random((16, 1, 28, 28))
    _warm_up(coupled, x)
    dec = decouple(coupled)
    dec.eval()
    assert dec.spec["act"]["n"] == 1
    out_c, out_d = coupled.forward(x), dec.forward(x)
    np.testing.assert_allclose(out_d, out_c, rtol=1e-12, atol=1e-12)
    # every hidden activation of the decoupled network is binary {0, 1}
    acts = [la for la in dec.layers if isinstance(la, Quantize)]
    assert acts and all(la.q.n == 1 for la in acts)
    # the same numbers of parameters as a plain binary network of the doubled width
    plain = build_from_spec(dec.spec, seed=0)
    assert [p.value.shape for p in plain.parameters()] == [p.value.shape for p in
                                                           dec.parameters()]


def test_decouple_rejects_what_it_cannot_decouple():
    with pytest.raises(ValueError, match="ternary activations"):
        decouple(build_binary_mlp((784, 8, 8, 10), seed=0))
    with pytest.raises(ValueError, match="scaled"):
        decouple(build_binary_mlp((784, 8, 8, 10), act={"name": "nlevel", "n": 2},
                                  weight_quantizer="ste_sign", seed=0))
    with pytest.raises(ValueError, match="xnor-family"):
        decouple(build_binary_mlp((784, 8, 8, 10), family="bireal",
                                  act={"name": "nlevel", "n": 2}, seed=0))


@pytest.mark.parametrize("model", [
    lambda: build_binary_mlp((784, 16, 16, 10), family="bireal",
                             act={"name": "learnable_threshold", "theta": 0.1}, seed=1),
    lambda: build_binary_lenet((4, 8), 8, family="bireal", act={"name": "threshold",
                                                                "theta": -0.2}, seed=1),
    lambda: build_binary_vgg((2, 4), 8, seed=1),
    lambda: build_lenet5(seed=1),
])
def test_save_load_round_trip(tmp_path, rng, model):
    net = model()
    x = rng.random((8, 1, 28, 28))
    net.forward(x)  # moves batch-norm statistics away from their initial values
    net.eval()
    path = save_model(tmp_path / "net", net, meta={"note": "test"})
    back = load_model(path)
    assert back.spec == net.spec
    back.eval()
    np.testing.assert_array_equal(back.forward(x), net.forward(x))


def test_builders_validate_arguments():
    with pytest.raises(ValueError, match="unknown family"):
        build_binary_mlp(family="dorefa")
    with pytest.raises(ValueError, match="unknown quantizer"):
        build_binary_mlp(act="sgn")
    with pytest.raises(ValueError, match="multiple of c1"):
        build_binary_lenet((4, 6), family="bireal")
    with pytest.raises(ValueError, match="unknown network kind"):
        build_from_spec({"kind": "resnet"})


def test_bad_batches_give_clear_errors(rng):
    net = build_binary_lenet((4, 8), 8, seed=0)
    with pytest.raises(ValueError, match=r"input must have shape \(batch, 1, height, width\)"):
        net.forward(rng.random((2, 784)))
    x = rng.random((2, 1, 28, 28))
    x[1, 0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        net.forward(x)
    mlp = build_binary_mlp((784, 8, 8, 10), seed=0)
    y = rng.random((2, 784))
    y[0, 5] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        mlp.forward(y)


def test_gradient_mismatch_is_one_for_a_smooth_network(rng):
    net = build_binary_mlp((784, 16, 12, 10), act={"name": "clip"}, weight_quantizer="identity",
                           seed=0)
    x = rng.random((64, 784))
    y = rng.integers(0, 10, 64)
    net.forward(x)
    res = gradient_mismatch(net, 1, x, y, SoftmaxCrossEntropy(), n_coords=12, n_noise=2,
                            sigma=0.0, step=1e-5, seed=0)
    assert res["cosine"] > 0.999
    binary = build_binary_mlp((784, 16, 12, 10), act={"name": "nlevel", "n": 1},
                              weight_quantizer="identity", seed=0)
    binary.forward(x)
    res_b = gradient_mismatch(binary, 1, x, y, SoftmaxCrossEntropy(), n_coords=12, n_noise=4,
                              sigma=0.05, seed=0)
    g1, g2 = res_b["ste_grad"], res_b["smoothed_grad"]
    assert g2.shape == (12,) and g1.shape == (12,)
    # the reported cosine is the cosine of the two returned gradients, and the binary network's
    # STE gradient is far from the smoothed one (a smooth network gives > 0.999 above)
    assert res_b["cosine"] == pytest.approx(g1 @ g2 / (np.linalg.norm(g1) * np.linalg.norm(g2)))
    assert res_b["cosine"] < 0.9


def test_short_training_run_beats_stated_accuracy_and_is_reproducible():
    spec = build_binary_mlp((784, 64, 64, 10), seed=0).spec
    runs = [train_network(spec, "mnist", epochs=2, batch_size=100, lr=1e-2,
                          train_subset=2000, seed=7)[1] for _ in range(2)]
    assert runs[0][-1]["test_accuracy"] > 0.80  # binary MLP, 2,000 images x 2 epochs: 86.4 %
    assert [r["test_accuracy"] for r in runs[0]] == [r["test_accuracy"] for r in runs[1]]
    assert runs[0][-1]["train_loss"] == runs[1][-1]["train_loss"]


def test_study_tasks_binaryduo_and_activation_statistics():
    from rramsim.experiments.binary import run_task

    spec = build_binary_mlp((784, 16, 16, 10), act={"name": "nlevel", "n": 2}, seed=0).spec
    res = run_task(dict(name="duo", kind="binaryduo", spec=spec, dataset="mnist", epochs=1,
                        lr=3e-3, finetune_epochs=1, finetune_lr=3e-4, train_subset=300, seed=0,
                        batch_size=50, verbose=False))
    assert res["decoupled_test_accuracy"] == res["coupled_test_accuracy"]
    assert res["decoupled_spec"]["sizes"] == [784, 32, 32, 10]
    assert [r["epoch"] for r in res["history"]] == [0, 1, 2]
    stats = res["activation_stats"]
    assert len(stats["fraction_positive"]) == 2
    # neither hidden layer is dead or saturated, and the mean is the mean of the layers
    assert all(0.05 < f < 0.95 for f in stats["fraction_positive"])
    assert stats["mean_fraction_positive"] == pytest.approx(np.mean(stats["fraction_positive"]))
    spec_t = build_binary_mlp((784, 16, 16, 10), act={"name": "threshold", "theta": 0.5},
                              seed=0).spec
    res_t = run_task(dict(name="t", kind="train", spec=spec_t, dataset="mnist", epochs=1,
                          lr=3e-3, train_subset=300, seed=0, batch_size=50, verbose=False))
    # a positive threshold after a zero-mean batch norm makes +1 the minority
    assert res_t["activation_stats"]["mean_fraction_positive"] < 0.5
    with pytest.raises(ValueError, match="unknown task kind"):
        run_task(dict(name="x", kind="nope", spec=spec_t, epochs=1, lr=1e-3, seed=0))


def test_train_binary_command_writes_history_and_a_loadable_model(tmp_path):
    import json

    from rramsim.cli import main

    out = tmp_path / "run"
    rc = main(["train-binary", "--net", "mlp", "--spec", '{"sizes": [784, 32, 32, 10]}',
               "--epochs", "1", "--batch-size", "50", "--train-subset", "200", "--quiet",
               "--out", str(out)])
    assert rc == 0
    hist = json.loads((out / "history.json").read_text())
    assert hist["finished"] and len(hist["history"]) == 2
    model = load_model(out / "model.npz")
    assert model.spec["sizes"] == [784, 32, 32, 10]
    assert main(["train-binary", "--net", "mlp", "--spec", "{not json", "--out",
                 str(tmp_path / "x")]) == 2


def test_containers_pass_gradients_through_nested_networks(rng):
    from rramsim.nn import BitSplit, Linear, Sequential, Tanh

    x = rng.normal(size=(3, 4))
    # a Residual whose branch starts with a nested network
    check_module_grads(Residual(Sequential(Linear(4, 4, seed=1, name="a"), Tanh()),
                                Linear(4, 4, seed=2, name="b")), x)
    # BitSplit after other layers: those layers get their gradients
    paths = [Sequential(Linear(4, 2, seed=4 + i, name=f"p{i}"), Tanh()) for i in range(2)]
    check_module_grads(Sequential(Linear(4, 4, seed=3, name="pre"), Tanh(), BitSplit(*paths)), x)
    # as a network's first layer, neither computes an input gradient, and both still learn
    for first in (Residual(Linear(4, 4, seed=6, name="r")),
                  BitSplit(*[Sequential(Linear(4, 4, seed=8 + i, name=f"q{i}"))
                             for i in range(2)])):
        net = Sequential(first, Linear(4, 2, seed=7, name="out"))
        assert first.input_grad is False
        net.forward(x)
        assert net.backward(np.ones((3, 2))) is None
        assert all(np.abs(p.grad).max() > 0 for p in net.parameters())
