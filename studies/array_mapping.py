"""Study: how many ADC bits and how large an array does each kind of network need on RRAM
inference arrays, and what does it cost in ADC conversions?

The trained LeNet-5-style networks of ``studies/bitsplit.py`` (seed 0: full precision,
binary, conventional k-bit and BitSplit k-bit, k = 2, 3, 4, and BitSplit with 1/sqrt(k)-wide
paths, k = 2, 4, which holds the conventional network's number of devices) are mapped onto
arrays (:func:`rramsim.inference.map_network`) with their hidden weight layers on arrays and the
first and last layers digital, and evaluated on the MNIST test set for every ADC resolution (1
to 8 bits) and array height (64, 128, 256, 512 rows). Conventional k-bit networks are run
bit-serially (k cycles of a 1-bit DAC, shift-and-add; the same number of ADC conversions as
BitSplit) and, as "k-bit, k-bit DAC", in one cycle through a k-bit DAC (k times fewer
conversions, larger partial sums). The full-precision network's real-valued inputs go through
an 8-bit DAC over their calibrated range, its real weights onto differential pairs.

Device values (RRAM, differential pair, realistic): programming error 5 % of the conductance
range (Wan et al., Nature 608:504, 2022, Extended Data Fig. 3: sigma about 1 to 2.4 uS over a
0 to 40 uS range after write-verify, i.e. 2.6 to 6 %) and read noise 1 % of the range per device
per read (random-telegraph fluctuations of the read current of HfOx RRAM, of order 1 % and
larger in high-resistance states: Ambrogio et al., IEEE Trans. Electron Devices 61:2920, 2014,
doi:10.1109/TED.2014.2330202). ADC ranges are calibrated per array on 500 training images
(``adc_percentile`` 99.99). The sweep uses one draw (seed 0) of the programming error, the
read noise and the calibration batch; at 128 rows every network is run again with draws 1
and 2, to show how much of the picture is one draw's luck (``programming_draws`` in the JSON,
error bars in the 128-row panel).

Outputs (``--out``, default ``plots/``): ``array_mapping__accuracy.png`` (test accuracy against
ADC bits, one panel per array height), ``array_mapping__cost.png`` (ADC conversions per
inference against array rows, and the accuracy-cost trade-off at each network's smallest
adequate ADC), ``array_mapping.json``; per-task JSON in ``<out>/array_mapping_runs/``.

    python studies/bitsplit.py && python studies/array_mapping.py     # full (10,000 test images)
    python studies/bitsplit.py --quick && python studies/array_mapping.py --quick   # minutes
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rramsim.experiments.mapping import run_mapping_task
from rramsim.experiments.runner import run_tasks, study_args
from rramsim.inference import exactness_check
from rramsim.plotting import inference as plots
from rramsim.results import write_json

ROWS = (64, 128, 256, 512)
ADC_BITS = tuple(range(1, 9))
DEVICE = dict(prog_noise=0.05, read_noise=0.01, weight_encoding="differential", levels=0,
              adc_range="calibrated", adc_percentile=99.99, map_layers="hidden", array_cols=256)
#: (label, saved network name in the bitsplit study, k-bit input mode)
NETWORKS = [("full precision", "full_precision", "bit_serial"),
            ("binary", "binary", "bit_serial")] + [
    (label.format(k=k), name.format(k=k), mode) for k in (2, 3, 4)
    for label, name, mode in (("{k}-bit", "{k}-bit", "bit_serial"),
                              ("{k}-bit, {k}-bit DAC", "{k}-bit", "multibit"),
                              ("BitSplit {k}-bit", "BitSplit_{k}-bit", "bit_serial"))] + [
    (f"BitSplit {k}-bit narrow", f"BitSplit_{k}-bit_narrow", "bit_serial") for k in (2, 4)]
#: Accuracy loss against the digital network counted as adequate.
TOLERANCE = 0.005
#: Further draws (task seeds: programming error, read noise, calibration batch) at DRAW_ROWS.
DRAWS = (1, 2)
DRAW_ROWS = 128


def make_tasks(model_dir: Path, test_images: int, data_dir=None) -> list[dict]:
    tasks = []
    for label, name, mode in NETWORKS:
        path = model_dir / f"lenet_{name}_seed0.npz"
        if not path.is_file():
            raise SystemExit(f"no trained network at {path}: run studies/bitsplit.py first "
                             f"(with --quick for the quick version)")
        stem = label.replace(' ', '_').replace(',', '')
        for rows, draw in [(r, 0) for r in ROWS] + [(DRAW_ROWS, d) for d in DRAWS]:
            tasks.append(dict(name=f"{stem}_rows{rows}" + (f"_draw{draw}" if draw else ""),
                              network=label, model=str(path), rows=rows,
                              array=dict(DEVICE, array_rows=rows, kbit_input=mode),
                              adc_bits=list(ADC_BITS), test_images=test_images,
                              calibration_images=500, seed=draw, draw=draw,
                              data_dir=data_dir))
    return tasks


def _draw(run: dict) -> int:
    return run.get("draw", 0)  # runs written before the extra draws were all draw 0


def summarise(runs: list[dict]) -> dict:
    """Per network: digital accuracy, accuracy[rows][bits], conversions per inference[rows], and
    the smallest ADC resolution within TOLERANCE of the digital network per array height."""
    out = {}
    for r in (r for r in runs if _draw(r) == 0):
        row = out.setdefault(r["network"], {"digital_accuracy": r["digital_accuracy"],
                                            "accuracy": {}, "adc_conversions": {},
                                            "devices": {}, "latency_cycles": {},
                                            "min_adc_bits": {}})
        acc = {p["adc_bits"]: p["accuracy"] for p in r["points"]}
        row["accuracy"][r["rows"]] = acc
        for key in ("adc_conversions", "devices", "latency_cycles"):
            row[key][r["rows"]] = r["points"][0]["cost"][key]
        good = [b for b in sorted(acc) if acc[b] >= r["digital_accuracy"] - TOLERANCE]
        row["min_adc_bits"][r["rows"]] = good[0] if good else None
    return out


def summarise_draws(runs: list[dict]) -> dict:
    """Per network, at DRAW_ROWS: accuracy per ADC resolution over the draws (values, mean,
    min, max) and the smallest ADC within TOLERANCE of the digital network in every draw."""
    out = {}
    for r in runs:
        if r["rows"] != DRAW_ROWS:
            continue
        row = out.setdefault(r["network"], {"rows": DRAW_ROWS, "draws": [], "accuracy": {}})
        row["draws"].append(_draw(r))
        for p in r["points"]:
            row["accuracy"].setdefault(p["adc_bits"], []).append(p["accuracy"])
    for label, row in out.items():
        digital = next(r["digital_accuracy"] for r in runs if r["network"] == label)
        acc = row["accuracy"]
        row["accuracy"] = {b: dict(values=v, mean=float(np.mean(v)), min=min(v), max=max(v))
                           for b, v in sorted(acc.items())}
        good = [b for b, v in sorted(acc.items()) if min(v) >= digital - TOLERANCE]
        row["min_adc_bits_every_draw"] = good[0] if good else None
    return out


def check_exactness(runs: list[dict], n_test: int, data_dir=None) -> dict:
    """Per network: ideal arrays with a wide ADC against the digital twin and the network
    (:func:`rramsim.inference.exactness_check`) on the study's test images."""
    from rramsim.data import train_test
    from rramsim.networks import load_model

    x = train_test(train_subset=1, seed=0, data_dir=data_dir)[2][:n_test].reshape(-1, 1, 28, 28)
    out = {}
    for r in runs:
        if r["network"] not in out:
            out[r["network"]] = exactness_check(load_model(r["model"]), x,
                                                kbit_input=r["array"]["kbit_input"])
            print(f"  {r['network']}: ideal arrays = digital twin: "
                  f"{out[r['network']]['identical_outputs_arrays_vs_digital']}, same "
                  f"predictions as the network: "
                  f"{out[r['network']]['identical_predictions_vs_network']}", flush=True)
    return out


