"""The bit-packed binary matrix product (rramsim.kernels.binary): exact agreement with the float
product ``x @ w.T`` for every kind, bit layout of the packing, serial == parallel, bad input."""

import numba
import numpy as np
import pytest

from rramsim.kernels import binary as bk

#: The input alphabets and the kinds that may multiply them (besides "ternary" and "auto").
ALPHABETS = {"pm1": ([-1, 1], "xnor"), "01": ([0, 1], "and"), "ternary": ([-1, 0, 1], None)}


def _inputs(rng, B, n, alphabet, dtype=np.float64):
    return rng.choice(ALPHABETS[alphabet][0], size=(B, n)).astype(dtype)


def _weights(rng, n_out, n):
    return rng.choice([-1.0, 1.0], size=(n_out, n))


def _reference(x, w):
    return (np.asarray(x, dtype=np.float64) @ np.asarray(w, dtype=np.float64).T).astype(np.int64)


def _unpack(words, n):
    """Bits of packed rows as a (rows, n) 0/1 array (bit j = bit j % 64 of word j // 64)."""
    shifts = np.arange(64, dtype=np.uint64)
    bits = (words[:, :, None] >> shifts) & np.uint64(1)
    return bits.reshape(words.shape[0], -1)[:, :n].astype(np.int64)


# ------------------------------------------------------------------------------------------
# exactness
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 63, 64, 65, 130, 1000])
@pytest.mark.parametrize("alphabet", list(ALPHABETS))
def test_every_kind_matches_the_float_product(rng, n, alphabet):
    for B, n_out in [(1, 1), (1, 6), (2, 4), (7, 9), (16, 33)]:
        x = _inputs(rng, B, n, alphabet)
        w = _weights(rng, n_out, n)
        sign, mask = bk.pack_inputs(x)
        wbits = bk.pack_weights(w)
        ref = _reference(x, w)
        kinds = ["auto", "ternary"] + [k for k in [ALPHABETS[alphabet][1]] if k]
        for kind in kinds:
            y = bk.binary_matmul(sign, mask, wbits, n, kind=kind)
            assert y.dtype == np.int64 and y.shape == (B, n_out)
            np.testing.assert_array_equal(y, ref, err_msg=f"kind={kind} B={B} n_out={n_out}")
        np.testing.assert_array_equal(bk.binary_dot(x, w), ref)


def test_extreme_rows_and_mixed_rows(rng):
    """All-equal rows reach +-n; a batch mixing dense, {0, 1} and zero rows takes the general
    kernel and is still exact."""
    n = 200
    w = _weights(rng, 5, n)
    w[0] = 1.0
    x = np.stack([np.ones(n), -np.ones(n), np.zeros(n), (rng.random(n) < 0.5).astype(float),
                  _inputs(rng, 1, n, "pm1")[0]])
    y = bk.binary_dot(x, w)
    np.testing.assert_array_equal(y, _reference(x, w))
    assert y[0, 0] == n and y[1, 0] == -n and not y[2].any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8, np.int16, np.int32,
                                   np.int64, np.float16])
def test_input_dtypes_pack_identically(rng, dtype):
    x = _inputs(rng, 3, 100, "ternary")
    expect = bk.pack_inputs(x)
    got = bk.pack_inputs(x.astype(dtype))
    for a, b in zip(expect, got):
        np.testing.assert_array_equal(a, b)
    bits = rng.random((3, 100)) < 0.5
    s, m = bk.pack_inputs(bits)  # bool is the {0, 1} case
    np.testing.assert_array_equal(s, m)
    np.testing.assert_array_equal(s, bk.pack_inputs(bits.astype(np.uint8))[0])


def test_any_memory_layout(rng):
    """Fortran-ordered and strided arrays give the C-ordered results."""
    x = _inputs(rng, 6, 300, "ternary")
    w = _weights(rng, 5, 150)
    expect = _reference(x[:, ::2], w)
    np.testing.assert_array_equal(bk.binary_dot(np.asfortranarray(x)[:, ::2], w), expect)
    sign, mask = bk.pack_inputs(x[:, ::2])
    wbits = np.asfortranarray(bk.pack_weights(w))
    y = bk.binary_matmul(np.asfortranarray(sign), mask[:, :], wbits, 150)
    np.testing.assert_array_equal(y, expect)


