"""Slow, obviously-correct twins of rramsim's numba kernels, for number-for-number comparison.

Each function here replays the SAME random streams as its kernel in :mod:`rramsim.kernels`, so a
test can feed both the same states and compare the results exactly (or to 1e-12 where the kernel
calls BLAS or uses a different but equivalent closed-form expression). Everything is written from
the documented semantics, in plain Python loops over Python floats and ints:

- random streams: SplitMix64 on Python ints masked to 64 bits, uniforms from the top 53 bits, the
  Marsaglia-Tsang Ziggurat normal (the tables are the library's, :func:`ziggurat_tables`);
- the Bernoulli pulse train (two slots per 64-bit draw, low word first);
- the device pulse (linear-step family), pulse sequences, the symmetry-point protocol;
- the update: per-sample scales, input pulse trains, the row-wise coincidence update, and the
  expected-count update with its closed form;
- the analog matrix-vector product with DAC, output noise, ADC, noise and bound management.

Stream states are numpy ``uint64`` arrays owned by the caller and advanced in place, exactly like
the kernels' ``state[k]`` words, so a test can also check that both consumed the same number of
draws.

Where the kernels fix an order that the docstrings leave open, the twins follow the kernel and the
function says so (marked "ORDER").
"""

from __future__ import annotations

import math

import numpy as np

from rramsim.kernels.rng import ZIG_R, ziggurat_tables

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB

_KN, _WN, _FN = (t.tolist() for t in ziggurat_tables())


# ------------------------------------------------------------------------------------------
# Random streams
# ------------------------------------------------------------------------------------------

def next_u64(state, k: int) -> int:
    """SplitMix64 (Steele, Lea & Flood 2014): advance ``state[k]`` by the golden gamma, mix."""
    s = (int(state[k]) + GOLDEN) & MASK64
    state[k] = s
    z = ((s ^ (s >> 30)) * MIX1) & MASK64
    z = ((z ^ (z >> 27)) * MIX2) & MASK64
    return z ^ (z >> 31)


def next_uniform(state, k: int) -> float:
    """Uniform in [0, 1): the top 53 bits of one draw times 2**-53."""
    return float(next_u64(state, k) >> 11) * 2.0 ** -53


class ZigguratStats:
    """Counts of the Ziggurat's branches, to check that a test exercised all of them."""

    fast = 0
    wedge_tested = 0
    tail = 0


def next_normal(state, k: int) -> float:
    """Standard normal, Marsaglia & Tsang (2000) Ziggurat with 128 layers.

    ORDER (fixed by the kernel, not by its docstring): the layer index is the low 7 bits of the
    draw, the signed 32-bit value its high 32 bits; the tail uses two fresh uniforms ``1 - U``
    per try, the wedge one fresh uniform.
    """
    while True:
        r = next_u64(state, k)
        iz = r & 127
        hz = r >> 32
        if hz >= 1 << 31:
            hz -= 1 << 32
        if abs(hz) < _KN[iz]:
            ZigguratStats.fast += 1
            return hz * _WN[iz]
        x = hz * _WN[iz]
        if iz == 0:
            ZigguratStats.tail += 1
            while True:
                xt = -math.log(1.0 - next_uniform(state, k)) / ZIG_R
                y = -math.log(1.0 - next_uniform(state, k))
                if 2.0 * y >= xt * xt:
                    break
            return ZIG_R + xt if hz > 0 else -(ZIG_R + xt)
        ZigguratStats.wedge_tested += 1
        u = next_uniform(state, k)
        if _FN[iz] + u * (_FN[iz - 1] - _FN[iz]) < math.exp(-0.5 * x * x):
            return x


def bernoulli_train(p: float, bl: int, state, k: int) -> int:
    """``bl`` slots firing with probability ``p`` (exactly: ``floor(p 2**32) / 2**32``).

    Slot t is bit t of the returned int. ORDER: one 64-bit draw per two slots; the low 32 bits
    decide slot t, the high 32 bits slot t + 1.
    """
    thr = int(p * 4294967296.0)
    mask = 0
    for t in range(0, bl, 2):
        r = next_u64(state, k)
        if (r & 0xFFFFFFFF) < thr:
            mask |= 1 << t
        if t + 1 < bl and (r >> 32) < thr:
            mask |= 1 << (t + 1)
    return mask


