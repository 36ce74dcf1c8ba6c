"""Replay of a PhysioNet WFDB record through the ordinary driver interface.

The record's time 0 is mapped to the session time at which the driver started and samples are
released as the session clock passes them, so a replay at 1x-600x looks to the core exactly like a
live device (review "play", demos, tests). Two kinds of record are supported, also mixed:

* numerics (per-signal rate <= 1 Hz, e.g. MIMIC-II ``...n`` records at 1/min): HR->hr, PULSE->pr,
  RESP->rr, SpO2->spo2, NBPSys/Dias/Mean->nibp_*, ABPSys/Dias/Mean->abp_* as Readings. MIMIC
  writes 0 for "no value": 0 (and NaN in a continuous channel) becomes ``Reading.invalid(NO_VALUE)``,
  never a 0 that would raise desaturation alarms for hours. NBP is NaN between cuff readings: each
  cuff value is one episodic reading, a NaN minute gives no reading at all.
* waveforms (single- or multi-segment, multi-rate read with ``smooth_frames=False``): II->ecg_ii,
  ABP/ART->abp, PLETH/Pleth->pleth as WaveformBlocks in raw physical units (pleth is not rescaled;
  its display range is the UI's concern). NaN samples stay NaN; gap segments ("~"), segments whose
  files are missing and channels absent from a segment are NaN too, never interpolated, so each
  channel's blocks stay contiguous and a plot shows the gap.

Signals the channel registry has no code for (V, III, MCL1, PAP, impedance Resp, ...) are skipped
with one log line. The record is read lazily in chunks (a 32-hour record is never loaded at once).

Data: PhysioNet (https://physionet.org), open access under ODC-By 1.0 — attribution required.
Goldberger AL et al. PhysioBank, PhysioToolkit, and PhysioNet. Circulation 101(23):e215-e220 (2000).
MIMIC-II: Saeed M et al., Crit Care Med 39(5):952-960 (2011), doi:10.1097/CCM.0b013e31820a92c6;
MIMIC-III Waveform DB v1.0, doi:10.13026/c2607m; MIMIC-IV Waveform DB v0.1.0, doi:10.13026/a2mw-f949;
Challenge 2015: Clifford GD et al., Computing in Cardiology 42:273-276 (2015); MIMIC DB: Moody GB,
Mark RG, Computers in Cardiology 23:657-660 (1996). Read with wfdb-python (MIT-LCP, MIT licence).
Per-record details: devices/replay/REPLAY_DATA.md and shared/data/*/PROVENANCE.md.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

with warnings.catch_warnings():
    # wfdb 4.3.1 calls DataFrame.set_index(inplace=True) at import, deprecated in pandas 3.1
    # (Pandas4Warning, a DeprecationWarning); harmless, and our tests turn warnings into errors.
    warnings.simplefilter("ignore", DeprecationWarning)
    import wfdb
    from wfdb.io._signal import BYTES_PER_SAMPLE  # bytes per sample of each WFDB format (0: compressed)

from devices.paced import MAX_STEP_S, PacedDriver, Progress, due_count
from monitor.channels import CHANNELS, ChannelKind
from monitor.clock import Clock
from monitor.errors import ConfigError, DeviceError
from monitor.ports import DeviceInfo, DriverSink
from monitor.readings import Flag, Reading, WaveformBlock

log = logging.getLogger(__name__)

#: Signal names of numerics records (per-signal rate <= 1 Hz), matched case-insensitively.
NUMERIC_NAMES = {
    "HR": "hr",
    "PULSE": "pr",
    "RESP": "rr",
    "SPO2": "spo2",
    "NBPSYS": "nibp_sys",
    "NBPDIAS": "nibp_dia",
    "NBPMEAN": "nibp_map",
    "ABPSYS": "abp_sys",
    "ABPDIAS": "abp_dia",
    "ABPMEAN": "abp_map",
}
#: Signal names of waveform records (per-signal rate > 1 Hz), matched case-insensitively.
WAVEFORM_NAMES = {"II": "ecg_ii", "ABP": "abp", "ART": "abp", "PLETH": "pleth"}
#: Highest per-signal rate still treated as numerics.
NUMERIC_MAX_FS = 1.0
#: A pending waveform is released once this much real time of it is due (~40 ms at 1x).
BLOCK_REAL_S = 0.04
#: Read-ahead: at least this much record time per read, more at high speed (one real second's worth).
CHUNK_MIN_S = 10.0
CHUNK_MIN_FRAMES = 64


@dataclass(frozen=True, slots=True)
class _Channel:
    code: str
    name: str  # the signal name in the record
    spf: int  # samples per frame
    numeric: bool


@dataclass(slots=True)
class _Piece:
    """A run of frames: one segment file, or a gap (``path`` None) that reads as NaN."""

    start: int
    length: int
    path: Path | None
    signals: dict[str, int] = field(default_factory=dict)  # channel code -> signal index in the segment


@dataclass(slots=True)
class _Plan:
    name: str
    fs: float  # frame rate
    n_frames: int
    channels: list[_Channel]
    pieces: list[_Piece]


def _record_path(record_path: str | Path) -> Path:
    path = Path(record_path)
    if path.suffix == ".hea":
        path = path.with_suffix("")
    if not path.with_name(path.name + ".hea").is_file():
        raise ConfigError(
            f"replay record not found: {path}(.hea) — give the record path without extension, "
            "e.g. ../shared/data/mimic2wdb-s25047/s25047-2704-05-04-10-44n"
        )
    return path


def _header(path: Path) -> wfdb.Record | wfdb.MultiRecord:
    try:
        return wfdb.rdheader(str(path))
    except (OSError, ValueError, IndexError, KeyError, TypeError) as exc:
        raise ConfigError(f"replay record {path}: cannot read its header {path.name}.hea: {exc}") from None


def _check_signals(path: Path, header: wfdb.Record, n_frames: int) -> None:
    """Refuse at start, with the file and what to do, a header whose signal lines do not match its
    signal count (cut short, wrong count), that names a format WFDB does not define, or whose signal
    file holds fewer frames than it says — each was an internal error mid-replay (issue 13, finding 8)."""
    hea = f"{path.name}.hea"
    n_sig = int(header.n_sig or 0)
    lists = [header.file_name, header.fmt, header.sig_name]
    if any(v is None or len(v) != n_sig or any(x is None for x in v) for v in lists):
        longest = max((len(v) for v in lists if v is not None), default=0)
        described = sum(all(v is not None and i < len(v) and v[i] is not None for v in lists) for i in range(longest))
        raise ConfigError(
            f"replay record {path}: its header {hea} declares {n_sig} signals but describes {described} completely "
            "(cut short, or a wrong signal count on its first line): fix or download the header again"
        )
    for name, fmt in zip(header.sig_name, header.fmt, strict=True):
        if str(fmt) not in BYTES_PER_SAMPLE:
            known = ", ".join(sorted(BYTES_PER_SAMPLE, key=int))
            raise ConfigError(
                f"replay record {path}: {hea} gives signal {name} the format {fmt}, which WFDB does not define "
                f"(formats: {known}): fix the header"
            )
    spf = header.samps_per_frame or [1] * n_sig
    offsets = header.byte_offset or [0] * n_sig
    per_file: dict[str, tuple[float, int]] = {}  # file -> (bytes per frame, byte offset)
    for i, (fname, fmt) in enumerate(zip(header.file_name, header.fmt, strict=True)):
        size, offset = per_file.get(fname, (0.0, int(offsets[i] or 0)))
        per_file[fname] = (size + BYTES_PER_SAMPLE[str(fmt)] * int(spf[i] or 1), offset)
    for fname, (frame_bytes, offset) in per_file.items():
        if fname == "~" or not frame_bytes:  # a gap, or a compressed (FLAC) file: its length is not fixed
            continue
        file = path.parent / fname
        need = offset + math.ceil(frame_bytes * n_frames)
        have = file.stat().st_size if file.is_file() else 0
        if have < need:
            raise ConfigError(
                f"replay record {path}: signal file {fname} is cut short ({have} bytes; {hea} needs {need}): "
                "download the record again"
            )


def _data_files_present(path: Path, header: wfdb.Record) -> list[str]:
    """Names of the signal files the header refers to that are not there."""
    names = {f for f in (header.file_name or []) if f and f != "~"}
    return sorted(n for n in names if not (path.parent / n).is_file())


def _map_signals(name: str, fs: float, signals: list[tuple[str, int]]) -> list[_Channel]:
    """Registry codes for the record's signals; unknown ones skipped with one log line."""
    channels: list[_Channel] = []
    skipped: list[str] = []
    used: set[str] = set()
    for sig, spf in signals:
        numeric = fs * spf <= NUMERIC_MAX_FS
        code = (NUMERIC_NAMES if numeric else WAVEFORM_NAMES).get(sig.upper())
        if code is None or code in used or code not in CHANNELS:
            skipped.append(sig)
            continue
        is_waveform = CHANNELS[code].kind is ChannelKind.WAVEFORM
        if is_waveform == numeric:  # e.g. a 1/min signal named like a waveform
            skipped.append(sig)
            continue
        used.add(code)
        channels.append(_Channel(code, sig, spf, numeric))
    if skipped:
        log.info("replay %s: skipping signals the monitor has no channel for: %s", name, ", ".join(skipped))
    return channels


