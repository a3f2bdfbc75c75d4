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


def _simulate(cfg: DeviceConfig, n_dev=20, seed=0, cycles=3, run=400, g0=G0, g1=G1, read=None):
    """Traces of ``n_dev`` devices, ``cycles`` x (``run`` up, ``run`` down) pulses from w = 0,
    in siemens, with Gaussian read noise (``read`` x the range, default READ) on every read."""
    dev = sample_devices(cfg, (n_dev,), seed=seed)
    dirs = np.tile(np.r_[np.ones(run), -np.ones(run)], cycles).astype(np.int8)
    w = pulse_response(dev, dirs, w0=0.0, seed=seed + 1)
    g = g0 + (w + 1) / 2 * (g1 - g0)
    noise = np.random.default_rng(seed + 2).standard_normal(g.shape)
    g = g + (READ if read is None else read) * (g1 - g0) * noise
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
    """``auto`` picks by held-out likelihood, preferring fewer parameters within the noise."""
    meas, _ = _simulate(TRUE, n_dev=3)
    best, fits = fit.fit_auto(meas)
    assert set(fits) == set(fit.FIT_MODELS)
    nll = {m: f.quality["heldout_nll_per_step"] for m, f in fits.items()}
    # the fewest parameters among the laws within NLL_TOLERANCE of the best
    near = [m for m in nll if nll[m] <= min(nll.values()) + fit.NLL_TOLERANCE]
    assert best.model in near
    assert fit.law_parameters(best.model) == min(fit.law_parameters(m) for m in near)
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


@pytest.mark.parametrize("model", fit.FIT_MODELS)
def test_mean_path_kernel_matches_the_numpy_law(model):
    """The compiled mean path of the trajectory fit steps the same laws as ``_law``."""
    from rramsim.kernels.fitting import mean_path

    p = {"soft_bounds": ([0.02, 0.02], [0.01, 0.01]), "linear_step": ([0.02, 0.5], [0.01, 0.9]),
         "constant_step": ([0.03], [0.02]), "exp_step": ([0.05, 0.3, 1.5], [0.04, 0.2, 2.0]),
         "pow_step": ([0.04, 1.7], [0.03, 0.6]),
         "piecewise_step": (np.linspace(0.01, 0.04, fit.PIECEWISE_NODES),
                            np.linspace(0.03, 0.005, fit.PIECEWISE_NODES))}[model]
    pulses = np.random.default_rng(0).choice(np.array([-1, 1], np.int8), 300)
    pulses[100:180] = 1  # a run into the upper bound
    got = mean_path(model, *p, pulses, -0.3, restarts=[200], starts=[0.4])
    law = fit.DeviceLaw(model, np.asarray(p[0], float), np.asarray(p[1], float), None, None,
                        -1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    want = [-0.3]
    for t in range(1, len(pulses)):
        x = want[-1]
        step = law.mean_up([x])[0] if pulses[t] > 0 else -law.mean_down([x])[0]
        want.append(0.4 if t == 200 else float(np.clip(x + step, -1.0, 1.0)))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_reads_noisier_than_the_steps_are_fitted_by_the_trajectory():
    """One soft-bound device, read noise 2.5 % of the range, ten times its step (single-step
    SNR ~0.08): single steps do not identify the law (R^2 ~ 0); the trajectory fit, chosen by
    ``auto``, recovers the step within 5 %, up_down within 0.05, the bounds within 2 % of the
    range and the read noise within 10 %; the write noise is only bounded (the true 0.3 lies
    below the reported upper end)."""
    cfg = DeviceConfig(model="soft_bounds", dw_min=0.005, up_down=0.2, w_min=-1.0, w_max=1.0,
                       dw_min_dtod=0.0, up_down_dtod=0.0, w_min_dtod=0.0, w_max_dtod=0.0,
                       dw_min_ctoc=0.3)
    for seed in (0, 1):
        meas, dev = _simulate(cfg, n_dev=1, seed=seed, cycles=8, run=500, read=0.025)
        dw = float(dev.a_up.mean())
        up_down = 1.0 - float(dev.a_down.mean()) / dw
        result = fit.fit_device(meas, "soft_bounds")
        q = result.quality
        assert q["method"] == "trajectory" and q["step_snr"] < 0.2
        assert result.device["dw_min"] == pytest.approx(dw, rel=0.05)
        assert result.device["up_down"] == pytest.approx(up_down, abs=0.05)
        assert result.g_min == pytest.approx(G0, abs=0.02 * (G1 - G0))
        assert result.g_max == pytest.approx(G1, abs=0.02 * (G1 - G0))
        assert q["read_noise_siemens"] == pytest.approx(0.025 * (G1 - G0), rel=0.10)
        assert q["dw_min_ctoc_upper"] > cfg.dw_min_ctoc
        assert q["r2_reads"] > 0.9
        steps = fit.fit_device(meas, "soft_bounds", method="steps")
        assert steps.quality["r2_up"] < 0.1  # what the single steps explain


def test_the_gong_trace_is_fitted_by_its_trajectory():
    """The measured Gong et al. trace: read noise about 40 times the mean step, so ``auto``
    fits the trajectory; the mean path explains most of the reads, the read noise is about 0.1
    (file units), and the bounds lie near the measured range."""
    from rramsim.analog.lut import datasets_dir

    meas = fit.read_measurement(datasets_dir() / "aihwkit_gong2018" / "gong_et_al.csv")
    best, fits = fit.fit_auto(meas)
    # soft bounds put the upper bound far above the trace (at the limit): not eligible
    assert fits["soft_bounds"].quality["devices_not_identified"] == 1
    assert not best.quality["devices_not_identified"]
    for f in fits.values():
        q = f.quality
        assert q["method"] == "trajectory" and q["step_snr"] < 0.1
        assert q["r2_reads"] > 0.85
        DeviceConfig(**f.device)
    assert 0.08 < best.quality["read_noise_siemens"] < 0.14
    g = meas.traces[0].conductance
    assert g.min() - np.ptp(g) < best.g_min < best.g_max < g.max() + np.ptp(g)
