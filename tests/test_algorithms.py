"""The training algorithms of ``[algorithm]``: kernels and whole tiles against their numpy twins
(``tests/naive_transfer.py``), closed forms with ideal devices, the choppers' unbiasedness, the
offset toy problem, buffer caps, saved state, the bad settings, the command line."""

from __future__ import annotations

import naive
import naive_transfer as nt
import numpy as np
import pytest
from conftest import NO_VARIATION, config

from rramsim.analog.converters import analog_mvm
from rramsim.analog.tile import AnalogTile
from rramsim.analog.transfer import MixedPrecisionTile, TransferTile, make_tile
from rramsim.config import ConfigError, TileConfig
from rramsim.experiments.algorithms import offset_toy
from rramsim.kernels import transfer as k
from rramsim.nn import AnalogLinear
from rramsim.rng import stream_states

KINDS = ("ttv1", "ttv2", "c-ttv2", "agad", "mixed-precision")
ZS = {"reference.zero_shift": True, "reference.sp_method": "closed_form"}
#: Ideal arithmetic: perfect reads and floating-point updates, so closed forms hold exactly.
IDEAL = {**NO_VARIATION, "update.mode": "ideal", "forward.is_perfect": True,
         "backward.is_perfect": True, "device.w_min": -1e3, "device.w_max": 1e3,
         "device.dw_min": 0.01, **ZS}


def _kind(kind, *bases, **over):
    extra = ZS if kind in ("ttv1", "ttv2") else {}
    return config(extra, *bases, {"algorithm.kind": kind}, **over)


# ------------------------------------------------------------------------------------------
# Configuration
# ------------------------------------------------------------------------------------------

def test_default_is_sgd_on_one_plain_tile():
    assert TileConfig().algorithm.kind == "sgd"
    layer = AnalogLinear(3, 2, seed=1)
    assert type(layer.tile) is AnalogTile
    assert type(make_tile(2, 3, config({"algorithm.kind": "sgd"}), seed=1)) is AnalogTile


@pytest.mark.parametrize("key,value,match", [
    ("algorithm.transfer_every", 0, r"algorithm.transfer_every = 0 is out of range"),
    ("algorithm.transfer_lr", -0.1, r"algorithm.transfer_lr = -0.1 is out of range"),
    ("algorithm.fast_lr", -1, r"algorithm.fast_lr = -1.0 is out of range"),
    ("algorithm.momentum", -0.5, r"algorithm.momentum = -0.5 is out of range"),
    ("algorithm.in_chop_prob", 1.5, r"algorithm.in_chop_prob = 1.5 is out of range"),
    ("algorithm.out_chop_prob", -0.1, r"algorithm.out_chop_prob = -0.1 is out of range"),
    ("algorithm.kind", "tiki-taka", r"algorithm.kind = 'tiki-taka' is invalid: must be one of"),
])
def test_bad_settings_are_one_config_error(key, value, match):
    with pytest.raises(ConfigError, match=match):
        TileConfig().with_overrides({key: value})


@pytest.mark.parametrize("kind", ["ttv1", "ttv2"])
def test_algorithm_that_needs_a_reference_without_one(kind):
    # refused when the configuration is made, before any layer or run exists
    with pytest.raises(ConfigError, match=rf"algorithm.kind = '{kind}' needs .* "
                                          r"reference.zero_shift = true"):
        config({"algorithm.kind": kind})
    AnalogLinear(3, 2, config({"algorithm.kind": "agad"}), seed=0)  # needs none


