"""Mapping trained networks onto inference arrays: exactness, converters, noise, cost, errors."""

import numpy as np
import pytest

from rramsim.config import ArrayConfig, ConfigError
from rramsim.data import train_test
from rramsim.experiments.binary import train_network
from rramsim.inference import ArrayLayer, InputCode, MappingError, map_network
from rramsim.inference.arrays import _uniform
from rramsim.networks import (
    build_binary_lenet,
    build_binary_mlp,
    build_binary_vgg,
    build_bitsplit,
    build_lenet5,
    build_mlp,
    kbit_act,
    load_model,
    save_model,
)
from rramsim.nn import BinaryLinear, Linear, Module, Sequential

WIDE = dict(adc_bits=16, adc_range="full")  # wide enough for every array here
IDEAL_ALL = dict(adc_bits=0, dac_bits=0, map_layers="all")


@pytest.fixture(scope="module")
def images():
    x, _, _, _ = train_test(train_subset=40, seed=0)
    return x.reshape(-1, 1, 28, 28)


def _warm(model, x):
    """Training-mode passes with shifted BN biases, so activations are mixed, then eval."""
    rng = np.random.default_rng(0)
    for p in model.parameters():
        if ".bias" in p.name and "bn" in p.name:
            p.value[...] = rng.normal(0.3, 0.3, p.value.shape)
    for _ in range(2):
        model.forward(x)
    model.eval()
    return model


def _path(spec):
    return {k: v for k, v in spec.items() if k != "act"}


LENET = build_binary_lenet((4, 6), 12, seed=0).spec
NETWORKS = {
    "binary_lenet": lambda: build_binary_lenet((4, 6), 12, seed=1),
    "2-bit_lenet": lambda: build_binary_lenet((4, 6), 12, act=kbit_act(2), seed=1),
    "4-bit_lenet": lambda: build_binary_lenet((4, 6), 12, act=kbit_act(4), seed=1),
    "bitsplit2_lenet": lambda: build_bitsplit(_path(LENET), 2, seed=1),
    "bitsplit3_mlp": lambda: build_bitsplit(_path(build_binary_mlp((784, 20, 16, 10),
                                                                   seed=0).spec), 3, seed=1),
    "binary01_vgg": lambda: build_binary_vgg((3, 5), 8, act={"name": "nlevel", "n": 1},
                                             seed=1),
    "ternary_mlp": lambda: build_binary_mlp((784, 20, 16, 10), act={"name": "nlevel", "n": 2},
                                            seed=1),
}


