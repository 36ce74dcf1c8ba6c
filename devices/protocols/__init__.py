"""Sans-I/O decoders for serial vitals devices, one module per protocol family.

Importing this package registers every decoder in ``devices.decoding.REGISTRY`` (what
``session-monitor decode`` and the serial catalog list). Layouts follow
``shared/reference/protocols.md`` §2-§4; where that document marks a layout unverified, the
decoder's description says so.
"""

import importlib
import pkgutil

#: Every decoder module of this package (the ``_private`` helpers aside), imported in name order:
#: a new protocol is a new module here, not a line in a list.
__all__ = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
for _name in __all__:
    importlib.import_module(f"{__name__}.{_name}")
