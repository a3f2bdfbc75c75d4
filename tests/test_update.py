"""The update kernels: pulsed (stochastic coincidences) and expected-count updates against their
twins, unbiasedness, management invariance, the floating-point limit, thread invariance."""

import naive
import numba
import numpy as np
import pytest
from conftest import NO_VARIATION, config

from rramsim.analog.devices import pulse_response, sample_devices
from rramsim.analog.tile import AnalogTile
from rramsim.config import available_presets, load_preset
from rramsim.kernels import update as k
from rramsim.rng import stream_states

#: A linear device far from its bounds: the pulsed update's mean is exactly -lr d x^T.
LINEAR = {**NO_VARIATION, "device.model": "constant_step", "device.dw_min": 0.001,
          "device.w_min": -1e6, "device.w_max": 1e6, "reference.enabled": False}


def _batch(rs, B, n_out, n_in, zeros=True):
    X = rs.uniform(-1, 1, size=(B, n_in))
    D = rs.uniform(-1, 1, size=(B, n_out))
    if zeros:  # exercise the "nothing to do" branches: a zero input, a zero error, a zero sample
        X[0, 1] = 0.0
        D[1, 0] = 0.0
        X[2] = 0.0
    return X, D


MANAGEMENT = [(False, False), (True, False), (False, True), (True, True)]


# ------------------------------------------------------------------------------------------
# Kernels against twins
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("um,plm", MANAGEMENT)
def test_update_scales_match_twin(rng, um, plm):
    X, D = _batch(rng, 6, 4, 5)
    X[3] *= 0.01  # a small update, so pulse-length management shortens the train
    for lr in (0.0, 0.003, 0.2):
        got = k._update_scales(X, D, lr, 0.001, 31, um, plm)
        want = naive.update_scales(X, D, lr, 0.001, 31, um, plm)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    bls, cx, cd = got
    assert bls[2] == 0 and cx[2] == 0.0  # the all-zero input
    if plm:
        assert 0 < bls[3] < 31
    else:
        assert np.all(bls[[0, 1, 3, 4, 5]] == 31)
    ok = bls > 0
    np.testing.assert_allclose(cx[ok] * cd[ok], 0.2 / (0.001 * bls[ok]), rtol=1e-14)


def test_x_trains_match_twin(rng):
    X, D = _batch(rng, 5, 3, 7)
    bls, cx, _ = k._update_scales(X, D, 0.05, 0.001, 31, True, False)
    state = stream_states(1, 1)
    twin_state = state.copy()
    cols, masks, up, count = k._x_trains(X, bls, cx, state)
    want = naive.x_trains(X, bls, cx, twin_state)
    got = [[(int(cols[b, c]), int(masks[b, c]), bool(up[b, c])) for c in range(count[b])]
           for b in range(X.shape[0])]
    assert got == want
    assert state[0] == twin_state[0]
    assert count[2] == 0


def test_bernoulli_train_matches_twin_and_extremes():
    for p in (0.0, 1e-3, 0.3, 0.5, 0.999, 1.0):
        for bl in (1, 2, 31, 64):
            s, t = stream_states(2, 1), stream_states(2, 1)
            assert int(k.bernoulli_train(p, bl, s, 0)) == naive.bernoulli_train(p, bl, t, 0)
            assert s[0] == t[0]
    s = stream_states(3, 1)
    assert int(k.bernoulli_train(1.0, 64, s, 0)) == 2**64 - 1
    assert int(k.bernoulli_train(1.0, 31, s, 0)) == 2**31 - 1
    assert int(k.bernoulli_train(0.0, 31, s, 0)) == 0


def test_bernoulli_train_firing_rate():
    """Slots fire independently with probability p: the count over 4000 trains of 31 slots is
    within 5 standard errors of 31 p."""
    s = stream_states(4, 1)
    p = 0.37
    counts = [bin(int(k.bernoulli_train(p, 31, s, 0))).count("1") for _ in range(4000)]
    n = 31 * 4000
    assert abs(sum(counts) / n - p) < 5 * np.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("um,plm", MANAGEMENT)
