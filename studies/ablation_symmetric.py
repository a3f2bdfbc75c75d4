"""Study: what keeps the symmetric soft-bound device below floating point?

Question: the symmetric device (``softbounds_symmetric``, seed 0, 2 epochs, batch 1, lr 0.01)
with one non-ideality removed at a time: perfect peripherals; no device-to-device or
cycle-to-cycle variation; constant step instead of soft bounds (same +-1 bounds); soft bounds
three times wider (+-3). Prints the per-epoch test accuracy; writes
``plots/ablation_symmetric.json``.

    python studies/ablation_symmetric.py
"""

from rramsim.experiments.mnist import run_training_tasks as run_tasks
from rramsim.results import write_json

base = dict(preset="softbounds_symmetric", seed=0, epochs=2, batch_size=1, lr=0.01,
            zero_shift=False)
tasks = [
    dict(base, name="perfect_io", overrides={"forward.is_perfect": True,
                                           "backward.is_perfect": True}),
    dict(base, name="no_variation", overrides={
      "device.dw_min_dtod": 0.0, "device.dw_min_ctoc": 0.0, "device.w_max_dtod": 0.0,
      "device.w_min_dtod": 0.0, "device.up_down_dtod": 0.0}),
    dict(base, name="constant_step_pm1", overrides={"device.model": "constant_step"}),
    dict(base, name="soft_bounds_pm3", overrides={"device.w_max": 3.0, "device.w_min": -3.0}),
]
if __name__ == "__main__":
    runs = run_tasks(tasks, jobs=2, cache_dir="out/ablation")
    write_json("plots/ablation_symmetric.json", {"runs": runs})
    for r in runs:
        print(f"{r['name']:20s}", [round(100 * h["test_accuracy"], 2) for h in r["history"]])
