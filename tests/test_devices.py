"""Device model: parameter draws (aihwkit convention), pulse responses against closed-form
recursions and the numpy twins, saturation, bounds, symmetry points."""

import math

import naive
import numpy as np
import pytest
from bench_kernels import count_pulses as _count_pulses
from bench_kernels import update_trains as _update_trains
from conftest import NO_VARIATION, config

from rramsim.analog.devices import DeviceArray, nominal_device, pulse_response, sample_devices
from rramsim.kernels.device import _pulse_sequence, _symmetry_search, apply_pulses
from rramsim.kernels.update import expected_pulses, pulsed_update
from rramsim.rng import stream_states


def _device(model="soft_bounds", **changes):
    """Nominal (variation-free) DeviceConfig with some fields changed."""
    over = {**NO_VARIATION, "device.model": model}
    over.update({f"device.{k}": v for k, v in changes.items()})
    return config(over).device


# ------------------------------------------------------------------------------------------
# Parameter draws
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("up_down", [-0.4, 0.0, 0.5])
def test_nominal_parameters_follow_aihwkit_convention(up_down):
    cfg = _device(dw_min=0.01, up_down=up_down, w_min=-0.8, w_max=1.2)
    dev = sample_devices(cfg, (2, 3), seed=1)
    np.testing.assert_allclose(dev.a_up, 0.01 * (1 + min(up_down, 0.0)), rtol=1e-15)
    np.testing.assert_allclose(dev.a_down, 0.01 * (1 - max(up_down, 0.0)), rtol=1e-15)
    np.testing.assert_array_equal(dev.w_max, 1.2)
    np.testing.assert_array_equal(dev.w_min, -0.8)
    np.testing.assert_allclose(dev.b_up, dev.a_up / 1.2, rtol=1e-15)
    np.testing.assert_allclose(dev.b_down, dev.a_down / -0.8, rtol=1e-15)
    assert dev.ctoc == 0.0 and dev.shape == (2, 3)
    if up_down > 0:  # DESIGN: up_down > 0 makes the down steps smaller
        assert np.all(dev.a_down < dev.a_up)


def test_constant_step_has_zero_slopes():
    dev = sample_devices(config({"device.model": "constant_step"}).device, (3, 4), seed=2)
    assert np.all(dev.b_up == 0.0) and np.all(dev.b_down == 0.0)


def test_device_to_device_statistics():
    cfg = config({"device.dw_min_dtod": 0.1, "device.up_down_dtod": 0.05,
                  "device.w_max_dtod": 0.1, "device.w_min_dtod": 0.2}).device
    dev = sample_devices(cfg, (200, 200), seed=3)
    g = (dev.a_up + dev.a_down) / (2 * cfg.dw_min)  # = 1 + dtod xi1
    r = (dev.a_up - dev.a_down) / (2 * cfg.dw_min)  # = up_down_dtod xi2
    n = g.size
    for v, mean, std in ((g, 1.0, 0.1), (r, 0.0, 0.05), (dev.w_max / cfg.w_max, 1.0, 0.1),
                         (dev.w_min / cfg.w_min, 1.0, 0.2)):
        assert abs(v.mean() - mean) < 5 * std / math.sqrt(n)
        assert abs(v.std() / std - 1.0) < 5 / math.sqrt(2 * n)


@pytest.mark.filterwarnings("ignore::rramsim.errors.RramsimWarning")  # deliberately strong
def test_extreme_variation_keeps_steps_positive_and_bounds_on_their_side():
    cfg = config({"device.dw_min_dtod": 3.0, "device.up_down_dtod": 2.0,
                  "device.w_max_dtod": 3.0, "device.w_min_dtod": 3.0}).device
    dev = sample_devices(cfg, (40, 40), seed=4)
    assert np.all(dev.a_up >= 0) and np.all(dev.a_down >= 0)
    assert np.all(dev.w_max >= cfg.dw_min) and np.all(dev.w_min <= -cfg.dw_min)
    assert np.all(dev.b_up >= 0) and np.all(dev.b_down <= 0)


def test_sample_devices_reproducible():
    cfg = config().device
    a, b, c = (sample_devices(cfg, (3, 5), seed=s) for s in (7, 7, 8))
    for x, y in zip(a.kernel_args(), b.kernel_args()):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.a_up, c.a_up)


def test_subset_flattens_in_kernel_order():
    dev = sample_devices(config().device, (3, 4), seed=5)
    sub = dev.subset((slice(1, 3), slice(None)))
    assert sub.shape == (8,)
    np.testing.assert_array_equal(sub.w_max, dev.w_max[1:3].ravel())
    assert sub.ctoc == dev.ctoc


