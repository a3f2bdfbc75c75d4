"""The analog core: devices, converters and the crossbar tile. Imports nothing from ``nn``.

- :mod:`~rramsim.analog.devices`: per-device parameters drawn from a
  :class:`~rramsim.config.DeviceConfig` (device-to-device variation), the symmetry point, pulse
  responses;
- :mod:`~rramsim.analog.converters`: the peripherals of an analog pass (DAC, output noise,
  ADC, noise and bound management), shared by training tiles and inference arrays;
- :mod:`~rramsim.analog.tile`: :class:`AnalogTile`, a crossbar with its reference array,
  peripherals and pulsed update.
"""

from rramsim.analog.converters import analog_mvm, quantize
from rramsim.analog.devices import (
    DEVICE_MODELS,
    DeviceArray,
    nominal_device,
    pulse_response,
    sample_devices,
)
from rramsim.analog.tile import AnalogTile

__all__ = ["DEVICE_MODELS", "AnalogTile", "DeviceArray", "analog_mvm", "nominal_device",
           "pulse_response", "quantize", "sample_devices"]
