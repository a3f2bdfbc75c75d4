"""The ``rramsim`` command end to end on small inputs, and its error messages."""

import json

import pytest

from rramsim.cli import main


def test_pulse_response_writes_weights_and_parameters(tmp_path, capsys):
    out = tmp_path / "pr"
    assert main(["pulse-response", "--preset", "softbounds_symmetric", "--up", "30", "--down",
                 "20", "--w0", "0.1", "--seed", "3", "--out", str(out)]) == 0
    data = json.loads((out / "pulse_response.json").read_text())
    assert len(data["weights"]) == 30 + 20 + 1
    assert data["weights"][0] == pytest.approx(0.1)
    assert data["device"]["dw_min"] == 0.001 and data["device"]["model"] == "soft_bounds"
    w = data["weights"]
    assert w[30] > w[0] and w[-1] < w[30]  # up pulses raise, down pulses lower the weight
    assert (out / "pulse_response.png").stat().st_size > 1000
    # same seed, same numbers
    main(["pulse-response", "--up", "30", "--down", "20", "--w0", "0.1", "--seed", "3",
          "--out", str(tmp_path / "again")])
    assert json.loads((tmp_path / "again" / "pulse_response.json").read_text())["weights"] == w


def test_symmetry_point_command(tmp_path):
    out = tmp_path / "sp"
    assert main(["symmetry-point", "--preset", "softbounds_asymmetric", "--rows", "8", "--cols",
                 "8", "--pairs", "3000", "--set", "device.dw_min=0.005", "--out", str(out)]) == 0
    data = json.loads((out / "symmetry_point.json").read_text())
    assert set(data["measured"]) >= {"mean", "std"} and set(data["closed_form"]) >= {"mean", "std"}
    assert data["error"]["mean_abs"] < 0.02
    # up_down = 0.5 and bounds +-1: the nominal symmetry point is 1/3
    assert data["closed_form"]["mean"] == pytest.approx(1 / 3, abs=0.1)


def test_train_small_subset_is_reproducible(tmp_path):
    args = ["train", "--preset", "softbounds_symmetric", "--epochs", "1", "--train-subset", "300",
            "--seed", "4", "--quiet", "--set", "forward.out_noise=0.1"]
    assert main(args + ["--out", str(tmp_path / "a")]) == 0
    assert main(args + ["--out", str(tmp_path / "b")]) == 0
    a = json.loads((tmp_path / "a" / "history.json").read_text())
    b = json.loads((tmp_path / "b" / "history.json").read_text())
    assert [e["test_accuracy"] for e in a["epochs"]] == [e["test_accuracy"] for e in b["epochs"]]
    assert a["config"]["forward"]["out_noise"] == 0.1
    assert [e["epoch"] for e in a["epochs"]] == [0, 1]
    assert set(a["epochs"][1]) >= {"epoch", "test_accuracy", "train_loss", "seconds"}
    for fig in ("learning_curve.png", "weight_histogram.png"):
        assert (tmp_path / "a" / fig).is_file()


def test_short_analog_training_run_learns(tmp_path):
    """A short real-MNIST run on simulated arrays must beat a stated accuracy: 3,000 images,
    batch 1, lr 0.1, constant-step devices with all peripherals and pulse noise on
    (measured 79.6 % at seed 0; chance is ~10 %)."""
    assert main(["train", "--preset", "constant_step", "--epochs", "1", "--train-subset", "3000",
                 "--lr", "0.1", "--quiet", "--out", str(tmp_path)]) == 0
    h = json.loads((tmp_path / "history.json").read_text())
    assert h["epochs"][-1]["test_accuracy"] > 0.60
    assert h["info"]["device_pulses"] > 0