def test_empty_shapes():
    sign, mask = bk.pack_inputs(np.zeros((0, 70)))
    assert sign.shape == mask.shape == (0, 2)
    wbits = bk.pack_weights(np.ones((3, 70)))
    assert bk.binary_matmul(sign, mask, wbits, 70).shape == (0, 3)
    sign, mask = bk.pack_inputs(np.ones((2, 70)))
    y = bk.binary_matmul(sign, mask, np.zeros((0, 2), np.uint64), 70)
    assert y.shape == (2, 0)


# ------------------------------------------------------------------------------------------
# bit layout
# ------------------------------------------------------------------------------------------

def test_bit_layout_and_round_trip(rng):
    n = 130
    x = _inputs(rng, 4, n, "ternary")
    sign, mask = bk.pack_inputs(x)
    assert sign.dtype == mask.dtype == np.uint64
    assert sign.shape == mask.shape == (4, 3)
    assert sign.flags.c_contiguous and mask.flags.c_contiguous
    np.testing.assert_array_equal(_unpack(sign, n), x > 0)
    np.testing.assert_array_equal(_unpack(mask, n), x != 0)
    np.testing.assert_array_equal(_unpack(mask, n) * (2 * _unpack(sign, n) - 1), x)
    # padding bits past n are 0
    assert not np.any(sign[:, -1] >> np.uint64(n % 64))
    assert not np.any(mask[:, -1] >> np.uint64(n % 64))
    # a single +1 at position j lands at bit j % 64 of word j // 64
    for j in (0, 1, 63, 64, 129):
        e = np.zeros((1, n))
        e[0, j] = 1
        s, m = bk.pack_inputs(e)
        expect = np.zeros((1, 3), np.uint64)
        expect[0, j // 64] = np.uint64(1) << np.uint64(j % 64)
        np.testing.assert_array_equal(s, expect)
        np.testing.assert_array_equal(m, expect)
    # weights: bit = w > 0
    w = _weights(rng, 3, n)
    wbits = bk.pack_weights(w)
    assert wbits.shape == (3, 3) and wbits.dtype == np.uint64 and wbits.flags.c_contiguous
    np.testing.assert_array_equal(_unpack(wbits, n), w > 0)


def test_special_alphabets_pack_as_documented(rng):
    s, m = bk.pack_inputs(_inputs(rng, 3, 100, "01"))
    np.testing.assert_array_equal(s, m)
    s, m = bk.pack_inputs(_inputs(rng, 3, 100, "pm1"))
    np.testing.assert_array_equal(m[:, 0], np.uint64(2**64 - 1))
    np.testing.assert_array_equal(m[:, 1], np.uint64(2**36 - 1))


# ------------------------------------------------------------------------------------------
# serial and parallel versions
# ------------------------------------------------------------------------------------------

def test_serial_and_parallel_identical(rng, restore_threads, monkeypatch):
    """The parallel kernels (forced here for small arrays) give the serial kernels' numbers."""
    import rramsim.kernels._jit as jit_config

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba was started with a single thread")
    cases = [(1, 5, 1, "pm1"), (3, 65, 7, "01"), (9, 130, 13, "ternary"), (2, 64, 4, "pm1")]
    out = {}
    for threshold, threads in [(jit_config.PARALLEL_MIN_WORK, 1), (0, 2)]:
        monkeypatch.setattr(jit_config, "PARALLEL_MIN_WORK", threshold)
        numba.set_num_threads(threads)
        for B, n, n_out, alphabet in cases:
            x = _inputs(np.random.default_rng(B), B, n, alphabet)
            w = _weights(np.random.default_rng(n), n_out, n)
            packed = bk.pack_inputs(x)
            wbits = bk.pack_weights(w)
            for kind in ("auto", "ternary"):
                out[threads, B, kind] = (packed, wbits,
                                         bk.binary_matmul(*packed, wbits, n, kind=kind))
            np.testing.assert_array_equal(out[threads, B, "auto"][2], _reference(x, w))
    for key in [k for k in out if k[0] == 1]:
        for a, b in zip(out[key], out[(2,) + key[1:]]):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # both compiled versions did run
    assert bk._matmul_serial.signatures and bk._matmul_parallel.signatures
    assert bk._pack_serial.signatures and bk._pack_parallel.signatures


# ------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad, match", [
    (0.5, r"only -1, 0 and \+1; found 0\.5 at \[1, 2\]"),
    (np.nan, r"NaN \(at \[1, 2\]\)"),
    (np.inf, r"found inf"),
    (2, r"found 2\.0"),
])
def test_pack_inputs_rejects_bad_values(bad, match):
    x = np.ones((3, 70))
    x[1, 2] = bad
    with pytest.raises(ValueError, match=match):
        bk.pack_inputs(x)


