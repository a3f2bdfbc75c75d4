"""Legal settings whose results would surprise are reported once, as one line: pulse
probabilities that saturate (the update is clipped) and device-to-device spreads so large that
the drawn array no longer has the documented mean step or asymmetry."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import config

from rramsim.analog import devices
from rramsim.analog.devices import expected_step_factors, realised_steps, sample_devices
from rramsim.analog.tile import SATURATION_CHECK_EVERY, SATURATION_CHECK_FIRST, AnalogTile
from rramsim.cli import main
from rramsim.errors import RramsimWarning


def _quiet():
    """A context in which any RramsimWarning fails the test."""
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("error", RramsimWarning)
    return ctx


@pytest.mark.parametrize("um,plm", [(True, False), (False, False), (True, True)])
def test_saturation_is_reported_once_exactly_when_a_probability_exceeds_one(rng, um, plm):
    cfg = config({"update.update_management": um, "update.pulse_length_management": plm,
                  "update.bl": 10, "device.dw_min": 0.01})
    x, d = np.full((1, 6), 0.5), np.full((1, 4), 0.2)
    # the largest probability: sqrt(lr |x| |d| / (dw_min BL)) with update management,
    # sqrt(lr / (dw_min BL)) max(|x|, |d|) without; pulse-length management shortens BL to
    # ceil(lr |x| |d| / dw_min) but not below the saturation of the full BL
    p_per_lr = (0.5 * 0.2 / (0.01 * 10)) if um else (0.5 ** 2 / (0.01 * 10))
    lr_edge = 1.0 / p_per_lr
    tile = AnalogTile(4, 6, cfg, seed=0)
    ctx = _quiet()
    tile.update(x, d, 0.99 * lr_edge)  # just below: no warning
    ctx.__exit__(None, None, None)
    with pytest.warns(RramsimWarning, match=r"pulse probabilities saturate on a 4 x 6 tile "
                                            r"\(up to 1\.0[0-9] at lr=.*update\.bl"):
        tile.update(x, d, 1.02 * lr_edge)
    ctx = _quiet()
    tile.update(x, d, 10 * lr_edge)  # once per tile
    ctx.__exit__(None, None, None)


def test_saturation_check_samples_the_updates_beyond_the_first(rng):
    tile = AnalogTile(4, 6, config({"device.dw_min": 0.01}), seed=0)
    x, d = np.full((1, 6), 0.5), np.full((1, 4), 0.2)
    ctx = _quiet()
    for _ in range(SATURATION_CHECK_FIRST):
        tile.update(x, d, 0.01)
    ctx.__exit__(None, None, None)
    for _ in range(SATURATION_CHECK_EVERY - SATURATION_CHECK_FIRST - 1):
        tile.update(x, d, 100.0)  # unchecked
    with pytest.warns(RramsimWarning, match="saturate"):
        tile.update(x, d, 100.0)  # the SATURATION_CHECK_EVERY-th update is checked
    assert tile.update_count == SATURATION_CHECK_EVERY


def test_ideal_updates_are_never_reported():
    tile = AnalogTile(4, 6, config({"update.mode": "ideal"}), seed=0)
    ctx = _quiet()
    tile.update(np.ones((1, 6)), np.ones((1, 4)), 1e3)
    ctx.__exit__(None, None, None)


def test_realised_steps_against_the_closed_form():
    # dw_min_dtod = s: the mean of |N(1, s)| is s sqrt(2/pi) exp(-1/(2 s^2)) + (1 - 2 Phi(-1/s))
    from math import erf, exp, pi, sqrt

    s = 2.0
    expected = s * sqrt(2 / pi) * exp(-1 / (2 * s * s)) + erf(1 / (s * sqrt(2)))
    cfg = config({"device.dw_min_dtod": s, "device.up_down_dtod": 0.0}).device
    g = 1.0 + s * np.random.default_rng(0).standard_normal(400_000)
    st = realised_steps(cfg, g, g)
    assert st["mean_up"] == pytest.approx(expected, rel=0.01)
    assert st["mirrored"] == pytest.approx(0.3085, abs=0.003)  # Phi(-1/2)
    assert st["up_down"] == 0.0 and st["nominal_up"] == 1.0


@pytest.mark.parametrize("over,match", [
    ({"device.dw_min_dtod": 5.0}, r"mean steps are 4\.\d+ x / 4\.\d+ x dw_min"),
    ({"device.up_down": 0.99, "device.up_down_dtod": 5.0}, r"asymmetry is up_down = 0\.0"),
    ({"device.up_down": 0.9}, r"mean steps are 1 x / 0\.25\d x dw_min"),
])
def test_spreads_that_change_the_meaning_are_reported(over, match):
    devices._SPREAD_WARNED.clear()  # once per process: forget earlier tests' warnings
    cfg = config(over)
    with pytest.warns(RramsimWarning, match=match):
        sample_devices(cfg.device, (50, 50), seed=1)
    ctx = _quiet()
    sample_devices(cfg.device, (50, 50), seed=2)  # once per setting and process
    ctx.__exit__(None, None, None)


@pytest.mark.parametrize("over", [{}, {"device.up_down": 0.5}, {"device.dw_min_dtod": 0.5},
                                  {"device.up_down": 0.3}])
@pytest.mark.parametrize("shape", [(2, 3), (100, 100)])
def test_ordinary_spreads_are_not_reported(over, shape):
    # the check is on the configuration's expected mean step, not on a small array's sample
    ctx = _quiet()
    for seed in range(20):
        sample_devices(config(over).device, shape, seed=seed)
    ctx.__exit__(None, None, None)


def test_expected_mean_step_matches_a_large_draw():
    cfg = config({"device.up_down": 0.9}).device
    exp_up, exp_down = expected_step_factors(cfg)
    g = 1.0 + cfg.dw_min_dtod * np.random.default_rng(1).standard_normal(200_000)
    r = cfg.up_down_dtod * np.random.default_rng(2).standard_normal(200_000)
    st = realised_steps(cfg, g + r, g - 0.9 - r)
    assert exp_up == pytest.approx(st["mean_up"], rel=0.01)
    assert exp_down == pytest.approx(st["mean_down"], rel=0.01)
    assert exp_down > 2.0 * (1 - 0.9)  # the mirrored down steps: 2.5 x the nominal 0.1


def test_command_line_prints_a_warning_as_one_line(tmp_path, capsys):
    rc = main(["train", "--train-subset", "100", "--epochs", "1", "--lr", "50",
               "--out", str(tmp_path / "o"), "--seed", "3"])
    err = capsys.readouterr().err
    assert rc == 0
    lines = [ln for ln in err.splitlines() if "warning" in ln]
    assert lines and all(ln.strip().startswith("rramsim train: warning: pulse probabilities")
                         for ln in lines)
    assert "Traceback" not in err and "warnings.warn" not in err