def main():
    args, tag = study_args(__doc__, "array_mapping", extra=lambda ap: ap.add_argument(
        "--test-images", type=int, default=None, help="test images (10000; quick: 2000)"))
    model_dir = args.out / ("bitsplit_quick_runs" if args.quick else "bitsplit_runs")
    n_test = args.test_images or (2000 if args.quick else 10000)
    runs = run_tasks(make_tasks(model_dir, n_test, args.data_dir), jobs=args.jobs,
                     cache_dir=args.out / f"{tag}_runs", runner=run_mapping_task,
                     describe=lambda r: "accuracy " + " ".join(
                         f"{100 * p['accuracy']:.1f}" for p in r["points"]))
    summary = summarise(runs)
    draws = summarise_draws(runs)
    exact = check_exactness(runs, n_test, args.data_dir)
    write_json(args.out / f"{tag}.json", {"device": DEVICE, "rows": ROWS, "adc_bits": ADC_BITS,
                                          "test_images": n_test, "tolerance": TOLERANCE,
                                          "summary": summary, "programming_draws": draws,
                                          "exactness": exact, "runs": runs})
    title = (f"LeNet-5-style on MNIST mapped onto RRAM arrays (prog. error 5 %, read noise "
             f"1 %, {n_test} test images)")
    plots.accuracy_vs_adc_bits(summary, args.out / f"{tag}__accuracy.png", title, rows=ROWS,
                               adc_bits=ADC_BITS, draws=draws, draw_rows=DRAW_ROWS,
                               draw_ids=(0,) + DRAWS)
    plots.adc_cost(summary, args.out / f"{tag}__cost.png", title, rows=ROWS, tolerance=TOLERANCE)
    print(f"\n{'network':24s} {'digital':>8s}  " + "  ".join(
        f"rows {r}: bits / conversions" for r in ROWS) + "   devices  latency cycles")
    for label, row in summary.items():
        cells = "  ".join(f"{str(row['min_adc_bits'][r]):>11s} / {row['adc_conversions'][r]:>7,d}"
                          for r in ROWS)
        print(f"{label:24s} {100 * row['digital_accuracy']:7.2f}%  {cells}  "
              f"{row['devices'][ROWS[0]]:>9,d}  {row['latency_cycles'][ROWS[0]]:>6d}")
    print(f"(smallest ADC bits within {100 * TOLERANCE:.1f} points of the digital network)")
    print(f"\nat {DRAW_ROWS} rows over draws {(0,) + DRAWS}: accuracy min-max (%) at 2 and 3 ADC "
          f"bits, smallest ADC adequate in every draw")
    for label, row in draws.items():
        a = row["accuracy"]
        print(f"{label:24s} 2 b: {100 * a[2]['min']:5.1f}-{100 * a[2]['max']:5.1f}   3 b: "
              f"{100 * a[3]['min']:5.1f}-{100 * a[3]['max']:5.1f}   "
              f"{row['min_adc_bits_every_draw']} bits")
    print(f"wrote {args.out / (tag + '.json')} and {tag}__accuracy.png, {tag}__cost.png")


if __name__ == "__main__":
    main()