# ------------------------------------------------------------------------------------------
# Device pulses
# ------------------------------------------------------------------------------------------

def pulse(w, up, a_up, a_down, b_up, b_down, w_min, w_max, ctoc, state, k):
    """One device pulse (linear-step family), then clip to the bounds::

        up:    w <- w + (a_up   - b_up   * w) * (1 + ctoc * xi)
        down:  w <- w - (a_down - b_down * w) * (1 + ctoc * xi)

    ``xi`` is drawn from ``state[k]`` only when ``ctoc > 0``.
    """
    w, a_up, a_down, b_up, b_down = float(w), float(a_up), float(a_down), float(b_up), float(b_down)
    noise = 1.0 + ctoc * next_normal(state, k) if ctoc > 0.0 else 1.0
    if up:
        w = w + (a_up - b_up * w) * noise
    else:
        w = w - (a_down - b_down * w) * noise
    return min(max(w, float(w_min)), float(w_max))


def pulse_sequence(w0, directions, a_up, a_down, b_up, b_down, w_min, w_max, ctoc, states):
    """Twin of ``kernels.device._pulse_sequence``: (m + 1, n) weights, first row ``w0``.

    Device k draws its noise from ``states[k]``.
    """
    n, m = len(w0), len(directions)
    out = np.empty((m + 1, n))
    for k in range(n):
        w = float(w0[k])
        out[0, k] = w
        for t in range(m):
            w = pulse(w, directions[t] > 0, a_up[k], a_down[k], b_up[k], b_down[k], w_min[k],
                      w_max[k], ctoc, states, k)
            out[t + 1, k] = w
    return out


def symmetry_search(w, a_up, a_down, b_up, b_down, w_min, w_max, ctoc, ramp, pairs, n_avg,
                    states):
    """Twin of ``kernels.device._symmetry_search`` (on a copy of ``w``).

    Per device: ``ramp`` up pulses, ``ramp`` down pulses, ``pairs`` (up, down) pairs; the
    estimate is the mean over the last ``n_avg`` pairs of both the after-up and after-down
    weights. Returns ``(sp, w_final)``. ORDER: row i's devices draw from ``states[i]`` one device
    after the other, in column order.
    """
    w = np.array(w, dtype=np.float64)
    sp = np.empty_like(w)
    n_out, n_in = w.shape
    for i in range(n_out):
        for j in range(n_in):
            args = (a_up[i, j], a_down[i, j], b_up[i, j], b_down[i, j], w_min[i, j], w_max[i, j],
                    ctoc, states, i)
            x = float(w[i, j])
            for _ in range(ramp):
                x = pulse(x, True, *args)
            for _ in range(ramp):
                x = pulse(x, False, *args)
            seen = []
            for _ in range(pairs):
                x = pulse(x, True, *args)
                seen.append(x)
                x = pulse(x, False, *args)
                seen.append(x)
            last = seen[len(seen) - 2 * n_avg:]
            acc = 0.0
            for v in last:
                acc += v
            sp[i, j] = acc / (2 * n_avg)
            w[i, j] = x
    return sp, w


def count_pulses(n_pulses, up, a_up, a_down, b_up, b_down, w_min, w_max, ctoc, states):
    """Twin of ``studies/bench_kernels.count_pulses`` (benchmark kernel): all devices start at 0 and
    get blocks of 8 pulses, device after device, the direction flipping after every sweep; every
    device draws from ``states[0]``."""
    n = len(a_up)
    w = [0.0] * n
    done = 0
    while done < n_pulses:
        for k in range(n):
            for _ in range(8):
                w[k] = pulse(w[k], up, a_up[k], a_down[k], b_up[k], b_down[k], w_min[k],
                             w_max[k], ctoc, states, 0)
        done += 8 * n
        up = not up
    return np.array(w)


def expected_pulses(w, n, go_up, a_up, a_down, b_up, b_down, w_min, w_max):
    """``n`` (real) noise-free pulses in closed form, written with a power, not expm1/log1p.

    The recursion ``w <- w + a - s w`` has the fixed point ``a / s`` and contracts by ``1 - s``
    per pulse: ``w_n = a / s + (1 - s)^n (w - a / s)``; ``w + n a`` when ``s = 0``. For a down
    pulse ``a = -a_down``, ``s = -b_down``. Clipped to the bounds at the end (the recursion is
    monotone, so this equals clipping after each pulse). A degenerate device with ``s >= 1``
    (one step reaches past the bound) lands on the bound after one whole pulse; a fraction
    ``n < 1`` of a pulse moves that fraction of the way (the kernel's convention).
    """
    if go_up:
        a, s = a_up, b_up
    else:
        a, s = -a_down, -b_down
    if s == 0.0:
        w = w + n * a
    elif s >= 1.0:
        w = w + min(n, 1.0) * (a / s - w)
    else:
        w = a / s + (1.0 - s) ** n * (w - a / s)
    return min(max(w, w_min), w_max)