def test_zero_shift_slow_moves_only_the_weight_array():
    over = {**NO_VARIATION, "algorithm.kind": "agad", "algorithm.zero_shift_slow": True,
            "device.up_down": 0.5, "reference.sp_method": "closed_form"}
    cfg = config(over)
    layer = AnalogLinear(3, 2, cfg, seed=0, bias="none")
    t = layer.tile
    # C's references at its symmetry points, A's at the mid value; weights as asked
    np.testing.assert_allclose(t.slow.ref, t.slow.devices.symmetry_point())
    assert np.all(t.fast.ref == 0.0) and np.any(t.slow.devices.symmetry_point() != 0.0)
    W = np.array([[0.1, -0.2, 0.05], [0.0, 0.15, -0.1]])
    layer.set_weights(W)
    t.zero_shift(fast=False)  # the weights are kept when the references move
    np.testing.assert_allclose(layer.get_weights()[0], W, atol=1e-12)
    mp = AnalogLinear(3, 2, config(over, {"algorithm.kind": "mixed-precision"}), seed=0)
    np.testing.assert_allclose(mp.tile.device.ref, mp.tile.device.devices.symmetry_point())
    with pytest.raises(ConfigError, match="zero_shift_slow = true needs a transfer algorithm"):
        config({"algorithm.zero_shift_slow": True})
    with pytest.raises(ConfigError, match="zero_shift_slow = true needs reference.enabled"):
        config({"algorithm.kind": "agad", "algorithm.zero_shift_slow": True,
                "reference.enabled": False})


def test_agad_needs_switching_choppers():
    with pytest.raises(ConfigError, match="in_chop_prob = 0.0 is invalid for kind = 'agad'"):
        config({"algorithm.kind": "agad", "algorithm.in_chop_prob": 0.0})


# ------------------------------------------------------------------------------------------
# Kernels against twins
# ------------------------------------------------------------------------------------------

def test_read_columns_is_the_forward_pass_of_one_hot_inputs(rng):
    cfg = config({"forward.noise_management": False, "forward.bound_management": False,
                  "forward.out_noise": 0.3, "forward.out_bound": 0.5})
    tile = AnalogTile(6, 5, cfg, seed=3)
    tile.set_weights(rng.uniform(-0.6, 0.6, (6, 5)))
    cols = np.array([4, 0, 2, 2])
    s1, s2, s3 = (stream_states(7, 1) for _ in range(3))
    got = tile.read_columns(cols, s1)
    E = np.eye(5)[cols]
    want, _ = analog_mvm(tile.get_weights(), E, cfg.forward, s2)
    np.testing.assert_array_equal(got, want)
    fwd = cfg.forward
    twin = nt.read_columns(tile.get_weights(), cols, naive.quantize(1.0, 1.0, fwd.inp_bits),
                           fwd.out_noise, fwd.out_bound, fwd.out_bits, s3)
    np.testing.assert_array_equal(got, twin)
    assert s1[0] == s2[0] == s3[0]
    assert np.any(np.abs(got) == 0.5)  # the ADC clipped some reads


def test_apply_counts_matches_twin(rng):
    tile = AnalogTile(4, 3, config(), seed=5)
    state = tile.state_dict()
    rows, cols = np.array([0, 3, 1, 0, 2]), np.array([2, 0, 1, 2, 1])
    counts = np.array([3, -2, 0, -5, 1])
    n = tile.apply_pulses(rows, cols, counts)
    dev = tuple(state[key] for key in nt.DEVICE_KEYS)
    w, _, total = nt.apply_counts(state["w"], state["ref"], dev, tile.devices.ctoc, rows, cols,
                                  counts, state["_row_states"])
    np.testing.assert_array_equal(tile.w, w)
    np.testing.assert_array_equal(tile._row_states, state["_row_states"])
    assert n == total == 11 == tile.pulse_count


@pytest.mark.parametrize("dynamic,forget,in_random", [(False, True, True), (False, False, True),
                                                      (True, True, False), (True, False, True)])
