"""Device models beyond soft bounds: linear step (with soft bounds and constant step as exact
special cases), exponential, power and piecewise step, and the measured look-up table.

Each table-driven kernel against its numpy twin (``naive.model_*``), the numeric symmetry point
against closed forms and against the pulse protocol, every update mode through a tile, the
CrossSim import, and the presets."""

import math
from pathlib import Path

import naive
import numpy as np
import pytest
from conftest import NO_VARIATION, config
from scipy.optimize import brentq

from rramsim.analog import AnalogTile
from rramsim.analog.devices import DEVICE_MODELS, nominal_device, pulse_response, sample_devices
from rramsim.analog.lut import N_QUANTILES, load_crosssim_table, lut_table, table_dw_min
from rramsim.config import TileConfig, available_presets, load_preset
from rramsim.errors import ConfigError, DataError
from rramsim.kernels import update as k_update
from rramsim.kernels.device import _pulse_sequence_model, _symmetry_search_model
from rramsim.rng import stream_states

#: One configuration per table-driven model (weights in [-1, 1], dw_min 0.02, noise on).
MODELS = {
    "exp_step": {"device.gamma_up": 12.44625, "device.gamma_down": 12.78785},
    "pow_step": {"device.pow_gamma": 1.6, "device.pow_up_down": 0.3,
                 "device.pow_gamma_dtod": 0.1, "device.pow_up_down_dtod": 0.05},
    "piecewise_step": {"device.piecewise_up": [1.6, 1.2, 0.9, 0.3],
                       "device.piecewise_down": [0.2, 0.8, 1.1, 1.5]},
    "lut": {"device.lut_table": "crosssim_enode", "device.dw_min": 0.0106},
}
BASE = {"device.dw_min": 0.02, "device.w_min": -1.0, "device.w_max": 1.0,
        "device.dw_min_ctoc": 0.2}


def _cfg(model, *extra, **over):
    items = {**BASE, **MODELS.get(model, {}), "device.model": model}
    for e in extra:
        items.update(e)
    items.update({k.replace("__", "."): v for k, v in over.items()})
    return config(items)


# ------------------------------------------------------------------------------------------
# Special cases of the linear step, exactly
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("gamma, model", [(1.0, "soft_bounds"), (0.0, "constant_step")])
def test_linear_step_special_cases_are_exact(gamma, model):
    """gamma_up = gamma_down = 1 (0) without slope variation is soft bounds (constant step):
    the same parameters bit for bit and the same pulsed training numbers for the same seed."""
    over = {"device.up_down": 0.3, "device.dw_min": 0.01}
    ref = config(over, {"device.model": model}).device
    lin = config(over, {"device.model": "linear_step", "device.gamma_up": gamma,
                        "device.gamma_down": gamma, "device.gamma_up_dtod": 0.0,
                        "device.gamma_down_dtod": 0.0}).device
    a, b = sample_devices(ref, (7, 9), seed=3), sample_devices(lin, (7, 9), seed=3)
    for x, y in zip(a.kernel_args(), b.kernel_args()):
        np.testing.assert_array_equal(x, y)
    rs = np.random.default_rng(0)
    X, D = rs.random((6, 9)), rs.normal(size=(6, 7)) * 0.1
    tiles = []
    for dev_cfg in (ref, lin):
        t = AnalogTile(7, 9, TileConfig(device=dev_cfg), seed=5)
        t.zero_shift()
        t.update(X, D, 0.1)
        tiles.append(t)
    np.testing.assert_array_equal(tiles[0].w, tiles[1].w)
    assert tiles[0].pulse_count == tiles[1].pulse_count > 0


def test_linear_step_slopes_follow_aihwkit():
    """b_up = |gamma_up + dtod xi| a_up / w_max (own bound, or the nominal one)."""
    cfg = config(NO_VARIATION, {"device.model": "linear_step", "device.gamma_up": 0.4,
                                "device.gamma_down": 0.7, "device.w_min": -0.8,
                                "device.w_max": 1.2}).device
    dev = nominal_device(cfg)
    assert dev.b_up[0] == pytest.approx(0.4 * dev.a_up[0] / 1.2, rel=1e-15)
    assert dev.b_down[0] == pytest.approx(0.7 * dev.a_down[0] / -0.8, rel=1e-15)
    spread = sample_devices(config({"device.model": "linear_step", "device.gamma_up": 0.5,
                                    "device.gamma_up_dtod": 0.1,
                                    "device.mean_bound_reference": True}).device, (100, 100),
                            seed=1)
    g = spread.b_up * 0.6 / spread.a_up  # nominal w_max 0.6
    assert abs(g.mean() - 0.5) < 0.005 and abs(g.std() - 0.1) < 0.005


