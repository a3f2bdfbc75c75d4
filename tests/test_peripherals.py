"""Peripherals: the quantizer (levels, clipping, idempotence), the analog MVM kernel against its
twin, noise and bound management, perfect peripherals."""

import naive
import numpy as np
import pytest

from rramsim.analog.converters import analog_mvm, quantize
from rramsim.analog.tile import AnalogTile
from rramsim.config import ConfigError, IOConfig
from rramsim.kernels.mvm import _analog_mvm, _dac
from rramsim.rng import stream_states

QUIET = dict(inp_bits=0, out_bits=0, out_noise=0.0)  # no quantisation, no noise


# ------------------------------------------------------------------------------------------
# quantize
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bits", [2, 3, 4, 7, 9, 11])
@pytest.mark.parametrize("bound", [1.0, 0.37, 12.0])
def test_quantize_levels(bits, bound):
    v = np.linspace(-1.5 * bound, 1.5 * bound, 30_001)
    q = quantize(v, bound, bits)
    levels = np.unique(q)
    assert levels.size == 2**bits - 1
    assert levels[0] == -bound and levels[-1] == bound and 0.0 in levels
    np.testing.assert_allclose(np.diff(levels), 2 * bound / (2**bits - 2), rtol=1e-9)
    np.testing.assert_array_equal(quantize(q, bound, bits), q)  # idempotent
    np.testing.assert_array_equal(quantize(-v, bound, bits), -q)  # symmetric
    assert np.all(np.abs(q - np.clip(v, -bound, bound)) <= bound / (2**bits - 2) * (1 + 1e-12))


def test_quantize_clips_and_zero_bits_only_clips():
    v = np.array([-5.0, -1.0, -0.3, 0.0, 0.123456, 1.0, 7.0])
    np.testing.assert_array_equal(quantize(v, 1.0, 0), np.clip(v, -1, 1))
    q = quantize(v, 1.0, 5)
    assert q[0] == -1.0 and q[-1] == 1.0 and q[3] == 0.0


def test_kernel_quantizer_equals_numpy_quantizer():
    """The DAC kernel (scale 1) rounds exactly like :func:`quantize`, half-steps included."""
    step = 2.0 / 126
    v = np.concatenate([np.arange(-70, 71) * 0.5 * step,  # every half-step: ties to even
                        np.random.default_rng(0).uniform(-1.3, 1.3, 500)])
    got = _dac(v[None, :], np.ones(1), 1.0, 7)[0]
    np.testing.assert_array_equal(got, quantize(v, 1.0, 7))
    np.testing.assert_array_equal(got, [naive.quantize(x, 1.0, 7) for x in v])


def test_one_bit_converter_is_rejected():
    """2**bits - 1 symmetric levels: one bit would leave only 0, so it is refused by name."""
    for key in ("inp_bits", "out_bits"):
        with pytest.raises(ConfigError, match=f"{key} = 1 is invalid"):
            IOConfig(**{key: 1})


# ------------------------------------------------------------------------------------------
# The analog MVM kernel against its twin
# ------------------------------------------------------------------------------------------

def _inputs(rs, B=6, n_in=5):
    X = rs.uniform(-1, 1, size=(B, n_in))
    X[1] = 0.0  # all-zero input: output 0, nothing drawn with noise management
    X[2] *= 25.0  # large: saturates the ADC unless bound management steps in
    return X


@pytest.mark.parametrize("bits", [(0, 0), (7, 9), (4, 5)])
@pytest.mark.parametrize("nm", [True, False])
@pytest.mark.parametrize("bm", [True, False])
@pytest.mark.parametrize("noise", [0.0, 0.06])
def test_analog_mvm_matches_twin(rng, bits, nm, bm, noise):
    M = rng.uniform(-0.6, 0.6, size=(4, 5))
    X = _inputs(rng)
    args = (bits[0], 1.0, bits[1], 2.0, noise, nm, bm, 6, False)
    state = stream_states(1, 1)
    twin = state.copy()
    Y, rep = _analog_mvm(M, X, *args, state)
    Yt, rep_t = naive.analog_mvm(M, X, *args, twin)
    # BLAS sums in another order than the twin's loop: equal to 1e-12, not bit for bit.
    np.testing.assert_allclose(Y, Yt, rtol=0, atol=1e-12)
    assert rep == rep_t
    np.testing.assert_array_equal(state, twin)
    # Backward orientation (M.T, an F-ordered view) through the same kernel.
    state, twin = stream_states(2, 1), stream_states(2, 1)
    D = rng.uniform(-1, 1, size=(3, 4))
    Z, rep = _analog_mvm(M.T, D, *args, state)
    Zt, rep_t = naive.analog_mvm(M.T, D, *args, twin)
    np.testing.assert_allclose(Z, Zt, rtol=0, atol=1e-12)
    assert rep == rep_t