def test_pack_rejects_wrong_ndim_and_dtype():
    with pytest.raises(ValueError, match=r"x must be 2-D, got shape \(5,\)"):
        bk.pack_inputs(np.ones(5))
    with pytest.raises(ValueError, match=r"x must be 2-D"):
        bk.pack_inputs(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match=r"w must be 2-D"):
        bk.pack_weights(np.ones(5))
    with pytest.raises(ValueError, match=r"real numeric"):
        bk.pack_inputs(np.ones((2, 2), dtype=complex))
    with pytest.raises(ValueError, match=r"real numeric"):
        bk.pack_inputs(np.array([["a", "b"]]))


def test_pack_weights_rejects_zero_and_fractional_weights():
    w = np.ones((4, 100))
    w[3, 99] = 0
    with pytest.raises(ValueError, match=r"only -1 and \+1; found 0\.0 at \[3, 99\] \(zero "
                                         r"weights cannot be binarised\)"):
        bk.pack_weights(w)
    w[3, 99] = -0.5
    with pytest.raises(ValueError, match=r"found -0\.5 at \[3, 99\]"):
        bk.pack_weights(w)
    w[3, 99] = np.nan
    with pytest.raises(ValueError, match=r"w contains NaN"):
        bk.pack_weights(w)


def test_binary_matmul_rejects_bad_packed_arrays(rng):
    n = 100
    sign, mask = bk.pack_inputs(_inputs(rng, 3, n, "ternary"))
    wbits = bk.pack_weights(_weights(rng, 4, n))
    with pytest.raises(ValueError, match=r"word counts differ: inputs have 2 words per row, "
                                         r"wbits has 3"):
        bk.binary_matmul(sign, mask, bk.pack_weights(_weights(rng, 4, 130)), n)
    with pytest.raises(ValueError, match=r"n = 130 needs 3 words per row, the arrays have 2"):
        bk.binary_matmul(sign, mask, wbits, 130)
    with pytest.raises(ValueError, match=r"n must be an integer >= 0"):
        bk.binary_matmul(sign, mask, wbits, 100.0)
    with pytest.raises(ValueError, match=r"sign \(3, 2\) and mask \(2, 2\) must have the same "
                                         r"shape"):
        bk.binary_matmul(sign, mask[:2], wbits, n)
    with pytest.raises(ValueError, match=r"wbits must be uint64 .* got dtype int64"):
        bk.binary_matmul(sign, mask, wbits.astype(np.int64), n)
    with pytest.raises(ValueError, match=r"sign must be 2-D"):
        bk.binary_matmul(sign[0], mask, wbits, n)
    with pytest.raises(ValueError, match=r"sign has bits set where mask is 0"):
        bk.binary_matmul(sign, np.zeros_like(mask), wbits, n)
    bad_pad = mask.copy()
    bad_pad[0, -1] |= np.uint64(1) << np.uint64(63)
    with pytest.raises(ValueError, match=r"padding bits past n = 100 must be 0 in sign and mask"):
        bk.binary_matmul(sign, bad_pad, wbits, n)
    bad_w = wbits.copy()
    bad_w[2, -1] |= np.uint64(1) << np.uint64(40)
    with pytest.raises(ValueError, match=r"padding bits past n = 100 must be 0 in wbits"):
        bk.binary_matmul(sign, mask, bad_w, n)
    with pytest.raises(ValueError, match=r"kind must be 'auto' or one of"):
        bk.binary_matmul(sign, mask, wbits, n, kind="xor")


def test_specialised_kind_must_fit_the_data(rng):
    n = 70
    wbits = bk.pack_weights(_weights(rng, 2, n))
    ternary = bk.pack_inputs(_inputs(rng, 3, n, "ternary"))
    with pytest.raises(ValueError, match=r"kind 'xnor' needs dense \+-1 inputs"):
        bk.binary_matmul(*ternary, wbits, n, kind="xnor")
    with pytest.raises(ValueError, match=r"kind 'and' needs \{0, 1\} inputs"):
        bk.binary_matmul(*ternary, wbits, n, kind="and")


def test_binary_dot_rejects_mismatched_features(rng):
    with pytest.raises(ValueError, match=r"x has 65 features per row, w has 64"):
        bk.binary_dot(_inputs(rng, 2, 65, "pm1"), _weights(rng, 3, 64))