@pytest.mark.parametrize("args, message", [
    (["train", "--preset", "no_such_device"], "unknown preset 'no_such_device'"),
    (["train", "--set", "device.up_dwn=0.3"], "unknown key 'up_dwn'"),
    (["train", "--set", "device.dw_min=-1"], "device.dw_min = -1.0 is out of range"),
    (["train", "--set", "device.dw_min=abc"], "device.dw_min = 'abc' is not a valid float"),
    (["train", "--set", "up_down"], "expected SECTION.KEY=VALUE"),
    (["train", "--data-dir", "/nonexistent/mnist", "--train-subset", "10"], "RRAMSIM_DATA_DIR"),
    (["pulse-response", "--up", "0", "--down", "0"], "--up and --down"),
    (["map", "/nonexistent/model.npz"], "no saved model"),
    (["map", "x.npz", "--set", "array.adc_bit=4"], "did you mean 'adc_bits'"),
    (["map", "x.npz", "--set", "array.array_rows=0"], "array.array_rows = 0 is out of range"),
    (["map", "x.npz", "--set", "array.adc_bits=30"], "array.adc_bits = 30 is out of range"),
    (["train", "--lr", "inf", "--train-subset", "10"], "lr must be a positive finite number"),
    (["train", "--floating-point", "--lr", "-0.1", "--train-subset", "10"],
     "lr must be a positive finite number"),
    (["train", "--sp-method", "closed_form"], "it needs --zero-shift"),
    (["train", "--floating-point", "--sp-method", "pulses"], "--floating-point takes no"),
    (["train", "--set", "reference.enabled=false", "--zero-shift"],
     "reference.zero_shift = true needs reference.enabled = true"),
    (["train-binary", "--net", "lenet5", "--width-scale", "2"], "cannot scale the widths"),
    (["train-binary", "--net", "mlp", "--width-scale", "-1"], "width factor must be a positive"),
])
def test_bad_input_gives_a_clear_error(args, message, tmp_path, capsys):
    assert main(args + ["--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_help_explains_the_physics(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for key in ("device.dw_min", "device.up_down", "update.bl", "forward.out_noise",
                "reference.reference_std"):
        assert key in text


def test_train_bitsplit_then_map_it_onto_arrays(tmp_path, capsys):
    net = tmp_path / "net"
    assert main(["train-binary", "--net", "mlp", "--bitsplit", "2", "--spec",
                 '{"sizes": [784, 32, 32, 10]}', "--epochs", "1", "--train-subset", "1000",
                 "--quiet", "--out", str(net)]) == 0
    hist = json.loads((net / "history.json").read_text())
    assert hist["spec"]["kind"] == "bitsplit" and hist["spec"]["bits"] == 2
    narrow = tmp_path / "narrow"
    assert main(["train-binary", "--net", "mlp", "--bitsplit", "2", "--width-scale", "0.5",
                 "--spec", '{"sizes": [784, 32, 32, 10]}', "--epochs", "1", "--train-subset",
                 "200", "--quiet", "--out", str(narrow)]) == 0
    assert json.loads((narrow / "history.json").read_text())["spec"]["width_scale"] == 0.5
    out = tmp_path / "map"
    args = ["map", str(net / "model.npz"), "--set", "array.adc_bits=16", "--set",
            "array.adc_range=full", "--test-images", "300", "--out", str(out)]
    assert main(args) == 0
    res = json.loads((out / "mapping.json").read_text())
    # a wide ADC and ideal devices: the arrays give the digital network's accuracy exactly
    assert res["accuracy"] == res["digital_accuracy"] > 0.3
    assert res["cost"]["adc_conversions"] == 2 * 32  # one 32x32 hidden layer per path
    assert "path1.fc2" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["map", "--help"])
    assert "array.adc_bits" in capsys.readouterr().out


def test_presets_listed(capsys):
    assert main(["presets"]) == 0
    text = capsys.readouterr().out
    assert "softbounds_symmetric" in text and "Gong" in text


