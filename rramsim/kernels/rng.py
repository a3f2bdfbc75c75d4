"""Counter-free random streams for kernels: SplitMix64 uniforms and a Ziggurat normal.

Why not numba's built-in ``np.random``: its state is global per thread, so a parallel kernel
could not give the same numbers as a serial one. Here every stream is one ``uint64`` word held
in an array the caller owns (``state[k]``), so the draw order is fixed by the algorithm, not by
thread scheduling, and a numpy twin can replay it exactly (``tests/naive.py``).

SplitMix64 (Steele, Lea & Flood 2014) passes BigCrush and has period 2**64 per stream; streams are
seeded from :class:`numpy.random.SeedSequence` (see :func:`rramsim.rng.stream_states`).
Normals use the Ziggurat method of Marsaglia & Tsang (2000), 128 layers, with the layer index
and the 32-bit value taken from different bits of one 64-bit draw (Doornik 2005's fix of the
correlation in the original).
"""

import math

import numpy as np

from rramsim.kernels._jit import inline

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S32 = np.uint64(32)
_M127 = np.uint64(127)
_M32 = np.uint64(0xFFFFFFFF)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53

ZIG_R = 3.442619855899


def ziggurat_tables():
    """Return the Marsaglia-Tsang tables ``(kn, wn, fn)`` for 128 layers.

    ``kn`` are int64 acceptance thresholds on a signed 32-bit draw, ``wn`` the layer widths in
    units of 2**-31, ``fn`` the density exp(-x^2/2) at the layer edges.
    """
    m1 = 2147483648.0
    vn = 9.91256303526217e-3
    dn = ZIG_R
    tn = dn
    kn = np.zeros(128, dtype=np.int64)
    wn = np.zeros(128, dtype=np.float64)
    fn = np.zeros(128, dtype=np.float64)
    q = vn / math.exp(-0.5 * dn * dn)
    kn[0] = int((dn / q) * m1)
    kn[1] = 0
    wn[0] = q / m1
    wn[127] = dn / m1
    fn[0] = 1.0
    fn[127] = math.exp(-0.5 * dn * dn)
    for i in range(126, 0, -1):
        dn = math.sqrt(-2.0 * math.log(vn / dn + math.exp(-0.5 * dn * dn)))
        kn[i + 1] = int((dn / tn) * m1)
        tn = dn
        fn[i] = math.exp(-0.5 * dn * dn)
        wn[i] = dn / m1
    return kn, wn, fn


_KN, _WN, _FN = ziggurat_tables()


@inline
def splitmix_mix(s):
    """The SplitMix64 output function of the state value ``s`` (no state change)."""
    z = (s ^ (s >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@inline
def next_u64(state, k):
    """Advance stream ``state[k]`` and return its next 64-bit output (SplitMix64)."""
    s = state[k] + _GOLDEN
    state[k] = s
    return splitmix_mix(s)


@inline
def next_uniform(state, k):
    """Uniform double in [0, 1) from stream ``state[k]`` (top 53 bits of one draw)."""
    return np.float64(next_u64(state, k) >> _S11) * _INV53


@inline
def normal_from(s):
    """One standard normal deviate from the stream whose state value is ``s``: returns
    ``(s_after, value)``.

    The same draws as :func:`next_normal` (which is this on ``state[k]``). A kernel that draws
    many normals from one stream in a row holds the state in a local variable with this form:
    through ``state[k]`` every draw is a store and a reload that the compiler cannot remove
    when other arrays are written in the same loop (measured: the pre-drawn cycle-to-cycle
    factors of a pulsed update).
    """
    while True:
        s = s + _GOLDEN
        r = splitmix_mix(s)
        iz = np.int64(r & _M127)
        hz = np.int64(np.int32(np.uint32(r >> _S32)))
        if abs(hz) < _KN[iz]:
            return s, hz * _WN[iz]
        x = hz * _WN[iz]
        if iz == 0:
            # Tail beyond R: Marsaglia's exponential rejection.
            while True:
                s = s + _GOLDEN
                u1 = 1.0 - np.float64(splitmix_mix(s) >> _S11) * _INV53
                s = s + _GOLDEN
                u2 = 1.0 - np.float64(splitmix_mix(s) >> _S11) * _INV53
                xt = -math.log(u1) / ZIG_R
                y = -math.log(u2)
                if y + y >= xt * xt:
                    break
            return s, (ZIG_R + xt if hz > 0 else -ZIG_R - xt)
        s = s + _GOLDEN
        u = np.float64(splitmix_mix(s) >> _S11) * _INV53
        if _FN[iz] + u * (_FN[iz - 1] - _FN[iz]) < math.exp(-0.5 * x * x):
            return s, x


@inline
def next_normal(state, k):
    """Standard normal deviate from stream ``state[k]`` (Ziggurat, exact up to float rounding)."""
    s, v = normal_from(state[k])
    state[k] = s
    return v
