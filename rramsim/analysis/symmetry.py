"""Where the trained weights sit relative to the devices' symmetry points."""

from __future__ import annotations

import numpy as np


def layer_weights_vs_symmetry_point(model, layer: int = 0, max_points: int = 20000, seed=0):
    """Device weights of one analog layer against the devices' closed-form symmetry points.

    Returns a dict of 1-d arrays (a random sample of at most ``max_points`` devices), all in
    device units: ``device_weight`` (w), ``weight`` (w - r; the network weight is
    ``weight_scale`` times it), ``reference`` (r), ``symmetry_point`` (closed form, the oracle
    of the pulse protocol), and the least-squares slopes ``slope_device_weight`` and
    ``slope_weight`` of w and w - r on w_sp.
    """
    tile = model.analog_layers()[layer].tile
    sp = tile.devices.symmetry_point().ravel()
    rng = np.random.default_rng(seed)
    idx = rng.choice(sp.size, size=min(max_points, sp.size), replace=False)
    out = {"device_weight": tile.w.ravel()[idx], "weight": (tile.w - tile.ref).ravel()[idx],
           "reference": tile.ref.ravel()[idx], "symmetry_point": sp[idx]}
    # Least-squares slopes against w_sp: 1 means fully pulled onto the symmetry point, 0 means
    # independent of it. The effective weight w - r should not depend on w_sp.
    x = out["symmetry_point"] - out["symmetry_point"].mean()
    for key in ("device_weight", "weight"):
        out[f"slope_{key}"] = float(np.dot(x, out[key] - out[key].mean()) / max(np.dot(x, x),
                                                                                   1e-300))
    return out
