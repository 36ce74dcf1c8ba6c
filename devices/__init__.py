"""Device drivers: everything that turns an instrument (or a stand-in for one) into Readings,
WaveformBlocks and DeviceStatus for the core, through ``monitor.ports.Driver``.

- ``scenario`` / ``scenarios/*.toml``: simulated-patient scenarios (data, with cited sources)
- ``physiology``: the deterministic simulated patient
- ``simulated``: ``SimulatedOximeter``, ``SimulatedNibp``, ``simulated_devices()``
- ``replay``: ``ReplayDriver`` for PhysioNet WFDB records (see ``REPLAY_DATA.md``)
- ``paced``: the thread skeleton shared by the simulated and replay drivers

Imports only ``monitor`` (+ numpy, wfdb, stdlib); never Qt or the UI (import-linter contract).
"""