@pytest.mark.parametrize("model", ["soft_bounds", "constant_step"])
def test_pulsed_update_matches_twin(rng, model, um, plm):
    cfg = config({"device.model": model, "device.dw_min": 0.01, "device.up_down": 0.3,
                  "device.dw_min_ctoc": 0.5})
    dev = sample_devices(cfg.device, (4, 5), seed=5)
    w0 = rng.uniform(-0.3, 0.3, size=(4, 5))
    ref = rng.uniform(-0.1, 0.1, size=(4, 5))
    X, D = _batch(rng, 6, 4, 5)
    x_state, row_states = stream_states(6, 1), stream_states(7, 4)
    tx, tr = x_state.copy(), row_states.copy()
    w, w_eff = w0.copy(), w0 - ref
    n = k.pulsed_update(w, w_eff, ref, dev.kernel_args(), dev.ctoc, X, D, 0.4, 0.01, 31, um,
                        plm, x_state, row_states)
    w_t, w_eff_t, n_t = naive.pulsed_update(w0, ref, dev.kernel_args(), dev.ctoc, X, D, 0.4,
                                            0.01, 31, um, plm, tx, tr)
    np.testing.assert_array_equal(w, w_t)
    np.testing.assert_array_equal(w_eff, w_eff_t)
    assert n == n_t > 0
    np.testing.assert_array_equal(x_state, tx)
    np.testing.assert_array_equal(row_states, tr)


@pytest.mark.parametrize("um,plm", MANAGEMENT)
def test_expected_update_matches_twin(rng, um, plm):
    cfg = config({"device.dw_min": 0.01, "device.up_down": -0.4})
    dev = sample_devices(cfg.device, (4, 5), seed=8)
    w0 = rng.uniform(-0.3, 0.3, size=(4, 5))
    ref = np.full((4, 5), 0.05)
    X, D = _batch(rng, 6, 4, 5)
    w, w_eff = w0.copy(), w0 - ref
    k.expected_update(w, w_eff, ref, dev.kernel_args(), X, D, 0.3, 0.01, 31, um, plm)
    w_t, w_eff_t = naive.expected_update(w0, ref, dev.kernel_args(), X, D, 0.3, 0.01, 31, um,
                                         plm)
    np.testing.assert_allclose(w, w_t, rtol=0, atol=1e-12)
    np.testing.assert_allclose(w_eff, w_eff_t, rtol=0, atol=1e-12)
    assert not np.array_equal(w, w0)


def test_tile_pulse_count_is_number_of_device_pulses():
    """A constant-step device far from its bounds moves by exactly dw_min per pulse; with one
    sample repeated every device only moves one way, so the count is the total movement."""
    tile = AnalogTile(3, 4, config(LINEAR), seed=9)
    x, d = np.array([0.3, -0.9, 0.5, 0.1]), np.array([0.7, -0.2, -1.0])
    tile.update(np.tile(x, (6, 1)), np.tile(d, (6, 1)), 0.02)
    steps = tile.get_weights() / 0.001
    np.testing.assert_allclose(steps, np.round(steps), rtol=0, atol=1e-6)
    assert np.all(np.sign(steps) * np.sign(-np.outer(d, x)) >= 0)
    assert tile.pulse_count == int(np.round(np.abs(steps)).sum()) > 0