def test_buffered_transfer_matches_twin(rng, dynamic, forget, in_random):
    n_out, n_in = 4, 3
    arrays = dict(H=rng.uniform(-1, 1, (n_out, n_in)), M=rng.uniform(-1, 1, (n_out, n_in)),
                  MU=rng.uniform(-1, 1, (n_out, n_in)),
                  phase=np.array([0, 1, 2], dtype=np.int8),
                  in_chop=np.array([1, -1, 1], dtype=np.int8),
                  out_chop=np.array([1, 1, -1, -1], dtype=np.int8),
                  counter=np.array([4], dtype=np.int64), chop_state=stream_states(2, 1))
    twin = {key: v.copy() for key, v in arrays.items()}
    for step in range(12):
        R = rng.uniform(-0.3, 0.3, (2, n_out))
        cols = np.array([(2 * step) % n_in, (2 * step + 1) % n_in])
        args = (dynamic, 7.0, 0.25, forget, 2, 1.5, 0.3, 3, 0.4, in_random, 0.3)
        got = k.buffered_transfer(R, cols, *(arrays[key] for key in
                                             ("H", "M", "MU", "phase", "in_chop", "out_chop",
                                              "counter")), *args, arrays["chop_state"])
        want = nt.buffered_transfer(R, cols, *(twin[key] for key in
                                               ("H", "M", "MU", "phase", "in_chop", "out_chop",
                                                "counter")), *args, twin["chop_state"])
        np.testing.assert_array_equal(got, want)
        for key in arrays:
            np.testing.assert_array_equal(arrays[key], twin[key], err_msg=key)
    assert np.abs(arrays["H"]).max() <= (1.5 if not forget else 1.0 + 7.0 * 0.6 * 2)


def test_mixed_precision_accumulate_matches_twin(rng):
    chi = rng.uniform(-0.02, 0.02, (4, 5))
    twin = chi.copy()
    X, D = rng.uniform(-1, 1, (3, 5)), rng.uniform(-1, 1, (3, 4))
    X[1, 2] = 0.0
    D[2, 1] = 0.0
    buf = [np.empty(20, dtype=np.int64) for _ in range(3)]
    m = k.mixed_precision_accumulate(chi, X, D, 0.05, 0.01, 2, *buf)
    want = nt.mixed_precision_accumulate(twin, X, D, 0.05, 0.01)
    np.testing.assert_allclose(chi, twin, rtol=0, atol=1e-15)
    assert [tuple(int(b[i]) for b in buf) for i in range(m)] == want
    assert np.abs(chi).max() < 0.01 and m > 0


# ------------------------------------------------------------------------------------------
# Whole tiles against twins (pulsed, noisy devices and reads: same seed, same numbers)
# ------------------------------------------------------------------------------------------

NOISY = {"forward.out_noise": 0.02, "device.dw_min": 0.02, "algorithm.transfer_every": 2,
         "algorithm.n_reads_per_transfer": 2, "algorithm.transfer_lr": 3.0,
         "algorithm.fast_lr": 0.7, "algorithm.in_chop_prob": 0.3, "algorithm.out_chop_prob": 0.2,
         "algorithm.transfer_bl": 2, "algorithm.momentum": 0.1}


@pytest.mark.parametrize("kind,every", [("ttv1", 2), ("ttv2", 2), ("c-ttv2", 2), ("agad", 2),
                                        ("agad", 1), ("mixed-precision", 1),
                                        ("mixed-precision", 3)])
@pytest.mark.filterwarnings("ignore::rramsim.errors.RramsimWarning")  # deliberately strong
def test_tile_matches_twin(rng, kind, every):
    over = {**NOISY, "algorithm.forget_buffer": kind != "ttv2",
            "algorithm.transfer_every": every}
    tile = make_tile(4, 5, _kind(kind, over), seed=11)
    tile.zero_shift() if tile.config.reference.zero_shift else None
    tile.set_weights(rng.uniform(-0.3, 0.3, (4, 5)))
    twin = (nt.NaiveMixedPrecisionTile if kind == "mixed-precision" else nt.NaiveTransferTile)(tile)
    for step in range(25):
        B = 1 + step % 3
        X, D = rng.uniform(-1, 1, (B, 5)), rng.uniform(-1, 1, (B, 4))
        tile.update(X, D, 0.4)
        twin.update(X, D, 0.4)
    if kind == "mixed-precision":
        np.testing.assert_array_equal(tile.device.w, twin.array.w)
        np.testing.assert_allclose(tile.chi, twin.chi, rtol=0, atol=1e-14)
        assert tile.pulse_count > 0
        return
    np.testing.assert_array_equal(tile.fast.w, twin.fast.w)
    np.testing.assert_array_equal(tile.slow.w, twin.slow.w)
    for key in ("buffer", "mean", "mean_ref", "phase", "in_chop", "out_chop"):
        np.testing.assert_array_equal(getattr(tile, key), getattr(twin, key), err_msg=key)
    assert tile.slow.pulse_count > 0
    if kind in ("c-ttv2", "agad"):
        assert np.any(tile.in_chop < 0) and np.any(tile.out_chop < 0)