# ------------------------------------------------------------------------------------------
# Device models beyond the linear-step family (exp, pow, piecewise step, look-up table)
# ------------------------------------------------------------------------------------------

MODEL_CODES = {"exp_step": 2, "pow_step": 3, "piecewise_step": 4, "lut": 5}


def model_mean_step(w, up, model, a_up, a_down, b_up, b_down, w_min, w_max, table):
    """Signed mean step of one pulse, from the documented laws (DeviceConfig's section text):

    exp step   ``z = 2 a w / (w_max - w_min) + b``, ``+a_up max(1 - A_up e^(g_up z), 0)``,
               ``-a_down max(1 - A_down e^(-g_down z), 0)``, table rows ``[A, gamma, a, b]``;
    pow step   ``+a_up ((w_max - w) / range)^b_up``, ``-a_down ((w - w_min) / range)^b_down``;
    piecewise  ``a`` times the nodes (equally spaced over [w_min, w_max]) interpolated at w;
    lut        ``a`` times the bin means (last column) interpolated between bins at w.
    """
    w, lo, hi = float(w), float(w_min), float(w_max)
    d = 0 if up else 1
    span = hi - lo
    if model == 2:
        A, gamma, a, b = (float(v) for v in table[d, 0, :4])
        z = 2.0 * a * w / span + b
        y = max(1.0 - A * math.exp((gamma if up else -gamma) * z), 0.0)
        return float(a_up) * y if up else -float(a_down) * y
    if model == 3:
        if up:
            return float(a_up) * max((hi - w) / span, 0.0) ** float(b_up)
        return -float(a_down) * max((w - lo) / span, 0.0) ** float(b_down)
    if model == 4:
        nodes = [float(v) for v in table[d, 0, :]]
        if len(nodes) == 1:
            v = nodes[0]
        else:
            pos = max((w - lo) / span * (len(nodes) - 1), 0.0)
            i = min(int(math.floor(pos)), len(nodes) - 2)
            t = min(pos - i, 1.0)
            v = (1.0 - t) * nodes[i] + t * nodes[i + 1]
        return (float(a_up) if up else -float(a_down)) * v
    means = table[d, :, -1]
    v = _between_bins(means, w, lo, hi)
    return (float(a_up) if up else float(a_down)) * v


def _between_bins(values, w, lo, hi):
    """Linear interpolation of per-bin values (bins equally spaced over [lo, hi]) at w, held at
    the outer bins."""
    nb = len(values)
    pos = min(max((w - lo) / (hi - lo) * (nb - 1), 0.0), nb - 1.0)
    i = min(int(pos), nb - 2)
    t = pos - i
    return float(values[i]) + t * (float(values[i + 1]) - float(values[i]))


def model_pulse(w, up, model, a_up, a_down, b_up, b_down, w_min, w_max, table, ctoc, state, k):
    """One pulse of a table-driven model, then clip. The look-up table draws ``u`` uniform from
    ``state[k]`` and reads each neighbouring bin's quantile function at ``u`` (linear between the
    equally spaced CDF levels of ``table[d, bin, :-1]``), then interpolates between the bins.
    ORDER: the uniform first, then the cycle-to-cycle normal (only when ``ctoc > 0``)."""
    w = float(w)
    if model == 5:
        d = 0 if up else 1
        u = next_uniform(state, k)
        q = table[d, :, :-1]
        levels = np.linspace(0.0, 1.0, q.shape[1])
        per_bin = np.array([np.interp(u, levels, q[b]) for b in range(q.shape[0])])
        step = (float(a_up) if up else float(a_down)) * _between_bins(per_bin, w, float(w_min),
                                                                      float(w_max))
    else:
        step = model_mean_step(w, up, model, a_up, a_down, b_up, b_down, w_min, w_max, table)
    if ctoc > 0.0:
        step *= 1.0 + ctoc * next_normal(state, k)
    return min(max(w + step, float(w_min)), float(w_max))


