"""Bit-packed matrix products of binary neural networks: XNOR / AND / ternary popcount kernels.

A row of n values in {-1, 0, +1} is stored as two bit vectors of ``ceil(n / 64)`` uint64
words: ``sign`` (bit = 1 where x > 0) and ``mask`` (bit = 1 where x != 0). Bit j of a row is bit
``j % 64`` of word ``j // 64``; the padding bits past n are 0. Weights in {-1, +1} need the sign
bits only. Then, per word (``popcount`` = number of set bits)::

    sum_j x_j w_j = 2 popcount(mask & ~(sign ^ w)) - popcount(mask)     ternary x (general)
                  = n - 2 popcount(sign ^ w)                            x in {-1, +1} (xnor)
                  = 2 popcount(sign & w) - popcount(sign)               x in {0, 1} (and)

The products are exact integers. ``popcount(mask)`` is computed once per input row.

Kernel layout (the word loop is a plain reduction that LLVM vectorises; on CPUs with AVX-512
VPOPCNTDQ it becomes ``vpternlogq``/``vpxorq`` + ``vpopcntq`` + ``vpaddq`` on 8 words at a time):
each step of the word loop updates a register block of 2 input rows x 4 outputs, so every
loaded word is used 2 or 4 times. The ``kind`` test inside the word loop is loop-invariant;
LLVM unswitches it into one vectorised loop per kind. The parallel version splits the outputs
into blocks of 4 (``prange``, dynamically scheduled), every block writing its own columns of
``y``.
"""

import numba
import numpy as np
from numba import prange

from rramsim.errors import InputError
from rramsim.kernels._bits import _popcount
from rramsim.kernels._jit import inline, jit, serial_and_parallel, use_parallel

#: Kernel kinds (``binary_matmul(kind=...)``), in the order of their integer codes.
KINDS = ("xnor", "and", "ternary")
_XNOR, _AND, _TERNARY = 0, 1, 2

#: The parallel product hands out its output blocks in about this many chunks.
PARALLEL_CHUNKS = 32

_ONE = np.uint64(1)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


# ------------------------------------------------------------------------------------------
# packing
# ------------------------------------------------------------------------------------------

@inline
def _pack_word(xr, lo, count, allow_zero):
    """Sign and mask bits of ``xr[lo:lo + count]`` and the number of disallowed values there.
    Called with ``count = 64`` for full words: the constant trip count lets LLVM vectorise."""
    s = np.uint64(0)
    m = np.uint64(0)
    n_bad = 0
    for j in range(count):
        v = xr[lo + j]
        s |= np.uint64(v > 0) << np.uint64(j)
        m |= np.uint64(v != 0) << np.uint64(j)
        n_bad += (v != 1) & (v != -1) & ((v != 0) | (not allow_zero))
    return s, m, n_bad


def _pack(x, allow_zero):
    """Pack the rows of ``x`` (B, n): ``sign``, ``mask`` (B, ceil(n/64)) uint64 and ``bad`` (B,)
    bool, True for a row holding a value outside {-1, 0, +1} (or a 0 when ``allow_zero`` is
    False), NaN included."""
    B, n = x.shape
    W = (n + 63) // 64
    sign = np.empty((B, W), dtype=np.uint64)
    mask = np.empty((B, W), dtype=np.uint64)
    bad = np.empty(B, dtype=np.bool_)
    for b in prange(B):
        xr = x[b]
        n_bad = 0
        for k in range(W):
            lo = 64 * k
            if lo + 64 <= n:
                s, m, c = _pack_word(xr, lo, 64, allow_zero)
            else:
                s, m, c = _pack_word(xr, lo, n - lo, allow_zero)
            sign[b, k] = s
            mask[b, k] = m
            n_bad += c
        bad[b] = n_bad > 0
    return sign, mask, bad


_pack_serial, _pack_parallel = serial_and_parallel(_pack)

#: dtypes the packing kernel is compiled for; others are converted to float64 first.
_PACK_DTYPES = (np.float64, np.float32, np.int64, np.int32, np.int16, np.int8)


