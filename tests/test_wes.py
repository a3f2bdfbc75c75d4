"""Regression losses: WES against MSE (closed form for uniform labels), gradients against finite
differences, the weights' monotonic growth with beta, and input validation."""

import numpy as np
import pytest
from naive import numeric_grad

from rramsim.data.regression import make_dataset
from rramsim.nn import HuberLoss, MAELoss, MSELoss, WESLoss
from rramsim.nn.density import LabelDensity


@pytest.fixture(scope="module")
def bimodal_density():
    data = make_dataset("bimodal", noise=0.1, n_train=3000, n_test=100, seed=11)
    return LabelDensity.fit(data.y_train, support=(0.0, 1.0)), data.y_train


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 2.0])
def test_wes_equals_mse_for_uniform_labels(beta):
    rng = np.random.default_rng(0)
    z, t = rng.normal(size=(40, 1)), rng.random(40)
    mse = MSELoss()
    ref, ref_grad = mse(z, t), mse.grad()
    # The exact uniform density: weights are exactly one.
    wes = WESLoss(LabelDensity.uniform((0.0, 1.0)), beta)
    assert wes(z, t) == pytest.approx(ref, rel=1e-12)
    np.testing.assert_allclose(wes.grad(), ref_grad, rtol=1e-12)
    # Another interval: g = 1/3, Z = 3^beta, w = 1.
    wes = WESLoss(LabelDensity.uniform((2.0, 5.0)), beta)
    assert wes(z, 2.0 + 3.0 * t) == pytest.approx(mse(z, 2.0 + 3.0 * t), rel=1e-12)
    # A density fitted on evenly spread labels is uniform to the fit's precision.
    even = (np.arange(5000) + 0.5) / 5000
    wes = WESLoss.from_labels(even, beta, support=(0.0, 1.0))
    assert wes(z, t) == pytest.approx(ref, rel=1e-5)


def test_wes_with_beta_zero_is_mse_for_any_density(bimodal_density):
    density, _ = bimodal_density
    rng = np.random.default_rng(1)
    z, t = rng.normal(size=(30, 1)), rng.random(30)
    assert WESLoss(density, 0.0)(z, t) == pytest.approx(MSELoss()(z, t), rel=1e-12)


def test_wes_weights_average_one_over_the_density(bimodal_density):
    """Z normalises E_{y~g}[w(y)] to one, checked by an independent quadrature."""
    from scipy.integrate import quad

    density, labels = bimodal_density
    for beta in (0.5, 1.0, 1.5):
        wes = WESLoss(density, beta)
        mean_w = quad(lambda y: density.pdf(y) * wes.weights(y), 0.0, 1.0, limit=200)[0]
        assert mean_w == pytest.approx(1.0, rel=1e-8)
    # ... and about one over the training labels themselves at a moderate beta (at large beta
    # the mean over a sample is dominated by its few most extreme labels).
    assert np.mean(WESLoss(density, 0.5).weights(labels)) == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize("make", [lambda d: WESLoss(d, 1.3), lambda d: WESLoss(d, 2.0, 0.3),
                                  lambda d: MSELoss(), lambda d: MAELoss(),
                                  lambda d: HuberLoss(0.3)])
def test_regression_loss_gradients_match_finite_differences(make, bimodal_density):
    density, labels = bimodal_density
    rng = np.random.default_rng(2)
    t = labels[rng.choice(labels.size, 12, replace=False)]
    # Residuals away from the kinks of MAE (0) and Huber (+-0.3).
    r = rng.choice([-1, 1], 12) * rng.uniform(0.05, 0.6, 12)
    r[np.abs(np.abs(r) - 0.3) < 0.02] += 0.05
    z = (t + r)[:, None]
    loss = make(density)
    loss(z, t)
    np.testing.assert_allclose(loss.grad(), numeric_grad(lambda: loss(z, t), z), rtol=1e-6,
                               atol=1e-10)


