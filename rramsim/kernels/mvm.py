"""Analog matrix-vector products with their peripherals (DAC, output noise, ADC, management).

One kernel serves the forward (``W x``) and backward (``W^T d``) passes: the caller passes the
matrix already oriented (``M`` of shape (n_out, n_in), ``W`` or ``W.T``).
"""

import numpy as np

from rramsim.kernels._jit import inline, jit
from rramsim.kernels.rng import next_normal


@inline
def level_step(bound, bits):
    """Spacing of the ``2**bits - 1`` levels on [-bound, bound] (0 for ``bits == 0``)."""
    if bits > 0:
        return 2.0 * bound / (2.0 ** bits - 2.0)
    return 0.0


@inline
def quantize(v, bound, bits, step):
    """Clip to [-bound, bound], then round to the levels ``k * step`` (``bits == 0``: no
    rounding). ``step = level_step(bound, bits)``, computed once per call by the caller: a
    ``2.0 ** bits`` per element made the DAC ten times slower."""
    if v > bound:
        v = bound
    elif v < -bound:
        v = -bound
    if bits > 0:
        v = np.round(v / step) * step
    return v


@jit
def _dac(X, scale, inp_bound, inp_bits):
    """DAC of every sample: ``quantize(X[b] / scale[b])``; rows with ``scale == 0`` give 0."""
    B, n = X.shape
    out = np.zeros((B, n))
    step = level_step(inp_bound, inp_bits)
    for b in range(B):
        if scale[b] == 0.0:
            continue
        inv = 1.0 / scale[b]
        for j in range(n):
            out[b, j] = quantize(X[b, j] * inv, inp_bound, inp_bits, step)
    return out


@jit
def _analog_mvm(M, X, inp_bits, inp_bound, out_bits, out_bound, out_noise, noise_management,
                bound_management, bm_max_iter, f32, state):
    """``Y = M X^T`` through the peripherals, per sample b::

        s   = max|x_b| (noise management) or 1
        for k = 0..bm_max_iter:              (bound management: stop when no output saturates)
            u   = DAC(x_b / s * 2^-k)
            v   = M u + out_noise * xi
            y_b = ADC(v) * s * 2^k

    M (n_out, n_in) (any layout), X (B, n_in); noise from stream ``state[0]`` in sample-major
    order. ``f32``: the products ``M u`` in single precision (M and the DAC outputs rounded to
    float32, the sums accumulated in float32 by BLAS, the result widened back; everything else
    in float64). Returns Y (B, n_out) and the number of bound-management repetitions (int).
    """
    B, n_in = X.shape
    n_out = M.shape[0]
    scale = np.ones(B)
    if noise_management:
        for b in range(B):
            s = 0.0
            for j in range(n_in):
                s = max(s, abs(X[b, j]))
            scale[b] = s
    U = _dac(X, scale, inp_bound, inp_bits)
    inp_step = level_step(inp_bound, inp_bits)
    out_step = level_step(out_bound, out_bits)
    if f32:
        # one float32 copy of the weights per call (C order, so BLAS gets a plain matrix)
        M32 = np.ascontiguousarray(M).astype(np.float32)
        V = np.dot(U.astype(np.float32), M32.T).astype(np.float64)
        u32 = np.empty(n_in, dtype=np.float32)
    else:
        M32 = np.empty((0, 0), dtype=np.float32)
        V = np.dot(U, M.T)
        u32 = np.empty(0, dtype=np.float32)
    Y = np.zeros((B, n_out))
    repeats = 0
    u = np.empty(n_in)
    for b in range(B):
        if scale[b] == 0.0:
            continue
        v = V[b]
        factor = 1.0
        for k in range(bm_max_iter + 1):
            if k > 0:
                factor *= 0.5
                inv = factor / scale[b]
                for j in range(n_in):
                    u[j] = quantize(X[b, j] * inv, inp_bound, inp_bits, inp_step)
                if f32:
                    for j in range(n_in):
                        u32[j] = u[j]
                    v = np.dot(M32, u32).astype(np.float64)
                else:
                    v = np.dot(M, u)
                repeats += 1
            saturated = False
            for i in range(n_out):
                y = v[i]
                if out_noise > 0.0:
                    y += out_noise * next_normal(state, 0)
                if abs(y) >= out_bound:
                    saturated = True
                Y[b, i] = quantize(y, out_bound, out_bits, out_step)
            if not (bound_management and saturated):
                break
        s = scale[b] / factor
        for i in range(n_out):
            Y[b, i] *= s
    return Y, repeats


#: The compiled kernel, for other kernels to call (the compiled training step,
#: :mod:`rramsim.kernels.step`); Python code calls :func:`analog_mvm`.
compiled_analog_mvm = _analog_mvm


def analog_mvm(M, X, dac, adc, io, state):
    """Public wrapper of :func:`_analog_mvm`.

    ``dac`` and ``adc`` are symmetric converters (``bits`` and ``bound`` attributes, the
    ``2**bits - 1``-level convention of :class:`rramsim.analog.converters.SymmetricConverter`,
    which :func:`quantize` computes here); ``io`` (an :class:`~rramsim.config.IOConfig`, read
    by attribute) gives the output noise, the noise and bound management and the product's
    precision (``product_dtype``). Returns
    ``(Y, repeats)``."""
    return _analog_mvm(M, X, dac.bits, dac.bound, adc.bits, adc.bound, io.out_noise,
                       io.noise_management, io.bound_management, io.bm_max_iter,
                       io.product_dtype == "float32", state)
