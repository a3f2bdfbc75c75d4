"""Convolution, pooling, flatten and batch norm: numba kernels against numpy twins, gradients
against finite differences, batch-norm train/eval behaviour, bad input."""

import numpy as np
import pytest
from naive import numeric_grad

from rramsim.kernels.conv import col2im, conv2d_direct, im2col
from rramsim.nn import (
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Flatten,
    MaxPool2d,
    Sequential,
    SoftmaxCrossEntropy,
)


def check_module_grads(module, x, rtol=1e-5, atol=1e-7, seed=0):
    """Compare dL/dx and dL/dparams of ``module`` with finite differences for
    L = sum(r * module(x)) with a fixed random r."""
    module.input_grad = True
    r = np.random.default_rng(seed).normal(size=module.forward(x).shape)

    def f():
        return float(np.sum(r * module.forward(x)))

    f()
    for p in module.parameters():
        p.grad[...] = 0
    gx = module.backward(r)
    np.testing.assert_allclose(gx, numeric_grad(f, x), rtol=rtol, atol=atol)
    for p in module.parameters():
        analytic = p.grad.copy()
        np.testing.assert_allclose(analytic, numeric_grad(f, p.value), rtol=rtol, atol=atol,
                                   err_msg=p.name)


def naive_im2col(x, k, stride, padding):
    """Obviously correct twin of the im2col kernel."""
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c, h, w = xp.shape
    oh, ow = (h - k) // stride + 1, (w - k) // stride + 1
    out = np.zeros((n, c * k * k, oh * ow))
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                out[b, :, i * ow + j] = xp[b, :, i * stride:i * stride + k,
                                           j * stride:j * stride + k].ravel()
    return out


def naive_conv(x, w, b, stride, padding):
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, _, h, wd = xp.shape
    co, _, k, _ = w.shape
    oh, ow = (h - k) // stride + 1, (wd - k) // stride + 1
    y = np.zeros((n, co, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k]
            y[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    return y + (0 if b is None else b[None, :, None, None])


@pytest.mark.parametrize("k,stride,padding", [(3, 1, 0), (3, 2, 1), (5, 1, 2), (2, 2, 0)])
def test_im2col_and_col2im_match_numpy_twins(rng, k, stride, padding):
    x = rng.normal(size=(2, 3, 7, 8))
    cols = im2col(x, k, k, stride, padding)
    np.testing.assert_array_equal(cols, naive_im2col(x, k, stride, padding))
    # col2im is the adjoint: <im2col(x), c> == <x, col2im(c)>
    c = rng.normal(size=cols.shape)
    lhs = np.sum(cols * c)
    rhs = np.sum(x * col2im(c, x.shape, k, k, stride, padding))
    assert lhs == pytest.approx(rhs, rel=1e-12)


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), (1, 2)])
def test_conv_forward_matches_naive_and_direct(rng, stride, padding):
    conv = Conv2d(3, 4, 3, stride=stride, padding=padding, seed=1)
    x = rng.normal(size=(2, 3, 9, 8))
    y = conv.forward(x)
    ref = naive_conv(x, conv.weight.value, conv.bias.value, stride, padding)
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
    direct = conv2d_direct(x, conv.weight.value, stride, padding) + conv.bias.value[:, None, None]
    np.testing.assert_allclose(direct, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("stride,padding,bias", [(1, 0, True), (2, 1, False), (1, 1, True)])
def test_conv_gradients(rng, stride, padding, bias):
    conv = Conv2d(2, 3, 3, stride=stride, padding=padding, bias=bias, seed=2)
    check_module_grads(conv, rng.normal(size=(2, 2, 6, 5)))


def test_maxpool_forward_backward(rng):
    pool = MaxPool2d(2)
    x = rng.normal(size=(2, 3, 5, 6))  # odd height: the last row is dropped
    y = pool.forward(x)
    ref = x[:, :, :4, :6].reshape(2, 3, 2, 2, 3, 2).max(axis=(3, 5))
    np.testing.assert_array_equal(y, ref)
    check_module_grads(pool, x)


def test_maxpool_ties_send_gradient_to_first_maximum():
    pool = MaxPool2d(2)
    x = np.ones((1, 1, 2, 2))
    pool.forward(x)
    g = pool.backward(np.full((1, 1, 1, 1), 3.0))
    np.testing.assert_array_equal(g[0, 0], [[3.0, 0.0], [0.0, 0.0]])


def test_flatten_round_trip(rng):
    f = Flatten()
    x = rng.normal(size=(2, 3, 4, 5))
    y = f.forward(x)
    assert y.shape == (2, 60)
    np.testing.assert_array_equal(y[1, 20:40], x[1, 1].ravel())
    np.testing.assert_array_equal(f.backward(y), x)


@pytest.mark.parametrize("cls,shape", [(BatchNorm1d, (6, 4)), (BatchNorm2d, (3, 2, 3, 4))])
def test_batchnorm_gradients_train_and_eval(rng, cls, shape):
    bn = cls(shape[1], name="bn")
    bn.weight.value[...] = rng.uniform(0.5, 1.5, shape[1])
    bn.bias.value[...] = rng.normal(size=shape[1])
    x = rng.normal(size=shape) * 2 + 1
    check_module_grads(bn, x, rtol=1e-4, atol=1e-6)
    bn.running_mean = rng.normal(size=shape[1])
    bn.running_var = rng.uniform(0.5, 2, shape[1])
    bn.eval()
    check_module_grads(bn, x)


def test_batchnorm_train_eval_statistics(rng):
    bn = BatchNorm2d(3, momentum=0.1, name="bn")
    x = rng.normal(size=(8, 3, 4, 4)) * np.array([1, 2, 3])[None, :, None, None] + 5
    y = bn.forward(x)
    # training: every channel normalised by its batch statistics
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, rtol=1e-3)
    m = x.size // 3
    np.testing.assert_allclose(bn.running_mean, 0.1 * x.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * x.var(axis=(0, 2, 3)) * m / (m - 1))
    # eval: running statistics, and a single sample works
    bn.eval()
    y1 = bn.forward(x[:1])
    expect = (x[:1] - bn.running_mean[None, :, None, None]) / np.sqrt(
        bn.running_var[None, :, None, None] + bn.eps)
    np.testing.assert_allclose(y1, expect)
    before = bn.running_mean.copy()
    bn.forward(x)
    np.testing.assert_array_equal(bn.running_mean, before)  # eval does not update statistics


