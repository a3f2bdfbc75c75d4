"""Array-mapping study runs: a saved network mapped onto arrays over a sweep of ADC
resolutions."""

from __future__ import annotations

from rramsim.config import ArrayConfig
from rramsim.data import train_test
from rramsim.inference import map_network
from rramsim.networks import load_model


def run_mapping_task(task: dict) -> dict:
    """One sweep point set for worker processes: load the saved network ``task["model"]``,
    map it with ``ArrayConfig(**task["array"], adc_bits=b)`` for each b in ``task["adc_bits"]``
    (calibrated on ``task["calibration_images"]`` training images), evaluate on the first
    ``task["test_images"]`` test images of ``task["dataset"]``.

    Returns the task plus ``digital_accuracy`` (the digital twin) and ``points``, one
    ``{adc_bits, accuracy, cost}`` per ADC resolution (cost: per-inference totals).
    """
    model = load_model(task["model"])
    model.eval()
    dataset = task.get("dataset", "mnist")
    x_cal, _, x_test, y_test = train_test(train_subset=task.get("calibration_images", 500),
                                          seed=task.get("seed", 0), dataset=dataset,
                                          data_dir=task.get("data_dir"))
    shape = (-1, 1, 28, 28)
    x_cal, x_test = x_cal.reshape(shape), x_test[:task.get("test_images", 10000)].reshape(shape)
    y_test = y_test[:len(x_test)]
    out = dict(task)
    out["digital_accuracy"] = map_network(model, backend="digital").evaluate(x_test, y_test)
    out["points"] = []
    for bits in task["adc_bits"]:
        cfg = ArrayConfig(**dict(task["array"], adc_bits=bits))
        net = map_network(model, cfg, calibration=x_cal, seed=task.get("seed", 0))
        acc = net.evaluate(x_test, y_test, batch_size=250)
        cost = {k: v for k, v in net.cost().items() if k != "layers"}
        out["points"].append({"adc_bits": bits, "accuracy": acc, "cost": cost})
    return out
