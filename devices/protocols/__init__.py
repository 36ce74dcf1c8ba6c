"""Sans-I/O decoders for serial vitals devices, one module per protocol family.

Importing this package registers every decoder in ``devices.decoding.REGISTRY`` (what
``session-monitor decode`` and the serial catalog list). Layouts follow
``shared/reference/protocols.md`` §2-§4; where that document marks a layout unverified, the
decoder's description says so.
"""

from devices.protocols import accutorr, cms50, hl7, masimo, nonin

__all__ = ["accutorr", "cms50", "hl7", "masimo", "nonin"]
