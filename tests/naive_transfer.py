"""Slow, obviously-correct twins of the transfer algorithms (``rramsim.kernels.transfer`` and
``rramsim.analog.transfer``), written from the documented semantics in plain Python loops.

The device pulses, pulse trains and random streams are those of ``tests/naive.py``; the twins
here replay the same streams as the kernels, so a test can compare number for number:

- :func:`read_columns`, :func:`apply_counts`, :func:`buffered_transfer`,
  :func:`mixed_precision_accumulate`: one twin per kernel;
- :class:`NaiveTransferTile`, :class:`NaiveMixedPrecisionTile`: a whole algorithm tile's update
  (gradient onto A with choppers, the schedule of transfers, reads, buffer, writes) on a copy of
  a real tile's ``state_dict``.
"""

from __future__ import annotations

import math

import naive
import numpy as np

DEVICE_KEYS = ("a_up", "a_down", "b_up", "b_down", "w_min", "w_max")


def read_columns(w_eff, cols, u, out_noise, out_bound, out_bits, state):
    """``R[c, i] = ADC(w_eff[i, cols[c]] u + out_noise xi)``; noise column by column, rows in
    order, from ``state[0]``."""
    R = np.zeros((len(cols), w_eff.shape[0]))
    for c, j in enumerate(cols):
        for i in range(w_eff.shape[0]):
            y = float(w_eff[i, j]) * u
            if out_noise > 0.0:
                y += out_noise * naive.next_normal(state, 0)
            R[c, i] = naive.quantize(y, out_bound, out_bits)
    return R


def apply_counts(w, ref, dev, ctoc, rows, cols, counts, row_states):
    """``|n|`` single pulses onto device (i, j) for each list entry in order, up when n > 0."""
    w = np.array(w, dtype=np.float64)
    total = 0
    for i, j, n in zip(rows, cols, counts):
        for _ in range(abs(int(n))):
            w[i, j] = naive.pulse(w[i, j], n > 0, *(p[i, j] for p in dev), ctoc, row_states, i)
        total += abs(int(n))
    return w, w - ref, total


def buffered_transfer(R, cols, H, M, MU, phase, in_chop, out_chop, counter, dynamic, lr_scale,
                      momentum, forget, max_steps, cap, beta, n_samples, in_prob, in_random,
                      out_prob, chop_state):
    """The buffer of TTv2 / c-TTv2 / AGAD, in place on its arrays; returns the steps (k, n_out).

    Per read column j: (AGAD, first read after a switch) reference := running mean; the buffer
    adds ``c_j o_i (a - ref) lr_scale`` (no ref outside AGAD; nothing before AGAD's first
    switch); ``|H| >= 1`` gives ``n = clip(trunc(H), +-max_steps)`` pulses and
    ``H <- momentum H`` or ``H - (1 - momentum) n`` (then clipped to ``+-cap`` if cap > 0);
    AGAD's running mean ``M <- (1 - beta) M + beta a``. Then the input chopper of j flips (a
    uniform below in_prob, or every n_samples-th pass when not random); after the last column
    each output chopper flips with out_prob and the pass counter advances.
    """
    steps = np.zeros(R.shape, dtype=np.int64)
    n_in = H.shape[1]
    for c, j in enumerate(cols):
        sample = int(counter[0]) % n_samples + 1
        if dynamic and phase[j] == 1:
            MU[:, j] = M[:, j]
            phase[j] = 2
        active = (not dynamic) or phase[j] == 2
        for i in range(R.shape[1]):
            a = float(R[c, i])
            if active:
                val = a - float(MU[i, j]) if dynamic else a
                h = float(H[i, j]) + int(in_chop[j]) * int(out_chop[i]) * val * lr_scale
                if abs(h) >= 1.0:
                    n = max(-max_steps, min(max_steps, int(h)))  # int() truncates
                    steps[c, i] = n
                    if forget:
                        h = h * momentum
                    else:
                        h = h - (1.0 - momentum) * n
                        if cap > 0.0:
                            h = max(-cap, min(cap, h))
                H[i, j] = h
            if dynamic:
                M[i, j] = float(M[i, j]) * (1.0 - beta) + a * beta
        if in_prob > 0.0:
            flip = naive.next_uniform(chop_state, 0) < in_prob if in_random else \
                sample == n_samples
            if flip:
                in_chop[j] = -in_chop[j]
                if dynamic:
                    phase[j] = 1
        if j == n_in - 1:
            if out_prob > 0.0:
                for i in range(R.shape[1]):
                    if naive.next_uniform(chop_state, 0) < out_prob:
                        out_chop[i] = -out_chop[i]
            counter[0] += 1
    return steps


def mixed_precision_accumulate(chi, X, D, lr, eps):
    """``chi -= lr d_b x_b^T`` for every sample, then every entry with ``|chi| >= eps`` gives
    ``n = trunc(chi / eps)`` pulses (row-major order) and keeps ``chi - n eps``. Returns the
    list of (i, j, n)."""
    for b in range(X.shape[0]):
        for i in range(chi.shape[0]):
            for j in range(chi.shape[1]):
                if D[b, i] != 0.0 and X[b, j] != 0.0:
                    chi[i, j] -= (lr * D[b, i]) * X[b, j]
    out = []
    for i in range(chi.shape[0]):
        for j in range(chi.shape[1]):
            v = chi[i, j]
            if abs(v) >= eps:
                n = math.trunc(v / eps)
                if n:
                    chi[i, j] = v - n * eps
                    out.append((i, j, n))
    return out