# ------------------------------------------------------------------------------------------
# Statistics and limits
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("um,plm", [(True, False), (False, False), (True, True)])
def test_pulsed_update_is_unbiased(um, plm):
    """Mean over T trials of one rank-one update on a linear device equals -lr d x^T.

    Per trial the coincidence count of device (i, j) is Binomial(bl, p_j q_i), so the mean
    change has standard error ``dw_min sqrt(bl p q (1 - p q) / T)``; every |z| < 4.5 (with 12
    devices a false alarm has probability ~1e-4; the seed is fixed anyway).
    """
    cfg = config(LINEAR, **{"update.update_management": um,
                            "update.pulse_length_management": plm})
    x = np.array([0.9, -0.35, 0.0, 0.6])
    d = np.array([-0.8, 0.25, 0.5])
    lr, T = 0.01, 20_000
    tile = AnalogTile(3, 4, cfg, seed=10)
    tile.update(np.tile(x, (T, 1)), np.tile(d, (T, 1)), lr)
    mean = tile.get_weights() / T
    want = -lr * np.outer(d, x)
    bls, cx, cd = naive.update_scales(x[None], d[None], lr, 0.001, 31, um, plm)
    pq = np.outer(np.minimum(cd[0] * np.abs(d), 1), np.minimum(cx[0] * np.abs(x), 1))
    np.testing.assert_allclose(bls[0] * pq * 0.001, np.abs(want), rtol=1e-12)  # no clipping
    se = 0.001 * np.sqrt(bls[0] * pq * (1 - pq) / T)
    z = np.divide(mean - want, se, out=np.zeros_like(se), where=se > 0)
    assert np.all(np.abs(z) < 4.5), z
    assert np.all(mean[:, 2] == 0.0)  # x_j = 0 never fires


def test_expected_update_independent_of_management(rng):
    """Update management and pulse-length management change how the mean count ``bl p q`` is
    split between x and d, not its value: same expected update to float precision (as long as
    no probability clips at 1). Pulse-length management without update management is left
    out: there ``C_x = C_d ~ 1 / sqrt(max|x| max|d|)``, so ``p_max = sqrt(max|x| / max|d|)``
    clips whenever max|x| > max|d| and the update comes out smaller by design."""
    X, D = _batch(rng, 5, 4, 6)
    results = []
    for um, plm in [(False, False), (True, False), (True, True)]:
        cfg = config({"update.mode": "expected", "update.update_management": um,
                      "update.pulse_length_management": plm, "device.up_down": 0.3})
        tile = AnalogTile(4, 6, cfg, seed=11)
        tile.update(X, D, 0.005)
        results.append(tile.get_weights())
    assert np.abs(results[0]).max() > 1e-3
    for r in results[1:]:
        np.testing.assert_allclose(r, results[0], rtol=0, atol=1e-13)


def test_pulsed_mean_independent_of_management():
    """Pulsed update: the mean over trials is the same with and without update management
    (both are unbiased; tested above); here the two means agree within their joint error."""
    x = np.array([0.9, -0.2, 0.5])
    d = np.array([0.3, -1.0])
    T = 20_000
    means = []
    for um in (False, True):
        tile = AnalogTile(2, 3, config(LINEAR, **{"update.update_management": um}), seed=12)
        tile.update(np.tile(x, (T, 1)), np.tile(d, (T, 1)), 0.01)
        means.append(tile.get_weights() / T)
    # Per-trial count variance <= mean count (Binomial): se <= dw_min sqrt(n / T) for each.
    n = 0.01 * np.abs(np.outer(d, x)) / 0.001
    se = 0.001 * np.sqrt(2 * n / T)
    assert np.all(np.abs(means[0] - means[1]) < 4.5 * se)


def test_expected_mode_on_ideal_device_is_sgd(rng):
    """Constant step, no variation, bounds out of reach: the expected update is floating-point
    SGD, ``W <- W - lr d_b x_b^T`` per sample, to float precision."""
    cfg = config(LINEAR, **{"update.mode": "expected", "device.dw_min": 0.01})
    tile = AnalogTile(4, 6, cfg, seed=13)
    W = rng.uniform(-1, 1, size=(4, 6))
    tile.set_weights(W)
    for _ in range(5):
        X, D = _batch(rng, 8, 4, 6)
        tile.update(X, D, 0.05)
        W = W - 0.05 * D.T @ X
    np.testing.assert_allclose(tile.get_weights(), W, rtol=0, atol=1e-12)


