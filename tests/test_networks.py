"""The builder registry and saved-network files: every builder's network saves and loads, and a
file that is not a saved network is one clear error (also through ``rramsim map``)."""

from __future__ import annotations

import numpy as np
import pytest

from rramsim.cli import main
from rramsim.config import load_preset
from rramsim.errors import InputError, ModelFileError
from rramsim.networks import (
    BUILDERS,
    build_from_spec,
    build_mlp,
    build_regressor,
    check_spec,
    load_model,
    save_model,
)
from rramsim.nn import Linear, Sequential


def test_every_builder_is_registered_once():
    assert {"mlp", "regressor", "binary_mlp", "binary_lenet", "binary_vgg", "lenet5",
            "bitsplit"} <= set(BUILDERS)


@pytest.mark.parametrize("analog", [False, True])
def test_regressor_saves_and_loads(tmp_path, analog):
    cfg = load_preset("softbounds_symmetric") if analog else None
    net = build_regressor(7, hidden=(5, 4), activation="relu", config=cfg, seed=3)
    x = np.random.default_rng(0).standard_normal((6, 7))
    back = load_model(save_model(tmp_path / "reg.npz", net))
    net.eval()
    back.eval()
    # the saved state includes the output-noise streams: the copy draws the same noise
    np.testing.assert_array_equal(back.forward(x), net.forward(x))
    assert back.spec == net.spec and back.spec["kind"] == "regressor"


def test_a_network_without_a_builder_spec_cannot_be_saved(tmp_path):
    with pytest.raises(ModelFileError, match="no builder spec"):
        save_model(tmp_path / "x.npz", Sequential(Linear(3, 2, seed=0)))
    assert not (tmp_path / "x.npz").exists()


def test_spec_keys_are_checked_with_a_suggestion():
    with pytest.raises(InputError, match=r"unknown key 'sizez'.*did you mean 'sizes'"):
        check_spec({"kind": "mlp", "sizez": [4, 2]})
    with pytest.raises(InputError, match=r"unknown network kind 'binary_mpl'.*'binary_mlp'"):
        build_from_spec({"kind": "binary_mpl"})
    with pytest.raises(InputError, match="must be a dict"):
        check_spec([1, 2])


def _bad_files(tmp_path):
    good = save_model(tmp_path / "good.npz", build_mlp((4, 3, 2), seed=0))
    raw = good.read_bytes()
    files = {"empty": b"", "truncated": raw[: len(raw) // 2],
             "random bytes": np.random.default_rng(1).bytes(4096),
             "a pickle": b"\x80\x04\x95" + b"\x00" * 64}
    paths = {}
    for name, data in files.items():
        p = tmp_path / f"{name.replace(' ', '_')}.npz"
        p.write_bytes(data)
        paths[name] = p
    obj = tmp_path / "object_array.npz"
    np.savez(obj, __header__=np.array([{"spec": 1}], dtype=object))
    paths["object array"] = obj
    return paths


def test_files_that_are_not_saved_networks(tmp_path):
    for name, path in _bad_files(tmp_path).items():
        with pytest.raises(ModelFileError, match="is not a saved rramsim model") as info:
            load_model(path)
        assert "allow_pickle" not in str(info.value), name


def test_map_on_a_bad_model_file_is_one_line(tmp_path, capsys):
    for name, path in _bad_files(tmp_path).items():
        assert main(["map", str(path), "--out", str(tmp_path / "out")]) == 2, name
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(path) in err and "Traceback" not in err, (name, err)
