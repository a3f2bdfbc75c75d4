"""``rramsim fit-device``: fitting known devices back from simulated traces in siemens, the
round trip fit -> simulate -> fit, the measured data sets, and bad files."""

import json

import numpy as np
import pytest

from rramsim.analog.devices import pulse_response, sample_devices
from rramsim.analysis import device_fit as fit
from rramsim.cli import main
from rramsim.config import DeviceConfig, load_preset
from rramsim.errors import DataError

G0, G1 = 10e-6, 100e-6  # siemens of w = -1 and w = +1
READ = 0.002            # read noise, fraction of the conductance range
TRUE = DeviceConfig(model="soft_bounds", dw_min=0.01, up_down=0.2, w_min=-1.0, w_max=1.0,
                    dw_min_dtod=0.3, up_down_dtod=0.0, w_min_dtod=0.05, w_max_dtod=0.05,
                    dw_min_ctoc=0.3)


def _simulate(cfg: DeviceConfig, n_dev=20, seed=0, cycles=3, run=400, g0=G0, g1=G1):
    """Traces of ``n_dev`` devices, ``cycles`` x (``run`` up, ``run`` down) pulses from w = 0,
    in siemens, with Gaussian read noise on every read."""
    dev = sample_devices(cfg, (n_dev,), seed=seed)
    dirs = np.tile(np.r_[np.ones(run), -np.ones(run)], cycles).astype(np.int8)
    w = pulse_response(dev, dirs, w0=0.0, seed=seed + 1)
    g = g0 + (w + 1) / 2 * (g1 - g0)
    g = g + READ * (g1 - g0) * np.random.default_rng(seed + 2).standard_normal(g.shape)
    pulses = np.r_[1, dirs].astype(np.int8)
    traces = [fit.Trace(f"d{i}", pulses, g[:, i]) for i in range(n_dev)]
    return fit.Measurement("simulated", traces, "long"), dev


def _drawn(dev, g0=G0, g1=G1):
    """The parameters actually drawn for the simulated devices, in the fit's terms."""
    dw = float(dev.a_up.mean())
    return {"dw_min": dw, "up_down": 1.0 - float(dev.a_down.mean()) / dw,
            "g_min": g0 + (float(dev.w_min.mean()) + 1) / 2 * (g1 - g0),
            "g_max": g0 + (float(dev.w_max.mean()) + 1) / 2 * (g1 - g0),
            "dw_min_dtod": float(np.std((dev.a_up + dev.a_down) / (2 * dw), ddof=1))}


def _check(result, want, ctoc):
    for key in ("dw_min", "up_down"):
        assert result.device[key] == pytest.approx(want[key], rel=0.05), key
    assert result.g_min == pytest.approx(want["g_min"], rel=0.05)
    assert result.g_max == pytest.approx(want["g_max"], rel=0.05)
    assert result.device["dw_min_ctoc"] == pytest.approx(ctoc, rel=0.10)
    assert result.device["dw_min_dtod"] == pytest.approx(want["dw_min_dtod"], rel=0.10)


def test_known_soft_bound_devices_are_fitted_back():
    """20 devices (dw_min_dtod 0.3), up_down 0.2, dw_min_ctoc 0.3, siemens, read noise 0.2 %:
    mean-step parameters and bounds within 5 %, noise and spread within 10 % (the spread against
    the one drawn), read noise recovered and not counted as write noise."""
    meas, dev = _simulate(TRUE)
    result = fit.fit_device(meas, "soft_bounds")
    _check(result, _drawn(dev), TRUE.dw_min_ctoc)
    assert result.quality["read_noise_siemens"] == pytest.approx(READ * (G1 - G0), rel=0.10)


def test_fitted_preset_round_trips(tmp_path):
    """fit -> preset -> simulate 20 devices of it -> fit: the same parameters within the bounds."""
    meas, _ = _simulate(TRUE)
    first = fit.fit_device(meas, "soft_bounds")
    path = tmp_path / "fitted.toml"
    path.write_text(fit.preset_text(first.device, {"source": "simulated"}))
    cfg = load_preset(path).device
    meas2, dev2 = _simulate(cfg, seed=5, g0=cfg.g_min, g1=cfg.g_max)
    second = fit.fit_device(meas2, "soft_bounds")
    _check(second, _drawn(dev2, cfg.g_min, cfg.g_max), cfg.dw_min_ctoc)


def test_auto_picks_a_model_by_heldout_likelihood():
    meas, _ = _simulate(TRUE, n_dev=3)
    best, fits = fit.fit_auto(meas)
    assert set(fits) == set(fit.FIT_MODELS)
    nll = {m: f.quality["heldout_nll_per_step"] for m, f in fits.items()}
    assert best.model == min(nll, key=nll.get)
    assert nll["soft_bounds"] < nll["constant_step"]  # the law that made the data beats a wrong one
    for f in fits.values():
        DeviceConfig(**f.device)  # every fitted model is a valid device


def test_cli_fits_the_shipped_gong_trace_and_imports_the_enode_table(tmp_path):
    from rramsim.analog.lut import datasets_dir

    out = tmp_path / "gong"
    assert main(["fit-device", str(datasets_dir() / "aihwkit_gong2018" / "gong_et_al.csv"),
                 "--model", "soft_bounds", "--draws", "5", "--out", str(out)]) == 0
    report = json.loads((out / "fit.json").read_text())
    assert report["model"] == "soft_bounds" and report["quality"]["read_noise"] > 0
    assert (out / "fitted_device.png").stat().st_size > 0
    cfg = load_preset(out / "fitted_device.toml")
    assert cfg.device.g_max > cfg.device.g_min
    out = tmp_path / "enode"
    assert main(["fit-device", str(datasets_dir() / "crosssim_enode"), "--out", str(out)]) == 0
    cfg = load_preset(out / "fitted_device.toml")
    assert cfg.device.model == "lut" and cfg.device.g_min == pytest.approx(2.9772e-4)


@pytest.mark.parametrize("text, problem", [
    ("", "empty file"),
    ("0.1\n0.2\n0.3\n", "one column"),
    ("0.1,0.2\nabc,0.3\n", r"line 2, column 1: 'abc' is not a number"),
    ("0.1,0.2\nnan,0.3\n", "NaN or infinite"),
    ("device,pulse,conductance\n" + "".join(f"a,1,{i}\n" for i in range(200)), "no down pulses"),
    ("0.5,0.5\n" * 200, "all conductances are equal"),
])
def test_bad_files_give_one_clear_error(tmp_path, capsys, text, problem):
    path = tmp_path / "measured.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=problem):
        fit.read_measurement(path)
    assert main(["fit-device", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err
