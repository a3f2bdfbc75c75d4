"""Kernels of the transfer algorithms (:mod:`rramsim.analog.transfer`).

- :func:`read_columns`: columns of an array read with one-hot inputs through the forward
  peripherals (DAC of the one-hot value, output noise, ADC; no noise or bound management),
  number for number what :func:`rramsim.kernels.mvm.analog_mvm` gives on one-hot inputs;
- :func:`apply_counts`: whole pulses, ``counts[k]`` onto device ``(rows[k], cols[k])`` (the sign
  is the direction), in list order;
- :func:`buffered_transfer`: the digital buffer of TTv2, chopped TTv2 and AGAD for a list of
  read columns, with its choppers and AGAD's running means;
- :func:`mixed_precision_accumulate`: the digital gradient accumulator of mixed precision and
  its whole-pulse threshold.

Random streams: the read noise from ``state[0]`` (column-major: all rows of the first column,
then the next); a device's pulse noise from ``row_states[i]`` of its row; chopper flips from
``chop_state[0]`` (one uniform per column read when the input choppers flip at random, then one
per row after a full pass when the output choppers do).
"""

import math

import numpy as np

from rramsim.kernels._jit import jit
from rramsim.kernels.device import apply_pulses
from rramsim.kernels.mvm import level_step, quantize
from rramsim.kernels.rng import next_normal, next_uniform


@jit
def _read_columns(w_eff, cols, u, out_noise, out_bound, out_bits, state):
    """``R[c, i] = ADC(w_eff[i, cols[c]] u + out_noise xi)``; returns R (k, n_out)."""
    k = cols.shape[0]
    n_out = w_eff.shape[0]
    R = np.empty((k, n_out))
    step = level_step(out_bound, out_bits)
    for c in range(k):
        j = cols[c]
        for i in range(n_out):
            y = w_eff[i, j] * u
            if out_noise > 0.0:
                y += out_noise * next_normal(state, 0)
            R[c, i] = quantize(y, out_bound, out_bits, step)
    return R


def read_columns(w_eff, cols, u, out_noise, out_bound, out_bits, state):
    """Public wrapper of :func:`_read_columns`: ``w_eff`` (n_out, n_in) read weights, ``cols``
    (k,) int64 column indices, ``u`` the DAC output of the one-hot value 1, the ADC's
    ``out_bound`` and ``out_bits``; ``state`` (1,) uint64 advances in place. Returns (k, n_out)."""
    return _read_columns(w_eff, cols, float(u), float(out_noise), float(out_bound),
                         int(out_bits), state)


@jit
def _apply_counts(w, w_eff, ref, a_up, a_down, b_up, b_down, w_min, w_max, ctoc, rows, cols,
                  counts, row_states):
    """``|counts[k]|`` pulses onto device (rows[k], cols[k]), up for positive counts, in list
    order; returns the number of pulses."""
    total = 0
    for k in range(rows.shape[0]):
        n = counts[k]
        if n == 0:
            continue
        i = rows[k]
        j = cols[k]
        w[i, j] = apply_pulses(w[i, j], abs(n), n > 0, a_up[i, j], a_down[i, j], b_up[i, j],
                               b_down[i, j], w_min[i, j], w_max[i, j], ctoc, row_states, i)
        w_eff[i, j] = w[i, j] - ref[i, j]
        total += abs(n)
    return total


def apply_counts(w, w_eff, ref, dev_args, ctoc, rows, cols, counts, row_states) -> int:
    """Public wrapper of :func:`_apply_counts`: ``w``, ``w_eff`` (= w - ref, kept in sync) and
    ``ref`` (n_out, n_in); ``dev_args`` the per-device arrays (``DeviceArray.kernel_args()``);
    ``rows``, ``cols``, ``counts`` (m,) int64. Returns the number of pulses applied."""
    return int(_apply_counts(w, w_eff, ref, *dev_args, float(ctoc), rows, cols, counts,
                             row_states))


@jit
def _buffered_transfer(R, cols, H, M, MU, phase, in_chop, out_chop, counter, dynamic, lr_scale,
                       momentum, forget, max_steps, cap, beta, n_samples, in_prob, in_random,
                       out_prob, chop_state):
    """The buffer step of every read column; returns the pulse counts (k, n_out) int64."""
    k, n_out = R.shape
    n_in = H.shape[1]
    steps = np.zeros((k, n_out), dtype=np.int64)
    for c in range(k):
        j = cols[c]
        sample = counter[0] % n_samples + 1
        if dynamic and phase[j] == 1:
            # first read after a chopper switch: the mean of the last phase is the reference
            for i in range(n_out):
                MU[i, j] = M[i, j]
            phase[j] = 2
        active = (not dynamic) or phase[j] == 2
        for i in range(n_out):
            a = R[c, i]
            if active:
                val = (a - MU[i, j]) if dynamic else a
                omega = H[i, j] + (in_chop[j] * out_chop[i]) * val * lr_scale
                if abs(omega) >= 1.0:
                    t = min(max(math.trunc(omega), -max_steps), max_steps)
                    steps[c, i] = np.int64(t)
                    if forget:
                        omega *= momentum
                    else:
                        omega -= (1.0 - momentum) * t
                        if cap > 0.0:
                            omega = min(max(omega, -cap), cap)
                H[i, j] = omega
            if dynamic:
                M[i, j] = M[i, j] * (1.0 - beta) + a * beta
        if in_prob > 0.0:
            if in_random:
                flip = next_uniform(chop_state, 0) < in_prob
            else:
                flip = sample == n_samples
            if flip:
                in_chop[j] = -in_chop[j]
                if dynamic:
                    phase[j] = 1
        if j == n_in - 1:
            if out_prob > 0.0:
                for i in range(n_out):
                    if next_uniform(chop_state, 0) < out_prob:
                        out_chop[i] = -out_chop[i]
            counter[0] += 1
    return steps