# ------------------------------------------------------------------------------------------
# Closed forms with ideal devices
# ------------------------------------------------------------------------------------------

def _ideal_run(kind, rng, n_updates=14, **over):
    cfg = _kind(kind, IDEAL, {"algorithm.transfer_lr": 2.0, **over})
    tile = make_tile(3, 4, cfg, seed=0)
    tile.zero_shift()
    tile.set_weights(np.zeros((3, 4)))
    lr, A = 0.05, np.zeros((3, 4))
    moved = np.zeros((3, 4))  # transfer_lr lr times A's reads, summed per entry
    for t in range(1, n_updates + 1):
        x, d = rng.uniform(-1, 1, 4), rng.uniform(-1, 1, 3)
        tile.update(x, d, lr)
        A -= lr * np.outer(d, x)
        j = (t - 1) % 4
        moved[:, j] += 2.0 * lr * A[:, j]
    np.testing.assert_allclose(tile.fast.get_weights(), A, rtol=0, atol=1e-12)
    return tile, moved


def test_ttv1_moves_exactly_what_a_accumulated(rng):
    tile, moved = _ideal_run("ttv1", rng)
    np.testing.assert_allclose(tile.get_weights(), moved, rtol=0, atol=1e-12)


def test_ttv2_moves_whole_pulses_and_keeps_the_rest(rng):
    tile, moved = _ideal_run("ttv2", rng, **{"algorithm.forget_buffer": False,
                                              "algorithm.transfer_bl": 64})
    dw = 0.01
    C = tile.get_weights()
    np.testing.assert_allclose(C / dw, np.round(C / dw), rtol=0, atol=1e-9)  # whole pulses
    np.testing.assert_allclose(C + dw * tile.buffer, moved, rtol=0, atol=1e-12)
    assert np.abs(tile.buffer).max() < 1.0 and np.abs(C).max() > 0


def test_mixed_precision_writes_the_accumulated_gradient(rng):
    cfg = config(IDEAL, {"algorithm.kind": "mixed-precision", "algorithm.transfer_every": 3})
    tile = make_tile(3, 4, cfg, seed=0)
    tile.set_weights(np.zeros((3, 4)))
    total = np.zeros((3, 4))
    for _ in range(9):
        x, d = rng.uniform(-1, 1, 4), rng.uniform(-1, 1, 3)
        tile.update(x, d, 0.05)
        total -= 0.05 * np.outer(d, x)
    np.testing.assert_allclose(tile.get_weights() + tile.chi, total, rtol=0, atol=1e-12)
    assert np.abs(tile.chi).max() < 0.01


# ------------------------------------------------------------------------------------------
# Choppers: a constant offset on A is not transferred
# ------------------------------------------------------------------------------------------

def _moved(kind, offset: float, g: float, passes: int, seed: int) -> np.ndarray:
    """What a 1 x 64 tile moved from A towards C per column (C plus the buffer, in weight
    units) in ``passes`` passes over the columns, with ideal devices and reads: A reads
    ``offset`` at rest, and each update adds ``g`` times the column's chopper to every column."""
    cfg = _kind(kind, IDEAL, {"algorithm.transfer_lr": 1.0, "algorithm.in_chop_prob": 0.5,
                              "algorithm.forget_buffer": False, "algorithm.transfer_bl": 64})
    tile = make_tile(1, 64, cfg, seed=seed)
    tile.zero_shift()
    tile.set_weights(np.zeros((1, 64)))
    tile.offset_fast_reference(-offset)
    x, d = np.ones((1, 64)), np.full((1, 1), -g)
    for _ in range(64 * passes):
        tile.update(x, d, 1.0)
    return tile.get_weights()[0] + 0.01 * tile.buffer[0]


