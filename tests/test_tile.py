"""The analog tile: input validation, reproducibility, the reference array, the symmetry-point
protocol against the closed form, zero-shifting, serial vs parallel."""

import math

import numba
import numpy as np
import pytest
from conftest import NO_VARIATION, config

from rramsim.analog.tile import AnalogTile

# ------------------------------------------------------------------------------------------
# Input validation
# ------------------------------------------------------------------------------------------

@pytest.fixture
def tile():
    return AnalogTile(3, 4, config(), seed=0)


@pytest.mark.parametrize("shape", [(0, 4), (3, 0), (-1, 2)])
def test_bad_tile_size(shape):
    with pytest.raises(ValueError, match="tile size must be positive"):
        AnalogTile(*shape)


@pytest.mark.parametrize("x", [np.ones(3), np.ones((2, 5)), np.ones((2, 4, 1)), np.ones((4, 3))])
def test_forward_rejects_wrong_shape(tile, x):
    with pytest.raises(ValueError, match=r"x must have shape \(B, 4\) or \(4,\), got"):
        tile.forward(x)


def test_backward_rejects_wrong_shape(tile):
    with pytest.raises(ValueError, match=r"d must have shape \(B, 3\) or \(3,\), got"):
        tile.backward(np.ones(4))


def test_shape_error_reports_the_shape_given(tile):
    with pytest.raises(ValueError, match=r"got \(4,\)"):
        tile.backward(np.ones(4))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs_rejected(tile, bad):
    x = np.ones((2, 4))
    x[1, 2] = bad
    with pytest.raises(ValueError, match="x contains NaN or infinite values"):
        tile.forward(x)
    with pytest.raises(ValueError, match="x contains NaN or infinite values"):
        tile.update(x, np.ones((2, 3)), 0.1)
    d = np.ones((2, 3))
    d[0, 0] = bad
    with pytest.raises(ValueError, match="d contains NaN or infinite values"):
        tile.update(np.ones((2, 4)), d, 0.1)
    with pytest.raises(ValueError, match="d contains NaN or infinite values"):
        tile.backward(d)


def test_update_rejects_bad_shapes_and_batches(tile):
    with pytest.raises(ValueError, match="same batch size, got 2 and 3"):
        tile.update(np.ones((2, 4)), np.ones((3, 3)), 0.1)
    with pytest.raises(ValueError, match=r"d must have shape \(B, 3\)"):
        tile.update(np.ones((2, 4)), np.ones((2, 4)), 0.1)


@pytest.mark.parametrize("lr", [-0.1, np.nan, np.inf])
def test_update_rejects_bad_learning_rate(tile, lr):
    with pytest.raises(ValueError, match="learning rate must be finite and >= 0"):
        tile.update(np.ones(4), np.ones(3), lr)


def test_set_weights_validation(tile):
    with pytest.raises(ValueError, match=r"weights must have shape \(3, 4\)"):
        tile.set_weights(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="weights contain NaN"):
        tile.set_weights(np.full((3, 4), np.nan))


def test_unknown_symmetry_point_method(tile):
    with pytest.raises(ValueError, match="unknown symmetry-point method 'magic'"):
        tile.find_symmetry_points("magic")


# ------------------------------------------------------------------------------------------
# Weights, reference
# ------------------------------------------------------------------------------------------

def test_initial_reference_and_weights():
    cfg = config({"device.w_min": -0.4, "device.w_max": 0.8})
    t = AnalogTile(5, 6, cfg, seed=1)
    np.testing.assert_array_equal(t.ref, 0.2)  # (w_min + w_max) / 2 of the nominal range
    inside = (t.devices.w_min <= 0.2) & (0.2 <= t.devices.w_max)
    assert np.all(t.get_weights()[inside] == 0.0)
    off = AnalogTile(5, 6, cfg.with_overrides({"reference.enabled": False}), seed=1)
    np.testing.assert_array_equal(off.ref, 0.0)


def test_set_get_weights_roundtrip_and_clipping(tile, rng):
    W = rng.uniform(-0.2, 0.2, size=(3, 4))
    assert tile.set_weights(W) == 0.0
    np.testing.assert_allclose(tile.get_weights(), W, rtol=0, atol=1e-15)
    got = tile.get_weights()
    got[:] = 99.0  # a copy
    assert np.all(tile.get_weights() != 99.0)
    assert tile.set_weights(np.full((3, 4), 50.0)) == 1.0
    np.testing.assert_array_equal(tile.w, tile.devices.w_max)


