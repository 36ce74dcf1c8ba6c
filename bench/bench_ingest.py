"""Ingest: readings per second the Recorder sustains into a fresh SQLite file, against raw
``sqlite3.executemany`` into the same ``readings`` schema in the same run.

Both sides get the same pre-made ``Reading`` objects and turn them into rows inside the timed part
(a writer cannot skip that), the same table and indexes (made by the real migrations), WAL +
synchronous=NORMAL, and one commit per batch of the size the Recorder actually used. The raw side
without the conversion is printed as well, for reference. Run: ``python -m bench.bench_ingest``.
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bench.report import median, verdict
from monitor.ports import DeviceInfo
from monitor.readings import Flag, Quality, Reading
from monitor.session import DosingProtocol, SessionInfo
from recordings.database import open_database
from recordings.recorder import Recorder

TARGET_RATIO = 0.5
T_START = 1_800_000_000.0
#: (source, channel, typical value, spread): an oximeter, a cuff, an arterial line and a monitor.
CHANNELS = [
    ("sim:ox", "spo2", 97.0, 2.0),
    ("sim:ox", "pr", 72.0, 8.0),
    ("sim:ecg", "hr", 72.0, 8.0),
    ("sim:ecg", "rr", 14.0, 3.0),
    ("sim:art", "abp_sys", 125.0, 15.0),
    ("sim:art", "abp_dia", 78.0, 10.0),
    ("sim:art", "abp_map", 94.0, 10.0),
    ("sim:cuff", "nibp_sys", 128.0, 15.0),
    ("sim:cuff", "nibp_dia", 80.0, 10.0),
    ("sim:temp", "temp", 36.8, 0.3),
]
SUBMIT_BATCH = 100  # readings per submit_readings() call, like one core drain
RAW_INSERT = "INSERT INTO readings (session_id, device_id, channel, t_utc, value, quality, flags, device_t) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


def make_readings(n: int, seed: int = 1) -> list[Reading]:
    """``n`` readings round-robin over the channels at 1 Hz each; ~1 % invalid, ~3 % questionable."""
    rnd = random.Random(seed)
    out: list[Reading] = []
    for i in range(n):
        source, channel, typical, spread = CHANNELS[i % len(CHANNELS)]
        t = T_START + i // len(CHANNELS) + rnd.random() * 0.01
        roll = rnd.random()
        if roll < 0.01:
            out.append(Reading.invalid(source, channel, t, Flag.PROBE_OFF, device_t=i * 0.1))
        elif roll < 0.04:
            out.append(Reading(source, channel, t, round(rnd.gauss(typical, spread), 1), Quality.QUESTIONABLE, Flag.ARTEFACT))
        else:
            out.append(Reading(source, channel, t, round(rnd.gauss(typical, spread), 1)))
    return out


def run_recorder(readings: list[Reading], folder: Path) -> tuple[float, float]:
    """(rows/s, mean readings per transaction) for the Recorder, from first submit until flushed."""
    db = open_database(f"sqlite:///{folder / 'recorder.db'}")
    rec = Recorder(db, commit_interval_s=0.5, app_version="bench")
    rec.start()
    try:
        sid = rec.begin_session(SessionInfo("BENCH-1", DosingProtocol.SPRAVATO, "Bench", T_START))
        for source in sorted({c[0] for c in CHANNELS}):
            rec.register_device(sid, DeviceInfo(source, source, "bench", 30.0))
        before = rec.stats()
        gc.collect()
        started = time.perf_counter()
        for i in range(0, len(readings), SUBMIT_BATCH):
            rec.submit_readings(sid, readings[i : i + SUBMIT_BATCH])
        if not rec.flush(timeout_s=120):
            raise RuntimeError("the recorder did not flush within 120 s")
        elapsed = time.perf_counter() - started
        after = rec.stats()
    finally:
        rec.stop()
        db.close()
    assert after.readings_written - before.readings_written == len(readings)
    return len(readings) / elapsed, len(readings) / max(1, after.batches - before.batches)


def _raw_database(folder: Path) -> tuple[sqlite3.Connection, dict[str, int]]:
    """The same schema (made by the real migrations), then plain sqlite3 with WAL/NORMAL."""
    path = folder / "raw.db"
    open_database(f"sqlite:///{path}").close()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute("PRAGMA foreign_keys = ON")
    con.execute(
        "INSERT INTO sessions (id, patient_id, protocol, clinician, started_utc, speed, app_version, created_utc) "
        "VALUES (1, 'BENCH-1', 'spravato', 'Bench', ?, 1.0, 'bench', ?)",
        (T_START, time.time()),
    )
    devices = {}
    for k, source in enumerate(sorted({c[0] for c in CHANNELS}), start=1):
        con.execute(
            "INSERT INTO devices (id, session_id, source, label, kind, stale_after_s) VALUES (?, 1, ?, ?, 'bench', 30.0)",
            (k, source, source),
        )
        devices[source] = k
    return con, devices


def _rows(readings: list[Reading], devices: dict[str, int]) -> list[tuple[object, ...]]:
    isfinite = math.isfinite
    return [
        (1, devices[r.source], r.channel, r.t, r.value if isfinite(r.value) else None, int(r.quality), int(r.flags), r.device_t)
        for r in readings
    ]


def run_raw(readings: list[Reading], folder: Path, *, batch: int, convert_in_timing: bool) -> float:
    """rows/s for sqlite3.executemany, one transaction per ``batch`` readings."""
    con, devices = _raw_database(folder)
    try:
        prebuilt = None if convert_in_timing else _rows(readings, devices)
        gc.collect()
        started = time.perf_counter()
        for i in range(0, len(readings), batch):
            rows = _rows(readings[i : i + batch], devices) if prebuilt is None else prebuilt[i : i + batch]
            con.execute("BEGIN")
            con.executemany(RAW_INSERT, rows)
            con.execute("COMMIT")
        elapsed = time.perf_counter() - started
        assert con.execute("SELECT count(*) FROM readings").fetchone()[0] == len(readings)
    finally:
        con.close()
    return len(readings) / elapsed


def _fresh(fn: Callable[[Path], float]) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        return fn(Path(tmp))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500_000, help="readings per run (default 500000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind (default 3, the median is reported)")
    args = parser.parse_args(argv)

    readings = make_readings(args.n)
    recorder_rates: list[float] = []
    batch_sizes: list[float] = []
    raw_rates: list[float] = []
    raw_db_only: list[float] = []
    for k in range(args.repeat):

        def recorder_run(folder: Path) -> float:
            rate, per_batch = run_recorder(readings, folder)
            batch_sizes.append(per_batch)
            return rate

        recorder_rates.append(_fresh(recorder_run))
        batch = max(1, round(median(batch_sizes)))
        raw_rates.append(_fresh(partial(run_raw, readings, batch=batch, convert_in_timing=True)))
        raw_db_only.append(_fresh(partial(run_raw, readings, batch=batch, convert_in_timing=False)))
        print(
            f"  run {k + 1}: recorder {recorder_rates[-1]:,.0f} rows/s (~{batch_sizes[-1]:,.0f} per transaction), "
            f"raw sqlite3 {raw_rates[-1]:,.0f} rows/s, raw sqlite3 with pre-built tuples {raw_db_only[-1]:,.0f} rows/s",
            flush=True,
        )

    rec, raw, raw_only = median(recorder_rates), median(raw_rates), median(raw_db_only)
    ratio = rec / raw
    print(
        f"  ({args.n:,} readings, {len(CHANNELS)} channels, batches of ~{median(batch_sizes):,.0f}; medians of {args.repeat} runs)"
    )
    print(f"  reference: raw sqlite3 with pre-built tuples {raw_only:,.0f} rows/s, ratio {rec / raw_only:.2f}")
    print(
        f"ingest: recorder {rec:,.0f} rows/s, raw sqlite3 {raw:,.0f} rows/s, ratio {ratio:.2f} (target >= {TARGET_RATIO}): {verdict(ratio >= TARGET_RATIO)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
