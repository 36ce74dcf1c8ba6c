"""Bluetooth LE vitals devices: the standard heart-rate, blood-pressure and pulse-oximeter profiles.

- ``sfloat`` / ``gatt``: sans-I/O parsers and the registered decoders (``ble-hrs``, ``ble-bpm``,
  ``ble-icp``, ``ble-plx-spot``, ``ble-plx-cont``); importing this package registers them
- ``loop``: the one ``ble-loop`` asyncio thread; ``transport``: bleak and bumble clients behind
  one small interface; ``driver``: ``BleDriver``; ``catalog``: ``BleCatalog`` (scan, make_driver)
- the simulated peripherals and the encoders (the same layouts as bytes) are in ``devices.sim``

bleak and bumble are imported lazily (by ``transport``, ``devices.sim.ble_peripherals``), so decoding needs neither.
"""

from devices.ble import gatt as gatt  # registers the decoders
