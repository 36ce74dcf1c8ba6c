"""Writing an export file so that it is either complete or absent: write a temporary file next to
the target, then rename it over the target (atomic on one file system)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from monitor.errors import KnownError


class ExportWriteError(KnownError):
    """The export file could not be written; nothing was left behind. The message says what to do."""


def write_atomically(target: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file to ``target``. On any failure the
    temporary file is removed, an existing ``target`` is untouched, and ``ExportWriteError`` says why."""
    out = Path(target)
    tmp = out.with_name(f".{out.name}.part")
    try:
        write(tmp)
        os.chmod(tmp, 0o600)  # patient data: for this user only, whatever the umask (issue 13, finding 10)
        os.replace(tmp, out)
    except OSError as exc:
        _discard(tmp)
        raise ExportWriteError(f"cannot write {out}: {exc.strerror or exc}; choose another --output") from exc
    except BaseException:
        _discard(tmp)
        raise
    return out


def _discard(tmp: Path) -> None:
    """Remove a partial file; if even that fails (its folder is gone or not a folder) there is nothing to remove."""
    try:
        tmp.unlink(missing_ok=True)
    except OSError:
        pass