@pytest.mark.parametrize("bm", [True, False])
def test_float32_product_matches_twin(rng, bm):
    """``f32``: the product in single precision. Against the twin's float32 loop (BLAS sums in
    another order: equal to float32 rounding); the ADC's decisions are the twin's; the random
    streams are the same."""
    M = rng.uniform(-0.6, 0.6, size=(4, 5))
    X = _inputs(rng)
    for bits in ((0, 0), (7, 9)):
        args = (bits[0], 1.0, bits[1], 2.0, 0.06, True, bm, 6, True)
        state, twin = stream_states(4, 1), stream_states(4, 1)
        Y, rep = _analog_mvm(M, X, *args, state)
        Yt, rep_t = naive.analog_mvm(M, X, *args, twin)
        scale = np.abs(X).max() * 2.0 ** rep  # noise management and bound management
        if bits == (0, 0):
            np.testing.assert_allclose(Y, Yt, rtol=0, atol=1e-6 * scale)
        else:  # a float32 sum may round to the other ADC level than the twin's: rarely
            assert np.mean(np.abs(Y - Yt) < 1e-9 * scale) > 0.9
        assert rep == rep_t
        np.testing.assert_array_equal(state, twin)


def test_float32_product_reaches_the_kernel(rng):
    """``product_dtype`` goes from the configuration through the tile to the kernel: with
    ideal converters and no noise the float32 result is the float32 product, not the float64
    one (they differ in the low bits), and it agrees with the float64 one to float32 rounding."""
    M = rng.uniform(-1, 1, size=(64, 300))
    X = rng.uniform(-1, 1, size=(8, 300))
    io64 = IOConfig(**QUIET, out_bound=1e3, noise_management=False, inp_bound=2.0)
    io32 = IOConfig(**QUIET, out_bound=1e3, noise_management=False, inp_bound=2.0,
                    product_dtype="float32")
    Y64, _ = analog_mvm(M, X, io64, stream_states(0, 1))
    Y32, _ = analog_mvm(M, X, io32, stream_states(0, 1))
    np.testing.assert_allclose(Y64, X @ M.T, rtol=0, atol=1e-12)
    assert np.any(Y32 != Y64)
    np.testing.assert_allclose(Y32, X @ M.T, rtol=0, atol=1e-4)
    exact32 = (X.astype(np.float32) @ M.T.astype(np.float32)).astype(np.float64)
    np.testing.assert_allclose(Y32, exact32, rtol=0, atol=1e-5)
    with pytest.raises(ConfigError, match="product_dtype"):
        IOConfig(product_dtype="float16")


def test_dac_quantisation_oracle(rng):
    """Noise off, ADC ideal: ``y = M (quantize(x / s) s)``."""
    M = rng.uniform(-1, 1, size=(3, 6))
    X = rng.uniform(-2, 2, size=(4, 6))
    io = IOConfig(inp_bits=3, out_bits=0, out_noise=0.0, out_bound=100.0)
    Y, _ = analog_mvm(M, X, io, stream_states(0, 1))
    s = np.abs(X).max(axis=1, keepdims=True)
    np.testing.assert_allclose(Y, (quantize(X / s, 1.0, 3) * s) @ M.T, rtol=1e-12, atol=1e-14)


def test_noise_management_rescales_inputs():
    M = np.eye(3)
    x = np.array([[5.0, -2.5, 0.5]])
    on = IOConfig(**QUIET, noise_management=True, out_bound=10.0)
    off = IOConfig(**QUIET, noise_management=False, out_bound=10.0)
    np.testing.assert_allclose(analog_mvm(M, x, on, stream_states(0, 1))[0], x, rtol=1e-15)
    # Without it the DAC clips the input to +-inp_bound.
    np.testing.assert_array_equal(analog_mvm(M, x, off, stream_states(0, 1))[0],
                                  [[1.0, -1.0, 0.5]])