def test_larger_beta_puts_more_weight_on_the_tails(bimodal_density):
    """The tails' share of the total weight and the tail-to-mode weight ratio both grow
    strictly with beta (w(y1)/w(y2) = (g(y2)/g(y1))^beta)."""
    density, labels = bimodal_density
    lo, hi = np.quantile(labels, [0.05, 0.95])
    tails = (labels <= lo) | (labels >= hi)
    mode = labels[np.argmax(density.pdf(labels))]
    extreme = labels.min()
    share, ratio = [], []
    for beta in np.linspace(0.0, 2.0, 9):
        w = WESLoss(density, beta).weights(labels)
        share.append(w[tails].sum() / w.sum())
        wes = WESLoss(density, beta)
        ratio.append(float(wes.weights(extreme) / wes.weights(mode)))
    assert np.all(np.diff(share) > 0), share
    assert np.all(np.diff(ratio) > 0), ratio
    assert share[0] == pytest.approx(tails.mean())  # beta = 0: every label weighs the same


def test_density_floor_bounds_the_weights_and_keeps_their_mean(bimodal_density):
    from scipy.integrate import quad

    density, labels = bimodal_density
    wes, free = WESLoss(density, 2.0, density_floor=0.1), WESLoss(density, 2.0)
    w, g = wes.weights(labels), density.pdf(labels)
    low = g < 0.1
    assert low.any() and (~low).any()
    np.testing.assert_allclose(w[low], 0.1 ** -2.0 / wes.norm)  # the floor: one constant weight
    np.testing.assert_allclose(w[~low] / free.weights(labels)[~low], free.norm / wes.norm)
    assert w.max() < free.weights(labels).max() / 10
    # E_g[w] = 1 (to the quadrature's accuracy across the floor's kink).
    assert quad(lambda y: density.pdf(y) * wes.weights(y), 0, 1, limit=200)[0] == \
        pytest.approx(1.0, rel=1e-5)
    # A floor at or below the uniform density leaves uniform labels alone: still the MSE.
    z, t = np.zeros((5, 1)), np.linspace(0.1, 0.9, 5)
    assert WESLoss(LabelDensity.uniform(), 1.5, density_floor=1.0)(z, t) == \
        pytest.approx(MSELoss()(z, t), rel=1e-12)


def test_wes_rejects_bad_input(bimodal_density):
    density, _ = bimodal_density
    wes = WESLoss(density, 1.0)
    z = np.zeros((3, 1))
    with pytest.raises(ValueError, match=r"fitted range \[0, 1\]"):
        wes(z, np.array([0.2, 1.3, 0.5]))
    with pytest.raises(ValueError, match="NaN"):
        wes(z, np.array([0.2, np.nan, 0.5]))
    with pytest.raises(FloatingPointError, match="NaN"):
        wes(np.array([[np.nan], [0.0], [0.0]]), np.array([0.2, 0.3, 0.5]))
    with pytest.raises(ValueError, match="same"):
        wes(z, np.array([0.2, 0.3]))
    for beta in (-0.5, np.nan, np.inf):
        with pytest.raises(ValueError, match="beta"):
            WESLoss(density, beta)
    for floor in (-0.1, 1.5, np.nan):
        with pytest.raises(ValueError, match="density_floor"):
            WESLoss(density, 1.0, density_floor=floor)
    with pytest.raises(TypeError, match="pdf"):
        WESLoss(object(), 1.0)
    with pytest.raises(ValueError, match="fitted range"):
        WESLoss.from_labels(np.array([0.1, 0.5, 1.2] * 5), 1.0, support=(0.0, 1.0), degree=2)
    with pytest.raises(ValueError, match="NaN"):
        WESLoss.from_labels(np.array([0.1, np.nan, 0.9]), 1.0)
    with pytest.raises(ValueError, match="delta"):
        HuberLoss(0.0)


def test_mae_and_huber_values():
    z, t = np.array([[0.0], [2.0], [-0.5]]), np.array([0.5, 0.0, -0.5])
    assert MAELoss()(z, t) == pytest.approx((0.5 + 2.0 + 0.0) / 3)
    # delta = 1: 0.5 * 0.25 (quadratic), 1 * (2 - 0.5) (linear), 0.
    assert HuberLoss(1.0)(z, t) == pytest.approx((0.125 + 1.5 + 0.0) / 3)