def test_chopper_cancels_a_constant_offset():
    passes, o = 50, 0.05
    np.testing.assert_allclose(_moved("ttv2", o, 0.0, passes, 1), o * passes, rtol=1e-9)
    # the chopped reads add +-o with independent signs (flip probability 1/2): mean 0,
    # std o sqrt(passes) per column
    moved = np.concatenate([_moved("c-ttv2", o, 0.0, passes, s) for s in range(3)])
    sigma = o * np.sqrt(passes)
    assert abs(moved.mean()) < 4 * sigma / np.sqrt(moved.size)
    assert 0.7 * sigma < moved.std() < 1.3 * sigma


def test_chopper_flips_update_and_read_together():
    """The gradient arrives with its sign: A stores it chopped, the read un-chops it. A chopper
    that flipped only one of the two would move nothing on average."""
    passes, g = 50, 0.001
    moved = _moved("c-ttv2", 0.05, g, passes, 4)
    want = 64 * passes * g  # every update's g, once
    # a column's learned part s_r * sum_{r' <= r} s_r' (64 g each) has std ~ want / sqrt(2)
    assert abs(moved.mean() - want) < 4 * want / np.sqrt(2 * moved.size)


# ------------------------------------------------------------------------------------------
# The offset toy problem: a reference offset breaks TTv1, not AGAD
# ------------------------------------------------------------------------------------------

TOY = {"device.dw_min": 0.01, "device.up_down": 0.5, "device.w_min": -1.0, "device.w_max": 1.0,
       "device.dw_min_dtod": 0.1, "device.up_down_dtod": 0.0, "device.w_min_dtod": 0.1,
       "device.w_max_dtod": 0.1, "device.dw_min_ctoc": 0.3, "forward.is_perfect": True,
       "backward.is_perfect": True, **ZS}


@pytest.mark.filterwarnings("ignore::rramsim.errors.RramsimWarning")  # deliberately strong
def test_reference_offset_breaks_ttv1_not_agad():
    def final(kind, offset):
        cfg = config(TOY, {"algorithm.kind": kind})
        r = offset_toy(cfg, 4000, offset=offset, lr=0.1, record_every=1000, seed=0)
        return float(np.mean(r["error"][-2:]))

    ttv1_sp, ttv1_off = final("ttv1", 0.0), final("ttv1", 0.8)
    agad_off = final("agad", 0.8)
    assert ttv1_sp < 0.5 and agad_off < 0.5
    assert ttv1_off > 2.0


# ------------------------------------------------------------------------------------------
# Buffers, state, layers
# ------------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::rramsim.errors.RramsimWarning")  # deliberately strong
@pytest.mark.parametrize("kind", ["ttv2", "c-ttv2", "agad"])
def test_buffer_never_exceeds_its_cap(rng, kind):
    cfg = _kind(kind, {"algorithm.forget_buffer": False, "algorithm.buffer_cap": 2.0,
                       "algorithm.transfer_bl": 1, "algorithm.transfer_lr": 50.0,
                       "algorithm.in_chop_prob": 0.2})
    tile = make_tile(6, 4, cfg, seed=2)
    tile.zero_shift() if cfg.reference.zero_shift else None
    tile.set_weights(np.zeros((6, 4)))
    peak = 0.0
    for _ in range(200):
        tile.update(rng.uniform(-1, 1, 4), rng.uniform(-1, 1, 6), 0.05)
        peak = max(peak, np.abs(tile.buffer).max())
        assert np.abs(tile.buffer).max() <= 2.0
    assert peak == 2.0  # the cap was reached (a rate this large saturates the buffer)


