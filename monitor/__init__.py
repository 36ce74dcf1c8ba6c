"""Qt-free core of Session Monitor: readings, channels, clock, buffers, session state, ingest.

Imports only the standard library and numpy (an import-linter contract enforces it), so every rule
here runs the same in the bedside app, in replay and in tests without a display.
"""
