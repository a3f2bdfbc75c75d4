"""The analog core: devices, converters and the crossbar tile. Imports nothing from ``nn``.

- :mod:`~rramsim.analog.devices`: per-device parameters drawn from a
  :class:`~rramsim.config.DeviceConfig` (device-to-device variation), the symmetry point, pulse
  responses;
- :mod:`~rramsim.analog.converters`: DAC and ADC objects (a symmetric and a full-range level
  convention) shared by training tiles and inference arrays, and the peripherals of an analog
  pass (DAC, output noise, ADC, noise and bound management);
- :mod:`~rramsim.analog.tile`: :class:`AnalogTile`, a crossbar with its reference array,
  peripherals and pulsed update.
"""

from rramsim.analog.converters import (
    CONVERTERS,
    Converter,
    FullRangeConverter,
    SymmetricConverter,
    analog_mvm,
    get_converter,
    pass_converters,
    quantize,
)
from rramsim.analog.devices import (
    DEVICE_MODELS,
    DeviceArray,
    nominal_device,
    pulse_response,
    sample_devices,
)
from rramsim.analog.tile import AnalogTile

__all__ = ["CONVERTERS", "DEVICE_MODELS", "AnalogTile", "Converter", "DeviceArray",
           "FullRangeConverter", "SymmetricConverter", "analog_mvm", "get_converter",
           "nominal_device", "pass_converters", "pulse_response", "quantize", "sample_devices"]
