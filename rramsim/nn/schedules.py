"""Learning-rate schedules: callables ``epoch (1-based) -> learning rate`` for
:func:`rramsim.training.fit`'s ``lr_schedule``."""

from __future__ import annotations

import math

from rramsim.errors import InputError


class StepLR:
    """``lr(e) = lr0 * gamma ** ((e - 1) // step_size)``: multiply by gamma every step_size
    epochs.

    Parameters
    ----------
    lr0 : learning rate of epoch 1 (> 0)
    step_size : epochs between drops (>= 1)
    gamma : factor per drop, in (0, 1]
    """

    def __init__(self, lr0: float, step_size: int, gamma: float = 0.1):
        if not lr0 > 0 or int(step_size) < 1 or not 0 < gamma <= 1:
            raise InputError(f"need lr0 > 0, step_size >= 1, 0 < gamma <= 1; got {lr0}, "
                             f"{step_size}, {gamma}")
        self.lr0, self.step_size, self.gamma = float(lr0), int(step_size), float(gamma)

    def __call__(self, epoch: int) -> float:
        return self.lr0 * self.gamma ** ((int(epoch) - 1) // self.step_size)


class CosineLR:
    """Cosine annealing over ``epochs`` epochs:
    ``lr(e) = lr_min + (lr0 - lr_min) (1 + cos(pi (e - 1) / epochs)) / 2`` (lr0 at epoch 1,
    approaching lr_min at the last epoch; lr_min after it).

    Parameters
    ----------
    lr0 : learning rate of epoch 1 (> 0)
    epochs : length of the schedule (>= 1)
    lr_min : final learning rate (>= 0)
    """

    def __init__(self, lr0: float, epochs: int, lr_min: float = 0.0):
        if not lr0 > 0 or int(epochs) < 1 or not 0 <= lr_min <= lr0:
            raise InputError(f"need lr0 > 0, epochs >= 1, 0 <= lr_min <= lr0; got {lr0}, "
                             f"{epochs}, {lr_min}")
        self.lr0, self.epochs, self.lr_min = float(lr0), int(epochs), float(lr_min)

    def __call__(self, epoch: int) -> float:
        e = min(max(int(epoch), 1), self.epochs + 1)
        return self.lr_min + 0.5 * (self.lr0 - self.lr_min) * (
            1.0 + math.cos(math.pi * (e - 1) / self.epochs))