def model_pulse_sequence(w0, directions, a_up, a_down, b_up, b_down, w_min, w_max, model, table,
                         ctoc, states):
    """Twin of ``kernels.device._pulse_sequence_model``: (m + 1, n), device k on ``states[k]``."""
    n, m = len(w0), len(directions)
    out = np.empty((m + 1, n))
    for k in range(n):
        w = float(w0[k])
        out[0, k] = w
        for t in range(m):
            w = model_pulse(w, directions[t] > 0, model, a_up[k], a_down[k], b_up[k], b_down[k],
                            w_min[k], w_max[k], table, ctoc, states, k)
            out[t + 1, k] = w
    return out


def model_symmetry_search(w, a_up, a_down, b_up, b_down, w_min, w_max, model, table, ctoc, ramp,
                          pairs, n_avg, states):
    """Twin of ``kernels.device._symmetry_search_model``: returns ``(sp, w_final)``; the order of
    draws as in :func:`symmetry_search`."""
    w = np.array(w, dtype=np.float64)
    sp = np.empty_like(w)
    for i in range(w.shape[0]):
        for j in range(w.shape[1]):
            args = (model, a_up[i, j], a_down[i, j], b_up[i, j], b_down[i, j], w_min[i, j],
                    w_max[i, j], table, ctoc, states, i)
            x = float(w[i, j])
            for _ in range(ramp):
                x = model_pulse(x, True, *args)
            for _ in range(ramp):
                x = model_pulse(x, False, *args)
            seen = []
            for _ in range(pairs):
                x = model_pulse(x, True, *args)
                seen.append(x)
                x = model_pulse(x, False, *args)
                seen.append(x)
            sp[i, j] = sum(seen[len(seen) - 2 * n_avg:]) / (2 * n_avg)
            w[i, j] = x
    return sp, w


def model_pulsed_update(w, ref, dev_args, ctoc, X, D, lr, dw_min, bl, update_management,
                        pulse_length_management, x_state, row_states):
    """:func:`pulsed_update` for a table-driven model (``dev_args`` = six arrays, code, table)."""
    a_up, a_down, b_up, b_down, w_min, w_max, model, table = dev_args
    w = np.array(w, dtype=np.float64)
    bls, cx, cd = update_scales(X, D, lr, dw_min, bl, update_management, pulse_length_management)
    trains = x_trains(X, bls, cx, x_state)
    pulses = 0
    for i in range(w.shape[0]):
        for b in range(X.shape[0]):
            d = float(D[b, i])
            if bls[b] == 0 or d == 0.0:
                continue
            md = bernoulli_train(min(cd[b] * abs(d), 1.0), int(bls[b]), row_states, i)
            if md == 0:
                continue
            for j, mx, x_pos in trains[b]:
                n = bin(md & mx).count("1")
                go_up = (d > 0.0) != x_pos
                for _ in range(n):
                    w[i, j] = model_pulse(w[i, j], go_up, int(model), a_up[i, j], a_down[i, j],
                                          b_up[i, j], b_down[i, j], w_min[i, j], w_max[i, j],
                                          table, ctoc, row_states, i)
                pulses += n
    return w, w - ref, pulses


def model_expected_update(w, ref, dev_args, X, D, lr, dw_min, bl, update_management,
                          pulse_length_management):
    """:func:`expected_update` for a table-driven model: ``n = bl p q`` real pulses are
    ``floor(n)`` mean steps, then the fraction ``n - floor(n)`` of the mean step where the device
    then is, clipping after each."""
    a_up, a_down, b_up, b_down, w_min, w_max, model, table = dev_args
    w = np.array(w, dtype=np.float64)
    bls, cx, cd = update_scales(X, D, lr, dw_min, bl, update_management, pulse_length_management)
    for b in range(X.shape[0]):
        if bls[b] == 0:
            continue
        for i in range(w.shape[0]):
            d = float(D[b, i])
            if d == 0.0:
                continue
            q = min(cd[b] * abs(d), 1.0)
            for j in range(w.shape[1]):
                x = float(X[b, j])
                if x == 0.0:
                    continue
                n = bls[b] * q * min(cx[b] * abs(x), 1.0)
                up = (d > 0.0) != (x > 0.0)
                args = (int(model), a_up[i, j], a_down[i, j], b_up[i, j], b_down[i, j],
                        w_min[i, j], w_max[i, j], table)
                lo, hi = float(w_min[i, j]), float(w_max[i, j])
                v = float(w[i, j])
                whole = int(n)
                for _ in range(whole):
                    v = min(max(v + model_mean_step(v, up, *args), lo), hi)
                if n - whole > 0:
                    v = min(max(v + (n - whole) * model_mean_step(v, up, *args), lo), hi)
                w[i, j] = v
    return w, w - ref


