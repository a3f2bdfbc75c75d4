"""Data sets: MNIST / Fashion-MNIST (:mod:`~rramsim.data.mnist`) and the synthetic regression
curves of the WES study (:mod:`~rramsim.data.regression`)."""

from rramsim.data.mnist import (
    DATASETS,
    SPLITS,
    clear_cache,
    flatten_images,
    load_idx,
    load_mnist,
    mnist_dir,
    train_test,
)
from rramsim.data.regression import SHAPES, RegressionData, label_curve, make_dataset
from rramsim.errors import DataError

__all__ = ["DATASETS", "SHAPES", "SPLITS", "DataError", "RegressionData", "clear_cache",
           "flatten_images", "label_curve", "load_idx", "load_mnist", "make_dataset", "mnist_dir",
           "train_test"]
