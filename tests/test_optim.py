"""Optimisers and learning-rate schedules against hand-computed updates."""

import numpy as np
import pytest

from rramsim.config import load_preset
from rramsim.networks import build_mlp
from rramsim.nn import SGD, Adam, CosineLR, Linear, Sequential, StepLR


def _net():
    net = Sequential(Linear(3, 2, seed=0, name="a"))
    return net, net.layers[0].weight


def _run(opt, p, grads):
    values = []
    for g in grads:
        opt.zero_grad()
        p.grad[...] = g
        opt.step()
        values.append(p.value.copy())
    return values


@pytest.fixture
def grads(rng):
    return [rng.normal(size=(2, 3)) for _ in range(4)]


def test_sgd_default_is_plain(grads):
    net, p = _net()
    w = p.value.copy()
    for v, g in zip(_run(SGD(net, 0.1), p, grads), grads):
        w = w - 0.1 * g
        np.testing.assert_array_equal(v, w)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_nesterov_weight_decay(grads, nesterov):
    net, p = _net()
    mu, lam, lr = 0.9, 0.01, 0.05
    w = p.value.copy()
    vel = None
    out = _run(SGD(net, lr, momentum=mu, nesterov=nesterov, weight_decay=lam), p, grads)
    for v, g in zip(out, grads):
        d = g + lam * w
        vel = d.copy() if vel is None else mu * vel + d
        w = w - lr * (d + mu * vel if nesterov else vel)
        np.testing.assert_allclose(v, w, rtol=1e-13)


def test_adam_matches_formula(grads):
    net, p = _net()
    lr, b1, b2, eps, lam = 0.01, 0.9, 0.999, 1e-8, 0.1
    w = p.value.copy()
    m = np.zeros_like(w)
    v2 = np.zeros_like(w)
    out = _run(Adam(net, lr, (b1, b2), eps, weight_decay=lam), p, grads)
    for t, (v, g) in enumerate(zip(out, grads), start=1):
        d = g + lam * w
        m = b1 * m + (1 - b1) * d
        v2 = b2 * v2 + (1 - b2) * d * d
        w = w - lr * (m / (1 - b1 ** t)) / (np.sqrt(v2 / (1 - b2 ** t)) + eps)
        np.testing.assert_allclose(v, w, rtol=1e-12)


@pytest.mark.parametrize("make", [lambda n: SGD(n, 1.0, momentum=0.5), lambda n: Adam(n, 10.0)])
def test_latent_weights_are_clipped(make):
    net, p = _net()
    p.clip_value = 0.3
    opt = make(net)
    opt.zero_grad()
    p.grad[...] = -100.0
    opt.step()
    np.testing.assert_array_equal(p.value, 0.3)


def test_analog_layers_keep_the_pulsed_sgd_update():
    net = build_mlp((4, 3), load_preset("ideal"), seed=0)
    with pytest.raises(ValueError, match="Adam cannot drive analog layers"):
        Adam(net)
    opt = SGD(net, 0.1, momentum=0.9)  # momentum acts on digital parameters only
    x = np.ones((2, 4))
    net.forward(x)
    opt.zero_grad()
    net.backward(np.ones((2, 3)))
    before = net.analog_layers()[0].get_weights()[0].copy()
    opt.step()
    assert not np.array_equal(net.analog_layers()[0].get_weights()[0], before)


def test_bad_hyperparameters():
    net, _ = _net()
    with pytest.raises(ValueError, match="learning rate"):
        SGD(net, 0)
    with pytest.raises(ValueError, match="momentum"):
        SGD(net, 0.1, momentum=1.0)
    with pytest.raises(ValueError, match="Nesterov"):
        SGD(net, 0.1, nesterov=True)
    with pytest.raises(ValueError, match="invalid Adam"):
        Adam(net, betas=(0.9, 1.0))


def test_schedules():
    s = StepLR(0.1, step_size=3, gamma=0.5)
    assert [s(e) for e in range(1, 8)] == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025])
    c = CosineLR(1.0, epochs=4, lr_min=0.0)
    assert [c(e) for e in range(1, 6)] == pytest.approx(
        [1.0, 0.5 * (1 + np.cos(np.pi / 4)), 0.5, 0.5 * (1 + np.cos(3 * np.pi / 4)), 0.0])
    with pytest.raises(ValueError):
        StepLR(0.1, step_size=0)
    with pytest.raises(ValueError):
        CosineLR(0.1, epochs=0)
