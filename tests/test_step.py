"""The compiled training step (rramsim.nn.compiled, rramsim.kernels.step) against the
layer-by-layer reference path: the same history and the same tiles, bit for bit, for every
update mode and peripheral setting; eligibility and the fallback."""

import numpy as np
import pytest
from conftest import config

from rramsim.analog.tile import AnalogTile
from rramsim.analog.transfer import MixedPrecisionTile
from rramsim.errors import InputError
from rramsim.networks import build_mlp
from rramsim.nn import SGD, AnalogLinear, ReLU, Sequential, Tanh
from rramsim.nn.compiled import why_not_compiled
from rramsim.nn.losses import MSELoss, SoftmaxCrossEntropy
from rramsim.training import fit

SIZES = (12, 9, 7, 4)


def _data(seed=0, n=37):
    rs = np.random.default_rng(seed)
    x = rs.uniform(0, 1, (n, SIZES[0])) * (rs.random((n, SIZES[0])) < 0.6)
    return x, rs.integers(0, SIZES[-1], n), x[:11], rs.integers(0, SIZES[-1], 11)


def _state(model):
    out = {}
    for k, v in model.state_dict().items():
        out[k] = v
    for a in model.analog_layers():
        out[a.name + ".pulses"] = a.tile.pulse_count
        out[a.name + ".bm"] = a.tile.bm_repeats
        arrays = {"": a.tile} if type(a.tile) is AnalogTile else \
            {".device": a.tile.device} if type(a.tile) is MixedPrecisionTile else \
            {".fast": a.tile.fast, ".slow": a.tile.slow}
        for part, t in arrays.items():
            out[a.name + part + ".w_eff"] = t._w_eff.copy()
            out[a.name + part + ".w"] = t.w.copy()
            out[a.name + part + ".array_pulses"] = t.pulse_count
            out[a.name + part + ".updates"] = t.update_count
    return out


def _both(make, batch_size=1, lr=0.3, epochs=2, seed=3):
    runs = []
    for fast in (False, True):
        model = make()
        hist = fit(model, *_data(), epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                   fast=fast)
        for rec in hist:
            rec.pop("seconds"), rec.pop("samples_per_second")
        runs.append((hist, _state(model)))
    (h0, s0), (h1, s1) = runs
    assert h0 == h1
    assert s0.keys() == s1.keys()
    for key in s0:
        np.testing.assert_array_equal(s0[key], s1[key], err_msg=key)
    return h0, s0


SETTINGS = {
    "default": {},
    "expected": {"update.mode": "expected"},
    "ideal": {"update.mode": "ideal"},
    "plm, no um": {"update.pulse_length_management": True, "update.update_management": False,
                   "update.bl": 64},
    "no ctoc, constant step": {"device.model": "constant_step", "device.dw_min_ctoc": 0.0},
    "linear step": {"device.model": "linear_step", "device.gamma_up": 0.5},
    "perfect io": {"forward.is_perfect": True, "backward.is_perfect": True},
    "ideal converters": {"forward.inp_bits": 0, "forward.out_bits": 0, "backward.inp_bits": 0,
                         "backward.out_bits": 0},
    "bound management": {"forward.out_bound": 0.05, "backward.out_bound": 0.01,
                         "forward.bm_max_iter": 3, "forward.noise_management": False},
    "no bm, noisy": {"forward.bound_management": False, "backward.bound_management": False,
                     "forward.out_noise": 0.2, "forward.out_bound": 0.1},
    "weight scale": {"mapping.weight_scale": 2.5},
    "float32 products": {"forward.product_dtype": "float32", "backward.product_dtype": "float32",
                         "forward.out_bound": 0.5},
    "zero-shifted reference": {"reference.zero_shift": True, "reference.sp_method":
                               "closed_form", "device.up_down": 0.3},
}