def test_ideal_preset_trains_like_floating_point(rng):
    """The ``ideal`` preset (perfect peripherals, expected update, linear device): forward,
    backward and update equal floating-point SGD to float precision."""
    if "ideal" not in available_presets():
        pytest.skip("preset 'ideal' not written yet")
    tile = AnalogTile(4, 6, load_preset("ideal"), seed=17)
    W = rng.uniform(-1, 1, size=(4, 6))
    tile.set_weights(W)
    for _ in range(4):
        X, D = _batch(rng, 8, 4, 6)
        np.testing.assert_allclose(tile.forward(X), X @ W.T, rtol=0, atol=1e-12)
        np.testing.assert_allclose(tile.backward(D), D @ W, rtol=0, atol=1e-12)
        tile.update(X, D, 0.1)
        W = W - 0.1 * D.T @ X
        np.testing.assert_allclose(tile.get_weights(), W, rtol=0, atol=1e-12)


def test_ideal_mode_is_sgd_clipped(rng):
    cfg = config({"update.mode": "ideal", "reference.enabled": False})
    tile = AnalogTile(3, 4, cfg, seed=14)
    X, D = _batch(rng, 4, 3, 4)
    tile.update(X, D, 0.1)
    np.testing.assert_allclose(tile.get_weights(), np.clip(-0.1 * D.T @ X, tile.devices.w_min,
                                                           tile.devices.w_max), atol=1e-15)
    tile.update(X, -D, 100.0)
    assert np.all(tile.w <= tile.devices.w_max) and np.all(tile.w >= tile.devices.w_min)


def test_expected_update_with_step_larger_than_bound():
    """Degenerate soft-bound devices whose single step overshoots the bound (b = a / w_max > 1):
    the expected update stays finite and, for an integer pulse count, equals the pulses."""
    cfg = config({"device.dw_min": 0.5, "device.dw_min_dtod": 0.5, "device.w_max": 0.4,
                  "device.w_min": -0.4, "device.w_max_dtod": 0.0, "device.w_min_dtod": 0.0,
                  "device.dw_min_ctoc": 0.0, "update.mode": "expected",
                  "reference.enabled": False})
    tile = AnalogTile(2, 3, cfg, seed=0)
    assert np.any(tile.devices.b_up > 1) and np.any(tile.devices.b_up < 1)
    tile.update(np.full(3, 0.5), np.full(2, -0.5), 0.5)  # a quarter pulse
    assert np.all(np.isfinite(tile.w))
    fresh = AnalogTile(2, 3, cfg, seed=0)
    w0 = fresh.w.ravel().copy()
    fresh.update(np.full(3, 1.0), np.full(2, -1.0), 1.0)  # lr x d / dw_min = 2 up pulses
    want = pulse_response(fresh.devices, [1, 1], w0=w0)[-1].reshape(2, 3)
    np.testing.assert_allclose(fresh.w, want, rtol=0, atol=1e-12)