# ------------------------------------------------------------------------------------------
# Pulse responses against closed forms
# ------------------------------------------------------------------------------------------

def test_soft_bounds_closed_form_recursion():
    """n pulses from w0 (noise off): up ``w_max - (w_max - w0)(1 - a_up/w_max)^n``, down
    ``w_min + (w0 - w_min)(1 - a_down/|w_min|)^n``."""
    cfg = _device(dw_min=0.02, up_down=0.3, w_min=-0.7, w_max=0.9)
    dev = nominal_device(cfg)
    a_up, a_down = dev.a_up[0], dev.a_down[0]
    n = np.arange(401)
    for w0 in (-0.5, 0.0, 0.4):
        up = pulse_response(dev, np.ones(400, dtype=int), w0=w0)[:, 0]
        np.testing.assert_allclose(up, 0.9 - (0.9 - w0) * (1 - a_up / 0.9) ** n,
                                   rtol=0, atol=1e-13)
        down = pulse_response(dev, -np.ones(400, dtype=int), w0=w0)[:, 0]
        np.testing.assert_allclose(down, -0.7 + (w0 + 0.7) * (1 - a_down / 0.7) ** n,
                                   rtol=0, atol=1e-13)


def test_config_docstring_form_equals_kernel_form():
    """DeviceConfig documents ``w + a_up (1 - w / w_max)``; the kernel computes
    ``w + (a_up - b_up w)`` with ``b_up = a_up / w_max``: equal to float rounding."""
    cfg = _device(dw_min=0.05, up_down=-0.2, w_min=-0.6, w_max=0.8)
    dev = nominal_device(cfg)
    w0 = np.linspace(-0.59, 0.79, 50)
    flat = DeviceArray(*(np.repeat(a, 50) for a in dev.kernel_args()), ctoc=0.0)
    up = pulse_response(flat, [1], w0=w0)[1]
    down = pulse_response(flat, [-1], w0=w0)[1]
    np.testing.assert_allclose(up, w0 + dev.a_up[0] * (1 - w0 / 0.8), rtol=0, atol=1e-15)
    np.testing.assert_allclose(down, w0 - dev.a_down[0] * (1 - w0 / -0.6), rtol=0, atol=1e-15)


def test_constant_step_clips_at_the_bounds():
    cfg = _device("constant_step", dw_min=0.03, up_down=0.2, w_min=-0.5, w_max=0.4)
    dev = nominal_device(cfg)
    a_up, a_down = dev.a_up[0], dev.a_down[0]
    n = np.arange(101)
    w0 = 0.105  # no pulse count lands exactly on a bound
    up = pulse_response(dev, np.ones(100, dtype=int), w0=w0)[:, 0]
    np.testing.assert_allclose(up, np.minimum(w0 + n * a_up, 0.4), rtol=0, atol=1e-13)
    k = math.ceil((0.4 - w0) / a_up)
    assert np.all(up[k:] == 0.4) and np.all(up[:k] < 0.4)  # reaches the bound exactly, stays
    down = pulse_response(dev, -np.ones(100, dtype=int), w0=w0)[:, 0]
    np.testing.assert_allclose(down, np.maximum(w0 - n * a_down, -0.5), rtol=0, atol=1e-13)
    k = math.ceil((w0 + 0.5) / a_down)
    assert np.all(down[k:] == -0.5) and np.all(down[:k] > -0.5)


def test_soft_bounds_approach_but_never_cross():
    cfg = _device(dw_min=0.05, w_min=-0.5, w_max=0.5)
    dev = nominal_device(cfg)
    up = pulse_response(dev, np.ones(2000, dtype=int), w0=-0.5)[:, 0]
    assert np.all(np.diff(up) >= 0) and np.all(up <= 0.5)
    assert 0.5 - up[100] > 0 and 0.5 - up[-1] < 1e-12  # approaches geometrically
    down = pulse_response(dev, -np.ones(2000, dtype=int), w0=0.5)[:, 0]
    assert np.all(np.diff(down) <= 0) and np.all(down >= -0.5)
    assert down[-1] + 0.5 < 1e-12


