"""Study: what do the device presets do, pulse by pulse, and where are their symmetry points?

Question: the weight of one device of each preset under 1000 up then 1000 down pulses (five
devices drawn with device-to-device variation, cycle-to-cycle noise on), and the per-device
symmetry points of a 64 x 64 array of the asymmetric device found by the pulse protocol (10,000
up/down pairs) against the closed form. Runs the ``rramsim pulse-response`` and
``rramsim symmetry-point`` commands.

Outputs in ``plots/``: ``device__pulse_response_<preset>.png/.json`` for every preset but
``ideal``, and ``device__symmetry_point_softbounds_asymmetric.png/.json``.

    python studies/device_figures.py
"""

from rramsim.cli import main
from rramsim.config import available_presets


def run():
    for preset in available_presets():
        if preset == "ideal":
            continue
        main(["pulse-response", "--preset", preset, "--up", "1000", "--down", "1000",
              "--devices", "5", "--seed", "0", "--out", "plots",
              "--name", f"device__pulse_response_{preset}"])
    main(["symmetry-point", "--preset", "softbounds_asymmetric", "--rows", "64", "--cols", "64",
          "--pairs", "10000", "--seed", "0", "--out", "plots",
          "--name", "device__symmetry_point_softbounds_asymmetric"])


if __name__ == "__main__":
    run()
