"""Quantizers: forward values and straight-through gradients against their formulas, the
registry and its errors."""

import numpy as np
import pytest

from rramsim.nn.quantizers import QUANTIZERS, Quantizer, get_quantizer


@pytest.fixture
def x(rng):
    v = rng.uniform(-2, 2, size=(5, 7))
    v[0, :4] = [0.0, 1.0, -1.0, 0.5]  # exact thresholds and clip edges
    return v


def test_ste_sign(x, rng):
    q = get_quantizer("ste_sign")
    np.testing.assert_array_equal(q(x), np.where(x >= 0, 1.0, -1.0))
    assert q(np.array([0.0]))[0] == 1.0
    g = rng.normal(size=x.shape)
    np.testing.assert_array_equal(q.backward(x, g), g * (np.abs(x) <= 1))
    tri = get_quantizer("ste_sign", ste="triangle", clip=2.0)
    np.testing.assert_allclose(tri.backward(x, g), g * (2 / 2.0) * np.maximum(1 - np.abs(x) / 2, 0))
    assert get_quantizer("ste_sign", clip=None).backward(x, g) is g


@pytest.mark.parametrize("per_channel", [True, False])
def test_scaled_sign(rng, per_channel):
    w = rng.normal(size=(4, 3, 2, 2)) * 0.5
    q = get_quantizer("scaled_sign", per_channel=per_channel)
    s = np.where(w >= 0, 1.0, -1.0)
    alpha = (np.abs(w).mean(axis=(1, 2, 3), keepdims=True) if per_channel
             else np.abs(w).mean())
    np.testing.assert_allclose(q(w), alpha * s)
    g = rng.normal(size=w.shape)
    axes = (1, 2, 3) if per_channel else None
    expect = alpha * g + s * np.mean(g * s, axis=axes, keepdims=True)
    np.testing.assert_allclose(q.backward(w, g), expect)


def test_scaled_sign_scale_part_is_the_exact_derivative(rng):
    """Away from zero sign(w) is locally constant, so d(alpha sign(w))/dw is alpha's derivative,
    which is the STE's second term; finite differences confirm it."""
    w = rng.normal(size=(3, 5)) + np.sign(rng.normal(size=(3, 5)))  # |w| well away from 0
    q = get_quantizer("scaled_sign")
    r = rng.normal(size=w.shape)
    s = np.where(w >= 0, 1.0, -1.0)
    second_term = s * np.mean(r * s, axis=1, keepdims=True)
    num = np.zeros_like(w)
    for idx in np.ndindex(w.shape):
        wp, wm = w.copy(), w.copy()
        wp[idx] += 1e-6
        wm[idx] -= 1e-6
        num[idx] = (np.sum(r * q(wp)) - np.sum(r * q(wm))) / 2e-6
    np.testing.assert_allclose(num, second_term, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("theta", [-0.3, 0.0, 0.5])
def test_threshold(x, rng, theta):
    q = get_quantizer("threshold", theta=theta)
    np.testing.assert_array_equal(q(x), np.where(x >= theta, 1.0, -1.0))
    assert q(np.array([theta]))[0] == 1.0
    g = rng.normal(size=x.shape)
    np.testing.assert_array_equal(q.backward(x, g), g * (np.abs(x - theta) <= 1))
    tri = get_quantizer("threshold", theta=theta, ste="triangle")
    np.testing.assert_allclose(tri.backward(x, g), g * 2 * np.maximum(1 - np.abs(x - theta), 0))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_nlevel(x, rng, n):
    q = get_quantizer("nlevel", n=n)
    y = q(x)
    np.testing.assert_allclose(y, np.floor(n * np.clip(x, 0, 1) + 0.5) / n)
    assert set(np.unique(y)) <= set(np.arange(n + 1) / n)
    g = rng.normal(size=x.shape)
    np.testing.assert_array_equal(q.backward(x, g), g * ((x >= 0) & (x <= 1)))
    tri = get_quantizer("nlevel", n=n, ste="triangle")
    steps = (np.arange(1, n + 1) - 0.5) / n  # one triangle of half-width 1/(2n) per step
    d = np.min(np.abs(x[..., None] - steps), axis=-1)
    expect = g * np.where((x >= 0) & (x <= 1), 2 * np.maximum(1 - 2 * n * d, 0), 0)
    np.testing.assert_allclose(tri.backward(x, g), expect, atol=1e-12)
    if n == 1:
        np.testing.assert_allclose(tri.backward(x, g),
                                   g * 2 * np.maximum(1 - np.abs(2 * x - 1), 0), atol=1e-12)
    # each triangle integrates to its step height 1/n: total area 1 on [0, 1]
    u = (np.arange(200000) + 0.5) / 200000  # midpoint rule on [0, 1]
    assert np.mean(tri.backward(u, np.ones_like(u))) == pytest.approx(1.0, rel=1e-4)


def test_ternary_levels_and_round_half_up():
    q = get_quantizer("nlevel", n=2)
    np.testing.assert_array_equal(q(np.array([-1, 0.2499, 0.25, 0.5, 0.7499, 0.75, 2])),
                                  [0, 0, 0.5, 0.5, 0.5, 1, 1])


def test_clip_and_identity(x, rng):
    g = rng.normal(size=x.shape)
    q = get_quantizer("clip")
    np.testing.assert_array_equal(q(x), np.clip(x, 0, 1))
    np.testing.assert_array_equal(q.backward(x, g), g * ((x >= 0) & (x <= 1)))
    i = get_quantizer("identity")
    np.testing.assert_array_equal(i(x), x)
    assert i.backward(x, g) is g


@pytest.mark.parametrize("name", sorted(QUANTIZERS))
def test_config_round_trip(name):
    q = get_quantizer(name)
    assert isinstance(q, Quantizer) and q.name == name
    assert get_quantizer(q.config()) == q
    assert get_quantizer(q) is q


def test_unknown_names_and_bad_hyperparameters():
    with pytest.raises(ValueError, match=r"unknown quantizer 'sgn'; valid names: .*ste_sign"):
        get_quantizer("sgn")
    with pytest.raises(ValueError, match="unknown quantizer"):
        get_quantizer({"name": "nope"})
    with pytest.raises(ValueError, match="straight-through shape"):
        get_quantizer("threshold", ste="gauss")
    with pytest.raises(ValueError, match="positive integer"):
        get_quantizer("nlevel", n=0)
    with pytest.raises(ValueError, match="clip must be > 0"):
        get_quantizer("ste_sign", clip=0)