def test_zero_learning_rate_is_a_no_op(tile, rng):
    w = tile.w.copy()
    tile.update(rng.uniform(-1, 1, (4, 4)), rng.uniform(-1, 1, (4, 3)), 0.0)
    np.testing.assert_array_equal(tile.w, w)
    assert tile.pulse_count == 0


# ------------------------------------------------------------------------------------------
# Reproducibility
# ------------------------------------------------------------------------------------------

def _run(seed, mode="pulsed"):
    cfg = config({"device.dw_min": 0.01, "update.mode": mode})
    t = AnalogTile(4, 5, cfg, seed=seed)
    rs = np.random.default_rng(123)  # same inputs for every seed
    X, D = rs.uniform(-1, 1, (6, 5)), rs.uniform(-1, 1, (6, 4))
    y = t.forward(X)
    z = t.backward(D)
    t.update(X, D, 0.2)
    return y, z, t.get_weights(), t.devices.a_up, t.pulse_count


@pytest.mark.parametrize("mode", ["pulsed", "expected"])
def test_same_seed_same_numbers(mode):
    a, b = _run(7, mode), _run(7, mode)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_different_seed_different_numbers():
    a, b = _run(7), _run(8)
    for x, y in zip(a[:4], b[:4]):
        assert not np.array_equal(x, y)


def test_repeated_passes_draw_fresh_noise(tile):
    x = np.ones(4)
    assert not np.array_equal(tile.forward(x), tile.forward(x))


# ------------------------------------------------------------------------------------------
# Symmetry points: pulse protocol against the closed form
# ------------------------------------------------------------------------------------------

def _limit_cycle_midpoint(dev):
    """Noise-free oracle of the protocol: the alternating pairs settle on a 2-cycle
    v (after down) -> u (after up) -> v. With m = (u + v) / 2, h = (u - v) / 2 it solves
    ``f_up(m - h) = f_down(m + h) = 2 h`` (f the step sizes), a 2x2 linear system."""
    bu, bd, au, ad = dev.b_up, dev.b_down, dev.a_up, dev.a_down
    det = (bu - bd) * (2 - bu) + (bu + bd) * bu
    m = ((au - ad) * (2 - bu) + (bu + bd) * au) / det
    h = ((bu - bd) * au - bu * (au - ad)) / det
    return m, h


def _sp_config(ctoc, **extra):
    over = {"device.dw_min": 0.01, "device.up_down": 0.4, "device.dw_min_dtod": 0.3,
            "device.up_down_dtod": 0.1, "device.dw_min_ctoc": ctoc}
    over.update(extra)
    return config(over)


def test_limit_cycle_oracle_matches_closed_form_to_half_a_step():
    """The oracle's own sanity: ``m - w_sp = (b_up + b_down) / (b_up - b_down) * h``, so
    ``|m - w_sp| <= h``, half a step at the symmetry point."""
    t = AnalogTile(6, 7, _sp_config(0.0), seed=2)
    m, h = _limit_cycle_midpoint(t.devices)
    sp = t.devices.symmetry_point()
    assert np.all(np.abs(m - sp) <= h * (1 + 1e-9))
    step = t.devices.a_up - t.devices.b_up * sp
    np.testing.assert_allclose(2 * h, step, rtol=0.1)  # h is about half a step


@pytest.mark.parametrize("ramp", [0, 250])
def test_symmetry_points_pulses_vs_closed_form_noise_free(ramp):
    """Noise off: the protocol's estimate is the 2-cycle's midpoint (to 1e-9 after 2000 pairs,
    the transient having decayed like (1 - b_up + b_down)^pairs ~ e^-40), which is within half
    a step of the closed-form symmetry point."""
    t = AnalogTile(4, 5, _sp_config(0.0, **{"reference.sp_ramp": ramp,
                                            "reference.sp_pairs": 2000}), seed=3)
    sp_closed = t.find_symmetry_points("closed_form")
    sp = t.find_symmetry_points("pulses")
    m, h = _limit_cycle_midpoint(t.devices)
    np.testing.assert_allclose(sp, m, rtol=0, atol=1e-9)
    assert np.all(np.abs(sp - sp_closed) <= h + 1e-9)
    # The devices are left oscillating around their symmetry points, as in hardware.
    assert np.all(np.abs(t.w - sp_closed) <= 4 * h)
    np.testing.assert_array_equal(t.get_weights(), t.w - t.ref)


