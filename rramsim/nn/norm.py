"""Batch normalisation (Ioffe & Szegedy 2015) with train/eval statistics, as in PyTorch.

Training: ``y = gamma * (x - mean_B) / sqrt(var_B + eps) + beta`` with the batch mean and the
biased batch variance over every axis but the channel axis (1); the running estimates follow
``r <- (1 - momentum) r + momentum * batch`` (running variance from the unbiased batch
variance). Evaluation: the running estimates replace the batch statistics.
"""

from __future__ import annotations

import numpy as np

from rramsim.errors import InputError
from rramsim.nn.modules import Module, Parameter


class _BatchNorm(Module):
    ndim = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, name: str = "bn"):
        super().__init__()
        self.num_features = int(num_features)
        if self.num_features < 1 or not eps > 0 or not 0 <= momentum <= 1:
            raise InputError("num_features must be >= 1, eps > 0 and momentum in [0, 1]")
        self.eps, self.momentum, self.name = float(eps), float(momentum), name
        self.weight = Parameter(np.ones(self.num_features), f"{name}.weight") if affine else None
        self.bias = Parameter(np.zeros(self.num_features), f"{name}.bias") if affine else None
        self.running_mean = np.zeros(self.num_features)
        self.running_var = np.ones(self.num_features)

    def parameters(self):
        return [self.weight, self.bias] if self.weight is not None else []

    def _shape(self):
        return (1, self.num_features) + (1,) * (self.ndim - 2)

    def _axes(self):
        return (0,) + tuple(range(2, self.ndim))

    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != self.ndim or x.shape[1] != self.num_features:
            lay = "(batch, features)" if self.ndim == 2 else "(batch, channels, height, width)"
            raise InputError(f"{self.name}: input must have shape {lay} with "
                             f"{self.num_features} features/channels, got {x.shape}")
        shp, axes = self._shape(), self._axes()
        if self.training:
            m = x.size // self.num_features
            if m < 2:
                raise InputError(f"{self.name}: batch statistics need more than one value per "
                                 "channel in training mode (use eval mode for single samples)")
            mean = x.mean(axis=axes)
            xc = x - mean.reshape(shp)
            var = np.mean(xc * xc, axis=axes)
            mom = self.momentum
            self.running_mean = (1 - mom) * self.running_mean + mom * mean
            self.running_var = (1 - mom) * self.running_var + mom * var * m / (m - 1)
        else:
            mean, var = self.running_mean, self.running_var
            xc = x - mean.reshape(shp)
        inv = 1.0 / np.sqrt(var + self.eps)
        xhat = xc * inv.reshape(shp)
        self._xhat, self._inv = xhat, inv
        if self.weight is None:
            return xhat
        return xhat * self.weight.value.reshape(shp) + self.bias.value.reshape(shp)

    def backward(self, grad):
        shp, axes = self._shape(), self._axes()
        xhat = self._xhat
        if self.weight is not None:
            self.weight.grad += np.sum(grad * xhat, axis=axes)
            self.bias.grad += np.sum(grad, axis=axes)
            g = grad * self.weight.value.reshape(shp)
        else:
            g = grad
        if not self.input_grad:
            return None
        if not self.training:  # running statistics are constants
            return g * self._inv.reshape(shp)
        gm = g.mean(axis=axes, keepdims=True)
        gxm = (g * xhat).mean(axis=axes, keepdims=True)
        return (g - gm - xhat * gxm) * self._inv.reshape(shp)

    def state_dict(self):
        state = super().state_dict()
        state[f"{self.name}.running_mean"] = self.running_mean.copy()
        state[f"{self.name}.running_var"] = self.running_var.copy()
        return state

    def load_state_dict(self, state):
        super().load_state_dict(state)
        for key in ("running_mean", "running_var"):
            arr = np.asarray(state[f"{self.name}.{key}"], dtype=np.float64)
            if arr.shape != (self.num_features,):
                raise InputError(f"{self.name}.{key}: shape {arr.shape} != ({self.num_features},)")
            setattr(self, key, arr.copy())


class BatchNorm1d(_BatchNorm):
    """Batch norm of features: input and output (N, F); statistics over the batch axis.

    Parameters
    ----------
    num_features : F
    eps : added to the variance
    momentum : weight of the new batch in the running estimates
    affine : learnable ``gamma`` (``.weight``, init 1) and ``beta`` (``.bias``, init 0)
    name : prefix of the parameter and buffer names in ``state_dict``
    """

    ndim = 2


class BatchNorm2d(_BatchNorm):
    """Batch norm of channels: input and output (N, C, H, W); statistics over N, H, W.
    Parameters as :class:`BatchNorm1d` with ``num_features = C``."""

    ndim = 4
