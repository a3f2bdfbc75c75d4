"""Neural-network building blocks: layers (digital and analog), losses, optimisers."""

from rramsim.nn.losses import Loss, MSELoss, SoftmaxCrossEntropy, softmax  # noqa: F401
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
from rramsim.nn.optim import SGD  # noqa: F401