def test_symmetry_points_pulses_vs_closed_form_with_noise():
    """Cycle-to-cycle noise c: around its 2-cycle the after-down weight is an AR(1) process,
    ``e' = rho e + eta`` with ``1 - rho ~ beta = b_up - b_down`` per pair and
    ``Var(eta) ~ 2 c^2 delta^2`` (delta: the step at the symmetry point); the mean over N pairs
    has standard error ``sigma = sqrt(2) c delta / (beta sqrt(N))`` (N = 10000 pairs here, much
    longer than the correlation time 1 / beta ~ 30 pairs). The dynamics are affine in w and the
    noise has mean 1, so the mean is unbiased: the error from the 2-cycle midpoint is within
    5 sigma for every device, and the tolerance against the closed form is h + 5 sigma
    (h: half a step)."""
    c = 0.3
    t = AnalogTile(4, 5, _sp_config(c, **{"reference.sp_pairs": 40_000,
                                          "reference.sp_average": 0.25}), seed=4)
    dev = t.devices
    sp_closed = dev.symmetry_point()
    sp = t.find_symmetry_points("pulses")
    m, h = _limit_cycle_midpoint(dev)
    delta = dev.a_up - dev.b_up * sp_closed
    beta = dev.b_up - dev.b_down
    sigma = math.sqrt(2) * c * delta / (beta * math.sqrt(10_000))
    z = (sp - m) / sigma
    assert np.all(np.abs(z) < 5), z
    assert 0.4 < np.sqrt(np.mean(z**2)) < 1.6  # the error model is neither too loose nor tight
    assert np.all(np.abs(sp - sp_closed) <= h + 5 * sigma)


def test_closed_form_leaves_devices_untouched(tile):
    w = tile.w.copy()
    sp = tile.find_symmetry_points("closed_form")
    np.testing.assert_array_equal(tile.w, w)
    np.testing.assert_array_equal(sp, tile.devices.symmetry_point())
    assert tile.symmetry_points is sp


# ------------------------------------------------------------------------------------------
# Zero-shifting
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("std", [0.0, 0.02])
def test_zero_shift_programs_reference_to_symmetry_point(std):
    """After zero-shifting, a device at its symmetry point reads ``sp - ref``, which is zero up
    to the programming error: ``ref - sp`` has mean 0 and std ``reference_std`` (900 devices:
    within 5 standard errors)."""
    cfg = config({"device.up_down": 0.5, "reference.reference_std": std,
                  "reference.sp_method": "closed_form"})
    t = AnalogTile(30, 30, cfg, seed=5)
    W = np.random.default_rng(0).uniform(-0.05, 0.05, size=(30, 30))
    t.set_weights(W)
    sp = t.zero_shift()
    np.testing.assert_array_equal(sp, t.devices.symmetry_point())
    err = t.ref - sp
    n = err.size
    if std == 0:
        np.testing.assert_array_equal(err, 0.0)
    else:
        assert abs(err.mean()) < 5 * std / math.sqrt(n)
        assert abs(err.std() / std - 1) < 5 / math.sqrt(2 * n)
    # The weights are kept (re-programmed against the new reference) where the device can.
    ok = (W + t.ref >= t.devices.w_min) & (W + t.ref <= t.devices.w_max)
    assert ok.mean() > 0.9
    np.testing.assert_allclose(t.get_weights()[ok], W[ok], rtol=0, atol=1e-15)


def test_zero_shift_with_pulse_protocol():
    cfg = config({"device.up_down": 0.5, "device.dw_min": 0.01, "reference.reference_std": 0.0,
                  "reference.sp_pairs": 3000})
    t = AnalogTile(5, 6, cfg, seed=6)
    sp = t.zero_shift()  # default method: pulses
    np.testing.assert_array_equal(t.ref, sp)
    m, h = _limit_cycle_midpoint(t.devices)
    assert np.all(np.abs(sp - t.devices.symmetry_point()) <= h + 0.05)
    np.testing.assert_allclose(t.get_weights(), 0.0, atol=1e-15)