@pytest.mark.filterwarnings("ignore::rramsim.errors.RramsimWarning")  # deliberately strong
@pytest.mark.parametrize("name", list(SETTINGS))
def test_compiled_step_is_the_reference_step(name):
    cfg = config({"device.dw_min": 0.01}, SETTINGS[name])
    hist, state = _both(lambda: build_mlp(SIZES, cfg, seed=5))
    assert hist[-1]["train_loss"] != hist[1]["train_loss"]  # it trained
    if cfg.update.mode == "pulsed":
        assert state["fc1.pulses"] > 0


@pytest.mark.parametrize("batch_size", [3, 8])
def test_compiled_step_mini_batches(batch_size):
    """Mini-batches, the last one shorter (37 samples), pulse-length management."""
    cfg = config({"device.dw_min": 0.01, "update.pulse_length_management": True})
    _both(lambda: build_mlp(SIZES, cfg, seed=6), batch_size=batch_size)


def test_compiled_step_relu_no_bias_and_input_gradient():
    """ReLU, bias 'none', two layers without an activation between them, and a first layer
    that computes its input gradient (advancing its backward noise stream)."""
    cfg = config({"device.dw_min": 0.01})

    def make():
        a = AnalogLinear(12, 9, cfg, bias="none", seed=1, name="a")
        b = AnalogLinear(9, 7, cfg, seed=2, name="b")
        c = AnalogLinear(7, 4, cfg, seed=3, name="c")
        model = Sequential(a, ReLU(), b, c)
        model.input_grad = True
        return model
    _both(make)


ZS = {"reference.zero_shift": True, "reference.sp_method": "closed_form"}
#: Transfer settings: (kind, overrides, batch size); ttv1 and ttv2 need a zero-shifted A.
TRANSFER = {
    "ttv1": ("ttv1", {}, 1),
    "ttv1 every 3, 2 reads, batch 4": ("ttv1", {"algorithm.transfer_every": 3,
                                                "algorithm.n_reads_per_transfer": 2}, 4),
    "ttv1 all columns, batch 5": ("ttv1", {"algorithm.n_reads_per_transfer": 20}, 5),
    "ttv1 expected": ("ttv1", {"update.mode": "expected"}, 1),
    "ttv1 ideal": ("ttv1", {"update.mode": "ideal"}, 3),
    "ttv1 perfect io, weight scale": ("ttv1", {"forward.is_perfect": True,
                                               "backward.is_perfect": True,
                                               "mapping.weight_scale": 2.5}, 1),
    "ttv2": ("ttv2", {}, 1),
    "ttv2 every 2, 3 reads, bl 4, batch 3": ("ttv2", {"algorithm.transfer_every": 2,
                                                      "algorithm.n_reads_per_transfer": 3,
                                                      "algorithm.transfer_bl": 4}, 3),
    "ttv2 keep buffer, cap, momentum": ("ttv2", {"algorithm.forget_buffer": False,
                                                 "algorithm.buffer_cap": 2.0,
                                                 "algorithm.momentum": 0.3,
                                                 "algorithm.transfer_bl": 3}, 1),
    "ttv2 forget, momentum, rates": ("ttv2", {"algorithm.momentum": 0.5,
                                              "algorithm.fast_lr": 0.5,
                                              "algorithm.transfer_lr": 3.0,
                                              "algorithm.thres_scale": 0.5}, 2),
    "ttv2 ideal": ("ttv2", {"update.mode": "ideal", "algorithm.transfer_lr": 5.0}, 1),
    "ttv2 expected, perfect io": ("ttv2", {"update.mode": "expected",
                                           "forward.is_perfect": True}, 1),
    "c-ttv2": ("c-ttv2", {}, 1),
    "c-ttv2 choppers, batch 5": ("c-ttv2", {"algorithm.in_chop_prob": 0.3,
                                            "algorithm.out_chop_prob": 0.2}, 5),
    "c-ttv2 regular choppers, every 2": ("c-ttv2", {"algorithm.in_chop_prob": 0.5,
                                                    "algorithm.in_chop_random": False,
                                                    "algorithm.transfer_every": 2,
                                                    "algorithm.n_reads_per_transfer": 2}, 1),
    "c-ttv2 zero-shifted, keep buffer": ("c-ttv2", {**ZS, "algorithm.forget_buffer": False,
                                                    "algorithm.out_chop_prob": 0.5}, 3),
    "c-ttv2 zero_shift_slow, ideal": ("c-ttv2", {"algorithm.zero_shift_slow": True,
                                                 "reference.sp_method": "closed_form",
                                                 "update.mode": "ideal"}, 1),
    "agad": ("agad", {}, 1),
    "agad tail, choppers, batch 4": ("agad", {"algorithm.tail_weightening": 2.0,
                                              "algorithm.in_chop_prob": 0.5,
                                              "algorithm.out_chop_prob": 0.1}, 4),
    "agad regular choppers, 3 reads": ("agad", {"algorithm.in_chop_prob": 0.25,
                                                "algorithm.in_chop_random": False,
                                                "algorithm.n_reads_per_transfer": 3,
                                                "algorithm.tail_weightening": 20.0}, 1),
    "agad zero_shift_slow, keep buffer, every 3": ("agad", {"algorithm.zero_shift_slow": True,
                                                            "reference.sp_method":
                                                            "closed_form",
                                                            "algorithm.forget_buffer": False,
                                                            "algorithm.transfer_every": 3}, 2),
    "agad zero-shifted, expected": ("agad", {**ZS, "update.mode": "expected",
                                             "algorithm.transfer_bl": 2}, 1),
}


