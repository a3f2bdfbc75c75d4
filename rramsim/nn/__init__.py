"""Neural-network building blocks: layers (digital and analog), losses, optimisers."""

from rramsim.nn.binary import (  # noqa: F401
    BinaryConv2d,
    BinaryLinear,
    BitSplit,
    Dropout,
    Hardtanh,
    LearnableThreshold,
    Quantize,
    Residual,
    bireal_block,
)
from rramsim.nn.conv import Conv2d, Flatten, MaxPool2d  # noqa: F401
from rramsim.nn.losses import (  # noqa: F401
    HuberLoss,
    Loss,
    MAELoss,
    MSELoss,
    SoftmaxCrossEntropy,
    WESLoss,
    softmax,
)
from rramsim.nn.modules import (  # noqa: F401
    AnalogLinear,
    Linear,
    Module,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)
from rramsim.nn.norm import BatchNorm1d, BatchNorm2d  # noqa: F401
from rramsim.nn.optim import SGD, Adam  # noqa: F401
from rramsim.nn.quantizers import QUANTIZERS, Quantizer, get_quantizer  # noqa: F401
from rramsim.nn.schedules import CosineLR, StepLR  # noqa: F401
