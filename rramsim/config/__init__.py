"""Configuration as data: frozen dataclasses, TOML presets, dotted command-line overrides.

- :mod:`~rramsim.config.fields`: the documented-field machinery (``_f``, ``_Section``) and
  the parsing of ``section.key=value`` overrides;
- :mod:`~rramsim.config.tile`: the six sections of an analog training tile
  (:class:`TileConfig`);
- :mod:`~rramsim.config.array`: inference arrays (:class:`ArrayConfig`);
- :mod:`~rramsim.config.presets`: device presets (TOML files in ``devices/``).

``python -m rramsim.config`` prints the configuration reference (``docs/configuration.md``)
generated from the field metadata.
"""

from rramsim.config.algorithm import AlgorithmConfig
from rramsim.config.array import ArrayConfig
from rramsim.config.fields import parse_overrides
from rramsim.config.presets import (
    available_presets,
    find_preset,
    load_preset,
    preset_dirs,
    replace_section,
)
from rramsim.config.tile import (
    DeviceConfig,
    IOConfig,
    MappingConfig,
    ReferenceConfig,
    TileConfig,
    UpdateConfig,
)
from rramsim.errors import ConfigError

__all__ = ["AlgorithmConfig", "ArrayConfig", "ConfigError", "DeviceConfig", "IOConfig",
           "MappingConfig", "ReferenceConfig", "TileConfig", "UpdateConfig", "available_presets",
           "find_preset", "load_preset", "parse_overrides", "preset_dirs", "replace_section"]
