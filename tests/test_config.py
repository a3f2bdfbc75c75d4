"""Configuration: presets load, overrides parse, and every bad input raises a ConfigError that
names the key and what is valid."""

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from rramsim.analog.tile import AnalogTile
from rramsim.config import (
    ConfigError,
    DeviceConfig,
    IOConfig,
    ReferenceConfig,
    TileConfig,
    UpdateConfig,
    available_presets,
    find_preset,
    load_preset,
    parse_overrides,
    replace_section,
)

PRESETS = available_presets()
REPO_DEVICES = Path(__file__).resolve().parents[1] / "devices"


# ------------------------------------------------------------------------------------------
# Presets
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PRESETS or [pytest.param(None, marks=pytest.mark.skip(
    reason="no device presets written yet"))])
def test_preset_loads_and_runs(name):
    cfg = load_preset(name)
    assert isinstance(cfg, TileConfig)
    # By name and by path: the same configuration.
    assert load_preset(find_preset(name)) == cfg
    tile = AnalogTile(3, 4, cfg, seed=0)
    assert np.all(np.isfinite(tile.devices.symmetry_point()))
    x, d = np.linspace(-1, 1, 4), np.linspace(0.5, -0.5, 3)
    assert np.all(np.isfinite(tile.forward(x))) and np.all(np.isfinite(tile.backward(d)))
    tile.update(x, d, 0.01)
    assert np.all(np.isfinite(tile.get_weights()))
    assert np.all((tile.w >= tile.devices.w_min) & (tile.w <= tile.devices.w_max))


def test_repository_presets_are_all_found():
    files = {p.stem for p in REPO_DEVICES.glob("*.toml")} if REPO_DEVICES.is_dir() else set()
    assert files <= set(PRESETS)


def test_no_preset_means_defaults():
    assert load_preset(None) == TileConfig()


def test_preset_with_overrides():
    if not PRESETS:
        pytest.skip("no device presets written yet")
    cfg = load_preset(PRESETS[0], ["device.up_down=0.25", "update.bl=16"])
    assert cfg.device.up_down == 0.25 and cfg.update.bl == 16


def test_meta_table_is_ignored(tmp_path):
    p = tmp_path / "dev.toml"
    p.write_text('[meta]\nsource = "a paper"\nanything = 3\n\n[device]\ndw_min = 0.01\n')
    assert load_preset(p).device.dw_min == 0.01


def test_unknown_preset_name():
    with pytest.raises(ConfigError, match="unknown preset 'no_such_device'.*available"):
        load_preset("no_such_device")


def test_unknown_preset_suggests_close_name():
    if "softbounds_symmetric" not in PRESETS:
        pytest.skip("preset softbounds_symmetric not written yet")
    with pytest.raises(ConfigError, match="did you mean 'softbounds_symmetric'"):
        load_preset("softbound_symmetric")


def test_missing_preset_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_preset(tmp_path / "missing.toml")


@pytest.mark.parametrize("text,match", [
    ("[device]\nup_dwn = 0.3\n", r"unknown key 'up_dwn' in \[device\] \(did you mean 'up_down'"),
    ("[devices]\ndw_min = 0.01\n", r"unknown section \[devices\].*valid sections"),
    ("[device]\ndw_min = 'small'\n", "device.dw_min = 'small' is not a valid float"),
    ("[update]\nbl = 2.5\n", "update.bl = 2.5 is not a valid int"),
    ("[update]\nupdate_management = 1.5\n", "update.update_management = 1.5 is not a valid bool"),
    ("[device]\nw_min = 0.2\n", r"device.w_min = 0.2 is out of range"),
    ("device = 3\n", r"\[device\] must be a table"),
    ("[device\ndw_min = 0.1\n", "is not valid TOML"),
])
def test_bad_toml_file(tmp_path, text, match):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_preset(p)


def test_error_names_the_file(tmp_path):
    p = tmp_path / "mine.toml"
    p.write_text("[device]\nfoo = 1\n")
    with pytest.raises(ConfigError, match="preset mine.toml: unknown key 'foo'"):
        load_preset(p)