def test_batchnorm_state_dict_has_running_statistics(rng):
    bn = BatchNorm1d(3, name="b")
    bn.forward(rng.normal(size=(5, 3)))
    state = bn.state_dict()
    assert set(state) == {"b.weight", "b.bias", "b.running_mean", "b.running_var"}
    other = BatchNorm1d(3, name="b")
    other.load_state_dict(state)
    np.testing.assert_array_equal(other.running_var, bn.running_var)


def test_bad_inputs_give_clear_errors(rng):
    conv = Conv2d(3, 4, 3, name="c")
    with pytest.raises(ValueError, match=r"c: input must have shape \(batch, 3, height"):
        conv.forward(rng.normal(size=(2, 2, 5, 5)))
    with pytest.raises(ValueError, match="input must have shape"):
        conv.forward(rng.normal(size=(2, 27)))
    x = rng.normal(size=(2, 3, 5, 5))
    x[1, 0, 2, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        conv.forward(x)
    with pytest.raises(ValueError, match="smaller than the kernel"):
        conv.forward(rng.normal(size=(1, 3, 2, 2)))
    with pytest.raises(ValueError, match="4 features/channels"):
        BatchNorm2d(4).forward(rng.normal(size=(2, 3, 2, 2)))
    with pytest.raises(ValueError, match="more than one value per channel"):
        BatchNorm1d(4).forward(rng.normal(size=(1, 4)))
    with pytest.raises(ValueError, match="MaxPool2d"):
        MaxPool2d(2).forward(rng.normal(size=(2, 4)))


def test_small_cnn_gradient_end_to_end(rng):
    net = Sequential(Conv2d(1, 2, 3, padding=1, seed=0, name="c1"), MaxPool2d(2), Flatten(),
                     BatchNorm1d(8, name="bn"))
    net.layers[0].input_grad = True
    x = rng.normal(size=(3, 1, 4, 4))
    y = np.array([0, 3, 5])
    loss = SoftmaxCrossEntropy()

    def f():
        return loss(net.forward(x), y)

    f()
    for p in net.parameters():
        p.grad[...] = 0
    net.backward(loss.grad())
    for p in net.parameters():
        np.testing.assert_allclose(p.grad.copy(), numeric_grad(f, p.value), rtol=1e-5,
                                   atol=1e-8, err_msg=p.name)


def test_float32_compute_matches_float64(rng):
    c64 = Conv2d(3, 4, 3, padding=1, seed=3)
    c32 = Conv2d(3, 4, 3, padding=1, seed=3, dtype="float32")
    c64.input_grad = c32.input_grad = True
    x = rng.normal(size=(2, 3, 6, 6))
    y64, y32 = c64.forward(x), c32.forward(x)
    assert y32.dtype == np.float64
    np.testing.assert_allclose(y32, y64, rtol=1e-5, atol=1e-5)
    g = rng.normal(size=y64.shape)
    np.testing.assert_allclose(c32.backward(g), c64.backward(g), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(c32.weight.grad, c64.weight.grad, rtol=1e-4, atol=1e-4)
    assert c32.weight.grad.dtype == np.float64
    with pytest.raises(ValueError, match="dtype"):
        Conv2d(1, 1, 3, dtype="float16")
