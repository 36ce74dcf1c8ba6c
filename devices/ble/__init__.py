"""Bluetooth LE vitals devices: the standard heart-rate, blood-pressure and pulse-oximeter profiles.

- ``sfloat`` / ``gatt``: sans-I/O parsers and the registered decoders (``ble-hrs``, ``ble-bpm``,
  ``ble-icp``, ``ble-plx-spot``, ``ble-plx-cont``); importing this package registers them
- ``encoders``: the same layouts as bytes (simulated peripherals, tests)
- ``loop``: the one ``ble-loop`` asyncio thread; ``transport``: bleak and bumble clients behind
  one small interface; ``driver``: ``BleDriver``; ``catalog``: ``BleCatalog`` (scan, make_driver)
- ``peripherals``: simulated GATT peripherals on a bumble ``LocalLink`` and ``VirtualBleRoom``

bleak and bumble are imported lazily (by ``transport``, ``peripherals``), so decoding needs neither.
"""

from devices.ble import gatt as gatt  # registers the decoders