# ------------------------------------------------------------------------------------------
# Range and type checks
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,match", [
    (dict(w_min=0.5, w_max=0.2), r"device.w_min = 0.5 is out of range: must be in \(-inf, 0.0\)"),
    (dict(w_min=0.0), r"device.w_min = 0.0 is out of range"),
    (dict(w_min=0.1), r"device.w_min = 0.1 is out of range"),
    (dict(w_max=-0.1), r"device.w_max = -0.1 is out of range: must be in \(0.0, inf\)"),
    (dict(w_max=0.0), r"device.w_max = 0.0 is out of range"),
    (dict(dw_min=0.0), r"device.dw_min = 0.0 is out of range: must be in \(0.0, 1.0\]"),
    (dict(dw_min=-0.001), r"device.dw_min = -0.001 is out of range"),
    (dict(dw_min_dtod=-0.1), r"device.dw_min_dtod = -0.1 is out of range: must be in \[0.0, 5.0\]"),
    (dict(up_down_dtod=-0.1), r"device.up_down_dtod = -0.1 is out of range"),
    (dict(w_min_dtod=-0.1), r"device.w_min_dtod = -0.1 is out of range"),
    (dict(w_max_dtod=-0.1), r"device.w_max_dtod = -0.1 is out of range"),
    (dict(dw_min_ctoc=-0.3), r"device.dw_min_ctoc = -0.3 is out of range"),
    (dict(up_down=1.0), r"device.up_down = 1.0 is out of range: must be in \(-1.0, 1.0\)"),
    (dict(dw_min=float("nan")), r"device.dw_min is NaN"),
    (dict(w_max=float("nan")), r"device.w_max is NaN"),
    (dict(dw_min_ctoc=float("nan")), r"device.dw_min_ctoc is NaN"),
    (dict(model="linear"), r"device.model = 'linear' is invalid: must be one of 'soft_bounds', "
                           r"'constant_step'"),
    (dict(dw_min="abc"), r"device.dw_min = 'abc' is not a valid float"),
    (dict(dw_min=True), r"device.dw_min = True is not a valid float"),
])
def test_bad_device_values(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        DeviceConfig(**kwargs)


@pytest.mark.parametrize("cls,kwargs,match", [
    (UpdateConfig, dict(bl=0), r"update.bl = 0 is out of range: must be in \[1, 64\]"),
    (UpdateConfig, dict(bl=65), r"update.bl = 65 is out of range"),
    (UpdateConfig, dict(mode="sgd"), r"update.mode = 'sgd' is invalid: must be one of"),
    (IOConfig, dict(inp_bits=-1), r"io.inp_bits = -1 is out of range"),
    (IOConfig, dict(out_bound=0.0), r"io.out_bound = 0.0 is out of range"),
    (IOConfig, dict(out_noise=-0.1), r"io.out_noise = -0.1 is out of range"),
    (ReferenceConfig, dict(sp_average=0.0), r"reference.sp_average = 0.0 is out of range"),
    (ReferenceConfig, dict(sp_pairs=0), r"reference.sp_pairs = 0 is out of range"),
    (ReferenceConfig, dict(reference_std=-1.0), r"reference.reference_std = -1.0 is out of range"),
    (ReferenceConfig, dict(sp_method="guess"), r"reference.sp_method = 'guess' is invalid"),
])
def test_bad_values_in_other_sections(cls, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        cls(**kwargs)


@pytest.mark.parametrize("override", ["forward.inp_bound=inf", "forward.out_bound=inf",
                                      "device.w_max=inf", "device.w_min=-inf",
                                      "reference.reference_std=inf"])
def test_infinite_values_rejected(override):
    with pytest.raises(ConfigError, match="inf"):
        TileConfig().with_overrides([override])


def test_config_errors_are_value_errors():
    assert issubclass(ConfigError, ValueError)


def test_sections_are_frozen():
    cfg = TileConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.device.dw_min = 0.5  # type: ignore[misc]


def test_every_field_is_documented():
    for cls in (DeviceConfig, UpdateConfig, IOConfig, ReferenceConfig):
        for name, default, _unit, valid, doc in cls.field_docs():
            assert doc and valid, f"{cls.__name__}.{name} undocumented"
            assert getattr(cls(), name) == default


# ------------------------------------------------------------------------------------------
# Overrides
# ------------------------------------------------------------------------------------------

def test_overrides_parse_by_field_type():
    cfg = TileConfig().with_overrides(["device.up_down=0.3", "update.bl=16",
                                       "update.update_management=false",
                                       "device.model=constant_step", "forward.out_noise=0",
                                       "update.bl=16.0"])
    assert cfg.device.up_down == 0.3
    assert cfg.update.bl == 16 and isinstance(cfg.update.bl, int)
    assert cfg.update.update_management is False
    assert cfg.device.model == "constant_step"
    assert cfg.forward.out_noise == 0.0 and isinstance(cfg.forward.out_noise, float)
    assert cfg.backward.out_noise == IOConfig().out_noise  # only the named section changes


def test_overrides_mapping_form_and_original_unchanged():
    base = TileConfig()
    cfg = base.with_overrides({"device.up_down": 0.3})
    assert cfg.device.up_down == 0.3 and base.device.up_down == 0.0


@pytest.mark.parametrize("override,match", [
    ("device.up_dwn=0.3", r"unknown key 'up_dwn' in \[device\] \(did you mean 'up_down'\?\); "
                          r"valid keys: .*dw_min"),
    ("device.foo=1", r"unknown key 'foo' in \[device\]"),
    ("devcie.dw_min=0.1", r"'devcie.dw_min': expected SECTION.KEY with SECTION one of device"),
    ("dw_min=0.1", r"expected SECTION.KEY"),
    ("device.dw_min", r"expected SECTION.KEY=VALUE"),
    ("device.dw_min=abc", r"device.dw_min = 'abc' is not a valid float"),
    ("update.bl=3.5", r"update.bl = 3.5 is not a valid int"),
    ("update.bl=many", r"update.bl = 'many' is not a valid int"),
    ("update.update_management=maybe", r"update.update_management = 'maybe' is not a valid bool"),
    ("device.model=7", r"device.model = 7 is not a valid str"),
    ("device.dw_min=nan", r"device.dw_min is NaN"),
    ("device.w_min=0.3", r"device.w_min = 0.3 is out of range"),
    ("backward.out_bits=99", r"backward.out_bits = 99 is out of range: must be in \[0, 24\]"),
])
def test_bad_overrides(override, match):
    with pytest.raises(ConfigError, match=match):
        TileConfig().with_overrides([override])


def test_parse_overrides():
    assert parse_overrides(["a.b=1", " c.d = x y "]) == {"a.b": 1, "c.d": "x y"}


def test_dict_roundtrip_and_replace_section():
    cfg = TileConfig().with_overrides(["device.up_down=0.2", "backward.inp_bits=5"])
    assert TileConfig.from_dict(cfg.to_dict()) == cfg
    new = replace_section(cfg, "update", mode="expected")
    assert new.update.mode == "expected" and new.device == cfg.device
    with pytest.raises(ConfigError, match="update.mode = 'x' is invalid"):
        replace_section(cfg, "update", mode="x")


def test_from_dict_rejects_non_table():
    with pytest.raises(ConfigError, match="expected a table of sections"):
        TileConfig.from_dict([1, 2])  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# One name per concept: the converter resolutions, the device models
# ------------------------------------------------------------------------------------------

def test_converter_resolutions_have_one_name_and_the_old_names_are_aliases():
    from rramsim.config import ArrayConfig

    for cls in (IOConfig, ArrayConfig):
        names = {f.name for f in dataclasses.fields(cls)}
        assert {"inp_bits", "out_bits"} <= names and not {"adc_bits", "dac_bits"} & names
    assert ArrayConfig(adc_bits=4, dac_bits=3) == ArrayConfig(out_bits=4, inp_bits=3)
    cfg = ArrayConfig.from_overrides(["array.adc_bits=5", "array.dac_bits=2"])
    assert (cfg.out_bits, cfg.inp_bits, cfg.adc_bits, cfg.dac_bits) == (5, 2, 5, 2)
    assert ArrayConfig.from_overrides({"array.out_bits": 5}).out_bits == 5
    # errors name the key as it was given
    with pytest.raises(ConfigError, match=r"array.dac_bits = 30 is out of range"):
        ArrayConfig(dac_bits=30)
    with pytest.raises(ConfigError, match=r"array.inp_bits = 30 is out of range"):
        ArrayConfig.from_overrides(["array.inp_bits=30"])
    with pytest.raises(ConfigError, match=r"array.adc_bits and array.out_bits are one setting"):
        ArrayConfig(adc_bits=3, out_bits=4)
    with pytest.raises(ConfigError, match=r"gives 'adc_bits' and 'out_bits', one setting"):
        ArrayConfig.from_overrides(["array.adc_bits=3", "array.out_bits=4"])
    with pytest.raises(ConfigError, match=r"did you mean 'adc_bits'.*aliases: adc_bits = "
                                          r"out_bits, dac_bits = inp_bits"):
        ArrayConfig.from_overrides(["array.adc_bitz=3"])
    docs = {name: doc for name, _, _, _, doc in ArrayConfig.field_docs()}
    assert "adc_bits" in docs["out_bits"] and "dac_bits" in docs["inp_bits"]
    assert dataclasses.replace(cfg, out_bits=7).out_bits == 7


def test_aliases_work_in_tables_of_sections():
    """Presets and ``--set`` reach a section through the same key check."""
    from rramsim.config.fields import _f, _make_section, _Section, accepts_aliases

    @accepts_aliases
    @dataclasses.dataclass(frozen=True)
    class Demo(_Section):
        SECTION = "demo"
        new: int = _f(1, "A setting.", lo=0, hi=3, aliases=("old",))

    assert _make_section(Demo, "demo", {"old": 2}, "preset p.toml").new == 2
    assert Demo(old=3) == Demo(new=3) and Demo(new=3).old == 3
    with pytest.raises(ConfigError, match=r"demo.old = 9 is out of range"):
        _make_section(Demo, "demo", {"old": 9}, "preset p.toml")
    with pytest.raises(ConfigError, match=r"preset p.toml: unknown key 'olf' in \[demo\] "
                                          r"\(did you mean 'old'\?\)"):
        _make_section(Demo, "demo", {"olf": 1}, "preset p.toml")


def test_device_models_are_named_once():
    from rramsim.analog.devices import DEVICE_MODELS

    assert not hasattr(DeviceConfig(), "gamma")  # the registry holds each model's gamma
    model = {f.name: f for f in dataclasses.fields(DeviceConfig)}["model"]
    assert set(model.metadata["choices"]) == set(DEVICE_MODELS)
    for load in (lambda: TileConfig().with_overrides(["device.gamma=0.5"]),
                 lambda: TileConfig.from_dict({"device": {"gamma": 1.0}}, "preset x.toml")):
        with pytest.raises(ConfigError, match=r"unknown key 'gamma' in \[device\]"):
            load()


def test_quoted_numbers_and_booleans_are_type_errors(tmp_path):
    """A preset's ``dw_min = "0.001"`` or ``noise_management = "false"`` is not converted
    silently; the command line's ``--set`` values are parsed as TOML and stay accepted."""
    cases = [('[device]\ndw_min = "0.001"\n', "device.dw_min = '0.001' is not a valid float"),
             ('[forward]\nnoise_management = "false"\n', "not a valid bool: write true or false"),
             ("[forward]\nnoise_management = 1\n", "is not a valid bool"),
             ('[update]\nbl = "31"\n', "update.bl = '31' is not a valid int")]
    for text, words in cases:
        path = tmp_path / "p.toml"
        path.write_text(text)
        with pytest.raises(ConfigError, match=re.escape(words)):
            load_preset(path)
    with pytest.raises(ConfigError, match="not a valid float"):
        TileConfig().with_overrides({"device.up_down": "0.3"})
    cfg = TileConfig().with_overrides(["device.up_down=0.3", "forward.noise_management=false"])
    assert cfg.device.up_down == 0.3 and cfg.forward.noise_management is False