@pytest.mark.filterwarnings("ignore::rramsim.errors.RramsimWarning")  # deliberately strong
@pytest.mark.parametrize("kind", KINDS)
def test_saved_network_continues_bit_identically(tmp_path, rng, kind):
    from rramsim.networks import build_mlp, load_model, save_model

    cfg = _kind(kind, {"algorithm.in_chop_prob": 0.3, "reference.sp_pairs": 50})
    model = build_mlp((6, 5, 3), cfg, seed=3)
    X, y = rng.uniform(0, 1, (8, 6)), rng.integers(0, 3, 8)

    def steps(m, n):
        from rramsim.nn import SoftmaxCrossEntropy
        loss = SoftmaxCrossEntropy()
        for b in range(n):
            out = m.forward(X[b:b + 1])
            loss(out, y[b:b + 1])
            m.backward(loss.grad())
            for layer in m.analog_layers():
                layer.apply_update(0.5)
        return m.forward(X)

    steps(model, 8)
    save_model(tmp_path / "m.npz", model)
    again = load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(steps(model, 8), steps(again, 8))
    a, b = model.state_dict(), again.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_transfer_tile_state_is_checked_before_loading():
    tile = TransferTile(3, 2, _kind("c-ttv2"), seed=0)
    state = tile.state_dict()
    del state["in_chop"]
    with pytest.raises(KeyError, match="in_chop"):
        tile.load_state_dict(state)
    state = tile.state_dict()
    state["buffer"] = np.zeros((2, 3))
    with pytest.raises(Exception, match="buffer"):
        tile.load_state_dict(state)
    assert isinstance(make_tile(2, 2, _kind("mixed-precision"), seed=0), MixedPrecisionTile)


def test_gamma_weights_both_arrays(rng):
    cfg = _kind("ttv1", IDEAL, {"algorithm.gamma": 0.5, "mapping.weight_scale": 2.0})
    tile = make_tile(3, 4, cfg, seed=0)
    tile.zero_shift()
    C = rng.uniform(-0.5, 0.5, (3, 4))
    tile.set_weights(C)
    tile.fast.set_weights(np.full((3, 4), 0.2))
    W = tile.get_weights()
    np.testing.assert_allclose(W, C + 0.5 * 0.2, rtol=1e-12)
    x = rng.uniform(-1, 1, (2, 4))
    np.testing.assert_allclose(tile.forward(x), x @ W.T, rtol=1e-12)
    d = rng.uniform(-1, 1, (2, 3))
    np.testing.assert_allclose(tile.backward(d), d @ W, rtol=1e-12)


def test_command_line_trains_with_an_algorithm(tmp_path):
    from rramsim.cli import main

    rc = main(["train", "--preset", "softbounds_symmetric", "--zero-shift", "--epochs", "1",
               "--train-subset", "50", "--set", "algorithm.kind=ttv2", "--set",
               "reference.sp_pairs=20", "--out", str(tmp_path / "o")])
    assert rc in (0, None)
    import json
    hist = json.loads((tmp_path / "o" / "history.json").read_text())
    assert hist["config"]["algorithm"]["kind"] == "ttv2"


def test_algorithm_keys_sweep_like_any_configuration_key():
    from rramsim.experiments.sweep import parse_sweep

    sweep = parse_sweep({"job": "train", "preset": "softbounds_asymmetric", "seeds": [0],
                         "args": {"epochs": 1, "train_subset": 10},
                         "set": {"reference.zero_shift": True,
                                 "reference.sp_method": "closed_form"},
                         "grid": {"algorithm.kind": ["sgd", "ttv2", "agad"],
                                  "algorithm.transfer_lr": [1.0, 30.0]}})
    kinds = sorted({p.config["algorithm"]["kind"] for p in sweep.points})
    assert kinds == ["agad", "sgd", "ttv2"] and len(sweep.points) == 6
    with pytest.raises(ConfigError, match="algorithm.transfer_every"):
        parse_sweep({"job": "train", "seeds": [0], "grid": {"algorithm.transfer_every": [0]}})