@pytest.mark.filterwarnings("ignore::rramsim.errors.RramsimWarning")  # deliberately strong
@pytest.mark.parametrize("mode", ["pulsed", "expected"])
@pytest.mark.parametrize("model", ["soft_bounds", "constant_step"])
def test_updates_never_leave_bounds(rng, mode, model):
    """Many large random updates with strong cycle-to-cycle noise and asymmetry."""
    cfg = config({"device.model": model, "device.dw_min": 0.02, "device.dw_min_ctoc": 1.5,
                  "device.up_down": 0.4, "update.mode": mode})
    tile = AnalogTile(5, 6, cfg, seed=15)
    lo, hi = tile.devices.w_min, tile.devices.w_max
    reached = np.zeros((2,) + tile.shape)
    for it in range(30):
        X, D = _batch(rng, 16, 5, 6, zeros=False)
        # Mostly one direction for a while (up, then down), so the bounds are reached.
        sign = 1.0 if (it // 10) % 2 == 0 else -1.0
        D = -sign * np.abs(D) * np.sign(X[:, :1])
        tile.update(3 * X, 3 * D, 1.0)
        assert np.all(tile.w >= lo) and np.all(tile.w <= hi)
        np.testing.assert_array_equal(tile.get_weights(), tile.w - tile.ref)
        reached = np.maximum(reached, [(tile.w - lo) / (hi - lo), (hi - tile.w) / (hi - lo)])
    # Both bounds come within 2 % of the range on most devices (hit exactly for constant step).
    assert np.mean(reached > 0.98) > 0.5


def test_serial_and_parallel_updates_identical(rng, restore_threads, monkeypatch):
    """The parallel kernels (forced here for a small tile) give the serial kernels' numbers."""
    import rramsim.kernels._jit as jit_config

    monkeypatch.setattr(jit_config, "PARALLEL_MIN_WORK", 0)
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba was started with a single thread")
    cfg = config({"device.dw_min": 0.01, "device.dw_min_ctoc": 0.5})
    X, D = _batch(rng, 12, 9, 7)
    out = {}
    for threads in (1, 2):
        numba.set_num_threads(threads)
        for mode in ("pulsed", "expected"):
            tile = AnalogTile(9, 7, cfg.with_overrides({"update.mode": mode}), seed=16)
            tile.update(X, D, 0.3)
            tile.update(X[::-1], D, 0.3)
            out[threads, mode] = (tile.w.copy(), tile.pulse_count)
    for mode in ("pulsed", "expected"):
        np.testing.assert_array_equal(out[1, mode][0], out[2, mode][0])
        assert out[1, mode][1] == out[2, mode][1]


# ------------------------------------------------------------------------------------------
# Regression tests for bugs found in review
# ------------------------------------------------------------------------------------------

def test_pulse_length_management_saturates_at_bl_for_huge_updates():
    X, D = np.array([[1e10]]), np.array([[1e10]])
    bls, _, _ = k._update_scales(X, D, 1.0, 0.001, 31, True, True)
    assert bls[0] == 31


@pytest.mark.parametrize("use_slots", [True, False])
def test_sparse_coincidence_search_matches_row_scan(use_slots):
    """The serial update kernel (slot-by-slot search, pre-drawn cycle-to-cycle factors) gives
    the numbers of the row-scan kernel on the same streams: weights, pulse counts and every
    stream state, over random sizes (one and several 64-column words of fired columns), pulse
    lengths, sparse and dense inputs, with and without cycle-to-cycle noise."""
    rs = np.random.default_rng(40)
    for case in range(40):
        n_out, n_in = int(rs.integers(1, 12)), int(rs.integers(1, 150))
        B, bl = int(rs.integers(1, 4)), int(rs.integers(1, 65))
        ctoc = [0.0, 0.4][case % 2]
        dev = sample_devices(config({"device.dw_min": 0.01, "device.up_down": 0.2}).device,
                             (n_out, n_in), seed=case)
        X = rs.uniform(-1, 1, (B, n_in)) * (rs.random((B, n_in)) < rs.uniform(0.1, 1))
        D = rs.uniform(-1, 1, (B, n_out)) * (rs.random((B, n_out)) < 0.8)
        lr = float(rs.choice([0.01, 0.3, 3.0]))
        bls, cx, cd = k._update_scales(X, D, lr, 0.01, bl, True, case % 3 == 0)
        ref = rs.uniform(-0.1, 0.1, (n_out, n_in))
        w0 = rs.uniform(-0.3, 0.3, (n_out, n_in))
        x_state = stream_states(case, 1)
        trains = k._x_trains(X, bls, cx, x_state)
        out = []
        for kernel in ("scan", "sparse"):
            w, w_eff, rows = w0.copy(), w0 - ref, stream_states(100 + case, n_out)
            args = (w, w_eff, ref, *dev.kernel_args(), ctoc, D, bls, cd, *trains, rows)
            n = (k._pulsed_rows_serial(*args) if kernel == "scan"
                 else k._pulsed_rows_sparse_serial(*args, use_slots))
            out.append((w, w_eff, rows, n))
        for a, b in zip(*out):
            np.testing.assert_array_equal(a, b)