@pytest.mark.filterwarnings("ignore::rramsim.errors.RramsimWarning")
@pytest.mark.parametrize("name", list(TRANSFER))
def test_compiled_step_transfer_tiles(name):
    """Transfer tiles (gamma = 0) on the compiled step: the same history, both arrays, the
    buffer, choppers, counters and every stream, bit for bit."""
    kind, over, batch_size = TRANSFER[name]
    cfg = config({"device.dw_min": 0.01, "device.up_down": 0.2, "algorithm.kind": kind},
                 ZS if kind in ("ttv1", "ttv2") else {}, over)
    model = build_mlp(SIZES, cfg, seed=5)
    assert why_not_compiled(model, SoftmaxCrossEntropy(), SGD(model, 0.1)) is None
    # 37 samples: the first epoch runs the reference path (fit's saturation head), the others
    # the compiled step from the state it left
    hist, state = _both(lambda: build_mlp(SIZES, cfg, seed=5), batch_size=batch_size, epochs=3)
    assert hist[-1]["train_loss"] != hist[1]["train_loss"]  # C moved: the network reads C
    # transfers wrote C (ttv1 counts the pulses of pulsed updates only)
    assert state["fc1.slow.array_pulses"] > 0 or (kind == "ttv1" and cfg.update.mode != "pulsed")
    assert state["fc1.tile._counters"][0] == 3 * 37
    if kind in ("c-ttv2", "agad") and cfg.algorithm.in_chop_random \
            and cfg.algorithm.in_chop_prob >= 0.3:
        assert (state["fc1.tile.in_chop"] == -1).any()


@pytest.mark.filterwarnings("ignore::rramsim.errors.RramsimWarning")
def test_compiled_step_mixed_layers():
    """A ttv1 layer, a mixed-precision layer and an agad layer in one network, the first
    layer computing its input gradient; and SGD with c-ttv2."""
    base = {"device.dw_min": 0.01}

    def make():
        a = AnalogLinear(12, 9, config(base, ZS, {"algorithm.kind": "ttv1"}), seed=1, name="a")
        b = AnalogLinear(9, 7, config(base, {"algorithm.kind": "mixed-precision"}),
                         bias="none", seed=2, name="b")
        c = AnalogLinear(7, 4, config(base, {"algorithm.kind": "agad",
                                             "algorithm.out_chop_prob": 0.3}), seed=3, name="c")
        model = Sequential(a, ReLU(), b, c)
        model.input_grad = True
        return model
    _both(make, batch_size=2, epochs=3)

    def make2():
        a = AnalogLinear(12, 9, config(base), seed=1, name="a")
        b = AnalogLinear(9, 4, config(base, {"algorithm.kind": "c-ttv2"}), seed=2, name="b")
        return Sequential(a, ReLU(), b)
    _both(make2, batch_size=1, epochs=3)


