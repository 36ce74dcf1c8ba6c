"""Simulators: stand-ins for real instruments, driven by one deterministic simulated patient.

- ``scenario`` / ``scenarios/*.toml``: simulated-patient scenarios (data, with cited sources)
- ``physiology``: the deterministic simulated patient
- ``simulated``: ``SimulatedOximeter``, ``SimulatedNibp``, ``simulated_devices()``
- ``protocol_sims``: the simulated patient speaking a serial protocol over a pty or TCP
  (``PtySimulator``, ``TcpSimulator``, ``SerialLoopback``) and the frame encoders
- ``ble_encoders``: the BLE GATT layouts as bytes; ``ble_peripherals``: simulated GATT peripherals
  on a bumble ``LocalLink`` and ``VirtualBleRoom``
"""
