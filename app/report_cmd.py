"""``session-monitor report``: the printed session report as a PDF.

    session-monitor report --db URL --session ID|latest --output FILE.pdf

The PDF is written next to FILE as ``.FILE.part`` and renamed into place only when complete, so a
failure never leaves a half-written report under the real name. Runs without a display.
"""

from __future__ import annotations

import argparse
import sys

from monitor.errors import KnownError
from recordings.database import open_database

PROG = "session-monitor report"


def report_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Write the report of a recorded session as a PDF.")
    p.add_argument("--db", metavar="URL", help="SQLAlchemy database URL (default: SQLite in the user's data folder)")
    p.add_argument("--session", default="latest", metavar="ID|latest", help="session id, or 'latest' (default)")
    p.add_argument("--output", "-o", required=True, metavar="FILE.pdf", help="where to write the PDF")
    p.add_argument("--force", action="store_true", help="replace FILE.pdf if it exists (only a regular file)")
    return p


def report_main(argv: list[str]) -> int:
    """Run ``session-monitor report`` (the same as ``export --format pdf``); 0 on success, 1 on a
    problem the message explains."""
    from app.exports import export_file

    args = report_parser().parse_args(argv)
    ref: int | str = int(args.session) if args.session.isdigit() else args.session
    try:
        with open_database(args.db) as db:
            out = export_file(db, ref, "pdf", args.output, replace=args.force)
    except KnownError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    print(f"Wrote the report of session {args.session} to {out}")
    return 0
