"""Figures: drawing changes no matplotlib state (the backend, pyplot's open figures), and every
figure function draws a real PNG from small inputs shaped like the studies' results."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import matplotlib
import numpy as np
import pytest

from rramsim import plotting
from rramsim.plotting import device_fit

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MODULES = ("devices", "training", "regression", "binary", "bitsplit", "inference", "sweep",
           "algorithms", "device_fit")


def _stats(values) -> dict:
    v = np.asarray(values, dtype=float)
    return dict(mean=float(v.mean()), std=float(v.std()), min=float(v.min()),
                max=float(v.max()), n=int(v.size))


def _history(accuracies) -> list[dict]:
    return [{"epoch": e, "test_accuracy": a} for e, a in enumerate(accuracies)]


# --- inputs shaped like the studies' (and the command line's) results -----------------------

def _symmetry_panel(layer: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    sp = rng.normal(0.2, 0.1, 300)
    return dict(layer=layer, symmetry_point=sp, device_weight=sp + rng.normal(0, 0.05, 300),
                reference=sp + rng.normal(0, 0.02, 300), slope_device_weight=0.9,
                slope_weight=0.1)


def _label_summary(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    grid = np.linspace(0, 1, 50)
    return dict(bins=20, train_counts=rng.integers(1, 50, 20).tolist(),
                test_counts=rng.integers(1, 30, 20).tolist(), density_grid=grid.tolist(),
                density=(1 + 0.5 * np.sin(6 * grid)).tolist(), skewness=0.3, modes=2,
                noisy=rng.random(100).tolist(), curve=np.linspace(0, 1, 100).tolist(),
                spec={"noise": 0.1})


REGIONS = ("rmse", "rmse_low_tail", "rmse_high_tail", "rmse_low_density")
LOSSES = ["MSE", "MAE", "WES beta=0.5", "WES beta=1"]


def _region_stats(scale: float) -> dict:
    return {r: _stats([scale * (1 + k / 10), scale * (1.1 + k / 10)])
            for k, r in enumerate(REGIONS + ("rmse_tails",))}


def _rmse_by_region(path):
    overall = {s: {lab: _region_stats(0.05 + 0.01 * j) for j, lab in enumerate(LOSSES)}
               for s in ("unimodal", "bimodal")}
    change = {s: {lab: _region_stats(0.02 * j) for j, lab in enumerate(LOSSES)}
              for s in ("unimodal", "bimodal")}
    return plotting.regression.rmse_by_region(overall, change, LOSSES, path, "rmse by region")


def _prediction_histograms(path):
    rng = np.random.default_rng(1)
    panels = {s: dict(test_counts=rng.integers(0, 40, 22).tolist(),
                      pred_counts={lab: rng.integers(0, 40, 22).tolist() for lab in LOSSES},
                      overlap={lab: 0.8 for lab in LOSSES}, note="noise 0.3" if k else "")
              for k, s in enumerate(("unimodal", "skewed bimodal"))}
    return plotting.regression.prediction_histograms(panels, path, "predictions")


def _rmse_vs_beta(path):
    betas = [0.5, 1.0]
    labels = ["MSE"] + [f"WES beta={b:g}" for b in betas]
    by_noise = {s: {noise: {lab: _region_stats(noise + 0.01 * j) for j, lab in enumerate(labels)}
                    for noise in (0.1, 0.3)} for s in ("unimodal", "bimodal")}
    return plotting.regression.rmse_vs_beta(by_noise, betas, path, "rmse vs beta")


def _analog_rmse(path):
    rows = [dict(label=f"{dev}, {loss}", device=dev, **_region_stats(0.05 + 0.01 * k))
            for k, (dev, loss) in enumerate([("float", "MSE"), ("float", "WES"),
                                             ("up_down 0.5", "MSE"), ("up_down 0.5", "WES")])]
    return plotting.regression.analog_rmse(rows, path, "analog")


BINARYDUO_METHODS = ("plain binary", "BinaryDuo", "full precision")


def _binaryduo_summary() -> dict:
    out = {}
    for k, m in enumerate(BINARYDUO_METHODS):
        out[m] = dict(values=[0.85 + 0.01 * k, 0.86 + 0.01 * k], n_parameters=1000 * (k + 1))
    out["BinaryDuo"]["decoupled_before_finetune"] = _stats([0.84, 0.85])
    return out


def _binaryduo_runs() -> list[dict]:
    runs = []
    for seed in (0, 1):
        for k, m in enumerate(BINARYDUO_METHODS):
            run = dict(method=m, seed=seed,
                       history=_history([0.1, 0.7 + 0.02 * k, 0.8 + 0.02 * k + 0.01 * seed,
                                         0.85 + 0.02 * k]))
            if m == "BinaryDuo":
                run.update(epochs=2, decoupled_test_accuracy=0.82 + 0.01 * seed)
            runs.append(run)
    return runs


def _threshold_summary() -> dict:
    def row(theta, k):
        return dict(theta=theta, accuracy=_stats([0.8 + 0.02 * k - 0.05 * abs(theta),
                                                  0.81 + 0.02 * k - 0.05 * abs(theta)]),
                    fraction_positive=_stats([0.5 - 0.3 * theta, 0.52 - 0.3 * theta]))
    return {fam: dict(rows=[row(t, k) for t in (-0.4, 0.0, 0.4)],
                      learnable=dict(accuracy=_stats([0.81, 0.82]),
                                     fraction_positive=_stats([0.48, 0.5]),
                                     learned_theta_mean=0.05) if k == 0 else None)
            for k, fam in enumerate(("xnor", "bireal"))}


MISMATCH_VARIANTS = ("binary, rect STE", "binary, triangle STE", "full precision (clip)")


def _mismatch_runs() -> list[dict]:
    return [dict(variant=v, seed=s,
                 mismatch=[dict(cosine=0.3 + 0.2 * k + 0.05 * s - 0.1 * j,
                                cosine_halves=0.6 + 0.1 * s) for j in range(2)])
            for k, v in enumerate(MISMATCH_VARIANTS) for s in (0, 1)]


def _bitsplit_summary() -> dict:
    def net(acc):
        return dict(values=[acc, acc + 0.002], dataset="mnist", epochs=1)
    lenet = {"binary": net(0.95), "full precision": net(0.99)}
    for k in (2, 3):
        for j, name in enumerate(("{k}-bit", "BitSplit {k}-bit", "BitSplit {k}-bit narrow",
                                  "binary wide {k}x")):
            lenet[name.format(k=k)] = net(0.96 + 0.005 * k - 0.002 * j)
    vgg = {name: dict(lenet[name], dataset="fashion-mnist", values=[0.9])
           for name in ("binary", "2-bit", "BitSplit 2-bit", "3-bit", "BitSplit 3-bit")}
    return {"lenet": lenet, "vgg": vgg}


MAPPING_ROWS, MAPPING_BITS = (64, 128), (1, 2, 3, 4)
MAPPING_NETWORKS = ("full precision", "binary", "2-bit", "2-bit, 2-bit DAC", "BitSplit 2-bit",
                    "BitSplit 4-bit narrow")


def _mapping_summary() -> dict:
    out = {}
    for k, label in enumerate(MAPPING_NETWORKS):
        acc = {r: {b: min(0.99, 0.3 + 0.25 * b - 0.01 * k) for b in MAPPING_BITS}
               for r in MAPPING_ROWS}
        out[label] = dict(digital_accuracy=0.99, accuracy=acc,
                          adc_conversions={r: 2000 * (k + 1) * 128 // r for r in MAPPING_ROWS},
                          min_adc_bits={r: (None if k == 1 and r == 64 else 3)
                                        for r in MAPPING_ROWS})
    return out


def _mapping_draws() -> dict:
    return {label: dict(rows=128, draws=[0, 1, 2], accuracy={
        b: dict(mean=min(0.99, 0.3 + 0.25 * b), min=min(0.99, 0.3 + 0.25 * b) - 0.02,
                max=min(0.99, 0.3 + 0.25 * b) + 0.01) for b in MAPPING_BITS})
        for label in MAPPING_NETWORKS[:3]}


#: Every figure function, drawn from small inputs: ``name -> draw(path) -> path``.
FIGURES = {
    "device_fit.measured_vs_simulated": lambda p: device_fit.measured_vs_simulated(
        np.linspace(1e-5, 9e-5, 60), np.linspace(1e-5, 9e-5, 60)[:, None]
        + 1e-6 * np.random.default_rng(0).standard_normal((60, 8)), "fit", p),
    "device_fit.pulse_response_bands": lambda p: device_fit.pulse_response_bands(
        [{"title": "measured", "unit": "S", "measured": np.linspace(1e-5, 9e-5, 60),
          "bands": {"fit": np.linspace(1e-5, 9e-5, 60)[:, None] + 1e-6 * np.ones((60, 4))}},
         {"title": "two models", "unit": "S", "measured": None,
          "bands": {"a": np.ones((30, 3)), "b": 2 * np.ones((30, 3))}}], p),
    "devices.symmetry_point_distributions": lambda p: plotting.symmetry_point_distributions(
        {"one": np.random.default_rng(0).normal(0.3, 0.05, 500),
         "two": np.random.default_rng(1).normal(-0.2, 0.1, 500)}, p, "symmetry points"),
    "devices.pulse_response": lambda p: plotting.pulse_response(
        np.r_[np.linspace(0, 0.5, 31), np.linspace(0.5, 0.1, 20)], 30, 20, "pulse response", p),
    "devices.symmetry_point_histogram": lambda p: plotting.symmetry_point_histogram(
        np.random.default_rng(0).normal(0.3, 0.05, 500),
        np.random.default_rng(1).normal(0.3, 0.05, 500), "symmetry points", p),
    "training.learning_curves": lambda p: plotting.learning_curves(
        {"one run": _history([0.1, 0.6, 0.8]),
         "two seeds": [_history([0.1, 0.5, 0.7]), _history([0.1, 0.55, 0.75])]}, p, "curves"),
    "training.weight_histograms": lambda p: plotting.weight_histograms(
        {"layer 1": np.random.default_rng(0).normal(size=(8, 16)),
         "layer 2": np.random.default_rng(1).normal(size=(4, 8))}, p, "weights"),
    "training.accuracy_vs_asymmetry": lambda p: plotting.accuracy_vs_asymmetry(
        {"curves": {lab: [dict(up_down=u, mean=0.9 - u / 2 + d, min=0.88 - u / 2 + d,
                               max=0.91 - u / 2 + d) for u in (0.0, 0.25, 0.5)]
                    for lab, d in (("plain", 0.0), ("zero-shifted", 0.03))},
         "baselines": {"floating point": 0.97, "symmetric device": 0.93}, "title": "asymmetry"},
        p),
    "training.weights_vs_symmetry_points": lambda p: plotting.weights_vs_symmetry_points(
        {"plain": [_symmetry_panel(1, 0), _symmetry_panel(2, 1)],
         "zero-shifted": [_symmetry_panel(1, 2)]}, p, "weights vs symmetry points"),
    "regression.label_histograms": lambda p: plotting.regression.label_histograms(
        {"unimodal": _label_summary(0), "skewed_bimodal": _label_summary(1)}, p, "data"),
    "regression.rmse_by_region": _rmse_by_region,
    "regression.prediction_histograms": _prediction_histograms,
    "regression.rmse_vs_beta": _rmse_vs_beta,
    "regression.analog_rmse": _analog_rmse,
    "binary.binaryduo_accuracy": lambda p: plotting.binary.binaryduo_accuracy(
        _binaryduo_summary(), p, "binaryduo"),
    "binary.binaryduo_learning_curves": lambda p: plotting.binary.binaryduo_learning_curves(
        _binaryduo_runs(), p, "binaryduo", methods=BINARYDUO_METHODS),
    "binary.threshold_accuracy": lambda p: plotting.binary.threshold_accuracy(
        _threshold_summary(), p, "threshold"),
    "binary.threshold_fraction_positive": lambda p: plotting.binary.threshold_fraction_positive(
        _threshold_summary(), p, "threshold"),
    "binary.mismatch_cosine": lambda p: plotting.binary.mismatch_cosine(
        _mismatch_runs(), p, "mismatch", variants=MISMATCH_VARIANTS, sigmas=[0.03, 0.1]),
    "bitsplit.accuracy_vs_bits": lambda p: plotting.bitsplit.accuracy_vs_bits(
        _bitsplit_summary(), p, "bitsplit", bits=(2, 3)),
    "inference.accuracy_vs_adc_bits": lambda p: plotting.inference.accuracy_vs_adc_bits(
        _mapping_summary(), p, "mapping", rows=MAPPING_ROWS, adc_bits=MAPPING_BITS,
        draws=_mapping_draws(), draw_rows=128, draw_ids=(0, 1, 2)),
    "inference.adc_cost": lambda p: plotting.inference.adc_cost(
        _mapping_summary(), p, "mapping", rows=MAPPING_ROWS, tolerance=0.005),
    "sweep.sweep_metric": lambda p: plotting.sweep.sweep_metric(
        {0.0: dict(x=[0.1, 0.2, 0.4], mean=[0.9, 0.85, 0.7], std=[0.01, 0.02, 0.03], n=[2, 2, 2]),
         0.5: dict(x=[0.1, 0.2, 0.4], mean=[0.8, 0.7, 0.6], std=[0.02, 0.02, 0.01], n=[2, 2, 1])},
        "lr", "final_test_accuracy", p, hue="up_down", title="sweep"),
    "algorithms.offset_toy_errors": lambda p: plotting.algorithms.offset_toy_errors(
        {off: {lab: {"updates": [0, 10, 20], "error": [[1.0, 0.5 + off, 0.2 + off],
                                                        [1.0, 0.6 + off, 0.3 + off]]}
               for lab in ("SGD", "AGAD")} for off in (0.0, 0.3)}, [0.0, 0.3], p, "toy"),
    "algorithms.accuracy_by_algorithm": lambda p: plotting.algorithms.accuracy_by_algorithm(
        [dict(group=g, label=lab, mean=0.5 + 0.1 * k, min=0.45 + 0.1 * k, max=0.55 + 0.1 * k)
         for g in ("up_down 0", "up_down 0.5") for k, lab in enumerate(("SGD", "AGAD"))],
        ["up_down 0", "up_down 0.5"], ["SGD", "AGAD"], p, "mnist"),
    "algorithms.accuracy_vs_states": lambda p: plotting.algorithms.accuracy_vs_states(
        _states_curves(n_elsewhere=1), p, "states"),
}


def _states_curves(n_elsewhere: int) -> dict:
    """Two accuracy-vs-step curves; the point at dw_min 0.01 rests on 3 seeds, the others on
    ``n_elsewhere`` (a sweep under way when that is below 3)."""
    return {lab: [dict(dw_min=dw, mean=0.9 - k * dw, min=0.85 - k * dw, max=0.95 - k * dw,
                       n=3 if dw == 0.01 else n_elsewhere)
                  for dw in (0.001, 0.01, 0.05)] for k, lab in enumerate(("SGD", "TTv2"))}

#: The first figure of each module, in MODULES order (devices first: it exists in every
#: version of the package, so a backend switch is caught before anything else can fail).
ONE_PER_MODULE = [next(n for n in FIGURES if n.startswith(m + ".")) for m in MODULES]


def _assert_png(path, min_bytes: int = 5000):
    """``path`` is a PNG that decodes to a non-blank image."""
    from matplotlib.image import imread

    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert len(data) > min_bytes, f"{path.name}: only {len(data)} bytes"
    img = imread(path)
    assert img.ndim == 3 and min(img.shape[:2]) >= 200, img.shape
    assert np.ptp(img[..., :3]) > 0, f"{path.name} is blank"


@pytest.fixture
def svg_backend():
    """matplotlib switched to the (non-Agg) SVG backend for the test, restored after."""
    before = matplotlib.get_backend()
    matplotlib.use("svg")
    yield "svg"
    matplotlib.use(before)


def test_drawing_leaves_the_backend_and_pyplot_alone(tmp_path, svg_backend):
    """A user's backend survives every kind of figure, and no figure stays open in pyplot."""
    for name in ONE_PER_MODULE:
        path = FIGURES[name](tmp_path / f"{name}.png")
        assert matplotlib.get_backend() == svg_backend, (
            f"{name} switched the backend from {svg_backend} to {matplotlib.get_backend()}")
        assert path == tmp_path / f"{name}.png"
        _assert_png(path)
    if "matplotlib.pyplot" in sys.modules:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_figure_draws_a_png(tmp_path, name):
    path = FIGURES[name](tmp_path / "sub" / "figure.png")  # folders are created
    _assert_png(path)


