"""The training algorithm of an analog layer: plain SGD, or a transfer algorithm on two arrays.

Names and meanings follow IBM aihwkit's compounds (``TransferCompound``,
``BufferedTransferCompound``, ``ChoppedTransferCompound``, ``DynamicTransferCompound``,
``MixedPrecisionCompound``), so that settings carry over; ``docs/algorithms.md`` gives the
equations, and :mod:`rramsim.analog.transfer` runs them.
"""

from __future__ import annotations

from dataclasses import dataclass

from rramsim.config.fields import _f, _Section
from rramsim.errors import ConfigError

#: The algorithms, by ``algorithm.kind``.
KINDS = ("sgd", "ttv1", "ttv2", "c-ttv2", "agad", "mixed-precision")
#: Kinds that read A onto the slow array C through a digital buffer H.
BUFFERED = ("ttv2", "c-ttv2", "agad")
#: Kinds that flip the signs of A's updates and reads (choppers).
CHOPPED = ("c-ttv2", "agad")
#: Kinds whose fast array A must be read against its symmetry point (zero-shifted reference):
#: their transfer integrates whatever A reads at rest, so an offset there becomes a drift of C.
NEEDS_REFERENCE = ("ttv1", "ttv2")


@dataclass(frozen=True)
class AlgorithmConfig(_Section):
    """The training algorithm: ``W = gamma A + C`` on a fast array A and a slow array C.

    ``kind = "sgd"`` (the default) is one array updated by the pulsed gradient, as without this
    section. The transfer algorithms (Gokmen & Haensch 2020; Gokmen 2021; Rasch et al. 2024)
    send the pulsed update ``-fast_lr lr d x^T`` to a fast array A; every ``transfer_every``
    rank-one updates, ``n_reads_per_transfer`` columns of A (in turn) are read with one-hot
    inputs through the forward peripherals (without noise or bound management) and moved onto
    the slow array C, whose weights the network uses::

        ttv1   C[:, j] += transfer_lr lr a_j                   (a_j: the read of column j; pulsed)
        ttv2   H[:, j] += transfer_lr lr a_j / (thres_scale dw_min)
               n = clip(trunc(H[:, j]), +-transfer_bl)         (whole pulses onto C, exactly)
               H[:, j] <- momentum H[:, j]     (forget_buffer)   or   H[:, j] - (1 - momentum) n
        c-ttv2 as ttv2 with choppers s_ij = c_j o_i = +-1: A is updated with -s_ij fast_lr lr d x^T,
               the buffer adds s_ij a_j; c_j flips with in_chop_prob after each read of column
               j, o_i with out_chop_prob after each full pass over the columns
        agad   as c-ttv2, but the buffer adds s_ij (a_j - mu_ij): mu is the running mean of the
               reads (rate min(tail_weightening / period, 1)) taken at the last chopper switch;
               no static reference needed
        mixed-precision  chi += -lr d x^T in floating point; every transfer_every updates
               n = trunc(chi / granularity) pulses onto the one array, chi -= n granularity

    ``ttv1`` and ``ttv2`` need A's reference at its symmetry point (``reference.zero_shift =
    true``); the ``[reference]`` section configures both arrays' references (zero-shifting
    puts each at its own devices' symmetry points; ``zero_shift_slow`` zero-shifts only C).
    Both arrays use the ``[device]`` settings, drawn independently. Counters run in rank-one
    updates (samples), aihwkit's ``units_in_mbatch = false``.
    """

    SECTION = "algorithm"

    kind: str = _f("sgd", "Training algorithm: plain pulsed SGD on one array, Tiki-Taka "
                   "('ttv1'), buffered Tiki-Taka ('ttv2'), chopped TTv2 ('c-ttv2'), AGAD "
                   "('agad') or digital accumulation with whole-pulse writes "
                   "('mixed-precision').", choices=KINDS)
    gamma: float = _f(0.0, "Weight of the fast array in the network weight gamma A + C.", "",
                      lo=0.0)
    transfer_every: int = _f(1, "Rank-one updates (samples) between two transfers.",
                             "updates", lo=1)
    n_reads_per_transfer: int = _f(1, "Columns of A read and transferred per transfer, in "
                                   "turn, wrapping around.", "columns", lo=1)
    fast_lr: float = _f(1.0, "Learning rate of the fast array A, relative to the SGD rate.",
                        "x lr", lo=0.0, lo_open=True)
    transfer_lr: float = _f(1.0, "Transfer rate from A onto C (ttv1) or into the buffer H, "
                            "relative to the SGD rate.", "x lr", lo=0.0, lo_open=True)
    thres_scale: float = _f(1.0, "Buffer threshold: one pulse onto C per thres_scale * dw_min "
                            "read into H (aihwkit's thres_scale times buffer_granularity).",
                            "dw_min", lo=0.0, lo_open=True)
    momentum: float = _f(0.0, "Fraction of the buffer kept after a transfer (forget_buffer) or "
                         "of the transferred pulses left in it.", "fraction", lo=0.0, hi=1.0)
    forget_buffer: bool = _f(True, "After a transfer, reset the buffer entry to momentum * H "
                             "instead of subtracting the pulses written.")
    transfer_bl: int = _f(1, "Most pulses written onto C per device and transfer (aihwkit's "
                          "transfer_update.desired_bl).", "pulses", lo=1, hi=64)
    buffer_cap: float = _f(0.0, "Cap of |H| in units of transfer_bl when forget_buffer = false "
                           "(0: no cap).", "transfer_bl", lo=0.0)
    in_chop_prob: float = _f(0.1, "Probability that a column's input chopper flips after its "
                             "read (c-ttv2, agad); with in_chop_random = false, a regular flip "
                             "every max(ceil(1 / in_chop_prob), 2) passes.", "probability",
                             lo=0.0, hi=1.0)
    in_chop_random: bool = _f(True, "Flip input choppers at random (true) or regularly.")
    out_chop_prob: float = _f(0.0, "Probability that a row's output chopper flips after each "
                              "full pass over the columns (c-ttv2, agad).", "probability",
                              lo=0.0, hi=1.0)
    tail_weightening: float = _f(5.0, "AGAD: rate of the running mean of the reads, times the "
                                 "chopper period (larger: the mean follows the tail of a "
                                 "period).", "", lo=0.0, lo_open=True)
    granularity: float = _f(0.0, "Mixed precision: accumulator step per pulse (0: "
                            "device.dw_min).", "weight units", lo=0.0)
    zero_shift_slow: bool = _f(False, "Zero-shift the array that holds the network weights (C; "
                               "mixed precision: its one array) even without "
                               "reference.zero_shift, which would zero-shift A too: c-ttv2 and "
                               "agad cancel A's reference offset, not C's pull towards its own "
                               "symmetry points. reference.reference_std applies to C's "
                               "reference.")

    def _check(self):
        if self.kind == "sgd" and self.zero_shift_slow:
            raise ConfigError("algorithm.zero_shift_slow = true needs a transfer algorithm or "
                              "mixed precision (kind = 'sgd' has one array: use "
                              "reference.zero_shift = true)")
        if self.kind == "agad" and self.in_chop_prob == 0.0:
            raise ConfigError("algorithm.in_chop_prob = 0.0 is invalid for kind = 'agad': the "
                              "dynamic reference is taken at chopper switches, so the choppers "
                              "must switch (in_chop_prob in (0, 1])")


