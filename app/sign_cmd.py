"""``session-monitor sign``: the prescriber signs a reviewed session (clinical.md requirement 29).

    session-monitor sign --db URL --enroll --name LOGIN --full-name "Dr Ada Lee"     # once per signer
    session-monitor sign --db URL --session ID|latest --name LOGIN --meaning reviewed
    session-monitor sign --db URL --session ID|latest --status                       # list, valid / outdated

The password is asked for on the terminal (not echoed), or read from the first line of stdin with
``--password-stdin``. Signers live in the database's own ``signers`` table (salted PBKDF2): this is a
local signer list, not a directory login.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from monitor.errors import KnownError
from recordings.database import Database, open_database
from recordings.reader import RecordingReader
from recordings.signoff import MEANINGS, add_signer, sign_session, signature_status

PROG = "session-monitor sign"


def sign_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Sign a recorded session, enrol a signer, or show a session's signatures.")
    p.add_argument("--db", metavar="URL", help="SQLAlchemy database URL (default: SQLite in the user's data folder)")
    p.add_argument("--session", default="latest", metavar="ID|latest", help="session id, or 'latest' (default)")
    p.add_argument("--name", metavar="LOGIN", help="the signer's login ID")
    p.add_argument("--meaning", choices=MEANINGS, default="reviewed", help="what the signature means (default: reviewed)")
    p.add_argument(
        "--interrupted",
        action="store_true",
        help="sign a session that has no end because it was cut short (crash, power loss); make sure no bedside is still recording it",
    )
    p.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--enroll", action="store_true", help="enrol signer --name with --full-name and a new password")
    mode.add_argument("--status", action="store_true", help="list the session's signatures, each valid or outdated")
    p.add_argument("--full-name", metavar="NAME", help="with --enroll: the printed name shown with each signature")
    return p


def _password(args: argparse.Namespace, prompt: str, confirm: bool = False) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("Repeat the password: ") != first:
        raise KnownError("the two passwords differ: nothing was saved")
    return first


def _session_id(db: Database, ref: str) -> int:
    return RecordingReader(db).session(ref).id


def sign_main(argv: list[str]) -> int:
    """Run ``session-monitor sign``; 0 on success, 1 when refused, 2 for a usage error."""
    p = sign_parser()
    args = p.parse_args(argv)
    if not args.status and not args.name:
        p.error("--name LOGIN is required to sign or enrol")
    if args.enroll and not args.full_name:
        p.error("--enroll needs --full-name NAME (the printed name shown with each signature)")
    try:
        with open_database(args.db) as db:
            if args.enroll:
                add_signer(db, args.name, args.full_name, _password(args, f"New password for {args.name}: ", confirm=True))
                print(f"Enrolled signer {args.name} ({args.full_name.strip()}) in {db.name}")
                return 0
            sid = _session_id(db, args.session)
            if args.status:
                signatures = signature_status(db, sid)
                for sig in signatures:
                    print(sig.line())
                if not signatures:
                    print(f"Session {sid} has not been signed")
                return 0
            sig = sign_session(
                db, sid, args.name, _password(args, f"Password for {args.name}: "), args.meaning, interrupted_ok=args.interrupted
            )
            print(f"Session {sid}: {sig.line()}; record SHA-256 {sig.record_hash}")
            return 0
    except KnownError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