class _NaiveArray:
    """One array's state from an AnalogTile ``state_dict`` (keys with ``prefix``)."""

    def __init__(self, state, prefix, cfg):
        self.w = np.array(state[prefix + "w"])
        self.ref = np.array(state[prefix + "ref"])
        self.dev = tuple(np.array(state[prefix + k]) for k in DEVICE_KEYS)
        self.x_state = np.array(state[prefix + "_x_state"])
        self.row_states = np.array(state[prefix + "_row_states"])
        self.cfg = cfg

    def update(self, X, D, lr):
        """``naive.pulsed_update`` with the tile's update settings (pulsed mode)."""
        up, dev = self.cfg.update, self.cfg.device
        lr = lr / self.cfg.mapping.weight_scale
        self.w, _, _ = naive.pulsed_update(self.w, self.ref, self.dev, dev.dw_min_ctoc, X, D, lr,
                                           dev.dw_min, up.bl, up.update_management,
                                           up.pulse_length_management, self.x_state,
                                           self.row_states)

    def apply(self, rows, cols, counts):
        self.w, _, _ = apply_counts(self.w, self.ref, self.dev, self.cfg.device.dw_min_ctoc,
                                    rows, cols, counts, self.row_states)

    def read(self, cols, state):
        fwd = self.cfg.forward
        u = naive.quantize(1.0, fwd.inp_bound, fwd.inp_bits)
        return read_columns(self.w - self.ref, cols, u, fwd.out_noise, fwd.out_bound,
                            fwd.out_bits, state)


class NaiveTransferTile:
    """Twin of ``TransferTile.update`` (pulsed mode, gamma = 0) on a copy of its state."""

    def __init__(self, tile):
        state = {k: np.array(v) for k, v in tile.state_dict().items()}
        self.cfg = tile.config
        self.a = tile.config.algorithm
        self.fast = _NaiveArray(state, "fast.", tile.config)
        self.slow = _NaiveArray(state, "slow.", tile.config)
        for key in ("buffer", "mean", "mean_ref", "phase", "in_chop", "out_chop",
                    "_read_state", "_chop_state"):
            setattr(self, key.lstrip("_"), state[key])
        self.updates, self.next_col, passes = (int(v) for v in state["_counters"])
        self.passes = np.array([passes], dtype=np.int64)
        p = self.a.in_chop_prob
        self.period = max(math.ceil(1.0 / p), 2) if p > 0 else 1
        self.beta = min(self.a.tail_weightening / self.period, 1.0)

    def update(self, X, D, lr):
        a = self.a
        chopped = a.kind in ("c-ttv2", "agad")
        for b in range(X.shape[0]):
            x, d = X[b:b + 1].copy(), D[b:b + 1].copy()
            if chopped:
                x = x * self.in_chop
                d = d * self.out_chop
            self.fast.update(x, d, a.fast_lr * lr)
            self.updates += 1
            if self.updates % a.transfer_every == 0:
                self.transfer(lr)

    def transfer(self, lr):
        a, n_in = self.a, self.fast.w.shape[1]
        k = min(a.n_reads_per_transfer, n_in)
        cols = [(self.next_col + c) % n_in for c in range(k)]
        self.next_col = (self.next_col + k) % n_in
        R = self.fast.read(cols, self.read_state)
        if a.kind == "ttv1":
            E = np.zeros((k, n_in))
            for c, j in enumerate(cols):
                E[c, j] = 1.0
            self.passes[0] += sum(j == n_in - 1 for j in cols)
            self.slow.update(E, -R, a.transfer_lr * lr * self.cfg.mapping.weight_scale)
            return
        chopped = a.kind in ("c-ttv2", "agad")
        steps = buffered_transfer(
            R, cols, self.buffer, self.mean, self.mean_ref, self.phase, self.in_chop,
            self.out_chop, self.passes, a.kind == "agad",
            a.transfer_lr * lr / (a.thres_scale * self.cfg.device.dw_min), a.momentum,
            a.forget_buffer, a.transfer_bl, a.buffer_cap * a.transfer_bl
            if not a.forget_buffer else 0.0, self.beta, self.period,
            a.in_chop_prob if chopped else 0.0, a.in_chop_random,
            a.out_chop_prob if chopped else 0.0, self.chop_state)
        rows, cs, counts = [], [], []
        for c, j in enumerate(cols):
            for i in range(steps.shape[1]):
                if steps[c, i]:
                    rows.append(i)
                    cs.append(j)
                    counts.append(int(steps[c, i]))
        self.slow.apply(rows, cs, counts)


class NaiveMixedPrecisionTile:
    """Twin of ``MixedPrecisionTile.update`` (pulsed mode) on a copy of its state."""

    def __init__(self, tile):
        state = {k: np.array(v) for k, v in tile.state_dict().items()}
        self.cfg = tile.config
        self.array = _NaiveArray(state, "device.", tile.config)
        self.chi = state["chi"]
        self.updates = int(state["_counters"][0])
        self.eps = tile.config.algorithm.granularity or tile.config.device.dw_min

    def update(self, X, D, lr):
        lr = lr / self.cfg.mapping.weight_scale
        every = self.cfg.algorithm.transfer_every
        for b in range(X.shape[0]):
            for i in range(self.chi.shape[0]):
                for j in range(self.chi.shape[1]):
                    if D[b, i] != 0.0 and X[b, j] != 0.0:
                        self.chi[i, j] -= (lr * D[b, i]) * X[b, j]
            self.updates += 1
            if self.updates % every == 0:
                entries = mixed_precision_accumulate(self.chi, X[:0], D[:0], lr, self.eps)
                if entries:
                    self.array.apply(*zip(*entries))
