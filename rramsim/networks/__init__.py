"""Network builders with one registry, and saving / loading of trained networks.

- :mod:`~rramsim.networks.registry`: :data:`BUILDERS` by spec kind, :func:`build_from_spec`;
- :mod:`~rramsim.networks.mlp`: the sigmoid MLP of the in-situ training studies (``mlp``);
- :mod:`~rramsim.networks.binary`: binary MLP / LeNet / VGG, LeNet-5, BitSplit-Net, the named
  networks of the accuracy floors and BinaryDuo decoupling;
- :mod:`~rramsim.networks.regressor`: the regression network of the WES study (``regressor``);
- :mod:`~rramsim.networks.io`: :func:`save_model`, :func:`load_model`.
"""

from rramsim.networks.binary import (
    FLOOR_RUNS,
    build_binary_lenet,
    build_binary_mlp,
    build_binary_vgg,
    build_bitsplit,
    build_lenet5,
    decouple,
    kbit_act,
    scale_widths,
)
from rramsim.networks.io import load_model, save_model
from rramsim.networks.mlp import MNIST_MLP, build_mlp
from rramsim.networks.registry import BUILDERS, build_from_spec, check_spec, register
from rramsim.networks.regressor import build_regressor

__all__ = ["BUILDERS", "FLOOR_RUNS", "MNIST_MLP", "build_binary_lenet", "build_binary_mlp",
           "build_binary_vgg", "build_bitsplit", "build_from_spec", "build_lenet5", "build_mlp",
           "build_regressor", "check_spec", "decouple", "kbit_act", "load_model", "register",
           "save_model", "scale_widths"]