def _pack_checked(x, name, allow_zero, func):
    """Validate ``x`` (2-D, real, values in {-1, (0,) +1}) and pack it with :func:`_pack`."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise InputError(f"{func}: {name} must be 2-D, got shape {x.shape} ({x.ndim}-D)")
    if x.dtype.kind not in "biuf":
        raise InputError(f"{func}: {name} must be a real numeric array, got dtype {x.dtype}")
    if x.dtype not in _PACK_DTYPES:
        x = x.astype(np.float64)
    kernel = _pack_parallel if use_parallel(x.size) else _pack_serial
    sign, mask, bad = kernel(x, allow_zero)
    if bad.any():
        allowed = "-1, 0 and +1" if allow_zero else "-1 and +1"
        b = int(np.argmax(bad))
        row = x[b]
        if x.dtype.kind == "f" and np.isnan(row).any():
            j = int(np.argmax(np.isnan(row)))
            raise InputError(f"{func}: {name} contains NaN (at [{b}, {j}]); "
                             f"only {allowed} are allowed")
        ok = (row == 1) | (row == -1)
        if allow_zero:
            ok |= row == 0
        j = int(np.argmin(ok))
        hint = "" if allow_zero or row[j] != 0 else " (zero weights cannot be binarised)"
        raise InputError(f"{func}: {name} must contain only {allowed}; found {row[j].item()!r} at "
                         f"[{b}, {j}]{hint}")
    return sign, mask


def pack_inputs(x):
    """Bit-pack ternary (or binary) inputs.

    Parameters
    ----------
    x : array (B, n), any real dtype, values in {-1, 0, +1}
        B input rows of n features. ``{0, 1}`` inputs give ``sign == mask``; ``{-1, +1}``
        inputs have every mask bit set.

    Returns
    -------
    sign, mask : C-contiguous uint64 arrays (B, ceil(n / 64))
        Bit j of row b (bit ``j % 64`` of word ``j // 64``) is ``x[b, j] > 0`` in ``sign`` and
        ``x[b, j] != 0`` in ``mask``; padding bits past n are 0.

    Raises
    ------
    ValueError
        ``x`` not 2-D or not real, or a value outside {-1, 0, +1} (NaN included).
    """
    return _pack_checked(x, "x", True, "pack_inputs")


def pack_weights(w):
    """Bit-pack binary weights.

    Parameters
    ----------
    w : array (n_out, n), any real dtype, values in {-1, +1}
        One row of n weights per output.

    Returns
    -------
    wbits : C-contiguous uint64 array (n_out, ceil(n / 64))
        Bit j of row o (bit ``j % 64`` of word ``j // 64``) is ``w[o, j] > 0``; padding bits 0.

    Raises
    ------
    ValueError
        ``w`` not 2-D or not real, or a value other than -1 and +1 (0 and NaN included).
    """
    sign, _ = _pack_checked(w, "w", False, "pack_weights")
    return sign


# ------------------------------------------------------------------------------------------
# products
# ------------------------------------------------------------------------------------------

@jit
def _input_stats(sign, mask, n):
    """One pass over the packed inputs (B, W): ``popcount(mask)`` per row (B,) int64, and
    whether (1) sign is a subset of mask, (2) the padding bits past n are 0, (3) every mask
    bit below n is set (dense +-1 inputs), (4) ``sign == mask`` ({0, 1} inputs)."""
    B, W = sign.shape
    tail = n % 64
    last = (_ONE << np.uint64(tail)) - _ONE if tail else _ALL
    popm = np.zeros(B, dtype=np.int64)
    subset = padding_ok = full = same = True
    for b in range(B):
        c = np.uint64(0)
        for k in range(W):
            s = sign[b, k]
            m = mask[b, k]
            c += _popcount(m)
            valid = last if k == W - 1 else _ALL
            subset &= (s & ~m) == 0
            padding_ok &= ((s | m) & ~valid) == 0
            full &= m == valid
            same &= s == m
        popm[b] = np.int64(c)
    return popm, subset, padding_ok, full, same


@inline
def _bits(kind, s, m, w):
    """The word whose popcount the kernel accumulates (``kind`` is loop-invariant)."""
    if kind == _XNOR:
        return s ^ w
    if kind == _AND:
        return s & w
    return m & ~(s ^ w)


@inline
def _finish(kind, acc, n, popm):
    """The dot product from the accumulated popcount."""
    if kind == _XNOR:
        return n - 2 * np.int64(acc)
    return 2 * np.int64(acc) - popm


def _matmul(kind, sign, mask, wbits, n, popm):
    """``y`` (B, n_out) int64: 2 x 4 register blocks; output indices past the end are clamped
    to the last output (recomputed, same value), an odd last input row runs as a 1 x 4 block."""
    B, W = sign.shape
    n_out = wbits.shape[0]
    y = np.empty((B, n_out), dtype=np.int64)
    last = n_out - 1
    for blk in prange((n_out + 3) // 4):
        o0 = 4 * blk
        o1 = min(o0 + 1, last)
        o2 = min(o0 + 2, last)
        o3 = min(o0 + 3, last)
        w0 = wbits[o0]
        w1 = wbits[o1]
        w2 = wbits[o2]
        w3 = wbits[o3]
        for b0 in range(0, B - 1, 2):
            b1 = b0 + 1
            s0 = sign[b0]
            s1 = sign[b1]
            m0 = mask[b0]
            m1 = mask[b1]
            a00 = a01 = a02 = a03 = np.uint64(0)
            a10 = a11 = a12 = a13 = np.uint64(0)
            for k in range(W):
                x0 = s0[k]
                x1 = s1[k]
                q0 = m0[k]
                q1 = m1[k]
                v0 = w0[k]
                v1 = w1[k]
                v2 = w2[k]
                v3 = w3[k]
                a00 += _popcount(_bits(kind, x0, q0, v0))
                a01 += _popcount(_bits(kind, x0, q0, v1))
                a02 += _popcount(_bits(kind, x0, q0, v2))
                a03 += _popcount(_bits(kind, x0, q0, v3))
                a10 += _popcount(_bits(kind, x1, q1, v0))
                a11 += _popcount(_bits(kind, x1, q1, v1))
                a12 += _popcount(_bits(kind, x1, q1, v2))
                a13 += _popcount(_bits(kind, x1, q1, v3))
            y[b0, o0] = _finish(kind, a00, n, popm[b0])
            y[b0, o1] = _finish(kind, a01, n, popm[b0])
            y[b0, o2] = _finish(kind, a02, n, popm[b0])
            y[b0, o3] = _finish(kind, a03, n, popm[b0])
            y[b1, o0] = _finish(kind, a10, n, popm[b1])
            y[b1, o1] = _finish(kind, a11, n, popm[b1])
            y[b1, o2] = _finish(kind, a12, n, popm[b1])
            y[b1, o3] = _finish(kind, a13, n, popm[b1])
        if B % 2 == 1:
            b0 = B - 1
            s0 = sign[b0]
            m0 = mask[b0]
            a00 = a01 = a02 = a03 = np.uint64(0)
            for k in range(W):
                x0 = s0[k]
                q0 = m0[k]
                a00 += _popcount(_bits(kind, x0, q0, w0[k]))
                a01 += _popcount(_bits(kind, x0, q0, w1[k]))
                a02 += _popcount(_bits(kind, x0, q0, w2[k]))
                a03 += _popcount(_bits(kind, x0, q0, w3[k]))
            y[b0, o0] = _finish(kind, a00, n, popm[b0])
            y[b0, o1] = _finish(kind, a01, n, popm[b0])
            y[b0, o2] = _finish(kind, a02, n, popm[b0])
            y[b0, o3] = _finish(kind, a03, n, popm[b0])
    return y


_matmul_serial, _matmul_parallel = serial_and_parallel(_matmul)


def _packed(a, name):
    """``a`` as a C-contiguous 2-D uint64 array, or a ValueError."""
    a = np.asarray(a)
    if a.dtype != np.uint64:
        raise InputError(f"binary_matmul: {name} must be uint64 (bit-packed words), got dtype "
                         f"{a.dtype}")
    if a.ndim != 2:
        raise InputError(f"binary_matmul: {name} must be 2-D (rows, words), got shape {a.shape}")
    return np.ascontiguousarray(a)


def binary_matmul(sign, mask, wbits, n, kind="auto"):
    """Exact product ``y = x @ w.T`` of packed ternary inputs and packed binary weights.

    Parameters
    ----------
    sign, mask : uint64 arrays (B, ceil(n / 64))
        The packed inputs (:func:`pack_inputs`); ``sign`` must be a subset of ``mask``.
    wbits : uint64 array (n_out, ceil(n / 64))
        The packed weights (:func:`pack_weights`).
    n : int
        Number of features (bits per row); padding bits past n must be 0.
    kind : {"auto", "xnor", "and", "ternary"}
        ``"xnor"``: dense +-1 inputs (every mask bit set), ``y = n - 2 popcount(sign ^ w)``;
        ``"and"``: {0, 1} inputs (``sign == mask``), ``y = 2 popcount(sign & w) -
        popcount(sign)``; ``"ternary"``: any {-1, 0, +1} inputs, ``y = 2 popcount(mask &
        ~(sign ^ w)) - popcount(mask)``; ``"auto"`` picks the first of xnor, and, ternary
        that fits the data. A specialised kind that does not fit the data is an error.

    Returns
    -------
    y : int64 array (B, n_out)
        ``y[b, o] = sum_j x[b, j] w[o, j]`` (dimensionless counts in [-n, n]).

    Raises
    ------
    ValueError
        Wrong dtype, ndim or shapes, word counts that do not match each other or n, sign bits
        outside mask, non-zero padding bits, an unknown kind or one that does not fit the data.
    """
    if kind != "auto" and kind not in KINDS:
        raise InputError(f"binary_matmul: kind must be 'auto' or one of {KINDS}, got {kind!r}")
    sign = _packed(sign, "sign")
    mask = _packed(mask, "mask")
    wbits = _packed(wbits, "wbits")
    if sign.shape != mask.shape:
        raise InputError(f"binary_matmul: sign {sign.shape} and mask {mask.shape} must have the "
                         "same shape")
    B, W = sign.shape
    if wbits.shape[1] != W:
        raise InputError(f"binary_matmul: word counts differ: inputs have {W} words per row, "
                         f"wbits has {wbits.shape[1]}")
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
        raise InputError(f"binary_matmul: n must be an integer >= 0, got {n!r}")
    n = int(n)
    if (n + 63) // 64 != W:
        raise InputError(f"binary_matmul: n = {n} needs {(n + 63) // 64} words per row, the "
                         f"arrays have {W}")
    popm, subset, padding_ok, full, same = _input_stats(sign, mask, n)
    if not subset:
        raise InputError("binary_matmul: sign has bits set where mask is 0 (sign must be a "
                         "subset of mask, as pack_inputs makes it)")
    if not padding_ok:
        raise InputError(f"binary_matmul: padding bits past n = {n} must be 0 in sign and mask")
    if n % 64 and wbits.shape[0] and np.any(wbits[:, -1] >> np.uint64(n % 64)):
        raise InputError(f"binary_matmul: padding bits past n = {n} must be 0 in wbits")
    if kind == "auto":
        kind = "xnor" if full else "and" if same else "ternary"
    elif kind == "xnor" and not full:
        raise InputError("binary_matmul: kind 'xnor' needs dense +-1 inputs (every mask bit "
                         "set); these inputs have zeros: use 'ternary' or 'auto'")
    elif kind == "and" and not same:
        raise InputError("binary_matmul: kind 'and' needs {0, 1} inputs (sign == mask); these "
                         "inputs have -1 entries: use 'ternary' or 'auto'")
    code = KINDS.index(kind)
    if not use_parallel(B * wbits.shape[0] * W):
        return _matmul_serial(code, sign, mask, wbits, n, popm)
    # Dynamic scheduling in PARALLEL_CHUNKS chunks of output blocks: on a shared machine a
    # thread that loses its core leaves its remaining chunks to the others.
    chunk = max(1, -(-wbits.shape[0] // 4) // PARALLEL_CHUNKS)
    with numba.parallel_chunksize(chunk):
        return _matmul_parallel(code, sign, mask, wbits, n, popm)


def binary_dot(x, w):
    """``x @ w.T`` as an exact integer product through the packed kernels.

    x (B, n) in {-1, 0, +1}, w (n_out, n) in {-1, +1} (any real dtypes); returns int64
    (B, n_out). Packs both on every call: pack the weights once with :func:`pack_weights`
    and call :func:`binary_matmul` when they are reused.
    """
    sign, mask = pack_inputs(x)
    wbits = pack_weights(w)
    n = np.shape(x)[1]
    if np.shape(w)[1] != n:
        raise InputError(f"binary_dot: x has {n} features per row, w has {np.shape(w)[1]}")
    return binary_matmul(sign, mask, wbits, n)