def _plan_record(path: Path) -> _Plan:
    """Read the headers (never the samples) and decide what to play from where."""
    header = _header(path)
    fs = float(header.fs or 0.0)
    if not fs > 0:
        raise ConfigError(f"replay record {path}: the header gives no sampling frequency")
    if isinstance(header, wfdb.MultiRecord):
        return _plan_multi(path, header, fs)
    if not header.sig_len:
        raise ConfigError(f"replay record {path}: the header gives no record length")
    missing = _data_files_present(path, header)
    if missing:
        raise ConfigError(f"replay record {path}: signal file(s) missing: {', '.join(missing)}")
    _check_signals(path, header, int(header.sig_len))
    spf = header.samps_per_frame or [1] * header.n_sig
    channels = _map_signals(path.name, fs, list(zip(header.sig_name, spf, strict=True)))
    index = {name: i for i, name in enumerate(header.sig_name)}
    piece = _Piece(0, int(header.sig_len), path, {c.code: index[c.name] for c in channels})
    return _finish(path, fs, int(header.sig_len), channels, [piece])


def _plan_multi(path: Path, header: wfdb.MultiRecord, fs: float) -> _Plan:
    pieces: list[_Piece] = []
    seg_headers: list[tuple[_Piece, wfdb.Record]] = []
    signals: dict[str, int] = {}  # signal name -> samples per frame, in first-seen order
    start = 0
    for seg, length in zip(header.seg_name, header.seg_len, strict=True):
        length = int(length)
        if seg == "~":
            pieces.append(_Piece(start, length, None))
        else:
            seg_path = path.parent / seg
            if not seg_path.with_name(seg + ".hea").is_file():
                log.warning("replay %s: segment %s has no header: played as a gap", path.name, seg)
                pieces.append(_Piece(start, length, None))
            else:
                sh = _header(seg_path)
                if length > 0 and not _data_files_present(seg_path, sh):
                    _check_signals(seg_path, sh, length)
                for sig, spf in zip(sh.sig_name, sh.samps_per_frame or [1] * sh.n_sig, strict=True):
                    signals.setdefault(sig, spf)
                if length > 0:
                    missing = _data_files_present(seg_path, sh)
                    if missing:
                        log.warning(
                            "replay %s: segment %s file(s) missing (%s): played as a gap", path.name, seg, ", ".join(missing)
                        )
                        pieces.append(_Piece(start, length, None))
                    else:
                        piece = _Piece(start, length, seg_path)
                        pieces.append(piece)
                        seg_headers.append((piece, sh))
        start += length
    channels = _map_signals(path.name, fs, list(signals.items()))
    for piece, sh in seg_headers:
        spf = sh.samps_per_frame or [1] * sh.n_sig
        for i, sig in enumerate(sh.sig_name):
            for ch in channels:
                if ch.name == sig and ch.code not in piece.signals:
                    if spf[i] != ch.spf:
                        raise ConfigError(f"replay record {path}: the sampling rate of {sig} changes in segment {piece.path}")
                    piece.signals[ch.code] = i
    return _finish(path, fs, int(header.sig_len or start), channels, pieces)


