"""Plumbing between the settings and the kernels: a setting that the tile, the layer or the network
drops on its way to the kernel must fail a test here.

1. ``AnalogTile.update`` (pulsed, expected, ideal) against the numpy twin fed the tile's own
   random states, for several values of every ``[update]`` field and of ``mapping.weight_scale``;
   a companion test checks that the grid discriminates every value of every field (the twin's
   result changes with it), so a field replaced by a constant fails at least one case.
2. ``AnalogLinear`` and ``build_mlp`` with ``reference.zero_shift = true``: references at the
   devices' symmetry points (exact for the closed form, within the protocol's tolerance for the
   pulses) and the weights they were asked for.
3. Probability clipping: above ``lr |x| |d| / dw_min > bl`` the mean update is the clipped
   expectation ``bl min(C_x |x|, 1) min(C_d |d|, 1) dw_min``, not ``lr |x d|``.
4. The mean pull of random up/down pulses, ``-(b_up - b_down) / 2 (w - w_sp)``.
5. The size of the network-level pulsed update: slope 1 against SGD's ``-lr d x^T``.

Statistical tests use fixed seeds and bounds of a few standard errors computed from the samples.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math

import naive
import numpy as np
import pytest
from conftest import NO_VARIATION, config

from rramsim.analog.tile import AnalogTile
from rramsim.config import UpdateConfig
from rramsim.networks import build_mlp
from rramsim.nn import SGD, AnalogLinear, SoftmaxCrossEntropy
from rramsim.nn.modules import default_init
from rramsim.rng import as_seed_sequence

# ------------------------------------------------------------------------------------------
# 1. The tile's update against the twin, for every [update] setting
# ------------------------------------------------------------------------------------------

#: Values of every field of UpdateConfig (and of the digital output scale, which divides lr).
UPDATE_GRID = {
    "mode": ("pulsed", "expected", "ideal"),
    "bl": (1, 5, 31, 64),
    "update_management": (False, True),
    "pulse_length_management": (False, True),
}
WEIGHT_SCALES = (1.0, 2.5)
SHAPE = (3, 4)
LR = 0.5
#: A nonlinear, asymmetric device with cycle-to-cycle noise; zero-shifted (closed form) so that
#: the reference is not zero and ``w - ref`` is exercised.
PLUMB_BASE = {"device.dw_min": 0.01, "device.up_down": 0.3, "device.dw_min_ctoc": 0.4,
              "reference.sp_method": "closed_form"}


def _plumb_batch():
    """Five samples chosen so that every setting matters somewhere (lr / dw_min = 50):

    0. max|x| = max|d| = 1: ``lr max|x| max|d| / dw_min = 50`` clips the probabilities for
       bl < 50 and makes bl matter in expected mode too;
    1. a small update (ratio 1.25): pulse-length management shortens the train to 2 slots;
    2. max|x| = 10 max|d| (ratio 5): without update management the x probabilities clip,
       the more so with pulse-length management (5 slots instead of bl);
    3. an all-zero input (nothing to do);
    4. a zero input and a zero error entry.
    """
    rs = np.random.default_rng(101)
    X = rs.uniform(-1, 1, (5, SHAPE[1]))
    D = rs.uniform(-1, 1, (5, SHAPE[0]))
    X[0, 0], D[0, 1] = 1.0, -1.0
    X[1] *= 0.05 / np.abs(X[1]).max()
    D[1] *= 0.5 / np.abs(D[1]).max()
    X[2] *= 1.0 / np.abs(X[2]).max()
    D[2] *= 0.1 / np.abs(D[2]).max()
    X[3] = 0.0
    X[4, 2], D[4, 0] = 0.0, 0.0
    return X, D


def _plumb_config(mode, bl, um, plm, alpha):
    return config(PLUMB_BASE, **{"update.mode": mode, "update.bl": bl,
                                 "update.update_management": um,
                                 "update.pulse_length_management": plm,
                                 "mapping.weight_scale": alpha})


def _plumb_tile(mode, bl, um, plm, alpha):
    tile = AnalogTile(*SHAPE, _plumb_config(mode, bl, um, plm, alpha), seed=21)
    tile.zero_shift()
    W = np.random.default_rng(102).uniform(-0.2, 0.2, SHAPE) * alpha
    assert tile.set_weights(W) == 0.0
    return tile


@functools.cache
def _twin(mode, bl, um, plm, alpha):
    """The twin's result for one case, from the tile's own state: ``(w, pulses, x_state,
    row_states)`` (pulses None and the states unchanged outside pulsed mode)."""
    tile = _plumb_tile(mode, bl, um, plm, alpha)
    state = tile.state_dict()  # copies: the tile's own streams before the update
    X, D = _plumb_batch()
    lr = LR / alpha  # the devices move by lr / alpha d x^T
    dw_min = tile.config.device.dw_min
    xs, rs = state["_x_state"], state["_row_states"]
    if mode == "pulsed":
        w, _, n = naive.pulsed_update(state["w"], state["ref"], tile.devices.kernel_args(),
                                      tile.devices.ctoc, X, D, lr, dw_min, bl, um, plm, xs, rs)
    elif mode == "expected":
        w, _ = naive.expected_update(state["w"], state["ref"], tile.devices.kernel_args(), X, D,
                                     lr, dw_min, bl, um, plm)
        n = None
    else:
        w = np.clip(state["w"] - lr * (D.T @ X), tile.devices.w_min, tile.devices.w_max)
        n = None
    for a in (w, xs, rs):
        a.setflags(write=False)
    return w, n, xs, rs


CASES = list(itertools.product(*UPDATE_GRID.values(), WEIGHT_SCALES))


@pytest.mark.parametrize("model,gamma", [("soft_bounds", 1.0), ("constant_step", 0.0)])
@pytest.mark.parametrize("up_down", [-0.3, 0.5])
def test_tile_devices_follow_the_device_section(model, gamma, up_down):
    """The twin above is fed the tile's own device arrays; here those arrays are held to the
    [device] section (no variation: the nominal aihwkit-convention values, exactly)."""
    cfg = config(NO_VARIATION, **{"device.model": model, "device.dw_min": 0.02,
                                  "device.up_down": up_down, "device.w_min": -0.7,
                                  "device.w_max": 0.9, "device.dw_min_ctoc": 0.25})
    dev = AnalogTile(2, 3, cfg, seed=1).devices
    a_up = 0.02 * (1 + min(up_down, 0.0))
    a_down = 0.02 * (1 - max(up_down, 0.0))
    for got, want in zip(dev.kernel_args(), (a_up, a_down, gamma * a_up / 0.9,
                                             gamma * a_down / -0.7, -0.7, 0.9)):
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)
    assert dev.ctoc == 0.25


def test_grid_covers_every_update_field():
    """A new [update] field must be added to UPDATE_GRID (and to the twin) to be guarded."""
    assert {f.name for f in dataclasses.fields(UpdateConfig)} == set(UPDATE_GRID)


@pytest.mark.filterwarnings("ignore::rramsim.errors.RramsimWarning")  # deliberately strong
@pytest.mark.parametrize("mode,bl,um,plm,alpha", CASES)
def test_tile_update_matches_twin_for_every_setting(mode, bl, um, plm, alpha):
    tile = _plumb_tile(mode, bl, um, plm, alpha)
    ref = tile.ref.copy()
    X, D = _plumb_batch()
    tile.update(X, D, LR)
    w, n, xs, rs = _twin(mode, bl, um, plm, alpha)
    after = tile.state_dict()
    if mode == "pulsed":
        np.testing.assert_array_equal(tile.w, w)  # the twin is exact
        assert tile.pulse_count == n > 0
    else:
        # expected: the twin writes the closed form with a power instead of expm1 / log1p
        np.testing.assert_allclose(tile.w, w, rtol=0, atol=1e-12)
        assert tile.pulse_count == 0
    # the streams advanced exactly as the twin's (not at all outside pulsed mode)
    np.testing.assert_array_equal(after["_x_state"], xs)
    np.testing.assert_array_equal(after["_row_states"], rs)
    np.testing.assert_array_equal(tile.ref, ref)
    np.testing.assert_allclose(tile.get_weights(), alpha * (w - ref), rtol=0, atol=1e-12)


def _differ(a, b) -> bool:
    """Results that the comparison above tells apart (by far more than its 1e-12 tolerance)."""
    return np.abs(a - b).max() > 1e-9


@pytest.mark.parametrize("mode", ["pulsed", "expected"])
def test_grid_discriminates_every_value_of_every_setting(mode):
    """For every field and every two of its values there is a case of the grid (the other fields
    fixed) where the twin's results differ: a tile that replaced the field by a constant fails
    the case above for at least one value."""
    names = list(UPDATE_GRID)[1:] + ["weight_scale"]
    values = [UPDATE_GRID[k] for k in names[:-1]] + [WEIGHT_SCALES]
    for f, name in enumerate(names):
        others = [v for g, v in enumerate(values) if g != f]
        for v1, v2 in itertools.combinations(values[f], 2):
            differs = []
            for rest in itertools.product(*others):
                a, b = list(rest), list(rest)
                a.insert(f, v1)
                b.insert(f, v2)
                differs.append(_differ(_twin(mode, *a)[0], _twin(mode, *b)[0]))
            assert any(differs), (mode, name, v1, v2)
    # and the mode itself
    for case in itertools.product(*values):
        assert _differ(_twin("pulsed", *case)[0], _twin("expected", *case)[0])
        assert _differ(_twin(mode, *case)[0], _twin("ideal", *case)[0])


# ------------------------------------------------------------------------------------------
# 2. Layers and networks built with zero-shifting
# ------------------------------------------------------------------------------------------

#: Asymmetric devices with device-to-device variation of the symmetry point.
ZS_BASE = {"device.dw_min": 0.01, "device.up_down": 0.4, "device.up_down_dtod": 0.1,
           "device.dw_min_ctoc": 0.0, "device.w_min": -1.0, "device.w_max": 1.0,
           "reference.zero_shift": True, "reference.reference_std": 0.0,
           "reference.sp_pairs": 10000}


def _limit_cycle_midpoint(dev):
    """Noise-free oracle of the pulse protocol (as in test_tile.py): the alternating pairs settle
    on a 2-cycle with midpoint m and half-height h (about half a step), ``|m - w_sp| <= h``."""
    bu, bd, au, ad = dev.b_up, dev.b_down, dev.a_up, dev.a_down
    det = (bu - bd) * (2 - bu) + (bu + bd) * bu
    m = ((au - ad) * (2 - bu) + (bu + bd) * au) / det
    h = ((bu - bd) * au - bu * (au - ad)) / det
    return m, h


#: The symmetry-point method of each case: the closed form, the noise-free pulse protocol, the
#: protocol with cycle-to-cycle noise.
ZS_METHODS = {"closed_form": {"reference.sp_method": "closed_form"},
              "pulses": {"reference.sp_method": "pulses"},
              "pulses_noisy": {"reference.sp_method": "pulses", "device.dw_min_ctoc": 0.3}}


def _check_zero_shifted(tile, M, method):
    """References at the symmetry points; ``alpha (w - r)`` the asked-for weights M (clipped
    where a device cannot hold them, i.e. ``clip(M / alpha + r) - r``).

    Tolerances of the protocol (as in test_tile.py): noise-free, its estimate is the midpoint m
    of the 2-cycle it settles on (the transient decays like (1 - b_up + b_down)^pairs), within
    half a step h of the closed form; with noise c, the mean over N averaged pairs has standard
    error ``sigma = sqrt(2) c delta / (beta sqrt(N))`` about m (delta the step at the symmetry
    point, beta = b_up - b_down), so the tolerance is h + 5 sigma."""
    dev = tile.devices
    ref_cfg = tile.config.reference
    sp_closed = dev.symmetry_point()
    # a reference left at its mid value 0 would fail below
    assert np.all(np.abs(sp_closed) > 1e-3) and sp_closed.mean() > 0.1
    if method == "closed_form":
        np.testing.assert_array_equal(tile.ref, sp_closed)
    else:
        np.testing.assert_array_equal(tile.ref, tile.symmetry_points)
        m, h = _limit_cycle_midpoint(dev)
        c = dev.ctoc
        if c == 0:
            np.testing.assert_allclose(tile.ref, m, rtol=0, atol=1e-9)
            assert np.all(np.abs(tile.ref - sp_closed) <= h * (1 + 1e-9))
        else:
            n_avg = round(ref_cfg.sp_average * ref_cfg.sp_pairs)
            delta = dev.a_up - dev.b_up * sp_closed
            sigma = math.sqrt(2) * c * delta / ((dev.b_up - dev.b_down) * math.sqrt(n_avg))
            z = (tile.ref - m) / sigma
            assert np.all(np.abs(z) < 5), z
            assert np.all(np.abs(tile.ref - sp_closed) <= h + 5 * sigma)
        assert not np.array_equal(tile.ref, sp_closed)  # the protocol did run
    alpha = tile.weight_scale
    want = alpha * (np.clip(M / alpha + tile.ref, dev.w_min, dev.w_max) - tile.ref)
    # an ideal write: exact up to rounding, far within the device resolution dw_min
    np.testing.assert_allclose(tile.get_weights(), want, rtol=0, atol=1e-12)
    target = M / alpha + tile.ref
    ok = (target >= dev.w_min) & (target <= dev.w_max)
    assert ok.mean() > 0.7  # most devices hold their weight: the comparison below has teeth
    np.testing.assert_allclose(tile.get_weights()[ok], M[ok], rtol=0, atol=1e-12)


@pytest.mark.parametrize("bias", ["analog", "digital"])
@pytest.mark.parametrize("method", list(ZS_METHODS))
def test_layer_built_with_zero_shift(method, bias):
    cfg = config(ZS_BASE, ZS_METHODS[method])
    seed = 31
    layer = AnalogLinear(7, 5, cfg, bias=bias, seed=seed)
    # the weights the layer was asked for: its Glorot draw from the first child of its seed
    W, b = default_init(5, 7, np.random.default_rng(as_seed_sequence(seed).spawn(2)[0]))
    M = np.concatenate([W, b[:, None]], axis=1) if bias == "analog" else W
    _check_zero_shifted(layer.tile, M, method)
    np.testing.assert_array_equal(layer.get_weights()[1], b)


@pytest.mark.parametrize("method,alpha", [("closed_form", 1.0), ("closed_form", 2.0),
                                          ("pulses", 1.0), ("pulses_noisy", 1.0)])
def test_network_built_with_zero_shift(method, alpha):
    """build_mlp: every analog layer zero-shifted, holding the floating-point network's weights
    (the same seed gives the same initial weights)."""
    cfg = config(ZS_BASE, ZS_METHODS[method], **{"mapping.weight_scale": alpha})
    sizes = (6, 5, 4)
    net = build_mlp(sizes, cfg, seed=4)
    fp = build_mlp(sizes, None, seed=4)
    analog = net.analog_layers()
    digital = fp.parameters()
    assert len(analog) == 2 and len(digital) == 4
    for k, layer in enumerate(analog):
        W, b = digital[2 * k].value, digital[2 * k + 1].value
        _check_zero_shifted(layer.tile, np.concatenate([W, b[:, None]], axis=1), method)


def test_layer_zero_shift_programming_error_reaches_the_reference():
    """reference_std travels from the layer's config to the reference: ``ref - sp`` has std
    reference_std (400 devices: within 5 standard errors of the std)."""
    std = 0.02
    cfg = config(ZS_BASE, **{"reference.sp_method": "closed_form",
                             "reference.reference_std": std})
    layer = AnalogLinear(20, 20, cfg, bias="none", seed=5)
    err = layer.tile.ref - layer.tile.devices.symmetry_point()
    n = err.size
    assert abs(err.mean()) < 5 * std / math.sqrt(n)
    assert abs(err.std() / std - 1) < 5 / math.sqrt(2 * n)


def test_layer_without_zero_shift_keeps_the_mid_reference():
    cfg = config(ZS_BASE, **{"reference.zero_shift": False, "device.w_min": -0.4,
                             "device.w_max": 0.8})
    layer = AnalogLinear(4, 3, cfg, seed=6)
    np.testing.assert_array_equal(layer.tile.ref, 0.2)
    assert layer.tile.symmetry_points is None


# ------------------------------------------------------------------------------------------
# 3. Probability clipping
# ------------------------------------------------------------------------------------------

#: A linear device (constant step, bounds out of reach, no variation): a device's change is
#: dw_min times its signed coincidence count.
LINEAR = {**NO_VARIATION, "device.model": "constant_step", "device.dw_min": 0.001,
          "device.w_min": -1e6, "device.w_max": 1e6, "reference.enabled": False}


def _per_sample_changes(tile, X, D, lr):
    """Change of the network weights of each of the T single-sample updates (T, n_out, n_in),
    every update starting from the same weights (an independent stretch of the streams)."""
    W0 = tile.get_weights()
    out = np.empty((len(X),) + tile.shape)
    for t in range(len(X)):
        tile.set_weights(W0)
        tile.update(X[t], D[t], lr)
        out[t] = tile.get_weights() - W0
    return out


def _z(mean, want, se):
    """z-scores; where the samples have no spread the mean must be exact."""
    exact = se < 1e-12  # identical samples (np.std of equal floats is not always 0)
    np.testing.assert_allclose(mean[exact], want[exact], rtol=0, atol=1e-12)
    return np.divide(mean - want, se, out=np.zeros_like(se), where=~exact)


@pytest.mark.filterwarnings("ignore::rramsim.errors.RramsimWarning")  # deliberately strong
@pytest.mark.parametrize("um,plm", [(True, False), (False, False), (True, True)])
def test_saturated_probabilities_give_the_clipped_expectation(um, plm):
    """lr max|x| max|d| / dw_min = 90 > bl = 31: the probabilities saturate at 1; the mean update
    over T = 4000 independent pulse streams is ``-sign(d x) dw_min bl min(C_x |x|, 1)
    min(C_d |d|, 1)`` (the scales from the documented formulas), within 4.5 standard errors
    (computed from the samples) for every device, and many standard errors away from the
    unclipped ``-lr d x^T`` where the probabilities clip."""
    bl, dw_min, lr, T = 31, 0.001, 0.1, 4000
    cfg = config(LINEAR, **{"update.bl": bl, "update.update_management": um,
                            "update.pulse_length_management": plm})
    x = np.array([1.0, -0.7, 0.3, 0.05])
    d = np.array([0.9, -0.4, 0.15])
    xm, dm = np.abs(x).max(), np.abs(d).max()
    assert lr * xm * dm / dw_min > bl
    k = lr / (dw_min * bl)  # pulse-length management keeps all bl slots here: ceil(90) > bl
    cx, cd = (math.sqrt(k * dm / xm), math.sqrt(k * xm / dm)) if um else (math.sqrt(k),) * 2
    p, q = np.minimum(cx * np.abs(x), 1.0), np.minimum(cd * np.abs(d), 1.0)
    clipped = np.outer(q, p) < np.outer(cd * np.abs(d), cx * np.abs(x)) * (1 - 1e-12)
    assert clipped.any() and not clipped.all()
    want = -np.sign(np.outer(d, x)) * dw_min * bl * np.outer(q, p)
    sgd = -lr * np.outer(d, x)
    np.testing.assert_allclose(want[~clipped], sgd[~clipped], rtol=1e-12)  # unclipped: SGD
    tile = AnalogTile(3, 4, cfg, seed=41)
    ch = _per_sample_changes(tile, np.tile(x, (T, 1)), np.tile(d, (T, 1)), lr)
    mean, se = ch.mean(axis=0), ch.std(axis=0, ddof=1) / math.sqrt(T)
    z = _z(mean, want, se)
    assert np.all(np.abs(z) < 4.5), z
    # the saturated entries fall short of SGD by many standard errors (se > 0 there unless
    # both probabilities are 1, where the count is exactly bl)
    short = np.abs(mean[clipped] - sgd[clipped]) / np.maximum(se[clipped], 1e-300)
    assert np.all(short > 20), short
    assert np.all(np.abs(mean[clipped]) < np.abs(sgd[clipped]))


# ------------------------------------------------------------------------------------------
# 4. The pull towards the symmetry point
# ------------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::rramsim.errors.RramsimWarning")  # deliberately strong
def test_random_pulses_pull_towards_the_symmetry_point():
    """One pulse per device per update, up or down with probability 1/2 (bl = 1 and p = q = 1,
    random signs of x and d): the mean change at weight w is ``-(b_up - b_down) / 2 (w - w_sp)``
    per device, with the soft-bound law ``b_up = a_up / w_max``, ``b_down = a_down / w_min`` and
    ``w_sp = (a_up - a_down) / (b_up - b_down)``. For 200 devices at five weights, T = 400
    trials each: every |z| < 5 (standard errors from the samples), the z's of unit spread, and
    the pull itself many standard errors away from zero."""
    dw_min, T = 0.01, 400
    cfg = config({"device.dw_min": dw_min, "device.up_down": 0.4, "device.w_min": -1.0,
                  "device.w_max": 1.0, "device.w_min_dtod": 0.05, "device.w_max_dtod": 0.05,
                  "device.dw_min_ctoc": 0.3, "update.bl": 1, "reference.enabled": False})
    tile = AnalogTile(10, 20, cfg, seed=51)
    dev = tile.devices
    a_up, a_down, b_up, b_down, w_min, w_max = dev.kernel_args()
    np.testing.assert_allclose(b_up, a_up / w_max, rtol=1e-15)
    np.testing.assert_allclose(b_down, a_down / w_min, rtol=1e-15)
    beta = a_up / w_max - a_down / w_min
    w_sp = (a_up - a_down) / beta
    np.testing.assert_allclose(w_sp, dev.symmetry_point(), rtol=1e-12)
    rs = np.random.default_rng(52)
    lr = 2 * dw_min  # C_x = C_d = sqrt(2) > 1: every slot fires, one pulse per device
    zs, z0 = [], []
    for w in (-0.6, -0.3, 0.0, 0.3, 0.6):
        X = rs.choice([-1.0, 1.0], (T, 20))
        D = rs.choice([-1.0, 1.0], (T, 10))
        tile.set_weights(np.full(tile.shape, w))
        before = tile.pulse_count
        ch = _per_sample_changes(tile, X, D, lr)
        assert tile.pulse_count - before == T * 200  # one pulse per device per update
        mean, se = ch.mean(axis=0), ch.std(axis=0, ddof=1) / math.sqrt(T)
        assert np.all(se > 0)
        zs.append((mean + beta / 2 * (w - w_sp)) / se)
        z0.append(mean / se)
    zs, z0 = np.array(zs), np.array(z0)
    assert np.all(np.abs(zs) < 5), np.abs(zs).max()
    assert 0.85 < np.sqrt(np.mean(zs ** 2)) < 1.15
    # the drift is really there (at |w - w_sp| >= 0.25 about 6 standard errors per device)
    far = np.abs(np.array([-0.6, -0.3, 0.0, 0.3, 0.6])[:, None, None] - w_sp) > 0.25
    assert np.mean(np.abs(z0[far]) > 3) > 0.9


# ------------------------------------------------------------------------------------------
# 5. The size of the network-level pulsed update
# ------------------------------------------------------------------------------------------

def _slope(s, m):
    """Least-squares slope of m against s through the origin, and its standard error from the
    residuals (heteroscedasticity-robust: ``sqrt(sum s^2 r^2) / sum s^2``)."""
    ss = np.dot(s, s)
    slope = np.dot(s, m) / ss
    r = m - slope * s
    return slope, math.sqrt(np.dot(s * s, r * r) * len(s) / (len(s) - 1)) / ss


def test_network_pulsed_update_has_the_size_of_sgd():
    """An analog MLP 32-24-10 (perfect peripherals, so x and d are those of the floating-point
    twin; soft-bound devices with 10 % step variation; weights a thirtieth of their Glorot draw,
    the linear-ish regime where ``1 - w / w_max`` is within 2 % of 1) takes one SGD step on a
    batch of 4 samples (4 consecutive rank-one updates), T = 1000 times from the same weights
    with fresh pulse streams. The mean weight change against SGD's change
    ``-lr sum_b d_b x_b^T`` of the floating-point twin network: the least-squares slope over all
    entries of both layers, and per layer, is 1 within 4 standard errors (from the residuals,
    which hold the device-to-device spread as well as the sampling noise), and the standard error
    is small enough (< 0.015) that a step 10 % too large or too small fails. (Measured: slope
    0.997, se 0.008; the soft bounds' shrinking steps within a train make it ~1 % low.)"""
    cfg = config({"forward.is_perfect": True, "backward.is_perfect": True,
                  "device.dw_min_dtod": 0.1})
    sizes, lr, T = (32, 24, 10), 0.08, 1000
    net = build_mlp(sizes, cfg, seed=61)
    fp = build_mlp(sizes, None, seed=61)
    M0 = []
    for layer, (pw, pb) in zip(net.analog_layers(), zip(*[iter(fp.parameters())] * 2)):
        W, b = layer.get_weights()
        assert layer.set_weights(0.03 * W, b + 0.01) == 0.0
        W, b = layer.get_weights()
        pw.value[...], pb.value[...] = W, b
        M0.append(layer.tile.get_weights())
    x = np.random.default_rng(62).uniform(0, 1, (4, sizes[0]))
    y = np.array([2, 5, 7, 0])
    loss = SoftmaxCrossEntropy()
    # floating-point SGD step
    fp_out = fp.forward(x)
    loss.forward(fp_out, y)
    fp.backward(loss.grad())
    p = fp.parameters()
    sgd = [-lr * np.concatenate([p[2 * k].grad, p[2 * k + 1].grad[:, None]], axis=1)
           for k in range(2)]
    # lr max|x_b| max|d_b| / dw_min (d_b of the batch-mean loss): at most ~10 pulses per device
    # and sample, below bl = 31 (nothing clips), and more than one
    loss.forward(net.forward(x), y)
    net.backward(loss.grad())
    ratio = [lr * np.abs(layer._x).max(axis=1) * np.abs(layer._d).max(axis=1)
             / cfg.device.dw_min for layer in net.analog_layers()]
    assert 2 < max(r.max() for r in ratio) < cfg.update.bl, ratio
    # the same step on the analog network, T times from the same weights
    opt = SGD(net, lr)
    total = [np.zeros_like(m) for m in M0]
    for _ in range(T):
        for layer, m in zip(net.analog_layers(), M0):
            layer.tile.set_weights(m)
        out = net.forward(x)
        np.testing.assert_allclose(out, fp_out, rtol=0, atol=1e-12)
        loss.forward(out, y)
        net.backward(loss.grad())
        opt.step()
        for k, (layer, m) in enumerate(zip(net.analog_layers(), M0)):
            total[k] += layer.tile.get_weights() - m
    mean = [t / T for t in total]
    s_all = np.concatenate([s.ravel() for s in sgd])
    m_all = np.concatenate([m.ravel() for m in mean])
    slope, se = _slope(s_all, m_all)
    assert se < 0.015, se
    assert abs(slope - 1) < 4 * se, (slope, se)
    for s, m in zip(sgd, mean):
        sl, sl_se = _slope(s.ravel(), m.ravel())
        assert sl_se < 0.03 and abs(sl - 1) < 4 * sl_se, (sl, sl_se)
