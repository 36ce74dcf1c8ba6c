"""Device drivers: everything that turns an instrument (or a stand-in for one) into Readings,
WaveformBlocks and DeviceStatus for the core, through ``monitor.ports.Driver``.

- ``protocols/``: sans-I/O decoders of the serial protocols; ``decoding``: their registry
- ``serial_driver`` / ``serial_catalog``: the serial driver and port discovery
- ``ble/``: Bluetooth LE parsers, loop thread, transports, driver and catalog
- ``sim/``: simulators — scenarios, the simulated patient, simulated serial and BLE devices
- ``replay/``: replays — PhysioNet WFDB records and our own recorded sessions
- ``paced``: the thread skeleton shared by the simulators and the replays

Imports only ``monitor`` (+ numpy, serial, bleak, bumble, wfdb, stdlib); never Qt or the UI
(import-linter contract).
"""
