"""Replays: recorded data played back through the same pipeline as live devices.

- ``physionet``: ``ReplayDriver`` for PhysioNet WFDB records (see ``REPLAY_DATA.md``)
- ``recorded``: ``RecordedSessionDriver``, a session from our own recordings (review "play")
"""