def test_diverging_run_is_reported_without_traceback(tmp_path, capsys, monkeypatch):
    import rramsim.experiments.mnist

    def diverge(*args, **kwargs):  # what the losses raise on non-finite outputs
        raise FloatingPointError("logits contain NaN or infinite values (training diverged?)")

    monkeypatch.setattr(rramsim.experiments.mnist, "train_mnist_mlp", diverge)
    assert main(["train", "--floating-point", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "diverged" in err and "--lr" in err and "Traceback" not in err


def test_demo_end_to_end_on_a_small_subset(tmp_path, capsys):
    """The main job's code path at a small scale: 4 real runs, the table, JSON and figures."""
    assert main(["demo", "--train-subset", "300", "--epochs", "1", "--jobs", "0",
                 "--sp-pairs", "300", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    for name in ("floating point (no device)", "symmetric device", "asymmetric device",
                 "asymmetric device + zero-shifting", "What it shows"):
        assert name in text
    data = json.loads((tmp_path / "demo.json").read_text())
    runs = {r["name"]: r for r in data["runs"]}
    assert len(runs) == 4 and all(len(r["history"]) == 2 for r in runs.values())
    zs = runs["asymmetric device + zero-shifting"]
    assert zs["overrides"] == {"reference.zero_shift": True, "reference.sp_pairs": 300}
    # (300 images teach the sigmoid MLP little: accuracy is tested by the training tests)
    assert all(r["info"]["device_pulses"] > 0 for n, r in runs.items() if r["preset"])
    assert zs["info"]["setup_seconds"] > runs["asymmetric device"]["info"]["setup_seconds"]
    for fig in ("demo__learning_curves.png", "demo__weights_vs_sp.png"):
        assert (tmp_path / fig).stat().st_size > 1000


def test_demo_reading_follows_the_signs():
    from rramsim.cli.demo import reading

    text = reading(sym=0.86, asym=0.10, zs=0.81)
    assert "76.0 points less than on the symmetric device" in text
    assert "71.0 points more than" in text
    text = reading(sym=0.50, asym=0.60, zs=0.60)
    assert "10.0 points more than on the symmetric" in text and "about as much as" in text


# --- the output folder is checked before any work starts ------------------------------------

OUT_COMMANDS = [
    ["pulse-response", "--up", "5", "--down", "5"],
    ["symmetry-point", "--rows", "2", "--cols", "2", "--pairs", "10"],
    ["train", "--epochs", "1", "--train-subset", "50", "--quiet"],
    ["train-binary", "--net", "mlp", "--epochs", "1", "--train-subset", "50", "--quiet"],
    ["demo", "--train-subset", "50", "--epochs", "1", "--jobs", "0"],
]


@pytest.mark.parametrize("args", OUT_COMMANDS, ids=lambda a: a[0])
@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_unusable_out_folder_is_one_line_before_any_work(args, where, tmp_path, capsys,
                                                         monkeypatch):
    import rramsim.data.mnist

    def no_work(*a, **k):  # the check must come before any data is read or device moved
        raise AssertionError("work started before the output folder was checked")

    monkeypatch.setattr(rramsim.data.mnist, "load_mnist", no_work)
    blocker = tmp_path / "results.txt"
    blocker.write_text("not a folder")
    out = blocker if where == "a file" else blocker / "run"
    assert main(args + ["--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out" in err[0] and str(out) in err[0], err


def test_unwritable_out_folder_is_one_line(tmp_path, capsys, monkeypatch):
    import tempfile

    def refuse(*a, **k):  # a read-only file system (root ignores permission bits, so simulate)
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    assert main(["pulse-response", "--up", "3", "--out", str(tmp_path / "ro")]) == 2
    err = capsys.readouterr().err
    assert "cannot write there (Read-only file system)" in err and err.count("\n") == 1


def test_a_bug_keeps_its_traceback(monkeypatch, tmp_path):
    """Only rramsim's own error types become one-line messages: a ValueError from a bug must
    not be dressed up as a user error."""
    import rramsim.cli.devices

    def bug(args):
        raise ValueError("an internal inconsistency")

    parser_func = rramsim.cli.devices.cmd_presets
    monkeypatch.setattr(rramsim.cli.devices, "cmd_presets", bug)
    assert parser_func is not bug
    with pytest.raises(ValueError, match="internal inconsistency"):
        main(["presets"])


def test_bad_spec_json_names_the_option(tmp_path, capsys):
    for spec, words in [('{"nope": 1}', "unknown key 'nope'"), ("[1, 2]", "JSON object"),
                        ("{not json", "--spec is not valid JSON")]:
        assert main(["train-binary", "--net", "mlp", "--spec", spec, "--out",
                     str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err
    assert not (tmp_path / "x").exists()  # nothing created before the input was checked


def test_preset_file_problems_are_one_line(tmp_path, capsys):
    (tmp_path / "empty.toml").write_text("")
    (tmp_path / "meta_only.toml").write_text('[meta]\ndescription = "nothing else"\n')
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00\x81garbage")
    (tmp_path / "folder.toml").mkdir()
    (tmp_path / "plainfolder").mkdir()
    cases = [("empty.toml", "sets nothing"), ("meta_only.toml", "sets nothing"),
             ("binary.toml", "is not a text (TOML) file"), ("folder.toml", "is a folder"),
             ("plainfolder", "is a folder")]
    for name, words in cases:
        assert main(["pulse-response", "--preset", str(tmp_path / name), "--up", "2",
                     "--out", str(tmp_path / "out")]) == 2, name
        err = capsys.readouterr().err
        assert words in err and str(tmp_path / name) in err and err.count("\n") == 1, err
