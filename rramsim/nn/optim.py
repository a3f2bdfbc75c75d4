"""Optimisers. Digital parameters follow their gradients; analog layers are updated in place on
their tiles by pulses (aihwkit's ``AnalogSGD`` does the same).

After every step, a parameter with a ``clip_value`` attribute (the latent weights of binary
layers) is clipped into ``[-clip_value, clip_value]``.
"""

from __future__ import annotations

import numpy as np

from rramsim.errors import InputError
from rramsim.nn.modules import Module


def _clip_latent(p) -> None:
    c = getattr(p, "clip_value", None)
    if c is not None:
        np.clip(p.value, -c, c, out=p.value)


class SGD:
    """Stochastic gradient descent, by default plain: ``p <- p - lr * grad`` for digital
    parameters, and one pulsed rank-one update per sample for every analog layer
    (``W <- W - lr d x^T``).

    The loss is averaged over the batch, so a mini-batch of B applies B rank-one updates each of
    ``lr / B`` times a per-sample gradient, whose sum is the usual mini-batch step.

    With ``momentum`` mu, ``weight_decay`` lambda and ``nesterov`` (PyTorch's convention), the
    digital parameters follow
    ``g = grad + lambda p;  v <- mu v + g;  p <- p - lr (g + mu v if nesterov else v)``.
    Analog layers always take the plain pulsed update (momentum would need a digital copy of
    the weights, which in-situ training does not have).

    Parameters
    ----------
    model : the network
    lr : learning rate (> 0)
    momentum : mu in [0, 1)
    nesterov : Nesterov momentum (needs momentum > 0)
    weight_decay : lambda >= 0 (L2 penalty ``lambda/2 |p|^2`` on every digital parameter)
    """

    def __init__(self, model: Module, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0):
        if not (lr > 0):
            raise InputError(f"learning rate must be > 0, got {lr}")
        if not 0 <= momentum < 1 or not weight_decay >= 0:
            raise InputError(f"momentum must be in [0, 1) and weight_decay >= 0, got {momentum}, "
                             f"{weight_decay}")
        if nesterov and momentum == 0:
            raise InputError("Nesterov momentum needs momentum > 0")
        self.model = model
        self.lr = float(lr)
        self.momentum, self.nesterov, self.weight_decay = float(momentum), bool(nesterov), \
            float(weight_decay)
        self._velocity: dict[int, np.ndarray] = {}

    def zero_grad(self) -> None:
        for p in self.model.parameters():
            p.grad[...] = 0.0

    def step(self) -> None:
        for p in self.model.parameters():
            if self.momentum == 0 and self.weight_decay == 0:
                p.value -= self.lr * p.grad
            else:
                g = p.grad + self.weight_decay * p.value if self.weight_decay else p.grad
                if self.momentum:
                    v = self._velocity.get(id(p))
                    if v is None:
                        v = self._velocity[id(p)] = g.copy()
                    else:
                        v *= self.momentum
                        v += g
                    g = g + self.momentum * v if self.nesterov else v
                p.value -= self.lr * g
            _clip_latent(p)
        for layer in self.model.analog_layers():
            layer.apply_update(self.lr)


class Adam:
    """Adam (Kingma & Ba 2015) for digital parameters, with bias correction:
    ``g = grad + lambda p;  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
    p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)``.

    Parameters
    ----------
    model : the network (no analog layers: their update is the pulsed SGD step of the tile)
    lr, betas, eps : as in the paper (defaults 1e-3, (0.9, 0.999), 1e-8)
    weight_decay : lambda >= 0, added to the gradient (L2, not decoupled)

    Raises
    ------
    ValueError
        If the model has analog layers, or for invalid hyperparameters.
    """

    def __init__(self, model: Module, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        if not (lr > 0) or not all(0 <= b < 1 for b in betas) or not eps > 0 \
                or not weight_decay >= 0:
            raise InputError(f"invalid Adam hyperparameters lr={lr}, betas={betas}, eps={eps}, "
                             f"weight_decay={weight_decay}")
        if model.analog_layers():
            raise InputError("Adam cannot drive analog layers (their update is the tile's pulsed "
                             "SGD step); use SGD")
        self.model, self.lr = model, float(lr)
        self.b1, self.b2 = (float(b) for b in betas)
        self.eps, self.weight_decay = float(eps), float(weight_decay)
        self.t = 0
        self._m: dict[int, np.ndarray] = {}
        self._v: dict[int, np.ndarray] = {}

    def zero_grad(self) -> None:
        for p in self.model.parameters():
            p.grad[...] = 0.0

    def step(self) -> None:
        self.t += 1
        c1 = 1.0 - self.b1 ** self.t
        c2 = 1.0 - self.b2 ** self.t
        for p in self.model.parameters():
            g = p.grad + self.weight_decay * p.value if self.weight_decay else p.grad
            m = self._m.setdefault(id(p), np.zeros_like(p.value))
            v = self._v.setdefault(id(p), np.zeros_like(p.value))
            m *= self.b1
            m += (1.0 - self.b1) * g
            v *= self.b2
            v += (1.0 - self.b2) * g * g
            p.value -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)
            _clip_latent(p)
