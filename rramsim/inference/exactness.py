"""The mapping invariant on data: with ideal devices and converters, the arrays reproduce the
digital twin and the network's own forward pass."""

from __future__ import annotations

import copy

import numpy as np

from rramsim.config import ArrayConfig
from rramsim.inference.arrays import REAL, _walk, map_network
from rramsim.nn import Conv2d, Module


def exactness_check(model: Module, x, kbit_input: str = "bit_serial", array_rows: int = 128,
                    batch_size: int = 500) -> dict:
    """The mapping invariant on data: ideal devices and a 16-bit ADC over the full range against
    the digital twin and the network's own forward pass (the model is put in eval mode).
    ``array_rows`` (default 128) splits the taller layers over several arrays, so that the
    digital addition of their partial sums is part of the check.

    16 bits are wide enough (every integer partial sum is a level) while ``2 array_rows n <
    2^16``: 1-bit inputs up to 32,767 rows, 4-bit inputs through a multi-bit DAC (n = 15) up to
    2,184 rows. A network with real-valued layers on arrays (full precision) is checked with
    ideal converters instead: its partial sums are added in another order than the twin's
    product, so it agrees to rounding (``max_abs_diff_arrays_vs_digital``), not bit for bit.

    The network itself is compared twice: as it is, and as a copy whose convolutions compute
    in float64 (``*_float64``). A network with float32 convolutions (``conv_dtype``) rounds its
    first layer differently from the twin's float64 arithmetic; where a pre-activation sits on
    a quantizer step, that flips an activation. The float64 copy computes what the twin does.

    Returns ``{converters, identical_outputs_arrays_vs_digital, max_abs_diff_arrays_vs_digital,
    identical_predictions_vs_network, max_abs_diff_vs_network,
    identical_predictions_vs_network_float64, max_abs_diff_vs_network_float64, n}``.
    """
    model.eval()
    cfg = ArrayConfig(out_bits=16, adc_range="full", array_rows=array_rows,
                      kbit_input=kbit_input)
    arrays, digital = map_network(model, cfg), map_network(model, backend="digital")
    integer = all(la.integer for la in arrays.layers if la.on_arrays)
    if not integer:  # real-valued partial sums: exact only with ideal converters, to rounding
        arrays = map_network(model, ArrayConfig(out_bits=0, inp_bits=0, array_rows=array_rows,
                                                kbit_input=kbit_input))
    model64 = copy.deepcopy(model)
    found: list = []
    _walk([model64], REAL, "", found)
    for _, _, layer, _, _ in found:
        if isinstance(layer, Conv2d):  # BinaryConv2d too
            layer.dtype = np.dtype(np.float64)
    same, same_pred, diff = True, {"": 0, "_float64": 0}, {"": 0.0, "_float64": 0.0}
    diff_digital = 0.0
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size]
        a, d = arrays.forward(xb), digital.forward(xb)
        same &= bool(np.array_equal(a, d))
        diff_digital = max(diff_digital, float(np.abs(a - d).max()))
        for key, net in (("", model), ("_float64", model64)):
            f = net.forward(xb)
            same_pred[key] += int(np.sum(a.argmax(1) == f.argmax(1)))
            diff[key] = max(diff[key], float(np.abs(a - f).max()))
    out = {"converters": "16-bit ADC, full range" if integer else "ideal ADC and DAC",
           "identical_outputs_arrays_vs_digital": same,
           "max_abs_diff_arrays_vs_digital": diff_digital}
    for key in ("", "_float64"):
        out[f"identical_predictions_vs_network{key}"] = same_pred[key] == len(x)
        out[f"max_abs_diff_vs_network{key}"] = diff[key]
    out["n"] = len(x)
    return out
