"""Environmental errors the user can act on, as opposed to bugs (which go to the crash handler).

The message of a KnownError is shown to the user verbatim, so it must say what is wrong and what to do.
"""


class KnownError(Exception):
    """An environmental failure with a message fit for the user."""


class DeviceError(KnownError):
    pass


class StorageError(KnownError):
    pass


class ConfigError(KnownError):
    pass