@pytest.mark.parametrize("zero_shift", [False, True])
def test_zero_shift_moves_the_drift_target_to_zero(zero_shift):
    """Kim et al. 2019: zero-mean random updates drive every device to (about) its symmetry
    point. The weight read there is ``sp - mid`` without zero-shifting (1/3 for up_down = 0.5,
    bounds +-1, no variation) and 0 with it. Tolerance 0.05: the spread of the weights
    around sp is ~0.1 per device (20 devices, 10 snapshots, so the standard error of the mean
    is ~0.02), and several pulses per coincidence shift the stationary mean by ~0.01."""
    cfg = config(NO_VARIATION, **{"device.up_down": 0.5, "device.dw_min": 0.01,
                                  "device.w_min": -1.0, "device.w_max": 1.0,
                                  "reference.sp_method": "closed_form"})
    t = AnalogTile(4, 5, cfg, seed=7)
    if zero_shift:
        t.zero_shift()
    rs = np.random.default_rng(1)

    def signs(B, n):
        return rs.choice([-1.0, 1.0], (B, n))

    t.update(signs(1000, 5), signs(1000, 4), 0.03)  # burn-in: ~3 pulses per sample
    snaps = []
    for _ in range(10):
        t.update(signs(200, 5), signs(200, 4), 0.03)
        snaps.append(t.get_weights())
    target = 0.0 if zero_shift else 1 / 3
    assert abs(np.mean(snaps) - target) < 0.05


# ------------------------------------------------------------------------------------------
# Threads
# ------------------------------------------------------------------------------------------

def test_symmetry_search_serial_equals_parallel(restore_threads):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba was started with a single thread")
    out = []
    for threads in (1, 2):
        numba.set_num_threads(threads)
        t = AnalogTile(8, 5, _sp_config(0.3, **{"reference.sp_pairs": 200}), seed=8)
        out.append((t.find_symmetry_points("pulses"), t.w.copy()))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])


# ------------------------------------------------------------------------------------------
# Weight scaling (digital output scale)
# ------------------------------------------------------------------------------------------

def test_weight_scale_maps_network_weights_onto_a_fraction_of_the_device_range(rng):
    alpha = 4.0
    cfg = config(NO_VARIATION, mapping__weight_scale=alpha, forward__is_perfect=True,
                 backward__is_perfect=True)
    tile = AnalogTile(5, 7, cfg, seed=0)
    W = rng.uniform(-2.0, 2.0, (5, 7))
    assert tile.set_weights(W) == 0.0  # |W| / 4 <= 0.5 fits the +-1 devices
    np.testing.assert_allclose(tile.w - tile.ref, W / alpha, rtol=1e-15)
    np.testing.assert_allclose(tile.get_weights(), W, rtol=1e-15)
    x, d = rng.normal(size=(3, 7)), rng.normal(size=(3, 5))
    np.testing.assert_allclose(tile.forward(x), x @ W.T, rtol=1e-12)
    np.testing.assert_allclose(tile.backward(d), d @ W, rtol=1e-12)
    # the update stays SGD on the network weight, W <- W - lr d x^T (the devices move by
    # lr / alpha d x^T)
    cfg_ideal = config(NO_VARIATION, mapping__weight_scale=alpha, update__mode="ideal")
    t2 = AnalogTile(5, 7, cfg_ideal, seed=0)
    t2.set_weights(W)
    t2.update(x[:1], d[:1], 0.01)
    np.testing.assert_allclose(t2.get_weights(), W - 0.01 * np.outer(d[0], x[0]), rtol=1e-12,
                               atol=1e-14)


def test_weight_scale_pulsed_update_is_sgd_on_network_weights():
    """Pulsed update with alpha = 4 on a linear device: the mean change of the network weight
    over many independent pulse streams is -lr d x^T (the devices move by 1/alpha of it)."""
    from rramsim.rng import stream_states

    alpha, lr = 4.0, 0.05
    cfg = config(NO_VARIATION, device__model="constant_step", device__dw_min=0.002,
                 mapping__weight_scale=alpha, update__bl=64)
    x, d = np.array([0.9, -0.4, 0.7]), np.array([0.3, -0.5])
    # lr max|x d| / (alpha dw_min) = 2.8 < bl: no probability is clipped
    changes = []
    for k in range(3000):
        tile = AnalogTile(2, 3, cfg, seed=1)
        tile._x_state[:] = stream_states([k, 0], 1)
        tile._row_states[:] = stream_states([k, 1], 2)
        w0 = tile.get_weights()
        tile.update(x, d, lr)
        changes.append(tile.get_weights() - w0)
    changes = np.array(changes)
    expected = -lr * np.outer(d, x)
    sem = changes.std(axis=0) / math.sqrt(len(changes))
    assert np.all(np.abs(changes.mean(axis=0) - expected) < 4.5 * sem + 1e-12)
    # one device pulse moves the network weight by alpha * dw_min
    steps = np.unique(np.round(np.abs(changes[changes != 0]) / (alpha * 0.002), 9))
    assert np.all(steps == np.round(steps))


