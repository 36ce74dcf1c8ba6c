"""``session-monitor recover FILE``: import an emergency journal back into the database.

    session-monitor recover FILE [--db URL]

The journal (see ``recordings.journal``) names the database it was written for; ``--db`` imports it
elsewhere (e.g. when the original folder is gone). Importing is idempotent: running it twice adds
nothing the second time. Runs without a display.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monitor.errors import KnownError
from recordings.database import open_database
from recordings.journal import JournalError, journal_db, recover

PROG = "session-monitor recover"


def recover_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Import an emergency journal back into the session database.")
    p.add_argument("file", metavar="FILE", help="the journal file (*.journal.jsonl) named by the alarm or the exit message")
    p.add_argument("--db", metavar="URL", help="database URL to import into (default: the one named in the journal)")
    return p


def recover_main(argv: list[str]) -> int:
    """0 when imported; 1 with one line that says what is wrong."""
    args = recover_parser().parse_args(argv)
    path = Path(args.file)
    url = args.db
    if url is None:
        name = journal_db(path)
        if name is None:
            print(f"{PROG}: {path} is not a readable Session Monitor journal: check the file name", file=sys.stderr)
            return 1
        url = name if "://" in name else f"sqlite:///{name}"
    try:
        with open_database(url) as db:
            counts = recover(db, path)
    except (KnownError, JournalError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    print(
        f"Recovered {path} into {url}: {counts.readings} readings, {counts.samples} waveform samples, {counts.events} events "
        f"added ({counts.skipped_duplicates} already there, {counts.sessions_created} sessions re-created, "
        f"{counts.bad_lines} unreadable lines skipped)"
    )
    return 0