def test_piecewise_single_node_is_constant_step_exactly():
    """One node of 1.0 through the table-driven kernels equals the constant step's fast path."""
    over = {"device.up_down": 0.2, "device.dw_min": 0.02, "device.dw_min_ctoc": 0.5}
    a = sample_devices(config(over, {"device.model": "constant_step"}).device, (12,), seed=4)
    b = sample_devices(config(over, {"device.model": "piecewise_step"}).device, (12,), seed=4)
    dirs = np.random.default_rng(1).choice(np.array([-1, 1]), size=400)
    np.testing.assert_array_equal(pulse_response(a, dirs, seed=2),
                                  pulse_response(b, dirs, seed=2))


# ------------------------------------------------------------------------------------------
# Kernels against their numpy twins
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", list(MODELS))
def test_pulse_sequence_matches_twin(model):
    dev = sample_devices(_cfg(model).device, (5,), seed=8)
    rs = np.random.default_rng(1)
    dirs = rs.choice(np.array([-1, 1], dtype=np.int8), size=150)
    w0 = rs.uniform(-0.9, 0.9, size=5)
    states = stream_states(9, 5)
    twin = states.copy()
    got = _pulse_sequence_model(w0, dirs, *dev.kernel_args(), dev.ctoc, states)
    want = naive.model_pulse_sequence(w0, dirs, *dev.kernel_args(), dev.ctoc, twin)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(states, twin)