def test_weight_scale_scales_output_noise_and_survives_zero_shift():
    alpha = 4.0
    cfg = config(NO_VARIATION, device__up_down=0.5, mapping__weight_scale=alpha,
                 forward__out_noise=0.05, forward__inp_bits=0, forward__out_bits=0,
                 forward__noise_management=False, forward__bound_management=False,
                 reference__sp_method="closed_form")
    tile = AnalogTile(200, 4, cfg, seed=2)
    W = np.linspace(-1.5, 1.5, 800).reshape(200, 4)
    tile.set_weights(W)
    x = np.full((50, 4), 0.25)
    noise = tile.forward(x) - x @ W.T
    # the noise is added in device units, then scaled digitally: alpha x 0.05 in network units
    assert noise.std() == pytest.approx(alpha * 0.05, rel=0.05)
    sp = tile.zero_shift()
    np.testing.assert_allclose(tile.ref, sp)
    np.testing.assert_allclose(tile.get_weights(), W, atol=1e-12)  # W kept through the shift
    np.testing.assert_allclose(tile.w, sp + W / alpha, atol=1e-12)


def test_weight_scale_must_be_positive():
    from rramsim.config import ConfigError

    with pytest.raises(ConfigError, match="mapping.weight_scale = 0.0 is out of range"):
        config(mapping__weight_scale=0.0)


# ------------------------------------------------------------------------------------------
# State: the tile saves and restores itself
# ------------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::rramsim.errors.RramsimWarning")  # deliberately strong
def test_tile_state_round_trip_continues_the_same_numbers(rng):
    cfg = config(reference__zero_shift=True, reference__sp_method="closed_form")
    a = AnalogTile(5, 7, cfg, seed=3)
    a.zero_shift()
    x, d = rng.uniform(-1, 1, (4, 7)), rng.uniform(-1, 1, (4, 5))
    a.update(x, d, 0.1)
    a.forward(x)
    state = a.state_dict()
    assert set(state) == {"w", "ref", "a_up", "a_down", "b_up", "b_down", "w_min", "w_max",
                          "_fwd_state", "_bwd_state", "_x_state", "_row_states"}
    b = AnalogTile(5, 7, cfg, seed=99)  # other devices, other streams
    b.load_state_dict(state)
    np.testing.assert_array_equal(b.get_weights(), a.get_weights())
    for key, value in b.state_dict().items():
        np.testing.assert_array_equal(value, state[key], err_msg=key)
    # the copies are the tile's own: changing the state dict changes nothing
    state["w"][...] = 0.0
    assert np.abs(b.w).max() > 0
    np.testing.assert_array_equal(b.forward(x), a.forward(x))  # same output-noise stream
    np.testing.assert_array_equal(b.backward(d), a.backward(d))
    before = a.pulse_count
    a.update(x, d, 0.1)
    b.update(x, d, 0.1)  # same pulse trains, same per-device parameters
    np.testing.assert_array_equal(b.w, a.w)
    assert b.pulse_count == a.pulse_count - before > 0


def test_tile_load_state_rejects_a_wrong_state_and_changes_nothing():
    a = AnalogTile(3, 4, config(), seed=0)
    state = a.state_dict()
    before = a.state_dict()
    missing = {k: v for k, v in state.items() if k != "_row_states"}
    with pytest.raises(KeyError, match="_row_states"):
        a.load_state_dict(missing)
    wrong = dict(state, a_up=np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"'a_up': shape \(4, 3\) != \(3, 4\)"):
        a.load_state_dict(dict(wrong, w=state["w"] + 0.01))
    for key, value in a.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


def test_bad_constructor_and_update_arguments_are_clear():
    from rramsim.errors import ConfigError, InputError

    with pytest.raises(InputError, match=r"config must be a TileConfig.*load_preset"):
        AnalogTile(4, 6, "softbounds_symmetric")
    with pytest.raises(InputError, match="tile size must be positive integers, got n_out=2.5"):
        AnalogTile(2.5, 6)
    with pytest.raises(InputError, match="tile size must be positive integers, got n_in=True"):
        AnalogTile(3, True)
    tile = AnalogTile(2, 3, seed=0)
    with pytest.raises(InputError, match="learning rate must be finite and >= 0 .a number., got"):
        tile.update(np.ones(3), np.ones(2), lr="0.01")
    off = AnalogTile(2, 3, config({"reference.enabled": False}), seed=0)
    with pytest.raises(ConfigError, match="needs reference.enabled = true"):
        off.zero_shift("closed_form")