def test_output_noise_has_the_configured_std():
    """Quantisation off: the output error is out_noise times the noise-management scale."""
    B = 20_000
    x = np.tile([2.0, -1.0, 0.5], (B, 1))
    M = np.array([[0.1, 0.2, 0.3], [-0.2, 0.0, 0.4]])
    io = IOConfig(inp_bits=0, out_bits=0, out_noise=0.1, out_bound=100.0)
    Y, _ = analog_mvm(M, x, io, stream_states(3, 1))
    err = (Y - x @ M.T) / 2.0  # s = max|x| = 2
    assert abs(err.mean()) < 5 * 0.1 / np.sqrt(2 * B)
    assert abs(err.std() / 0.1 - 1) < 5 / np.sqrt(2 * 2 * B)
    assert abs(np.corrcoef(err[:, 0], err[:, 1])[0, 1]) < 5 / np.sqrt(B)


# ------------------------------------------------------------------------------------------
# Bound management
# ------------------------------------------------------------------------------------------

def test_bound_management_recovers_saturated_output():
    """out_bound small: bound management halves the input until nothing saturates and gives the
    right product; without it the ADC clips."""
    M = np.array([[0.5, 0.5, 0.5, 0.5], [0.25, -0.25, 0.0, 0.1]])
    x = np.array([[1.0, 1.0, 1.0, 1.0]])
    exact = x @ M.T  # [2.0, 0.1]
    on = IOConfig(**QUIET, out_bound=0.3, bound_management=True)
    off = IOConfig(**QUIET, out_bound=0.3, bound_management=False)
    y_on, rep_on = analog_mvm(M, x, on, stream_states(0, 1))
    y_off, rep_off = analog_mvm(M, x, off, stream_states(0, 1))
    np.testing.assert_allclose(y_on, exact, rtol=1e-15)
    assert rep_on == 3  # 2 -> 1 -> 0.5 -> 0.25 < 0.3
    np.testing.assert_array_equal(y_off, [[0.3, 0.1]])
    assert rep_off == 0


def test_bound_management_gives_up_after_bm_max_iter():
    M = np.full((1, 2), 1.0)
    io = IOConfig(**QUIET, out_bound=0.01, bm_max_iter=2)
    y, rep = analog_mvm(M, np.ones((3, 2)), io, stream_states(0, 1))
    assert rep == 3 * 2
    np.testing.assert_allclose(y, 0.01 * 4, rtol=1e-15)  # clipped at the last scale, 2**2


def test_bound_management_in_tile_forward(make_config):
    cfg = make_config(forward__out_bound=0.2, forward__out_noise=0.0, forward__inp_bits=0,
                      forward__out_bits=0, reference__enabled=False)
    tile = AnalogTile(2, 3, cfg, seed=0)
    W = np.array([[0.2, 0.2, 0.2], [-0.1, 0.05, 0.02]])
    assert tile.set_weights(W) == 0.0  # nothing clipped
    x = np.array([1.0, 1.0, 1.0])
    np.testing.assert_allclose(tile.forward(x), [W @ x], rtol=1e-14)
    assert tile.bm_repeats > 0


# ------------------------------------------------------------------------------------------
# Perfect peripherals
# ------------------------------------------------------------------------------------------

def test_is_perfect_is_exact(rng, make_config):
    cfg = make_config(forward__is_perfect=True, backward__is_perfect=True)
    tile = AnalogTile(4, 6, cfg, seed=1)
    W = rng.uniform(-0.3, 0.3, size=(4, 6))
    tile.set_weights(W)
    W = tile.get_weights()
    X = rng.uniform(-3, 3, size=(5, 6))
    D = rng.uniform(-3, 3, size=(5, 4))
    np.testing.assert_array_equal(tile.forward(X), X @ W.T)
    np.testing.assert_array_equal(tile.backward(D), D @ W)
    np.testing.assert_array_equal(tile.forward(X[0]), X[:1] @ W.T)


def test_forward_and_backward_use_their_own_settings(rng, make_config):
    cfg = make_config(forward__is_perfect=True, backward__out_bound=0.05,
                      backward__bound_management=False, backward__out_noise=0.0)
    tile = AnalogTile(3, 4, cfg, seed=2)
    tile.set_weights(rng.uniform(0.2, 0.3, size=(3, 4)))
    W = tile.get_weights()
    x, d = np.ones(4), np.ones(3)
    np.testing.assert_array_equal(tile.forward(x), [W @ x])
    np.testing.assert_array_equal(tile.backward(d), np.full((1, 4), 0.05))