@pytest.mark.parametrize("model", list(MODELS))
def test_symmetry_search_matches_twin(model):
    dev = sample_devices(_cfg(model).device, (2, 3), seed=10)
    w = np.random.default_rng(2).uniform(-0.5, 0.5, size=(2, 3))
    states = stream_states(11, 2)
    twin = states.copy()
    sp_want, w_want = naive.model_symmetry_search(w, *dev.kernel_args(), dev.ctoc, 10, 40, 10,
                                                  twin)
    w_got = w.copy()
    sp_got = _symmetry_search_model(w_got, *dev.kernel_args(), dev.ctoc, 10, 40, 10, states)
    np.testing.assert_allclose(sp_got, sp_want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(w_got, w_want, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(states, twin)


@pytest.mark.parametrize("model", list(MODELS))
def test_pulsed_and_expected_updates_match_twins(model):
    dev = sample_devices(_cfg(model).device, (4, 6), seed=12)
    rs = np.random.default_rng(3)
    X, D = rs.uniform(-1, 1, (3, 6)), rs.normal(size=(3, 4)) * 0.2
    w0 = rs.uniform(-0.5, 0.5, (4, 6))
    ref = np.full((4, 6), 0.1)
    args = dev.kernel_args()
    x_state, row_states = stream_states(1, 1), stream_states(2, 4)
    tx, tr = x_state.copy(), row_states.copy()
    w, w_eff = w0.copy(), w0 - ref
    n = k_update.pulsed_update(w, w_eff, ref, args, dev.ctoc, X, D, 0.3, 0.02, 31, True, False,
                               x_state, row_states)
    w_t, w_eff_t, n_t = naive.model_pulsed_update(w0, ref, args, dev.ctoc, X, D, 0.3, 0.02, 31,
                                                  True, False, tx, tr)
    assert n == n_t > 0
    np.testing.assert_allclose(w, w_t, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(w_eff, w_eff_t, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(row_states, tr)
    w, w_eff = w0.copy(), w0 - ref
    k_update.expected_update(w, w_eff, ref, args, X, D, 0.3, 0.02, 31, True, False)
    w_t, w_eff_t = naive.model_expected_update(w0, ref, args, X, D, 0.3, 0.02, 31, True, False)
    np.testing.assert_allclose(w, w_t, rtol=1e-12, atol=1e-14)
    assert not np.array_equal(w, w0)


# ------------------------------------------------------------------------------------------
# Step laws and symmetry points
# ------------------------------------------------------------------------------------------

def test_exp_step_law_and_numeric_symmetry_point():
    """One noise-free pulse follows aihwkit's ExpStep law; the numeric symmetry point equals a
    root found by brentq on the scalar law."""
    cfg = _cfg("exp_step", NO_VARIATION, device__dw_min_ctoc=0.0, device__up_down=0.2).device
    dev = nominal_device(cfg)
    au, ad = dev.a_up[0], dev.a_down[0]

    def law(w, up):
        z = 2 * cfg.a * w / 2.0 + cfg.b
        if up:
            return au * max(1 - cfg.A_up * math.exp(cfg.gamma_up * z), 0.0)
        return ad * max(1 - cfg.A_down * math.exp(-cfg.gamma_down * z), 0.0)

    for w0 in (-0.7, 0.0, 0.3):
        assert pulse_response(dev, [1], w0=w0)[1, 0] == pytest.approx(w0 + law(w0, True),
                                                                      abs=1e-15)
        assert pulse_response(dev, [-1], w0=w0)[1, 0] == pytest.approx(w0 - law(w0, False),
                                                                       abs=1e-15)
    root = brentq(lambda w: law(w, True) - law(w, False), -1.0, 1.0, xtol=1e-14)
    assert dev.symmetry_point()[0] == pytest.approx(root, abs=1e-12)


def test_pow_step_symmetry_point_closed_form():
    """Equal exponents: a_up w^g = a_down (1 - w)^g in the relative distance to the upper bound,
    so omega = r / (1 + r) with r = (a_down / a_up)^(1 / g)."""
    cfg = _cfg("pow_step", NO_VARIATION, device__pow_gamma=2.0, device__pow_up_down=0.0,
               device__pow_gamma_dtod=0.0, device__pow_up_down_dtod=0.0,
               device__up_down=0.4).device
    dev = nominal_device(cfg)
    r = (dev.a_down[0] / dev.a_up[0]) ** 0.5
    assert dev.symmetry_point()[0] == pytest.approx(1.0 - 2.0 * (r / (1 + r)), abs=1e-12)


def test_piecewise_symmetry_point_on_a_segment():
    """Nodes up [2, 0], down [0, 2] over [-1, 1]: steps cross at w = 0."""
    cfg = _cfg("piecewise_step", NO_VARIATION, {"device.piecewise_up": [2.0, 0.0],
                                                "device.piecewise_down": [0.0, 2.0]}).device
    assert nominal_device(cfg).symmetry_point()[0] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("model", list(MODELS) + ["linear_step"])
def test_pulse_protocol_finds_the_numeric_symmetry_point(model):
    """The symmetry-point search on a tile lands where the mean up step equals the mean down step
    (within a few steps), for every model, and zero-shifting uses it."""
    over = {"reference.sp_pairs": 3000, "reference.sp_ramp": 200, "reference.zero_shift": True,
            "device.dw_min_dtod": 0.1, "device.dw_min_ctoc": 0.1}
    if model == "linear_step":
        over.update({"device.gamma_up": 0.8, "device.gamma_down": 0.5})
    tile = AnalogTile(8, 8, _cfg(model, over), seed=3)
    closed = tile.devices.symmetry_point()
    measured = tile.find_symmetry_points("pulses")
    up, down = tile.devices.mean_steps(closed)
    step = 0.5 * (up + down)
    assert np.mean(np.abs(measured - closed)) < 3 * step.mean() + 0.01
    tile.zero_shift("closed_form")
    np.testing.assert_allclose(tile.ref, closed)


@pytest.mark.parametrize("model", list(MODELS) + ["linear_step"])
@pytest.mark.parametrize("mode", ["pulsed", "expected", "ideal"])
def test_every_update_mode_learns_a_target(model, mode):
    """A 4 x 6 tile trained by SGD on y = W* x moves towards W* in every update mode."""
    cfg = _cfg(model, {"update.mode": mode, "reference.zero_shift": True,
                       "reference.sp_method": "closed_form", "forward.is_perfect": True,
                       "backward.is_perfect": True, "device.dw_min_ctoc": 0.05})
    tile = AnalogTile(4, 6, cfg, seed=1)
    tile.zero_shift()
    rs = np.random.default_rng(0)
    target = rs.uniform(-0.15, 0.15, (4, 6))
    before = np.abs(tile.get_weights() - target).mean()
    for _ in range(300):
        x = rs.uniform(-1, 1, (1, 6))
        tile.update(x, tile.forward(x) - x @ target.T, 0.05)
    after = np.abs(tile.get_weights() - target).mean()
    assert np.all(np.isfinite(tile.w)) and after < 0.75 * before


# ------------------------------------------------------------------------------------------
# The measured look-up table
# ------------------------------------------------------------------------------------------

def test_crosssim_import_and_mapping_to_weights():
    t = load_crosssim_table("crosssim_enode")
    assert t.dg_up.shape == (122, 48) and t.g_range == pytest.approx((2.9772e-4, 9.7828e-4))
    cfg = _cfg("lut").device
    tab = lut_table(cfg, t)
    assert tab.shape == (2, 48, N_QUANTILES + 2)
    scale = 2.0 / (t.g_range[1] - t.g_range[0])  # siemens -> weight units over [-1, 1]
    up_mean, down_mean = t.mean_steps()
    np.testing.assert_allclose(tab[0, :, -1], up_mean * scale, rtol=1e-12)
    np.testing.assert_allclose(tab[1, :, -1], down_mean * scale, rtol=1e-12)
    # the table's median is the raw table's at CDF 0.5, bin by bin
    med = np.array([np.interp(0.5, t.cdf, t.dg_up[:, k]) for k in range(48)]) * scale
    np.testing.assert_allclose(tab[0, :, N_QUANTILES // 2], med, rtol=1e-12)
    assert 0.005 < table_dw_min(t) < 0.02


def test_lut_pulses_draw_the_measured_distribution():
    """Many devices at the same bin centre, one up pulse each: the steps' quantiles match the
    measured CDF of that bin (the table carries its own cycle-to-cycle noise)."""
    cfg = _cfg("lut", NO_VARIATION, device__dw_min_ctoc=0.0).device
    t = load_crosssim_table(cfg.lut_table)
    one = nominal_device(cfg)
    n, k = 20000, 20
    dev = one.subset(np.zeros(n, dtype=int))
    w_bin = -1.0 + 2.0 * k / 47
    for d, dg in ((1, t.dg_up), (-1, t.dg_down)):
        steps = (pulse_response(dev, [d], w0=w_bin, seed=3)[1] - w_bin) / (
            2.0 / (t.g_range[1] - t.g_range[0]))
        for c in (0.1, 0.25, 0.5, 0.75, 0.9):
            assert np.quantile(steps, c) == pytest.approx(np.interp(c, t.cdf, dg[:, k]),
                                                          abs=3e-7)


def test_lut_device_to_device_scales():
    cfg = _cfg("lut", {"device.dw_min_dtod": 0.2, "device.w_max_dtod": 0.1,
                       "device.w_min_dtod": 0.1, "device.up_down_dtod": 0.0}).device
    dev = sample_devices(cfg, (100, 100), seed=2)
    stretch = (dev.w_max - dev.w_min) / 2.0
    g = dev.a_up / stretch
    assert abs(g.mean() - 1.0) < 0.01 and abs(g.std() - 0.2) < 0.01
    np.testing.assert_allclose(dev.a_up, dev.a_down)


def test_bad_tables_name_the_file(tmp_path):
    src = load_crosssim_table("crosssim_enode").source
    for f in ("dG_increasing.txt", "dG_decreasing.txt"):
        (tmp_path / f).write_text((Path(src) / f).read_text())
    lines = (tmp_path / "dG_decreasing.txt").read_text().splitlines()
    lines[5] = lines[5].replace(",", ",x", 1)
    (tmp_path / "dG_decreasing.txt").write_text("\n".join(lines))
    with pytest.raises(DataError, match=r"dG_decreasing.txt: line 6 has a non-numeric cell"):
        load_crosssim_table(tmp_path)
    (tmp_path / "dG_decreasing.txt").unlink()
    with pytest.raises(DataError, match=r"dG_decreasing.txt: missing"):
        load_crosssim_table(tmp_path)
    with pytest.raises(ConfigError, match=r"no shipped table of that name"):
        load_crosssim_table("no_such_table")


# ------------------------------------------------------------------------------------------
# Configuration and presets
# ------------------------------------------------------------------------------------------

def test_model_registry_and_config_validation():
    assert set(DEVICE_MODELS) >= {"linear_step", "exp_step", "pow_step", "piecewise_step", "lut"}
    with pytest.raises(ConfigError, match=r"piecewise_up has 2 nodes and .*piecewise_down 3"):
        config({"device.piecewise_up": [1, 2], "device.piecewise_down": [1, 2, 3]})
    with pytest.raises(ConfigError, match=r"device.piecewise_up .* must be finite and >= 0"):
        config({"device.piecewise_up": [1, -2], "device.piecewise_down": [1, 2]})
    with pytest.raises(ConfigError, match=r"device.piecewise_down = .* list of numbers"):
        config({"device.piecewise_down": ["a"]})
    with pytest.raises(ConfigError, match=r"'lut' needs device.lut_table"):
        config({"device.model": "lut"})
    cfg = TileConfig().with_overrides(["device.piecewise_up=[1, 0.5]",
                                       "device.piecewise_down=[1, 1]"])
    assert cfg.device.piecewise_up == [1.0, 0.5]


@pytest.mark.parametrize("name", available_presets())
def test_every_preset_builds_a_tile(name):
    cfg = load_preset(name)
    tile = AnalogTile(3, 4, cfg, seed=0)
    sp = tile.devices.symmetry_point()
    assert np.all(np.isfinite(sp)) and np.all(sp >= tile.devices.w_min)


def test_presets_cover_every_model():
    models = {load_preset(name).device.model for name in available_presets()}
    assert models >= set(DEVICE_MODELS)