def check_tile_algorithm(config) -> None:
    """Cross-section checks of a tile configuration's ``[algorithm]`` (run when a
    :class:`~rramsim.config.TileConfig` is made): ``ttv1`` and ``ttv2`` need A's reference at its
    symmetry point (``reference.zero_shift = true``), and zero-shifting C needs reference
    devices. Raises :class:`ConfigError` naming the keys."""
    algo = config.algorithm
    if algo.kind in NEEDS_REFERENCE and not config.reference.zero_shift:
        raise ConfigError(f"algorithm.kind = {algo.kind!r} needs the fast array's reference at "
                          f"its symmetry point: set reference.zero_shift = true (or choose "
                          f"kind 'c-ttv2' or 'agad', which cancel a reference offset)")
    if algo.zero_shift_slow and not config.reference.enabled:
        raise ConfigError("algorithm.zero_shift_slow = true needs reference.enabled = true "
                          "(zero-shifting programs the reference devices)")


def zero_shifts(config) -> tuple[bool, bool]:
    """``(fast, slow)``: whether a layer zero-shifts the gradient array A and the weight array
    C (for ``sgd`` and mixed precision, the one array is C) when it is built."""
    fast = bool(config.reference.zero_shift)
    return fast, fast or bool(config.algorithm.zero_shift_slow)