# ------------------------------------------------------------------------------------------
# Converter objects: one interface, two level conventions
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bits", [2, 3, 7])
def test_converters_declare_their_level_convention(bits):
    from rramsim.analog.converters import FullRangeConverter, SymmetricConverter

    v = np.linspace(-2.0, 2.0, 40_001)
    sym = SymmetricConverter(bits, 1.5)
    q = sym.convert(v)
    assert sym.levels == np.unique(q).size == 2**bits - 1 and 0.0 in q
    np.testing.assert_array_equal(q, quantize(v, 1.5, bits))
    assert sym.range == (-1.5, 1.5) and sym.step == 3.0 / (2**bits - 2)
    full = FullRangeConverter.spanning(bits, -1.5, 1.5)
    qf = full.convert(v)
    assert full.levels == np.unique(qf).size == 2**bits and 0.0 not in qf  # every code used
    assert full.range == (-1.5, 1.5)
    # one code fewer on a symmetric range: the symmetric level set, zero included
    odd = FullRangeConverter.spanning(bits, -1.5, 1.5, levels=2**bits - 1)
    np.testing.assert_allclose(np.unique(odd.convert(v)), np.unique(q), rtol=0, atol=1e-15)
    assert odd.levels == sym.levels
    assert "2**bits - 1" in sym.convention and "2**bits levels" in full.convention


def test_converter_edge_cases_and_names():
    from rramsim.analog.converters import (
        CONVERTERS,
        FullRangeConverter,
        SymmetricConverter,
        get_converter,
    )

    v = np.array([-3.0, -0.3, 0.1234, 2.5])
    ideal = SymmetricConverter(0, 1.0)
    assert ideal.levels == 0
    np.testing.assert_array_equal(ideal.convert(v), np.clip(v, -1, 1))  # clips only
    assert FullRangeConverter(0).convert(v) is v and FullRangeConverter(0).levels == 0
    per_column = FullRangeConverter(2, lo=np.array([0.0, -1.0]), step=np.array([1.0, 0.5]))
    np.testing.assert_array_equal(per_column.convert(np.array([[5.0, 5.0], [-5.0, -0.8]])),
                                  [[3.0, 0.5], [0.0, -1.0]])
    with pytest.raises(ValueError, match=r"0 \(ideal\) or in \[2, 24\]"):
        SymmetricConverter(1, 1.0)
    with pytest.raises(ValueError, match=r"has 2 to 4 levels"):
        FullRangeConverter(2, levels=5)
    assert set(CONVERTERS) == {"symmetric", "full_range"}
    assert isinstance(get_converter("full_range", bits=3), FullRangeConverter)
    with pytest.raises(ValueError, match=r"unknown converter 'symetric' \(did you mean "
                                         r"'symmetric'\?\); valid: symmetric, full_range"):
        get_converter("symetric", bits=3, bound=1.0)


def test_tile_passes_go_through_the_tiles_converters(rng, make_config):
    from rramsim.analog.converters import SymmetricConverter

    cfg = make_config(forward__inp_bits=3, forward__out_bits=5, backward__inp_bits=0,
                      backward__out_bits=4)
    tile = AnalogTile(3, 4, cfg, seed=0)
    (fdac, fadc), (bdac, badc) = tile.forward_converters, tile.backward_converters
    assert (fdac.bits, fdac.bound, fadc.bits, fadc.bound) == (3, cfg.forward.inp_bound, 5,
                                                              cfg.forward.out_bound)
    assert (fdac.levels, fadc.levels, bdac.levels, badc.levels) == (7, 31, 0, 15)
    # the converters handed over are the ones the kernel applies: a 2-bit ADC has 3 levels
    M = rng.uniform(-1, 1, (5, 4))
    X = rng.uniform(-1, 1, (50, 4))
    io = IOConfig(**QUIET, out_bound=1.0, noise_management=False, bound_management=False)
    exact, _ = analog_mvm(M, X, io, stream_states(0, 1))
    np.testing.assert_allclose(exact, np.clip(X @ M.T, -1, 1), rtol=1e-14)
    coarse, _ = analog_mvm(M, X, io, stream_states(0, 1),
                           (SymmetricConverter(0, 1.0), SymmetricConverter(2, 1.0)))
    assert set(np.unique(coarse)) == {-1.0, 0.0, 1.0}
    np.testing.assert_array_equal(coarse, quantize(exact, 1.0, 2))