# ------------------------------------------------------------------------------------------
# Update
# ------------------------------------------------------------------------------------------

def update_scales(X, D, lr, dw_min, bl, update_management, pulse_length_management):
    """Twin of ``kernels.update._update_scales``, from :class:`rramsim.config.UpdateConfig`.

    Per sample: nothing to do (``bl_b = 0``) when x, d or lr is all zero; else
    ``bl_b = min(ceil(lr max|x| max|d| / dw_min), bl)`` with pulse-length management, ``bl``
    without; ``C_x C_d = lr / (dw_min bl_b)``, balanced by ``sqrt(max|d| / max|x|)`` with update
    management, equal without.
    """
    B = X.shape[0]
    bls = np.zeros(B, dtype=np.int64)
    cx = np.zeros(B)
    cd = np.zeros(B)
    for b in range(B):
        x_max = max(abs(float(v)) for v in X[b])
        d_max = max(abs(float(v)) for v in D[b])
        if x_max == 0.0 or d_max == 0.0 or lr == 0.0:
            continue
        n = bl
        if pulse_length_management:
            n = min(math.ceil(lr * x_max * d_max / dw_min), bl)
        k = lr / (dw_min * n)
        bls[b] = n
        if update_management:
            cx[b] = math.sqrt(k * d_max / x_max)
            cd[b] = math.sqrt(k * x_max / d_max)
        else:
            cx[b] = cd[b] = math.sqrt(k)
    return bls, cx, cd


def x_trains(X, bls, cx, x_state):
    """Input pulse trains: ``trains[b]`` is a list of ``(j, mask, x_j > 0)`` for the columns that
    fire at least once. ORDER: all samples' trains come from ``x_state[0]``, sample-major, column
    order; zero inputs and samples with ``bl_b = 0`` draw nothing."""
    trains = []
    for b in range(X.shape[0]):
        row = []
        if bls[b] > 0:
            for j in range(X.shape[1]):
                x = float(X[b, j])
                if x == 0.0:
                    continue
                m = bernoulli_train(min(cx[b] * abs(x), 1.0), int(bls[b]), x_state, 0)
                if m:
                    row.append((j, m, x > 0.0))
        trains.append(row)
    return trains


def pulsed_update(w, ref, dev_args, ctoc, X, D, lr, dw_min, bl, update_management,
                  pulse_length_management, x_state, row_states):
    """Twin of ``kernels.update.pulsed_update`` (``_update_scales`` + ``_x_trains`` +
    ``_pulsed_rows``) on copies: returns ``(w, w - ref, pulses)``; the states advance in place.

    Each coincidence of an x slot and a d slot is one device pulse in direction
    ``-sign(d_i x_j)``; samples are applied in order. ORDER: row i's d trains and its devices'
    noise come from ``row_states[i]``; within a sample, the coincident pulses of a device are
    applied together, devices in column order (not slot by slot across devices).
    """
    a_up, a_down, b_up, b_down, w_min, w_max = dev_args
    w = np.array(w, dtype=np.float64)
    bls, cx, cd = update_scales(X, D, lr, dw_min, bl, update_management, pulse_length_management)
    trains = x_trains(X, bls, cx, x_state)
    pulses = 0
    for i in range(w.shape[0]):
        for b in range(X.shape[0]):
            d = float(D[b, i])
            if bls[b] == 0 or d == 0.0:
                continue
            md = bernoulli_train(min(cd[b] * abs(d), 1.0), int(bls[b]), row_states, i)
            if md == 0:
                continue
            for j, mx, x_pos in trains[b]:
                n = bin(md & mx).count("1")
                go_up = (d > 0.0) != x_pos  # dW = -lr d x
                for _ in range(n):
                    w[i, j] = pulse(w[i, j], go_up, a_up[i, j], a_down[i, j], b_up[i, j],
                                    b_down[i, j], w_min[i, j], w_max[i, j], ctoc, row_states, i)
                pulses += n
    return w, w - ref, pulses