@pytest.mark.parametrize("model", ["soft_bounds", "constant_step"])
def test_expected_pulses_closed_form_equals_pulse_by_pulse(model):
    """``expected_pulses`` for integer n against n noise-free pulses, both directions."""
    dev = sample_devices(config({"device.model": model, "device.dw_min": 0.02,
                                 "device.up_down": 0.3}).device, (6,), seed=6)
    for k in range(6):
        args = tuple(float(a[k]) for a in dev.kernel_args())
        one = DeviceArray(*(a[k:k + 1] for a in dev.kernel_args()), ctoc=0.0)
        for go_up in (True, False):
            seq = pulse_response(one, np.full(80, 1 if go_up else -1), w0=0.05)[:, 0]
            closed = [expected_pulses(0.05, float(n), go_up, *args) for n in range(81)]
            np.testing.assert_allclose(closed, seq, rtol=0, atol=1e-13)


def test_expected_pulses_degenerate_device_equals_pulse_by_pulse():
    """A soft-bound device whose up step overshoots its bound (b_up = 1.4): integer n pulses in
    closed form equal the pulses (the first one lands on the bound)."""
    one = DeviceArray(*(np.array([v]) for v in (0.7, 0.3, 1.4, -0.6, -0.5, 0.5)), ctoc=0.0)
    args = tuple(float(a[0]) for a in one.kernel_args())
    for go_up in (True, False):
        seq = pulse_response(one, np.full(10, 1 if go_up else -1), w0=0.05)[:, 0]
        closed = [expected_pulses(0.05, float(n), go_up, *args) for n in range(11)]
        np.testing.assert_allclose(closed, seq, rtol=0, atol=1e-13)
        assert all(np.isfinite(expected_pulses(0.05, n, go_up, *args)) for n in (0.3, 2.5))


def test_expected_pulses_matches_twin_for_real_n():
    dev = sample_devices(config({"device.dw_min": 0.02, "device.up_down": -0.3}).device, (5,),
                         seed=7)
    rs = np.random.default_rng(0)
    for k in range(5):
        args = tuple(float(a[k]) for a in dev.kernel_args())
        for _ in range(20):
            w = float(rs.uniform(args[4], args[5]))
            n = float(rs.uniform(0, 40))
            go_up = bool(rs.integers(2))
            assert expected_pulses(w, n, go_up, *args) == pytest.approx(
                naive.expected_pulses(w, n, go_up, *args), rel=0, abs=1e-12)


# ------------------------------------------------------------------------------------------
# Kernels against their twins (noise on)
# ------------------------------------------------------------------------------------------

def test_pulse_sequence_matches_twin():
    dev = sample_devices(config({"device.dw_min": 0.02, "device.dw_min_ctoc": 0.7}).device,
                         (2, 3), seed=8).subset(slice(None))
    rs = np.random.default_rng(1)
    dirs = rs.choice(np.array([-1, 1], dtype=np.int8), size=300)
    w0 = rs.uniform(-0.3, 0.3, size=6)
    states = stream_states(9, 6)
    twin_states = states.copy()
    got = _pulse_sequence(w0, dirs, *dev.kernel_args(), dev.ctoc, states)
    want = naive.pulse_sequence(w0, dirs, *dev.kernel_args(), dev.ctoc, twin_states)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(states, twin_states)
    # The public wrapper seeds the same streams.
    np.testing.assert_array_equal(pulse_response(dev, dirs, w0=w0, seed=9), want)


def test_symmetry_search_matches_twin():
    dev = sample_devices(config({"device.dw_min": 0.02, "device.up_down": 0.4}).device, (3, 4),
                         seed=10)
    w = np.random.default_rng(2).uniform(-0.2, 0.2, size=(3, 4))
    states = stream_states(11, 3)
    twin_states = states.copy()
    sp_want, w_want = naive.symmetry_search(w, *dev.kernel_args(), dev.ctoc, 25, 60, 15,
                                            twin_states)
    w_got = w.copy()
    sp_got = _symmetry_search(w_got, *dev.kernel_args(), dev.ctoc, 25, 60, 15, states)
    np.testing.assert_array_equal(sp_got, sp_want)
    np.testing.assert_array_equal(w_got, w_want)
    np.testing.assert_array_equal(states, twin_states)


def test_count_pulses_matches_twin():
    dev = sample_devices(config({"device.dw_min": 0.01}).device, (5,), seed=12)
    states = stream_states(13, 1)
    twin_states = states.copy()
    got = _count_pulses(200, True, *dev.kernel_args(), dev.ctoc, states)
    want = naive.count_pulses(200, True, *dev.kernel_args(), dev.ctoc, twin_states)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(states, twin_states)


