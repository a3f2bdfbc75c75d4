"""Every class of bad input, through the real command-line entry point: exit code 2, one line on
stderr that names the problem, no traceback, and nothing computed or written before the check.

The cases stand for classes (a bad value of an option, a bad file of each kind, a bad key of
each configuration source, an unusable output folder); each class is fixed at its root, so one
case per option or file kind covers the rest of its class.
"""

from __future__ import annotations

import numpy as np
import pytest

from rramsim.cli import main
from rramsim.networks import build_mlp, save_model


@pytest.fixture
def files(tmp_path):
    """Bad (and one good) input files of every kind the commands read."""
    f = {}
    f["dir"] = tmp_path / "a_folder"
    f["dir"].mkdir()
    f["file"] = tmp_path / "a_file.txt"
    f["file"].write_text("x")
    for name, data in {"empty.npz": b"", "random.npz": np.random.default_rng(0).bytes(999),
                       "empty.toml": b"", "binary.toml": b"\xff\xfe\x00\x91",
                       "quoted.toml": b'[device]\ndw_min = "0.001"\n',
                       "badkey.toml": b"[device]\ndw_mn = 0.001\n",
                       "badsection.toml": b"[devices]\ndw_min = 0.001\n",
                       "nottoml.toml": b"[device\n"}.items():
        (tmp_path / name).write_bytes(data)
        f[name] = tmp_path / name
    good = save_model(tmp_path / "good.npz", build_mlp((784, 8, 10), seed=0))
    raw = good.read_bytes()
    (tmp_path / "truncated.npz").write_bytes(raw[: len(raw) // 3])
    f["truncated.npz"] = tmp_path / "truncated.npz"
    f["good.npz"] = good
    f["tmp"] = tmp_path
    return f


# (arguments with {placeholders} for the files above, words the one line must contain)
CASES = [
    # options out of range or of the wrong type (argparse types)
    ("pulse-response --up -1", "--up: must be an integer >= 0"),
    ("pulse-response --up many", "--up: must be an integer"),
    ("pulse-response --devices 0", "--devices: must be an integer >= 1"),
    ("pulse-response --w0 nan", "--w0: must be a finite number"),
    ("pulse-response --name ../../escape", "--name: must be a plain file name"),
    ("pulse-response --name ''", "--name: must be a plain file name"),
    ("symmetry-point --rows 0", "--rows: must be an integer >= 1"),
    ("symmetry-point --pairs 0", "--pairs: must be an integer >= 1"),
    ("symmetry-point --ramp -3", "--ramp: must be an integer >= 0"),
    ("train --epochs 0", "--epochs: must be an integer >= 1"),
    ("train --lr 0", "lr must be a positive finite number"),
    ("train --lr inf", "lr must be a positive finite number"),
    ("train --batch-size 0", "--batch-size: must be an integer >= 1"),
    ("train --train-subset 70000", "--train-subset: must be an integer in [1, 60000]"),
    ("train --seed -1", "--seed: must be an integer >= 0"),
    ("train --out ''", "--out: must name a folder"),
    ("demo --epochs 0", "--epochs: must be an integer >= 1"),
    ("demo --jobs -1", "--jobs: must be an integer >= 0"),
    ("demo --sp-pairs 0", "--sp-pairs: must be an integer >= 1"),
    ("train-binary --bitsplit 0", "--bitsplit: must be an integer in [1, 16]"),
    ("train-binary --width-scale -1", "width factor must be a positive finite number"),
    ("map {good.npz} --test-images 0", "--test-images: must be an integer in [1, 10000]"),
    ("map {good.npz} --test-images 20000", "--test-images: must be an integer in [1, 10000]"),
    ("map {good.npz} --calibration-images 0", "--calibration-images: must be an integer"),
    ("nonsense", "invalid choice: 'nonsense'"),
    ("train --no-such-option", "unrecognized arguments: --no-such-option"),
    # combinations that make no sense
    ("train --batch-size 500 --train-subset 100", "--batch-size 500 is larger than the 100"),
    ("train --floating-point --zero-shift", "--floating-point takes no"),
    ("train --sp-method pulses", "it needs --zero-shift"),
    # configuration keys and values, from --set and from preset files
    ("train --set device.up_dwn=0.3", "unknown key 'up_dwn'"),
    ("train --set devic.up_down=0.3", "expected SECTION.KEY"),
    ("train --set device.dw_min=-1", "device.dw_min = -1.0 is out of range"),
    ("train --set device.dw_min=abc", "device.dw_min = 'abc' is not a valid float"),
    ("train --set forward.noise_management=maybe", "not a valid bool"),
    ("train --set device.model=soft_bound", "device.model = 'soft_bound' is invalid"),
    ("train --preset no_such_device", "unknown preset 'no_such_device'"),
    ("train --preset {empty.toml}", "sets nothing"),
    ("train --preset {binary.toml}", "is not a text (TOML) file"),
    ("train --preset {quoted.toml}", "device.dw_min = '0.001' is not a valid float"),
    ("train --preset {badkey.toml}", "unknown key 'dw_mn'"),
    ("train --preset {badsection.toml}", "unknown section [devices]"),
    ("train --preset {nottoml.toml}", "is not valid TOML"),
    ("train --preset {dir}", "is a folder"),
    ("map {good.npz} --set array.adc_bit=4", "did you mean 'adc_bits'"),
    ("map {good.npz} --set array.array_rows=0", "array.array_rows = 0 is out of range"),
    # model files
    ("map {tmp}/missing.npz", "no saved model"),
    ("map {empty.npz}", "is not a saved rramsim model"),
    ("map {random.npz}", "is not a saved rramsim model"),
    ("map {truncated.npz}", "is not a saved rramsim model"),
    ("map {file}", "is not a saved rramsim model"),
    # builder specs
    ("train-binary --net mlp --spec '{{\"nope\": 1}}'", "unknown key 'nope'"),
    ("train-binary --net mlp --spec '[1, 2]'", "must be a JSON object"),
    ("train-binary --net mlp --spec '{{not json'", "--spec is not valid JSON"),
    ("train-binary --net lenet5 --width-scale 2", "cannot scale the widths"),
    # data
    ("train --data-dir {tmp}/nowhere --train-subset 10", "RRAMSIM_DATA_DIR"),
    ("train --data-dir {file} --train-subset 10", "not a folder"),
    # memory that cannot exist
    ("symmetry-point --rows 200000 --cols 200000", "would need about"),
    ("pulse-response --up 100000000000", "would need about"),
    # output folders
    ("pulse-response --up 3 --out {file}", "is a file, not a folder"),
    ("pulse-response --up 3 --out {file}/sub", "cannot write there"),
    ("map {good.npz} --out {file}", "is a file, not a folder"),
    # sweeps
    ("sweep {tmp}/missing.toml --dry-run", "does not exist"),
    ("sweep {binary.toml} --dry-run", "not a text"),
    ("sweep {empty.toml} --dry-run", "no job"),
    ("sweep status {tmp}", "not a sweep folder"),
]


@pytest.mark.parametrize("args, words", CASES, ids=[c[0][:60] for c in CASES])
def test_bad_input_is_one_line_and_exit_2(args, words, files, capsys, monkeypatch):
    import shlex

    import rramsim.data.mnist

    loads = []
    real = rramsim.data.mnist.load_mnist

    def watched(*a, **k):  # reading the data set is the first long work of the commands
        loads.append(a)
        return real(*a, **k)

    monkeypatch.setattr(rramsim.data.mnist, "load_mnist", watched)
    argv = shlex.split(_fill(args, files))
    if "--out" not in argv and argv[0] not in ("sweep", "nonsense"):
        argv += ["--out", str(files["tmp"] / "out")]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, (argv, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert words in lines[0], (words, lines[0])
    assert "Traceback" not in err
    assert not loads or "data-dir" in args, "data was read before the input was checked"


def _fill(args: str, files: dict) -> str:
    for key, path in files.items():
        args = args.replace("{" + key + "}", str(path))
    return args.replace("{{", "{").replace("}}", "}")