def test_pulse_response_size_is_figsize_at_120_dpi(tmp_path):
    from matplotlib.image import imread

    img = imread(FIGURES["devices.pulse_response"](tmp_path / "pr.png"))
    assert img.shape[:2] == (round(3.5 * 120), 6 * 120)


def test_every_figure_function_is_drawn_here():
    """A new figure module or function in rramsim.plotting must get an entry in FIGURES."""
    found = {m.name for m in pkgutil.iter_modules(plotting.__path__)} - {"base"}
    assert found == set(MODULES)
    public = set()
    for m in MODULES:
        module = importlib.import_module(f"rramsim.plotting.{m}")
        public |= {f"{m}.{n}" for n, f in inspect.getmembers(module, inspect.isfunction)
                   if not n.startswith("_") and f.__module__ == module.__name__}
    assert public == set(FIGURES)


def test_device_and_training_figures_are_reexported():
    for name in FIGURES:
        module, func = name.split(".")
        if module in ("devices", "training"):
            assert getattr(plotting, func) is getattr(getattr(plotting, module), func)


def test_importing_plotting_does_not_import_matplotlib():
    code = "import sys, rramsim.plotting; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_the_states_figure_marks_points_with_fewer_seeds(tmp_path):
    """A sweep still under way (one seed at most step sizes, three at the grid's) draws
    differently from a finished one with the same means: its thin points are marked."""
    partial = plotting.algorithms.accuracy_vs_states(_states_curves(1), tmp_path / "a.png", "s")
    full = plotting.algorithms.accuracy_vs_states(_states_curves(3), tmp_path / "b.png", "s")
    _assert_png(partial)
    assert partial.read_bytes() != full.read_bytes()


def test_the_states_figure_leaves_out_an_algorithm_without_runs(tmp_path):
    """An arm the states part does not run (an empty curve) draws nothing, not a legend entry
    that takes a colour from the arms that ran."""
    with_empty = plotting.algorithms.accuracy_vs_states({**_states_curves(3), "AGAD": []},
                                                        tmp_path / "a.png", "s")
    without = plotting.algorithms.accuracy_vs_states(_states_curves(3), tmp_path / "b.png", "s")
    assert with_empty.read_bytes() == without.read_bytes()