def buffered_transfer(R, cols, H, M, MU, phase, in_chop, out_chop, counter, dynamic, lr_scale,
                      momentum, forget, max_steps, cap, beta, n_samples, in_prob, in_random,
                      out_prob, chop_state):
    """Public wrapper of :func:`_buffered_transfer`, in place on the buffer state.

    Parameters
    ----------
    R : (k, n_out) reads of the columns ``cols`` (k,) int64
    H : (n_out, n_in) buffer, in pulses (threshold 1)
    M, MU : (n_out, n_in) AGAD's running mean of the reads and its reference (``dynamic``)
    phase : (n_in,) int8, AGAD per column: 0 no reference yet, 1 chopper just switched,
        2 reference valid
    in_chop (n_in,), out_chop (n_out,) : int8 choppers, +1 or -1
    counter : (1,) int64, full passes over the columns so far
    lr_scale : buffer gain per read (transfer rate over the threshold)
    momentum, forget, max_steps, cap : buffer settings (cap 0: none)
    beta, n_samples : AGAD's running-mean rate; the chopper period in passes
    in_prob, in_random, out_prob : chopper switching
    chop_state : (1,) uint64 stream of the chopper flips

    Returns
    -------
    steps : (k, n_out) int64, signed whole pulses for the slow array (up for positive)
    """
    return _buffered_transfer(R, cols, H, M, MU, phase, in_chop, out_chop, counter,
                              bool(dynamic), float(lr_scale), float(momentum), bool(forget),
                              int(max_steps), float(cap), float(beta), int(n_samples),
                              float(in_prob), bool(in_random), float(out_prob), chop_state)


@jit
def _mixed_precision_accumulate(chi, X, D, lr, eps, scan, rows, cols, counts):
    """``chi -= lr d_b x_b^T`` for every sample; then (``scan`` 1: the entries the samples
    touched, 2: all) whole steps ``n = trunc(chi / eps)`` leave chi into the lists. Returns the
    number of list entries."""
    B = X.shape[0]
    n_out, n_in = chi.shape
    nz_x = np.empty(n_in, dtype=np.int64)
    for b in range(B):
        nx = 0
        for j in range(n_in):
            if X[b, j] != 0.0:
                nz_x[nx] = j
                nx += 1
        for i in range(n_out):
            g = lr * D[b, i]
            if g == 0.0:
                continue
            for c in range(nx):
                j = nz_x[c]
                chi[i, j] -= g * X[b, j]
    m = 0
    if scan == 0:
        return m
    # the columns to threshold: those the last sample touched (scan 1), or all (scan 2)
    if scan == 2:
        nx = n_in
        for j in range(n_in):
            nz_x[j] = j
    for i in range(n_out):
        if scan == 1 and D[B - 1, i] == 0.0:
            continue
        # whole steps n = trunc(chi / eps) leave chi into the lists (written out here rather
        # than in a helper: a called helper with array arguments, even inlined, made this loop
        # 50 times slower)
        for c in range(nx):
            j = nz_x[c]
            v = chi[i, j]
            if abs(v) >= eps:
                n = math.trunc(v / eps)
                if n != 0:
                    chi[i, j] = v - n * eps
                    rows[m] = i
                    cols[m] = j
                    counts[m] = n
                    m += 1
    return m


def mixed_precision_accumulate(chi, X, D, lr, eps, scan, rows, cols, counts) -> int:
    """Public wrapper of :func:`_mixed_precision_accumulate`, in place on ``chi`` (n_out, n_in).

    ``X`` (B, n_in), ``D`` (B, n_out); ``scan`` 0 (accumulate only), 1 (then threshold the
    entries of the last sample: valid for one sample after a threshold pass, since every other
    entry is below ``eps``), 2 (then threshold all). ``rows``, ``cols``, ``counts``: int64
    scratch of n_out * n_in entries that receive the whole steps. Returns their number.
    """
    return int(_mixed_precision_accumulate(chi, X, D, float(lr), float(eps), int(scan), rows,
                                           cols, counts))
