"""Gradient mismatch of a straight-through estimator: the cosine similarity between the STE
gradient of a layer's weights and the gradient of a Gaussian-smoothed loss (coordinate-wise
finite differences), as in the BinaryDuo paper (Kim et al., ICLR 2020)."""

from __future__ import annotations

import numpy as np

from rramsim.errors import InputError
from rramsim.nn import BinaryLinear, Linear, Sequential
from rramsim.nn.quantizers import ScaledSign
from rramsim.rng import generator


def gradient_mismatch(model: Sequential, layer: int, x: np.ndarray, y: np.ndarray, loss,
                      n_coords: int = 64, n_noise: int = 32, sigma: float = 0.01,
                      step: float | None = None, seed=None) -> dict:
    """Gradient mismatch of the straight-through estimator (BinaryDuo paper, section 3).

    The reference is the gradient of the Gaussian-smoothed loss
    ``L_sigma(W) = E_eps[L(W + eps)]``, ``eps ~ N(0, sigma^2)`` on every weight of layer
    ``layer``, estimated coordinate-wise by central finite differences with common noise:
    ``g_i = mean_k [L(W + eps_k + h e_i) - L(W + eps_k - h e_i)] / (2 h)``. It is compared with
    the backpropagated (straight-through) gradient dL/dW at W by cosine similarity over
    ``n_coords`` random coordinates.

    Parameters
    ----------
    model : a Sequential; ``model.layers[layer]`` is a Linear or BinaryLinear whose latent
        weight (n_out, n_in) is perturbed (binary weights are quantized after the noise)
    x, y : one fixed batch (B, ...) and labels (B,)
    loss : a :class:`~rramsim.nn.Loss`
    n_coords, n_noise : coordinates compared and noise samples per coordinate
    sigma : smoothing standard deviation; step : finite-difference step h (default sigma)
    seed : seeds the coordinates and the noise

    Returns
    -------
    dict with ``cosine`` (STE vs smoothed), ``cosine_halves`` (between the smoothed estimates
    of two disjoint halves of the noise samples: the estimator's own reproducibility),
    ``ste_grad`` and ``smoothed_grad`` (n_coords,), ``coords`` ((n_coords, 2) indices).

    The layers before ``layer`` are evaluated once; a perturbation of W[i, j] changes only
    output column i of the layer, so each evaluation recomputes the layers after it.
    """
    lin = model.layers[layer]
    if not isinstance(lin, (Linear, BinaryLinear)):
        raise InputError(f"layer {layer} is {type(lin).__name__}; gradient_mismatch needs a "
                         "Linear or BinaryLinear")
    if n_coords < 1 or n_noise < 2 or not sigma >= 0:
        raise InputError("need n_coords >= 1, n_noise >= 2 and sigma >= 0")
    h = float(sigma if step is None else step)
    if not h > 0:
        raise InputError("the finite-difference step must be > 0 (give step when sigma is 0)")
    rng = generator(seed)
    model.eval()  # fixed (running) batch-norm statistics: L is a function of W alone
    try:
        for p in model.parameters():
            p.grad[...] = 0.0
        out = model.forward(x)
        loss(out, y)
        model.backward(loss.grad())
        ste = lin.weight.grad.copy()
        for p in model.parameters():
            p.grad[...] = 0.0
        h_in = x
        for la in model.layers[:layer]:
            h_in = la.forward(h_in)
        rest = model.layers[layer + 1:]
        W0 = lin.weight.value.copy()
        n_out, n_in = W0.shape
        flat = rng.choice(W0.size, size=min(n_coords, W0.size), replace=False)
        coords = np.stack(np.unravel_index(flat, W0.shape), axis=1)

        def tail(z):
            for la in rest:
                z = la.forward(z)
            return loss(z, y)

        quant = lin.wq if isinstance(lin, BinaryLinear) else None
        if isinstance(quant, ScaledSign) and not quant.per_channel:
            raise InputError("gradient_mismatch needs row-wise weight quantizers (a per-layer "
                             "scale couples every row)")
        diffs = np.zeros((len(coords), n_noise))
        for k in range(n_noise):
            Wn = W0 + sigma * rng.standard_normal(W0.shape)
            Wq = quant(Wn) if quant is not None else Wn
            z = h_in @ Wq.T
            if lin.bias is not None:
                z += lin.bias.value
            for c, (i, j) in enumerate(coords):
                vals = []
                for s in (h, -h):
                    Wp = Wn[i].copy()
                    Wp[j] += s
                    row = quant(Wp[None, :])[0] if quant is not None else Wp
                    zc = z.copy()
                    zc[:, i] = h_in @ row + (lin.bias.value[i] if lin.bias is not None else 0.0)
                    vals.append(tail(zc))
                diffs[c, k] = (vals[0] - vals[1]) / (2 * h)
    finally:
        model.train()
    smooth = diffs.mean(axis=1)
    half = n_noise // 2
    g_ste = ste[coords[:, 0], coords[:, 1]]
    return {"cosine": _cosine(g_ste, smooth),
            "cosine_halves": _cosine(diffs[:, :half].mean(axis=1), diffs[:, half:].mean(axis=1)),
            "ste_grad": g_ste, "smoothed_grad": smooth, "coords": coords}


def _cosine(a, b) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else float("nan")