@pytest.mark.parametrize("name", list(NETWORKS))
@pytest.mark.parametrize("kbit_input", ["bit_serial", "multibit"])
def test_ideal_arrays_reproduce_the_digital_network_exactly(images, name, kbit_input):
    net = _warm(NETWORKS[name](), images)
    ref = net.forward(images)
    digital = map_network(net, backend="digital")
    arrays = map_network(net, ArrayConfig(array_rows=64, array_cols=4, kbit_input=kbit_input,
                                          **WIDE))
    out_d, out_a = digital.forward(images), arrays.forward(images)
    # binary, k-bit and BitSplit layers: identical integers, so identical outputs
    np.testing.assert_array_equal(out_a, out_d)
    np.testing.assert_allclose(out_a, ref, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(out_a.argmax(1), ref.argmax(1))
    assert any(la.on_arrays and la.integer for la in arrays.layers)
    # every layer on arrays, ideal converters: the same to float rounding
    full = map_network(net, ArrayConfig(**IDEAL_ALL))
    np.testing.assert_allclose(full.forward(images), ref, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", list(NETWORKS))
def test_an_adc_just_wide_enough_is_exact_and_one_bit_less_room_is_not(images, name):
    """The exactness invariant at the ADC's edge: with 1-bit input planes and +-1 weights, an
    array of 7 rows has partial sums in [-7, 7], 15 integers, which a 4-bit ADC (15 levels over
    the full range) converts exactly; 8 rows need 17 levels and must lose something."""
    net = _warm(NETWORKS[name](), images)
    digital = map_network(net, backend="digital").forward(images)
    outs = {}
    for rows in (7, 8):
        cfg = ArrayConfig(array_rows=rows, array_cols=5, adc_bits=4, adc_range="full")
        outs[rows] = map_network(net, cfg).forward(images)
    np.testing.assert_array_equal(outs[7], digital)
    assert not np.array_equal(outs[8], digital)


@pytest.mark.parametrize("model", [lambda: build_lenet5(seed=2),
                                   lambda: build_mlp((784, 16, 10), seed=2),
                                   lambda: build_binary_mlp((784, 16, 16, 10), act="relu",
                                                            weight_quantizer="identity", seed=2)])
def test_full_precision_networks_map_exactly_with_ideal_converters(images, model):
    net = model()
    net.eval()
    x = images if "conv" in str(net.spec) or net.spec["kind"] != "mlp" else images.reshape(
        len(images), -1)
    ref = net.forward(x)
    mapped = map_network(net, ArrayConfig(array_rows=50, array_cols=7, **IDEAL_ALL))
    np.testing.assert_allclose(mapped.forward(x), ref, rtol=1e-10, atol=1e-10)
    assert all(la.on_arrays for la in mapped.layers)


def test_analog_mlp_maps_with_its_programmed_weights(images, make_config):
    net = build_mlp((784, 12, 10), make_config(forward__is_perfect=True), seed=0)
    x = images.reshape(len(images), -1)
    mapped = map_network(net, ArrayConfig(**IDEAL_ALL))
    np.testing.assert_allclose(mapped.forward(x), net.forward(x), rtol=1e-10, atol=1e-10)


def test_uniform_converter_levels_and_clipping():
    v = np.array([-5.0, -1.0, -0.26, 0.0, 0.24, 0.9, 7.0])
    q = _uniform(v, -1.0, 0.5, 4)  # levels -1, -0.5, 0, 0.5, 1
    np.testing.assert_array_equal(q, [-1.0, -1.0, -0.5, 0.0, 0.0, 1.0, 1.0])


def _binary_layer(rng, n_in=40, n_out=6):
    la = BinaryLinear(n_in, n_out, seed=int(rng.integers(1 << 30)))
    return la


def test_adc_bits_bound_the_output_levels_and_wide_enough_is_exact(rng):
    la = _binary_layer(rng)
    x = rng.choice([-1.0, 1.0], size=(300, 40))
    exact = x @ la.effective_weight().T
    for bits in (1, 2, 3, 4):
        al = ArrayLayer(la, InputCode("sign"), ArrayConfig(adc_bits=bits, adc_range="full",
                                                           array_rows=40), True, "arrays")
        y = al.forward(x)
        for o in range(6):
            assert len(np.unique(y[:, o])) <= 2 ** bits
        # 81 integers do not fit 2^bits levels: spread evenly over the full range
        assert al.adc_lo[0, 0] == -40 and al.adc_step[0, 0] == pytest.approx(80 / (2 ** bits - 1))
    # 2^7 - 1 = 127 >= 80 levels: every integer partial sum is a level
    al = ArrayLayer(la, InputCode("sign"), ArrayConfig(adc_bits=7, adc_range="full",
                                                       array_rows=40), True, "arrays")
    np.testing.assert_allclose(al.forward(x), exact, rtol=1e-13, atol=1e-12)


def test_calibrated_adc_range_follows_the_partial_sums(rng):
    la = _binary_layer(rng, n_in=128)
    x = rng.choice([-1.0, 1.0], size=(400, 128))
    cfg = ArrayConfig(adc_bits=3, array_rows=64, adc_percentile=99.0)
    al = ArrayLayer(la, InputCode("sign"), cfg, True, "arrays")
    al.calibrating = True
    al.forward(x)
    al.calibrating = False
    Wn = np.sign(la.effective_weight())
    for r, (a, b) in enumerate(al.row_blocks):
        part = x[:, a:b] @ Wn[:, a:b].T
        lo, hi = np.percentile(part, 1.0), np.percentile(part, 99.0)
        assert hi - lo > 8  # the range holds more integers than 3 bits have levels
        assert al.adc_lo[r, 0] == pytest.approx(lo) and al.adc_step[r, 0] == pytest.approx(
            (hi - lo) / 7)
    # a range that fits: levels on the integers, step 1 (exact where the sums stay inside)
    x_small = np.zeros((50, 128))
    x_small[:, :3] = 1.0
    al2 = ArrayLayer(la, InputCode("binary"), ArrayConfig(adc_bits=3, array_rows=64), True,
                     "arrays")
    al2.calibrating = True
    al2.forward(x_small)
    assert al2.adc_step[0, 0] == 1 and float(al2.adc_lo[0, 0]).is_integer()
    # outside the calibrated range the ADC saturates
    y = al.forward(np.ones((1, 128)) * np.sign(la.effective_weight()[:1]))
    top = sum(al.adc_lo[r, 0] + 7 * al.adc_step[r, 0] for r in range(2))
    assert y[0, 0] == pytest.approx(top * al.scale[0])


def test_dac_quantises_real_inputs_over_the_calibrated_range(rng):
    la = Linear(10, 3, seed=0)
    x = rng.random((50, 10)) * 2.0
    cfg = ArrayConfig(adc_bits=0, dac_bits=2, map_layers="all")
    net = map_network(Sequential(la), cfg, calibration=x)
    hi = x.max()
    xq = np.clip(np.round(x / hi * 3), 0, 3) * hi / 3  # unipolar 2-bit DAC: 4 levels on [0, hi]
    np.testing.assert_allclose(net.forward(x), xq @ la.weight.value.T + la.bias.value,
                               rtol=1e-12, atol=1e-12)


def test_read_noise_has_the_stated_std(rng):
    la = _binary_layer(rng, n_in=32, n_out=4)
    cfg = ArrayConfig(adc_bits=0, read_noise=0.02)
    al = ArrayLayer(la, InputCode("binary"), cfg, True, "arrays", seed=3)
    x = np.zeros((20000, 32))
    x[:, :9] = 1.0  # 9 active rows: std = 0.02 sqrt(2 * 9) per output, times the scale
    exact = x @ la.effective_weight().T
    err = (al.forward(x) - exact) / al.scale
    np.testing.assert_allclose(err.std(axis=0), 0.02 * np.sqrt(18), rtol=0.03)
    assert abs(err.mean()) < 0.002


def test_programming_error_levels_and_encodings(rng):
    la = Linear(50, 40, seed=0)
    la.weight.value[...] = 0.5
    la.weight.value[:, 0] = 1.0  # the scale per output is 1
    cfg = ArrayConfig(weight_encoding="reference", prog_noise=0.03, adc_bits=0)
    G = ArrayLayer(la, InputCode(), cfg, True, "arrays", seed=1).G[:, 1:]
    assert abs(G.mean() - 0.5) < 0.01 and abs(G.std() - 0.06) < 0.006  # G = 2 (g - 1/2)
    again = ArrayLayer(la, InputCode(), cfg, True, "arrays", seed=1).G[:, 1:]
    np.testing.assert_array_equal(G, again)  # same seed, same devices
    cfg = ArrayConfig(weight_encoding="reference", levels=3, adc_bits=0)
    la.weight.value[:, 1:] = rng.uniform(-1, 1, (40, 49))
    G = ArrayLayer(la, InputCode(), cfg, True, "arrays").G
    assert set(np.unique(G)) <= {-1.0, 0.0, 1.0}
    cfg = ArrayConfig(levels=5, adc_bits=0)  # differential: g+ and g- on 5 levels
    G = ArrayLayer(la, InputCode(), cfg, True, "arrays").G
    np.testing.assert_allclose(G * 4, np.round(G * 4), atol=1e-12)


def test_cost_counts_for_a_bit_serial_convolution(images):
    net = _warm(build_binary_lenet((4, 6), 12, act=kbit_act(2), seed=1), images)
    mapped = map_network(net, ArrayConfig(array_rows=64, array_cols=4, **WIDE))
    mapped.forward(images[:2])
    cost = mapped.cost()
    conv2 = next(c for c in cost["layers"] if c["layer"] == "conv2")
    # conv2: 4 x 5 x 5 = 100 inputs -> 2 row blocks; 6 outputs -> 2 column blocks; 8 x 8
    # positions; 2-bit inputs bit-serial -> 2 cycles
    assert conv2["positions"] == 64 and conv2["cycles"] == 2
    assert conv2["adc_conversions"] == 64 * 2 * 2 * 6
    assert conv2["array_activations"] == 64 * 2 * 2 * 2
    assert conv2["devices"] == 2 * 100 * 6 and conv2["arrays"] == 4
    assert conv2["binary_macs"] == 64 * 2 * 100 * 6
    first = cost["layers"][0]
    assert not first["on_arrays"] and first["digital_macs"] == 24 * 24 * 25 * 4
    assert cost["adc_conversions"] == sum(c.get("adc_conversions", 0) for c in cost["layers"])


def test_bitsplit_and_bit_serial_conventional_cost_the_same(images):
    kbit = _warm(build_binary_lenet((4, 6), 12, act=kbit_act(2), seed=1), images)
    split = _warm(build_bitsplit(_path(LENET), 2, seed=1), images)
    cfg = ArrayConfig(array_rows=64, array_cols=4, **WIDE)
    costs = {}
    for name, net in (("kbit", kbit), ("split", split)):
        mapped = map_network(net, cfg)
        mapped.forward(images[:1])
        costs[name] = mapped.cost()
    for key in ("binary_macs", "adc_conversions", "array_activations", "input_cycles"):
        assert costs["kbit"][key] == costs["split"][key] > 0, key
    assert costs["split"]["devices"] == 2 * costs["kbit"]["devices"]
    # latency: bit-serial takes its 2 cycles per position in sequence; BitSplit's two paths
    # read their 1-bit planes side by side on their own arrays
    assert costs["kbit"]["latency_cycles"] == costs["kbit"]["input_cycles"] == 2 * (64 + 1)
    assert costs["split"]["latency_cycles"] == costs["split"]["input_cycles"] // 2
    # a k-bit DAC: one cycle and k times fewer conversions, the same binary MACs
    multi = map_network(kbit, ArrayConfig(array_rows=64, array_cols=4, kbit_input="multibit",
                                          **WIDE))
    multi.forward(images[:1])
    c = multi.cost()
    assert c["binary_macs"] == costs["kbit"]["binary_macs"]
    assert 2 * c["adc_conversions"] == costs["kbit"]["adc_conversions"]
    assert c["latency_cycles"] == costs["split"]["latency_cycles"] == 64 + 1
    # the reference encoding: one device per weight plus one reference column per array
    ref = map_network(kbit, ArrayConfig(array_rows=64, array_cols=4, weight_encoding="reference",
                                        **WIDE))
    ref.forward(images[:1])
    conv2 = next(x for x in ref.cost()["layers"] if x["layer"] == "conv2")
    assert conv2["devices"] == 100 * 6 + 100 * 2
    with pytest.raises(MappingError, match="run a forward pass"):
        map_network(kbit, cfg).cost()


def test_a_bare_layer_is_mapped(rng):
    la = Linear(6, 3, seed=0)
    x = rng.random((40, 6))
    net = map_network(la, ArrayConfig(adc_bits=2, dac_bits=0, map_layers="all"), calibration=x)
    assert not np.allclose(net.forward(x), la.forward(x))  # the 2-bit ADC acts
    assert isinstance(net.model.layers[0], ArrayLayer)


def test_integer_layers_kept_digital_use_integer_arithmetic(images):
    # a binary last layer (sign inputs, +-1 weights) stays digital under map_layers="hidden"
    net = Sequential(*build_binary_mlp((784, 20, 16, 10), seed=1).layers[:-1],
                     BinaryLinear(16, 10, seed=3, name="fc_out"))
    net = _warm(net, images)
    arrays = map_network(net, ArrayConfig(**WIDE))
    assert not arrays.layers[-1].on_arrays and arrays.layers[-1].integer
    np.testing.assert_array_equal(arrays.forward(images),
                                  map_network(net, backend="digital").forward(images))


def test_read_noise_of_the_reference_encoding_and_of_bit_planes(rng):
    la = _binary_layer(rng, n_in=16, n_out=3)
    x = np.zeros((20000, 16))
    x[:, :4] = 1.0
    for enc, c in (("differential", 2.0), ("reference", 4.0)):
        al = ArrayLayer(la, InputCode("binary"), ArrayConfig(adc_bits=0, read_noise=0.02,
                                                             weight_encoding=enc),
                        True, "arrays", seed=1)
        err = (al.forward(x) - x @ la.effective_weight().T) / al.scale
        np.testing.assert_allclose(err.std(axis=0), 0.02 * np.sqrt(c * 4), rtol=0.04)
    # bit-serial 2-bit input m = 3 (both planes on): noise of plane t is scaled by 2^t / 3
    al = ArrayLayer(la, InputCode("levels", 3), ArrayConfig(adc_bits=0, read_noise=0.02),
                    True, "arrays", seed=1)
    err = (al.forward(x) - x @ la.effective_weight().T) / al.scale
    np.testing.assert_allclose(err.std(axis=0), 0.02 * np.sqrt(2 * 4) * np.sqrt(1 + 4) / 3,
                               rtol=0.04)


def test_float32_partial_sums_only_where_exact(rng):
    # multi-bit inputs m <= 65535 on 1024 rows can exceed 2^24: float64 keeps them exact
    la = BinaryLinear(1024, 2, seed=0)
    x = np.full((2, 1024), 1.0)
    al = ArrayLayer(la, InputCode("levels", 65535), ArrayConfig(array_rows=1024, adc_bits=0,
                                                                kbit_input="multibit"),
                    True, "arrays")
    np.testing.assert_allclose(al.forward(x), x @ la.effective_weight().T, rtol=1e-12)


def test_noisy_mapping_is_reproducible(images):
    net = _warm(build_binary_lenet((4, 6), 12, seed=1), images)
    cfg = ArrayConfig(adc_bits=3, prog_noise=0.05, read_noise=0.01, array_rows=32)
    a = map_network(net, cfg, calibration=images, seed=7).forward(images)
    b = map_network(net, cfg, calibration=images, seed=7).forward(images)
    c = map_network(net, cfg, calibration=images, seed=8).forward(images)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_trained_network_round_trip_through_save_load_and_mapping(tmp_path):
    spec = build_bitsplit(_path(build_binary_mlp((784, 32, 32, 10), seed=0).spec), 2,
                          seed=0).spec
    model, hist, _ = train_network(spec, epochs=1, train_subset=2000, batch_size=50, lr=3e-3,
                                   seed=0)
    back = load_model(save_model(tmp_path / "net", model))
    back.eval()
    _, _, x, y = train_test(train_subset=1, seed=0)
    x = x[:1000].reshape(-1, 1, 28, 28)
    ref = back.forward(x).argmax(1)
    assert np.mean(ref == y[:1000]) > 0.5  # it learnt something
    for mapped in (map_network(back, backend="digital"),
                   map_network(back, ArrayConfig(**WIDE))):
        np.testing.assert_array_equal(mapped.predict(x), ref)


class _Custom(Module):
    def forward(self, x):
        return x


def test_bad_input_gives_clear_errors(rng, images):
    with pytest.raises(MappingError, match="cannot map layer '_Custom'"):
        map_network(Sequential(Linear(4, 3), _Custom()))
    with pytest.raises(ConfigError, match="array.array_rows = 0 is out of range"):
        ArrayConfig(array_rows=0)
    with pytest.raises(ConfigError, match="array.adc_bits = 25 is out of range"):
        ArrayConfig(adc_bits=25)
    with pytest.raises(ConfigError, match="array.adc_bits = -1 is out of range"):
        ArrayConfig(adc_bits=-1)
    with pytest.raises(ConfigError, match="array.levels = 1"):
        ArrayConfig(levels=1)
    with pytest.raises(ConfigError, match="odd number of levels"):
        ArrayConfig(levels=16, weight_encoding="reference")
    with pytest.raises(MappingError, match="unknown backend"):
        map_network(Sequential(Linear(4, 3)), backend="gpu")
    la = ArrayLayer(_binary_layer(rng, 8, 2), InputCode("sign"), ArrayConfig(**WIDE), True,
                    "arrays")
    with pytest.raises(MappingError, match="mapped for \\+-1 values"):
        la.forward(np.full((1, 8), 0.5))
    with pytest.raises(MappingError, match="expected input \\(B, 8\\)"):
        la.forward(np.ones((1, 9)))
    with pytest.raises(MappingError, match="NaN"):
        la.forward(np.full((1, 8), np.nan))
    net = _warm(build_binary_lenet((4, 6), 12, seed=1), images)
    with pytest.raises(MappingError, match="calibrat"):
        map_network(net, ArrayConfig(adc_bits=4)).forward(images)
    with pytest.raises(MappingError, match="inference only"):
        map_network(net, ArrayConfig(**WIDE)).model.backward(np.ones((1, 10)))


def test_study_runner_and_exactness_check(tmp_path, images):
    from rramsim.experiments.mapping import run_mapping_task
    from rramsim.inference import exactness_check

    net = _warm(build_bitsplit(_path(LENET), 2, seed=1), images)
    path = save_model(tmp_path / "net", net)
    task = dict(name="t", model=str(path), array=dict(array_rows=64, prog_noise=0.05,
                                                      read_noise=0.01),
                adc_bits=[2, 8], test_images=60, calibration_images=40, seed=0)
    a, b = run_mapping_task(task), run_mapping_task(task)
    assert [p["accuracy"] for p in a["points"]] == [p["accuracy"] for p in b["points"]]
    assert [p["adc_bits"] for p in a["points"]] == [2, 8]
    assert a["points"][0]["cost"]["adc_conversions"] > 0
    # the digital accuracy is that of the digital twin on the task's 60 test images
    from rramsim.data import train_test
    from rramsim.inference import map_network

    x_te, y_te = train_test(train_subset=40, seed=0)[2:]
    twin = load_model(path)
    twin.eval()
    want = map_network(twin, backend="digital").evaluate(x_te[:60].reshape(-1, 1, 28, 28),
                                                         y_te[:60])
    assert a["digital_accuracy"] == want
    check = exactness_check(load_model(path), images)
    assert check["identical_outputs_arrays_vs_digital"] and check["n"] == len(images)
    assert check["identical_predictions_vs_network"]
    # a float64 network computes exactly what the twin and the ideal arrays compute
    assert check["max_abs_diff_vs_network_float64"] == 0.0
    # float32 convolutions: the float64 copy is still exact, the network itself only close
    net32 = _warm(build_bitsplit(dict(_path(LENET), conv_dtype="float32"), 2, seed=1), images)
    check = exactness_check(net32, images)
    assert check["identical_outputs_arrays_vs_digital"]
    assert check["max_abs_diff_vs_network_float64"] == 0.0
    assert net32.layers[0].paths[0].layers[0].dtype == np.float32  # the copy, not the net, changed
    # a full-precision network: ideal converters, equal to rounding
    fp = _warm(build_binary_lenet((4, 6), 12, act="relu", weight_quantizer="identity", seed=1),
               images)
    check = exactness_check(fp, images, array_rows=50)
    assert check["converters"] == "ideal ADC and DAC"
    assert check["max_abs_diff_arrays_vs_digital"] < 1e-9
    assert check["identical_predictions_vs_network"]


def test_cost_is_a_function_of_the_input_shape_not_of_the_last_batch(images, rng):
    net = _warm(build_binary_lenet((4, 6), 12, act=kbit_act(2), seed=1), images)
    cfg = ArrayConfig(array_rows=64, array_cols=4, **WIDE)
    explicit = map_network(net, cfg).cost(input_shape=(1, 28, 28))  # no forward pass needed
    ran = map_network(net, cfg)
    ran.forward(images[:3])
    assert ran.cost() == explicit == ran.cost((1, 28, 28))
    ran.forward(images[:1])  # the batch size never matters
    assert ran.cost() == explicit
    # a convolution alone takes any image size: its cost follows the shape asked for
    from rramsim.nn import BinaryConv2d

    mapped = map_network(BinaryConv2d(1, 2, 3, seed=0, name="conv"), ArrayConfig(**IDEAL_ALL))
    mapped.forward(rng.random((2, 1, 10, 12)))
    c28 = mapped.cost(input_shape=(1, 28, 28))["layers"][0]
    assert c28["positions"] == 26 * 26 and c28["adc_conversions"] == 26 * 26 * 2
    assert mapped.cost()["layers"][0]["positions"] == 8 * 10  # default: the shape seen last
    layer = mapped.layers[0]
    assert layer.cost((1, 28, 28)) == c28
    with pytest.raises(MappingError, match="needs the input shape"):
        layer.cost()
    with pytest.raises(MappingError, match=r"conv: a sample must have shape \(1, H, W\)"):
        mapped.cost((3, 28, 28))


def test_array_converters_are_full_range_objects(rng):
    from rramsim.analog.converters import FullRangeConverter

    la = Linear(50, 6, seed=0)
    cfg = ArrayConfig(out_bits=3, inp_bits=3, array_rows=32)
    assert cfg == ArrayConfig(adc_bits=3, dac_bits=3, array_rows=32)
    for lo, levels in ((-1.0, 7), (0.0, 8)):  # signed inputs: zero is a DAC level
        x = rng.uniform(lo, 1.0, (30, 50))
        al = ArrayLayer(la, InputCode(), cfg, True, "arrays")
        assert al.dac() is None and al.adc(0) is None  # not calibrated yet
        al.calibrating = True
        al.forward(x)
        al.calibrating = False
        dac = al.dac()
        hi = float(np.abs(x).max())
        assert isinstance(dac, FullRangeConverter) and dac.levels == levels
        assert dac.range[0] == (-hi if lo < 0 else 0.0) and dac.range[1] == pytest.approx(hi)
        assert 0.0 in dac.convert(np.linspace(-hi, hi, 1001))
        for r in range(len(al.row_blocks)):
            adc = al.adc(r)
            assert isinstance(adc, FullRangeConverter) and adc.levels == 2**3
            v = rng.normal(0, 3, (20, 6))
            np.testing.assert_array_equal(adc.convert(v),
                                          _uniform(v, al.adc_lo[r], al.adc_step[r], 7))