MIXED = {
    "default": ({}, 1),
    "every 3, batch 4": ({"algorithm.transfer_every": 3}, 4),
    "granularity, batch 5": ({"algorithm.granularity": 0.004}, 5),
    "expected": ({"update.mode": "expected", "algorithm.transfer_every": 2}, 1),
    "ideal, batch 3": ({"update.mode": "ideal"}, 3),
    "zero_shift_slow, weight scale": ({"algorithm.zero_shift_slow": True,
                                       "reference.sp_method": "closed_form",
                                       "mapping.weight_scale": 2.5}, 1),
}


@pytest.mark.filterwarnings("ignore::rramsim.errors.RramsimWarning")
@pytest.mark.parametrize("name", list(MIXED))
def test_compiled_step_mixed_precision(name):
    over, batch_size = MIXED[name]
    cfg = config({"device.dw_min": 0.01, "device.up_down": 0.2,
                  "algorithm.kind": "mixed-precision"}, over)
    hist, state = _both(lambda: build_mlp(SIZES, cfg, seed=5), batch_size=batch_size, epochs=3)
    assert hist[-1]["train_loss"] != hist[1]["train_loss"]
    assert state["fc1.device.array_pulses"] > 0 or cfg.update.mode == "expected"
    assert state["fc1.tile._counters"][0] == 3 * 37


def test_transfer_fallbacks():
    gamma = build_mlp(SIZES, config({"algorithm.kind": "agad", "algorithm.gamma": 0.1}), seed=1)
    assert "gamma" in why_not_compiled(gamma, SoftmaxCrossEntropy(), SGD(gamma, 0.1))
    mp = build_mlp(SIZES, config({"algorithm.kind": "mixed-precision"}), seed=1)
    assert why_not_compiled(mp, SoftmaxCrossEntropy(), SGD(mp, 0.1)) is None
    x, y, xt, yt = _data()
    with pytest.raises(InputError, match="gamma"):
        fit(gamma, x, y, xt, yt, epochs=1, lr=0.1, fast=True)


def test_fast_flag_and_fallback():
    cfg = config({"device.dw_min": 0.01})
    x, y, xt, yt = _data()
    tanh = Sequential(AnalogLinear(12, 4, cfg, seed=1), Tanh(), AnalogLinear(4, 4, cfg, seed=2))
    assert "Tanh" in why_not_compiled(tanh, SoftmaxCrossEntropy(), SGD(tanh, 0.1))
    with pytest.raises(InputError, match="Tanh"):
        fit(tanh, x, y, xt, yt, epochs=1, lr=0.1, fast=True)
    fit(tanh, x, y, xt, yt, epochs=1, lr=0.1)  # falls back to the reference path
    digital = build_mlp(SIZES, None, seed=1)
    assert why_not_compiled(digital, SoftmaxCrossEntropy(), SGD(digital, 0.1)) is not None
    model = build_mlp(SIZES, cfg, seed=1)
    assert why_not_compiled(model, SoftmaxCrossEntropy(), SGD(model, 0.1)) is None
    assert "loss" in why_not_compiled(model, MSELoss(), SGD(model, 0.1))
    assert "SGD" in why_not_compiled(model, SoftmaxCrossEntropy(), SGD(model, 0.1,
                                                                       momentum=0.5))
    digital_bias = build_mlp(SIZES, cfg, bias="digital", seed=1)
    assert "digital" in why_not_compiled(digital_bias, SoftmaxCrossEntropy(),
                                         SGD(digital_bias, 0.1))


def test_compiled_step_raises_on_divergence():
    cfg = config({"device.dw_min": 0.01})
    model = build_mlp(SIZES, cfg, seed=1)
    x, y, xt, yt = _data()
    x = x * 1e308
    x[0, 0] = np.inf
    with pytest.raises(InputError):  # fit's edge check, before any step
        fit(model, x, y, xt, yt, epochs=1, fast=True)