def expected_update(w, ref, dev_args, X, D, lr, dw_min, bl, update_management,
                    pulse_length_management):
    """Twin of ``kernels.update.expected_update``: each device gets the mean coincidence count
    ``bl_b p_j q_i`` as one closed-form step, samples in order. Returns ``(w, w - ref)``."""
    a_up, a_down, b_up, b_down, w_min, w_max = dev_args
    w = np.array(w, dtype=np.float64)
    bls, cx, cd = update_scales(X, D, lr, dw_min, bl, update_management, pulse_length_management)
    for b in range(X.shape[0]):
        if bls[b] == 0:
            continue
        for i in range(w.shape[0]):
            d = float(D[b, i])
            if d == 0.0:
                continue
            q = min(cd[b] * abs(d), 1.0)
            for j in range(w.shape[1]):
                x = float(X[b, j])
                if x == 0.0:
                    continue
                p = min(cx[b] * abs(x), 1.0)
                w[i, j] = expected_pulses(w[i, j], bls[b] * p * q, (d > 0.0) != (x > 0.0),
                                          a_up[i, j], a_down[i, j], b_up[i, j], b_down[i, j],
                                          w_min[i, j], w_max[i, j])
    return w, w - ref


# ------------------------------------------------------------------------------------------
# Peripherals
# ------------------------------------------------------------------------------------------

def quantize(v: float, bound: float, bits: int) -> float:
    """Clip to [-bound, bound]; round half to even to the grid ``k * 2 bound / (2**bits - 2)``."""
    v = min(max(float(v), -bound), bound)
    if bits > 0:
        step = 2.0 * bound / (2.0 ** bits - 2.0)
        v = round(v / step) * step  # Python's round() is half-to-even, like numpy's
    return v


def analog_mvm(M, X, inp_bits, inp_bound, out_bits, out_bound, out_noise, noise_management,
               bound_management, bm_max_iter, f32, state):
    """Twin of ``kernels.mvm._analog_mvm``: ``Y = X M^T`` through the peripherals, per sample::

        s = max|x_b| (noise management) or 1;   s == 0 -> y_b = 0 (nothing drawn)
        for k = 0..bm_max_iter:
            u = DAC(x_b / s * 2^-k);  v = M u + out_noise * xi;  y = ADC(v)
            stop unless bound management is on and some |v_i| >= out_bound
        y_b = y * s * 2^k

    Noise from ``state[0]``, sample-major, output order, fresh for every repetition. ``f32``:
    ``M u`` with M and u rounded to float32 and the sum kept in float32. Returns
    ``(Y, repeats)``.
    """
    B, n_in = X.shape
    if f32:
        M = np.asarray(M, dtype=np.float32)
    n_out = M.shape[0]
    Y = np.zeros((B, n_out))
    repeats = 0
    for b in range(B):
        s = max(abs(float(v)) for v in X[b]) if noise_management else 1.0
        if s == 0.0:
            continue
        for k in range(bm_max_iter + 1):
            if k > 0:
                repeats += 1
            u = [quantize(float(X[b, j]) / s * 2.0 ** -k, inp_bound, inp_bits)
                 for j in range(n_in)]
            y = []
            saturated = False
            for i in range(n_out):
                if f32:
                    v = np.float32(0.0)
                    for j in range(n_in):
                        v = np.float32(v + M[i, j] * np.float32(u[j]))
                    v = float(v)
                else:
                    v = 0.0
                    for j in range(n_in):
                        v += float(M[i, j]) * u[j]
                if out_noise > 0.0:
                    v += out_noise * next_normal(state, 0)
                saturated = saturated or abs(v) >= out_bound
                y.append(quantize(v, out_bound, out_bits))
            if not (bound_management and saturated):
                break
        for i in range(n_out):
            Y[b, i] = y[i] * s * 2.0 ** k
    return Y, repeats


def numeric_grad(f, x, eps=1e-6):
    """Central finite-difference gradient of the scalar ``f()`` with respect to the array ``x``
    (perturbed in place, entry by entry, and restored)."""
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        fp = f()
        x[idx] = old - eps
        fm = f()
        x[idx] = old
        g[idx] = (fp - fm) / (2 * eps)
    return g