def _finish(path: Path, fs: float, n_frames: int, channels: list[_Channel], pieces: list[_Piece]) -> _Plan:
    if not channels:
        raise ConfigError(f"replay record {path}: none of its signals is a channel the monitor knows")
    return _Plan(path.name, fs, n_frames, channels, pieces)


class ReplayDriver(PacedDriver):
    """Plays a WFDB record in session time; STOPPED with "end of recording" when it is over."""

    def __init__(self, record_path: str | Path, clock: Clock, source: str | None = None) -> None:
        path = _record_path(record_path)
        plan = _plan_record(path)
        stale = round(max((2.5 / (plan.fs * c.spf)) if c.numeric else 10.0 for c in plan.channels), 1)
        super().__init__(clock, DeviceInfo(source or f"replay:{path.name}", f"Replay of {path.name}", "replay", stale))
        self.record_path = path
        self._plan = plan
        self._pos = 0  # next frame to emit
        self._buf_start = 0
        self._buf_end = 0
        self._buf: dict[str, np.ndarray] = {}

    @property
    def channels(self) -> list[str]:
        """Registry codes this replay delivers."""
        return [c.code for c in self._plan.channels]

    @property
    def duration_s(self) -> float:
        return self._plan.n_frames / self._plan.fs

    def _finished_detail(self) -> str:
        return "end of recording"

    def _step(self, now: float, sink: DriverSink) -> Progress:
        plan, origin = self._plan, self._origin
        assert origin is not None
        if self._pos >= plan.n_frames:
            return Progress.FINISHED
        due = min(plan.n_frames, due_count(origin, plan.fs, now))
        min_frames = max(1, math.ceil(BLOCK_REAL_S * self._clock.speed * plan.fs))
        if due - self._pos < min(min_frames, plan.n_frames - self._pos):
            return Progress.IDLE
        end = min(due, self._pos + max(1, int(plan.fs * MAX_STEP_S)))
        while self._pos < end:
            if self._pos >= self._buf_end:
                self._read_ahead(self._pos, due)
            stop = min(end, self._buf_end)
            self._emit(self._pos, stop, origin, sink)
            self._pos = stop
        if self._pos >= plan.n_frames:
            return Progress.FINISHED
        return Progress.BEHIND if end < due else Progress.IDLE

    def _read_ahead(self, start: int, due: int) -> None:
        """Read the next chunk: 10 s of record, one real second's worth at high speed, or all
        that is already due when catching up (at most MAX_STEP_S)."""
        plan = self._plan
        span_s = min(max(CHUNK_MIN_S, self._clock.speed, (due - start) / plan.fs), MAX_STEP_S)
        n = max(CHUNK_MIN_FRAMES, int(plan.fs * span_s))
        end = min(plan.n_frames, start + n)
        self._buf = self._read(start, end)
        self._buf_start, self._buf_end = start, end

    def _read(self, a: int, b: int) -> dict[str, np.ndarray]:
        """Frames [a, b) of every channel, NaN wherever the record has nothing."""
        out = {c.code: np.full((b - a) * c.spf, np.nan) for c in self._plan.channels}
        spf = {c.code: c.spf for c in self._plan.channels}
        for piece in self._plan.pieces:
            lo, hi = max(a, piece.start), min(b, piece.start + piece.length)
            if hi <= lo or piece.path is None or not piece.signals:
                continue
            codes = list(piece.signals)
            try:
                rec = wfdb.rdrecord(
                    str(piece.path),
                    sampfrom=lo - piece.start,
                    sampto=hi - piece.start,
                    channels=[piece.signals[c] for c in codes],
                    smooth_frames=False,
                )
            except (OSError, ValueError, EOFError, RuntimeError) as exc:  # file vanished / corrupt
                raise DeviceError(f"replay of {self._plan.name} cannot read {piece.path.name}: {exc}") from exc
            for code, samples in zip(codes, rec.e_p_signal, strict=True):
                k = spf[code]
                out[code][(lo - a) * k : (hi - a) * k] = samples
        return out

    def _emit(self, a: int, b: int, origin: float, sink: DriverSink) -> None:
        plan, src = self._plan, self._info.source
        off = a - self._buf_start
        readings: list[Reading] = []
        numeric = [c for c in plan.channels if c.numeric]
        for frame in range(a, b):
            for c in numeric:
                fs_ch, first = plan.fs * c.spf, self._buf_start * c.spf
                for m in range(frame * c.spf, (frame + 1) * c.spf):
                    r = _numeric_reading(src, c.code, origin + m / fs_ch, float(self._buf[c.code][m - first]))
                    if r is not None:
                        readings.append(r)
        if readings:
            sink.put_readings(readings)
        for c in plan.channels:
            if not c.numeric:
                samples = self._buf[c.code][off * c.spf : (off + b - a) * c.spf].copy()
                sink.put_waveform(WaveformBlock(src, c.code, origin + a / plan.fs, plan.fs * c.spf, samples))


def _numeric_reading(source: str, code: str, t: float, value: float) -> Reading | None:
    """MIMIC numerics convention: 0 = no value; NaN = no value, except that NBP is NaN between cuff
    readings, which is no reading at all."""
    if math.isnan(value):
        if CHANNELS[code].kind is ChannelKind.EPISODIC:
            return None
        return Reading.invalid(source, code, t, Flag.NO_VALUE)
    if value == 0.0:
        return Reading.invalid(source, code, t, Flag.NO_VALUE)
    return Reading(source, code, t, value)
