"""Optimisers. Digital parameters follow their gradients; analog layers are updated in place on
their tiles by pulses (aihwkit's ``AnalogSGD`` does the same)."""

from __future__ import annotations

from rramsim.nn.modules import Module


class SGD:
    """Plain stochastic gradient descent: ``p <- p - lr * grad`` for digital parameters, and one
    pulsed rank-one update per sample for every analog layer (``W <- W - lr d x^T``).

    The loss is averaged over the batch, so a mini-batch of B applies B rank-one updates each of
    ``lr / B`` times a per-sample gradient, whose sum is the usual mini-batch step.
    """

    def __init__(self, model: Module, lr: float):
        if not (lr > 0):
            raise ValueError(f"learning rate must be > 0, got {lr}")
        self.model = model
        self.lr = float(lr)

    def zero_grad(self) -> None:
        for p in self.model.parameters():
            p.grad[...] = 0.0

    def step(self) -> None:
        for p in self.model.parameters():
            p.value -= self.lr * p.grad
        for layer in self.model.analog_layers():
            layer.apply_update(self.lr)
