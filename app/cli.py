"""The command line: ``session-monitor`` (the dashboard) and ``session-monitor export``."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from app.display import NO_DISPLAY_MESSAGE, has_display
from monitor.errors import KnownError

log = logging.getLogger(__name__)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def _speed(text: str) -> float:
    value = _positive_float(text)
    if not 1 <= value <= 600:
        raise argparse.ArgumentTypeError(f"speed {text} is outside 1-600 (1 = real time)")
    return value


def run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="session-monitor",
        description="Bedside vital-signs monitor for ketamine / esketamine dosing sessions. "
        "Also: session-monitor export | decode | review | sign | report | recover --help.",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--demo", metavar="SCENARIO", help="start a session on simulated devices playing SCENARIO and mark the dose automatically"
    )
    src.add_argument(
        "--replay", metavar="RECORD", help="start a session replaying a PhysioNet WFDB record (path without extension)"
    )
    src.add_argument(
        "--replay-session",
        metavar="ID|latest",
        help="play a recorded session back through the dashboard (devices, dose, observations, alarm settings) at --speed 1-60; "
        "it is recorded into --db if given, else into a temporary file, never into the database it comes from",
    )
    p.add_argument(
        "--from-db",
        metavar="URL",
        help="with --replay-session: the database the session was recorded in (default: the workstation's database)",
    )
    p.add_argument(
        "--demo-ble",
        action="store_true",
        help="with --demo: also simulate a Bluetooth heart-rate strap, BP cuff and pulse oximeter, connected over a virtual Bluetooth link",
    )
    p.add_argument(
        "--demo-nurse",
        action="store_true",
        help="with --demo: a scripted nurse fills in the pre-dose checklist, answers every MOAA/S and CADSS prompt shortly after it appears and discharges when allowed",
    )
    p.add_argument(
        "--via-serial",
        action="store_true",
        help="with --demo: the simulated pulse oximeter talks the Contec CMS50 V7 protocol over a pseudo-terminal, read by the real serial driver",
    )
    p.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        metavar="N",
        help="session time runs N times faster than real time (1-600, 1-60 for --replay-session; simulated and replayed sessions only)",
    )
    p.add_argument("--minutes", type=_positive_float, metavar="M", help="stop after M minutes of session time and exit 0")
    p.add_argument("--db", metavar="URL", help="SQLAlchemy database URL (default: SQLite in the user's data folder)")
    p.add_argument("--screenshot", metavar="FILE.png", help="save a screenshot of the main window when the program stops")
    p.add_argument("--seed", type=int, default=1, help="random seed of the simulated devices (default 1)")
    p.add_argument("--patient", metavar="PSEUDONYM", help="patient pseudonym for the --demo / --replay session")
    p.add_argument("--clinician", default=None, help="clinician name for the --demo / --replay session")
    p.add_argument(
        "--protocol",
        default="spravato",
        help="dosing protocol of the --demo / --replay session: spravato, ketamine_iv, ketamine_im, ketamine_sl (--replay-session keeps the recorded one)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log more detail to stderr")
    return p


def export_parser() -> argparse.ArgumentParser:
    from app.exports import EXPORTERS

    p = argparse.ArgumentParser(prog="session-monitor export", description="Write a recorded session to stdout (or --output).")
    p.add_argument("--db", metavar="URL", help="SQLAlchemy database URL (default: SQLite in the user's data folder)")
    p.add_argument("--session", default="latest", metavar="ID|latest", help="session id, or 'latest' (default)")
    p.add_argument(
        "--format",
        choices=list(EXPORTERS),
        default="json",
        help="; ".join(f"{key}: {e.format.description}" for key, e in EXPORTERS.items())
        + f" ({' and '.join(key for key, e in EXPORTERS.items() if e.format.binary)} need --output)",
    )
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE (atomically: complete or not at all) instead of stdout")
    p.add_argument("--force", action="store_true", help="with --output: replace FILE if it exists (only a regular file)")
    return p


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # bumble logs its virtual controller's housekeeping (e.g. a link torn down at exit) as warnings
    logging.getLogger("bumble").setLevel(logging.INFO if verbose else logging.ERROR)


def export_main(argv: list[str]) -> int:
    args = export_parser().parse_args(argv)
    from app.exports import EXPORTERS, export_file, export_text
    from recordings.database import open_database

    ref: int | str = int(args.session) if args.session.isdigit() else args.session
    if isinstance(ref, str) and ref != "latest":
        print(f"session-monitor export: --session must be a number or 'latest', not {args.session!r}", file=sys.stderr)
        return 2
    if EXPORTERS[args.format].format.binary and not args.output:
        print(
            f"session-monitor export: {args.format.upper()} is a binary file: give --output FILE.{args.format}", file=sys.stderr
        )
        return 2
    with open_database(args.db) as db:  # StorageError (no such session, unreadable database): main prints it
        if args.output:
            out = export_file(db, ref, args.format, args.output, replace=args.force)  # ExportWriteError: main prints it, exit 1
            print(f"Wrote session {args.session} as {args.format} to {out}", file=sys.stderr)
        else:
            sys.stdout.write(export_text(db, ref, args.format))
    return 0


#: Files the program creates (database, logs, crash reports, exports, config) are for this user
#: only: 0600 files in 0700 folders (issue 13, finding 10 — patient data readable by every local user).
PRIVATE_UMASK = 0o077


def main(argv: list[str] | None = None) -> int:
    os.umask(PRIVATE_UMASK)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["export"]:
            _configure_logging(False)
            try:
                return export_main(argv[1:])
            except KnownError as exc:
                print(f"session-monitor export: {exc}", file=sys.stderr)
                return 1
        if argv[:1] == ["decode"]:
            _configure_logging(False)
            from app.decode_cmd import decode_main

            return decode_main(argv[1:])
        if argv[:1] == ["review"]:
            from app.review_cmd import review_main

            return review_main(argv[1:])
        if argv[:1] == ["sign"]:
            _configure_logging(False)
            from app.sign_cmd import sign_main

            return sign_main(argv[1:])
        if argv[:1] == ["recover"]:
            _configure_logging(False)
            from app.recover_cmd import recover_main

            return recover_main(argv[1:])
        if argv[:1] == ["report"]:
            _configure_logging(False)
            from app.report_cmd import report_main

            return report_main(argv[1:])
        args = run_parser().parse_args(argv)
        _configure_logging(args.verbose)
        if not has_display():
            print(NO_DISPLAY_MESSAGE, file=sys.stderr)
            return 2
        from app.bedside import run_bedside

        return run_bedside(args)
    except KnownError as exc:
        print(f"session-monitor: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