def test_update_trains_draws_the_updates_trains():
    """The benchmark's trains-only kernel draws exactly the trains of a pulsed update: without
    cycle-to-cycle noise both leave every stream in the same state."""
    rng = np.random.default_rng(16)
    X, D = rng.uniform(-1, 1, (6, 9)), rng.normal(0, 0.05, (6, 4))
    X[X < -0.5] = 0.0
    dev = sample_devices(config({"device.dw_min_ctoc": 0.0}).device, (4, 9), seed=17)
    w = np.zeros((4, 9))
    for plm in (False, True):
        xs, rs = stream_states(18, 1), stream_states(19, 4)
        xs2, rs2 = xs.copy(), rs.copy()
        pulsed_update(w, w.copy(), np.zeros_like(w), dev.kernel_args(), 0.0, X, D, 0.1, 0.01, 31,
                      True, plm, xs, rs)
        fired = _update_trains(X, D, 0.1, 0.01, 31, True, plm, xs2, rs2)
        np.testing.assert_array_equal(xs, xs2)
        np.testing.assert_array_equal(rs, rs2)
        assert 0 < fired <= D.size


def test_apply_pulses_is_n_single_pulses():
    """The inlined multi-pulse helper equals n single pulses drawing from the same stream."""
    dev = sample_devices(config({"device.dw_min": 0.03}).device, (1,), seed=14)
    args = tuple(float(a[0]) for a in dev.kernel_args())
    s1, s2 = stream_states(15, 1), stream_states(15, 1)
    got = apply_pulses(0.1, 7, False, *args, dev.ctoc, s1, 0)
    w = 0.1
    for _ in range(7):
        w = naive.pulse(w, False, *args, dev.ctoc, s2, 0)
    assert got == w and s1[0] == s2[0]


# ------------------------------------------------------------------------------------------
# Bounds and symmetry points
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["soft_bounds", "constant_step"])
def test_weights_never_leave_bounds_under_noisy_pulses(model):
    """Long random sequences with runs of ups and downs, cycle-to-cycle noise so large that
    single steps change sign and overshoot: every weight stays inside its device's bounds."""
    dev = sample_devices(config({"device.model": model, "device.dw_min": 0.05,
                                 "device.dw_min_ctoc": 2.0, "device.up_down": 0.3}).device,
                         (30,), seed=16)
    rs = np.random.default_rng(3)
    runs = rs.integers(1, 60, size=400)
    dirs = np.repeat(np.where(np.arange(400) % 2 == 0, 1, -1), runs)
    w = pulse_response(dev, dirs, w0=rs.uniform(-0.5, 0.5, size=30), seed=17)
    assert np.all(w >= dev.w_min) and np.all(w <= dev.w_max)
    assert np.any(w == dev.w_max) and np.any(w == dev.w_min)  # the bounds were reached


def test_symmetry_point_closed_form():
    dev = sample_devices(config({"device.up_down": 0.5}).device, (10, 10), seed=18)
    sp = dev.symmetry_point()
    design = (dev.a_up - dev.a_down) / (dev.a_up / dev.w_max - dev.a_down / dev.w_min)
    np.testing.assert_allclose(sp, np.clip(design, dev.w_min, dev.w_max), rtol=1e-12)
    # An up and a down step cancel there.
    np.testing.assert_allclose(dev.a_up - dev.b_up * sp, dev.a_down - dev.b_down * sp,
                               rtol=1e-12)
    # Nominal asymmetric device (down steps half the up steps, bounds +-1): sp = 1/3.
    nom = nominal_device(_device(up_down=0.5, w_min=-1.0, w_max=1.0))
    assert nom.symmetry_point()[0] == pytest.approx(1 / 3, rel=1e-12)


def test_symmetry_point_constant_step_goes_to_bound_of_larger_step():
    for up_down, want in ((0.3, 0.6), (-0.3, -0.6), (0.0, 0.0)):
        dev = nominal_device(_device("constant_step", up_down=up_down, w_min=-0.6, w_max=0.6))
        assert dev.symmetry_point()[0] == want


# ------------------------------------------------------------------------------------------
# Input validation
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dirs", [[1, 0, -1], [1, 2], [[1, -1]]])
def test_pulse_response_rejects_bad_directions(dirs):
    with pytest.raises(ValueError, match="directions must be"):
        pulse_response(nominal_device(config().device), dirs)


def test_pulse_response_rejects_nan_start():
    with pytest.raises(ValueError, match="w0 must be finite"):
        pulse_response(nominal_device(config().device), [1], w0=float("nan"))
