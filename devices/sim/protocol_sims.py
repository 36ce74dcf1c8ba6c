"""Simulated devices that speak the real wire protocols, over a pseudo-terminal or a TCP socket.

The simulated patient of ``devices.sim.simulated`` (same scenario, seed and dose time) drives a protocol
encoder, and the bytes go out on a pty (``os.openpty``; reach it through the stable symlink
``path``) or on ``socket://127.0.0.1:<port>``. Tests and the demo then run the real transport and
decoder end to end: simulator → pyserial → ``SerialDriver`` → core → recording.

The encoders below are written from the layouts in protocols.md, independently of the decoders;
tests also use them as a convenience next to hand-written frames. ``unplug()`` closes the master
end (pyserial's ``read()`` then raises, like a pulled USB cable) and ``replug()`` opens a fresh one.
"""

from __future__ import annotations

import abc
import collections
import datetime as dt
import errno
import logging
import math
import os
import queue
import select
import socket
import tempfile
import threading
import time
import tty
from collections.abc import Callable, Sequence
from pathlib import Path

from devices.protocols.cms50 import v7_control
from devices.sim.simulated import SimulatedNibp, SimulatedOximeter, T0Provider
from monitor.clock import Clock
from monitor.ports import DeviceInfo, Driver
from monitor.readings import DeviceStatus, Flag, Quality, Reading, WaveformBlock

log = logging.getLogger(__name__)

# ---- encoders (from the specification layouts) ---------------------------------------------------


def _bit(flag: bool, shift: int) -> int:
    return (1 << shift) if flag else 0


def cms50_live5_frame(
    pleth: int, pr: int, spo2: int, *, signal: int = 8, finger_out: bool = False, probe_error: bool = False,
    searching: bool = False, beep: bool = False, bar: int = 0,
) -> bytes:  # fmt: skip
    """Old CMS50 live frame: b0 sync+signal+flags, b1 pleth, b2 bar+flags+PR bit 7, b3 PR 0-6, b4 SpO2."""
    b0 = 0x80 | signal & 0x0F | _bit(finger_out, 4) | _bit(beep, 6)
    b2 = bar & 0x0F | _bit(probe_error, 4) | _bit(searching, 5) | (pr >> 7 & 1) << 6
    return bytes((b0, pleth & 0x7F, b2, pr & 0x7F, spo2 & 0x7F))


def cms50_v7_packet(ptype: int, payload: Sequence[int]) -> bytes:
    """V7.0 packet: type, high-byte (bit 7 set, bit j = bit 7 of payload byte j), payload with bit 7 set."""
    hb = 0x80
    for j, b in enumerate(payload):
        hb |= (b >> 7 & 1) << j
    return bytes((ptype, hb, *(0x80 | b & 0x7F for b in payload)))


def cms50_v7_realtime(
    pleth: int, pr: int, spo2: int, *, pi: int | None = None, signal: int = 8, searching_long: bool = False,
    low_spo2: bool = False, beep: bool = False, probe_error: bool = False, searching: bool = False, bar: int = 0,
) -> bytes:  # fmt: skip
    """0x01 real-time packet; ``pi`` is PI x 100 (None: 0xFFFF invalid)."""
    s2 = signal & 0x0F | _bit(searching_long, 4) | _bit(low_spo2, 5) | _bit(beep, 6) | _bit(probe_error, 7)
    s3 = pleth & 0x7F | _bit(searching, 7)
    s4 = bar & 0x0F | _bit(pi is None, 4)
    pi_raw = 0xFFFF if pi is None else pi
    return cms50_v7_packet(0x01, (s2, s3, s4, pr & 0xFF, spo2 & 0xFF, pi_raw & 0xFF, pi_raw >> 8 & 0xFF))


def nonin2_frame(status: int, pleth: int, data: int) -> bytes:
    status |= 0x80
    return bytes((0x01, status, pleth & 0xFF, data & 0xFF, (0x01 + status + (pleth & 0xFF) + (data & 0xFF)) & 0xFF))


def nonin7_frame(status: int, pleth: int, data: int) -> bytes:
    status |= 0x80
    hi, lo = pleth >> 8 & 0xFF, pleth & 0xFF
    return bytes((status, hi, lo, data & 0xFF, (status + hi + lo + (data & 0xFF)) & 0xFF))


def nonin_packet_data(hr: int, spo2: int, firmware: int = 0x3A) -> list[int]:
    """DATA bytes of the 25 frames of one packet: HR MSB, HR LSB, SpO2, firmware, then zeros."""
    data = [0] * 25
    data[0], data[1], data[2], data[3] = hr >> 7 & 0x03, hr & 0x7F, spo2 & 0xFF, firmware
    return data


def nonin_packet(fmt: int, hr: int, spo2: int, status: int, pleth: Sequence[int]) -> bytes:
    """25 frames (format 2 or 7); the SYNC bit is set in frame 0's status only."""
    frame = nonin2_frame if fmt == 2 else nonin7_frame
    data = nonin_packet_data(hr, spo2)
    return b"".join(frame((status & 0xFE) | (1 if k == 0 else 0), pleth[k], data[k]) for k in range(25))


def nonin8_record(status: int, hr: int, spo2: int) -> bytes:
    return bytes((0x80 | status, hr >> 7 & 0x03, hr & 0x7F, spo2 & 0x7F))


def masimo_line(
    t: float, spo2: int | None, bpm: int | None, *, pi: float | None = 3.6, exc: int = 0x800, alarm: int = 0
) -> bytes:
    stamp = dt.datetime.fromtimestamp(t).strftime("%m/%d/%y %H:%M:%S")
    s = "---" if spo2 is None else f"{spo2:03d}"
    b = "---" if bpm is None else f"{bpm:03d}"
    p = "--.--" if pi is None else f"{pi:05.2f}"
    return (
        f"{stamp} SN=0000056661 SPO2={s}% BPM={b} PI={p}% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- "
        f"ALARM={alarm:04X} EXC={exc:06X}\r\n"
    ).encode("ascii")


def accutorr_line(
    sao2: int | None, pr: int | None, sys: int | None, mean: int | None, dia: int | None,
    s0: int = 0, s1: int = 0, s2: int = 0, minutes: int | None = None,
) -> bytes:  # fmt: skip
    def f(v: int | None) -> str:
        return "--" if v is None else f"{v:03d}"

    return ("P:" + ",".join(f(v) for v in (sao2, pr, sys, mean, dia, s0, s1, s2, minutes)) + "\r\n").encode("ascii")


def hl7_ts(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y%m%d%H%M%S") + "+0000"


#: (code, MDC name, unit code, unit name) per channel, for the encoder.
HL7_OBS = {
    "hr": ("147842", "MDC_ECG_HEART_RATE", "264864", "MDC_DIM_BEAT_PER_MIN"),
    "pr": ("149530", "MDC_PULS_OXIM_PULS_RATE", "264864", "MDC_DIM_BEAT_PER_MIN"),
    "spo2": ("150456", "MDC_PULS_OXIM_SAT_O2", "262688", "MDC_DIM_PERCENT"),
    "rr": ("151562", "MDC_RESP_RATE", "264928", "MDC_DIM_RESP_PER_MIN"),
    "temp": ("150344", "MDC_TEMP", "268192", "MDC_DIM_DEGC"),
    "nibp_sys": ("150021", "MDC_PRESS_BLD_NONINV_SYS", "266016", "MDC_DIM_MMHG"),
    "nibp_dia": ("150022", "MDC_PRESS_BLD_NONINV_DIA", "266016", "MDC_DIM_MMHG"),
    "nibp_map": ("150023", "MDC_PRESS_BLD_NONINV_MEAN", "266016", "MDC_DIM_MMHG"),
}
HL7_CUFF = {
    "nibp_sys": ("150301", "MDC_PRESS_CUFF_SYS"),
    "nibp_dia": ("150302", "MDC_PRESS_CUFF_DIA"),
    "nibp_map": ("150303", "MDC_PRESS_CUFF_MEAN"),
}


def hl7_oru(control_id: str, t: float, values: Sequence[tuple[str, float | None]], *, cuff_codes: bool = False) -> bytes:
    """An IHE PCD-01 style ORU^R01 in MLLP framing; a None value is sent as an empty OBX-5 with status X."""
    ts = hl7_ts(t)
    segs = [
        f"MSH|^~\\&|SIMMON|SIM|||{ts}||ORU^R01^ORU_R01|{control_id}|P|2.6|||NE|AL||UNICODE UTF-8|||"
        "PCD_DEC_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
        "PID|||SIM-0001^^^SIM^PI||Simulated^Patient",
        "PV1||I|BAY1",
        f"OBR|1|{control_id}^SIMMON||182777000^monitoring of patient^SNOMED-CT|||{ts}",
        "OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X",
    ]
    for k, (channel, value) in enumerate(values, start=2):
        code, name, unit, unit_name = HL7_OBS[channel]
        if cuff_codes and channel in HL7_CUFF:
            code, name = HL7_CUFF[channel]
        v = "" if value is None else (f"{value:.1f}" if channel == "temp" else f"{value:.0f}")
        status = "X" if value is None else "R"
        segs.append(f"OBX|{k}|NM|{code}^{name}^MDC|1.1.1.{k}|{v}|{unit}^{unit_name}^MDC|||||{status}|||{ts}")
    return b"\x0b" + "\r".join(segs).encode("utf-8") + b"\r\x1c\r"


# ---- protocol devices: the simulated patient → bytes ----------------------------------------------


class _Numerics:
    """The latest numeric state of the simulated oximeter or cuff."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        self.quality: dict[str, tuple[Quality, Flag]] = {}
        self.t: dict[str, float] = {}

    def update(self, r: Reading) -> None:
        self.values[r.channel] = r.value
        self.quality[r.channel] = (r.quality, r.flags)
        self.t[r.channel] = r.t

    def int_or_none(self, channel: str) -> int | None:
        v = self.values.get(channel)
        return None if v is None or math.isnan(v) else round(v)

    def probe_off(self) -> bool:
        return any(q is Quality.INVALID for q, _ in self.quality.values())

    def artefact(self) -> bool:
        return any(Flag.ARTEFACT in f for _, f in self.quality.values())


class ProtocolDevice(abc.ABC):
    """One simulated instrument: takes the simulated patient's output, answers the host, emits bytes."""

    #: protocol name (a decoder in the registry) and which simulated drivers feed it
    protocol: str
    needs: tuple[str, ...] = ("oximeter",)

    def __init__(self) -> None:
        self.num = _Numerics()
        self.encoded: collections.deque[tuple[str, float]] = collections.deque(maxlen=100_000)
        self._out = bytearray()

    def on_reading(self, r: Reading) -> None:
        self.num.update(r)

    def on_block(self, b: WaveformBlock) -> None:  # noqa: B027 - optional
        pass

    def on_host(self, data: bytes) -> None:  # noqa: B027 - optional
        pass

    def on_plugged(self) -> None:  # noqa: B027 - optional
        pass

    def take_output(self, now: float) -> bytes:
        self._tick(now)
        out = bytes(self._out)
        self._out.clear()
        return out

    def _tick(self, now: float) -> None:  # noqa: B027 - optional
        pass

    def _sent(self, channel: str, value: float | None) -> None:
        if value is not None:
            self.encoded.append((channel, float(value)))


class _PlethClocked(ProtocolDevice):
    """Frames at the protocol's rate, each carrying the pleth sample nearest its time; no pleth
    (a dropout) means no frames, like a device that went quiet."""

    frame_fs = 60.0

    def __init__(self) -> None:
        super().__init__()
        self._origin: float | None = None
        self._k = 0

    def on_block(self, b: WaveformBlock) -> None:
        if b.channel != "pleth":
            return
        for i in range(b.n):
            t = b.t0 + i / b.fs
            if self._origin is None:
                self._origin = t
            y = float(b.samples[i])
            while self._origin + self._k / self.frame_fs <= t:
                if t - (self._origin + self._k / self.frame_fs) < 2.0 / b.fs:
                    self._frame(y, t)
                self._k += 1

    @abc.abstractmethod
    def _frame(self, pleth: float, t: float) -> None: ...

    def _values(self) -> tuple[int | None, int | None, bool]:
        pr, spo2 = self.num.int_or_none("pr"), self.num.int_or_none("spo2")
        return pr, spo2, self.num.probe_off()


class Cms50Live5Device(_PlethClocked):
    protocol = "cms50-live5"

    def _frame(self, pleth: float, t: float) -> None:
        pr, spo2, off = self._values()
        p = 0 if math.isnan(pleth) else round(pleth * 127)
        self._out += cms50_live5_frame(p, 255 if pr is None or off else pr, 127 if spo2 is None or off else spo2, finger_out=off)
        if not off:
            self._sent("pr", pr)
            self._sent("spo2", spo2)


class Cms50V7Device(_PlethClocked):
    """Streams only after the host's A1, and stops when the AF keep-alive stays away for 5 s."""

    protocol = "cms50-v7"
    KEEPALIVE_TIMEOUT_S = 5.0

    def __init__(self) -> None:
        super().__init__()
        self._host = bytearray()
        self._alive_until = -math.inf

    def on_host(self, data: bytes) -> None:
        self._host += data
        start, stop, keep = v7_control(0xA1), v7_control(0xA2), v7_control(0xAF)
        while len(self._host) >= 9:
            i = self._host.find(0x7D)
            if i < 0:
                self._host.clear()
                break
            pkt = bytes(self._host[i : i + 9])
            if len(pkt) < 9:
                del self._host[:i]
                break
            del self._host[: i + 9]
            if pkt in (start, keep):
                self._alive_until = time.monotonic() + self.KEEPALIVE_TIMEOUT_S
            elif pkt == stop:
                self._alive_until = -math.inf

    def on_plugged(self) -> None:
        self._alive_until = -math.inf
        self._host.clear()

    @property
    def streaming(self) -> bool:
        return time.monotonic() < self._alive_until

    def _frame(self, pleth: float, t: float) -> None:
        if not self.streaming:
            return
        pr, spo2, off = self._values()
        p = 64 if off or math.isnan(pleth) else round(pleth * 127)
        self._out += cms50_v7_realtime(
            p, 0xFF if pr is None or off else pr, 0x7F if spo2 is None or off else spo2, pi=360, probe_error=off
        )
        if not off:
            self._sent("pr", pr)
            self._sent("spo2", spo2)


class NoninDevice(_PlethClocked):
    """Formats 2 and 7: 75 frames/s in packets of 25."""

    frame_fs = 75.0

    def __init__(self, fmt: int) -> None:
        super().__init__()
        self.fmt = fmt
        self.protocol = f"nonin-{fmt}"
        self._pleth: list[int] = []
        self._packet: tuple[int, int, int] | None = None

    def _frame(self, pleth: float, t: float) -> None:
        scale = 255 if self.fmt == 2 else 65535
        if not self._pleth:
            pr, spo2, off = self._values()
            status = 0x40 if off else (0x20 if self.num.artefact() else 0) | 0x02  # green perfusion
            hr = 511 if pr is None or off else pr
            sat = 127 if spo2 is None or off else spo2
            self._packet = (hr, sat, status)
            if not off:
                self._sent("pr", pr)
                self._sent("spo2", spo2)
        self._pleth.append(0 if math.isnan(pleth) else round(pleth * scale))
        if len(self._pleth) == 25:
            assert self._packet is not None
            hr, sat, status = self._packet
            self._out += nonin_packet(self.fmt, hr, sat, status, self._pleth)
            self._pleth = []


class Nonin8Device(_PlethClocked):
    protocol = "nonin-8"
    frame_fs = 1.0

    def _frame(self, pleth: float, t: float) -> None:
        pr, spo2, off = self._values()
        status = 0x40 if off else (0x20 if self.num.artefact() else 0) | 0x02
        self._out += nonin8_record(status, 511 if pr is None or off else pr, 127 if spo2 is None or off else spo2)
        if not off:
            self._sent("pr", pr)
            self._sent("spo2", spo2)


class MasimoDevice(_PlethClocked):
    protocol = "masimo-ascii"
    frame_fs = 1.0

    def _frame(self, pleth: float, t: float) -> None:
        pr, spo2, off = self._values()
        exc = 0x800 | (0x020 if off else 0) | (0x010 if self.num.artefact() else 0)
        self._out += masimo_line(t, None if off else spo2, None if off else pr, exc=exc)
        if not off:
            self._sent("pr", pr)
            self._sent("spo2", spo2)


class AccutorrDevice(ProtocolDevice):
    """Answers each ``P`` with the last cuff result and the minutes since it, then a ``>`` prompt."""

    protocol = "accutorr"
    needs = ("nibp",)

    def __init__(self) -> None:
        super().__init__()
        self._now = 0.0

    def on_plugged(self) -> None:
        self._out += b"ACCUTORR PC Interface is ready\r\n>"

    def on_host(self, data: bytes) -> None:
        for _ in range(data.count(b"P")):
            n = self.num
            sys, dia, mean = n.int_or_none("nibp_sys"), n.int_or_none("nibp_dia"), n.int_or_none("nibp_map")
            t = n.t.get("nibp_sys")
            minutes = None if t is None else max(0, int((self._now - t) // 60))
            s2 = 0x02 if any(Flag.ARTEFACT in f for _, f in n.quality.values()) else 0
            self._out += accutorr_line(None, None, sys, mean, dia, 0, 0, s2, minutes) + b">"
            for ch, v in (("nibp_sys", sys), ("nibp_dia", dia), ("nibp_map", mean)):
                self._sent(ch, v)

    def _tick(self, now: float) -> None:
        self._now = now


class Hl7Device(ProtocolDevice):
    """A monitor sending an ORU^R01 every ``interval_s`` session seconds: pulse rate (as HR), SpO2,
    RR and temperature, plus the NIBP result once after each cuff cycle."""

    protocol = "hl7-mllp"
    needs = ("oximeter", "nibp")
    TEMP_C = 36.9

    def __init__(self, interval_s: float = 5.0, cuff_codes: bool = False) -> None:
        super().__init__()
        self._interval_s = interval_s
        self._cuff_codes = cuff_codes
        self._next: float | None = None
        self._seq = 0
        self._nibp_sent: float | None = None
        self.acks = 0

    def on_host(self, data: bytes) -> None:
        self.acks += data.count(b"MSA|AA|")

    def _tick(self, now: float) -> None:
        if not self.num.values:
            return
        if self._next is None:
            self._next = now
        if now < self._next:
            return
        self._next = now + self._interval_s
        n = self.num
        values: list[tuple[str, float | None]] = []
        for src, ch in (("pr", "hr"), ("spo2", "spo2"), ("rr", "rr")):
            if src in n.values:
                v = n.int_or_none(src)
                values.append((ch, v))
                self._sent(ch, v)
        values.append(("temp", self.TEMP_C))
        self._sent("temp", self.TEMP_C)
        t_cuff = n.t.get("nibp_sys")
        if t_cuff is not None and t_cuff != self._nibp_sent:
            self._nibp_sent = t_cuff
            for ch in ("nibp_sys", "nibp_dia", "nibp_map"):
                v = n.int_or_none(ch)
                values.append((ch, v))
                self._sent(ch, v)
        self._seq += 1
        self._out += hl7_oru(f"SIM{self._seq:06d}", now, values, cuff_codes=self._cuff_codes)


def make_device(protocol: str, **options: object) -> ProtocolDevice:
    makers: dict[str, Callable[[], ProtocolDevice]] = {
        "cms50-live5": Cms50Live5Device,
        "cms50-v7": Cms50V7Device,
        "nonin-2": lambda: NoninDevice(2),
        "nonin-7": lambda: NoninDevice(7),
        "nonin-8": Nonin8Device,
        "masimo-ascii": MasimoDevice,
        "accutorr": AccutorrDevice,
        "hl7-mllp": lambda: Hl7Device(**options),  # type: ignore[arg-type]
    }
    try:
        return makers[protocol]()
    except KeyError:
        raise ValueError(f"no simulator for protocol {protocol!r}; known: {', '.join(makers)}") from None


# ---- transports ---------------------------------------------------------------------------------


class _CaptureSink:
    """The simulated drivers' private sink: everything goes to the simulator thread."""

    def __init__(self) -> None:
        self.items: queue.SimpleQueue[Reading | WaveformBlock] = queue.SimpleQueue()

    def register_device(self, info: DeviceInfo) -> None:
        pass

    def put_readings(self, readings: list[Reading]) -> None:
        for r in readings:
            self.items.put(r)

    def put_waveform(self, block: WaveformBlock) -> None:
        self.items.put(block)

    def put_status(self, status: DeviceStatus) -> None:
        pass


class _Simulator(abc.ABC):
    """Owns the simulated drivers, the protocol device and the ``sim:<protocol>`` thread."""

    def __init__(
        self,
        protocol: str,
        clock: Clock,
        scenario: str = "baseline",
        t0_provider: T0Provider | None = None,
        seed: int = 0,
        device: ProtocolDevice | None = None,
    ) -> None:
        self.clock = clock
        self.device = device or make_device(protocol)
        t0 = t0_provider or (lambda: None)
        self._drivers: list[Driver] = []
        if "oximeter" in self.device.needs:
            self._drivers.append(SimulatedOximeter(clock, scenario, t0, seed, source=f"sim-{protocol}:oximeter"))
        if "nibp" in self.device.needs:
            self._drivers.append(SimulatedNibp(clock, scenario, t0, seed, source=f"sim-{protocol}:nibp"))
        self._sink = _CaptureSink()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._plugged = False

    @property
    def protocol(self) -> str:
        return self.device.protocol

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        self.replug()
        for d in self._drivers:
            d.start(self._sink)
        self._thread = threading.Thread(target=self._run, name=f"sim:{self.protocol}", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        for d in reversed(self._drivers):
            d.stop(timeout_s)
        self.unplug()

    def __enter__(self) -> _Simulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def unplug(self) -> None:
        """Pull the cable: the host side's reads fail from now on."""
        with self._lock:
            if self._plugged:
                self._close_end()
                self._plugged = False

    def replug(self) -> None:
        with self._lock:
            if not self._plugged:
                self._open_end()
                self._plugged = True
                self.device.on_plugged()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                while True:
                    item = self._sink.items.get_nowait()
                    if isinstance(item, WaveformBlock):
                        self.device.on_block(item)
                    else:
                        self.device.on_reading(item)
            except queue.Empty:
                pass
            with self._lock:
                if self._plugged:
                    data = self._read()
                    if data:
                        self.device.on_host(data)
                out = self.device.take_output(self.clock.now())
                if out and self._plugged:
                    self._write(out)
            self._stop.wait(0.005)

    @abc.abstractmethod
    def _open_end(self) -> None: ...

    @abc.abstractmethod
    def _close_end(self) -> None: ...

    @abc.abstractmethod
    def _read(self) -> bytes: ...

    @abc.abstractmethod
    def _write(self, data: bytes) -> None: ...


class PtySimulator(_Simulator):
    """The device on a pseudo-terminal. ``path`` is a symlink in a private temp folder that always
    points at the current slave (a replug makes a new pty with a new /dev/pts number)."""

    def __init__(
        self, protocol: str, clock: Clock, *args: object, link_dir: str | os.PathLike[str] | None = None, **kwargs: object
    ) -> None:
        super().__init__(protocol, clock, *args, **kwargs)  # type: ignore[arg-type]
        self._own_dir = link_dir is None
        self._dir = Path(tempfile.mkdtemp(prefix="session-monitor-pty-")) if link_dir is None else Path(link_dir)
        self.path = str(self._dir / f"tty-{protocol}")
        self.slave_path: str | None = None
        self._master: int | None = None
        self._slave: int | None = None

    @property
    def url(self) -> str:
        return self.path

    def _open_end(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line editing: binary-clean like a real UART
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.slave_path = os.ttyname(slave)
        tmp = self.path + ".new"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(self.slave_path, tmp)
        os.replace(tmp, self.path)

    def _close_end(self) -> None:
        if os.path.lexists(self.path):
            os.unlink(self.path)
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    def stop(self, timeout_s: float = 5.0) -> None:
        super().stop(timeout_s)
        if self._own_dir:
            try:
                os.rmdir(self._dir)
            except OSError as exc:
                log.debug("could not remove %s: %s", self._dir, exc)

    def _read(self) -> bytes:
        assert self._master is not None
        try:
            return os.read(self._master, 4096)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError as exc:  # EIO: nobody has the slave open
            if exc.errno != errno.EIO:
                raise
            return b""

    def _write(self, data: bytes) -> None:
        assert self._master is not None
        try:
            os.write(self._master, data)
        except BlockingIOError:
            pass  # nobody reads and the pty buffer is full: the bytes are lost, as on a real UART
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise


class TcpSimulator(_Simulator):
    """The device behind a TCP port on 127.0.0.1 (``url`` = ``socket://127.0.0.1:<port>``), one host
    at a time. ``unplug()`` closes the listener and the connection; ``replug()`` listens on the same port."""

    def __init__(self, protocol: str, clock: Clock, *args: object, port: int = 0, **kwargs: object) -> None:
        super().__init__(protocol, clock, *args, **kwargs)  # type: ignore[arg-type]
        self.port = port
        self._listener: socket.socket | None = None
        self._client: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def _open_end(self) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(1)
        s.setblocking(False)
        self.port = s.getsockname()[1]
        self._listener = s

    def _close_end(self) -> None:
        for s in (self._client, self._listener):
            if s is not None:
                s.close()
        self._client = self._listener = None

    def _accept(self) -> None:
        assert self._listener is not None
        if select.select([self._listener], [], [], 0)[0]:
            conn, _ = self._listener.accept()
            conn.setblocking(False)
            if self._client is not None:
                self._client.close()
            self._client = conn
            self.device.on_plugged()

    def _read(self) -> bytes:
        self._accept()
        if self._client is None:
            return b""
        try:
            data = self._client.recv(4096)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError:
            data = b""
        if not data:
            self._client.close()
            self._client = None
        return data

    def _write(self, data: bytes) -> None:
        if self._client is None:
            return
        try:
            self._client.sendall(data)
        except (BlockingIOError, InterruptedError):
            pass  # the host is not reading: drop, as a device would
        except OSError:
            self._client.close()
            self._client = None


class SerialLoopback:
    """A simulated device behind a real pty, read by the real ``SerialDriver`` — one ``Driver`` for
    the demo (``--demo … --via-serial``): what the dashboard shows went through the bytes."""

    def __init__(
        self,
        protocol: str,
        clock: Clock,
        scenario: str | object,
        t0_provider: T0Provider,
        seed: int = 0,
        label: str | None = None,
    ) -> None:
        from devices.decoding import load_all
        from devices.serial_driver import SerialDriver

        self.sim = PtySimulator(protocol, clock, scenario, t0_provider, seed)  # type: ignore[arg-type]
        label = label or f"Simulated {protocol} (over a pty)"
        self.driver = SerialDriver(self.sim.path, load_all()[protocol], clock, source=f"serial:sim-{protocol}", label=label)

    @property
    def info(self) -> DeviceInfo:
        return self.driver.info

    def start(self, sink: object) -> None:
        self.sim.start()
        self.driver.start(sink)  # type: ignore[arg-type]

    def stop(self, timeout_s: float = 5.0) -> None:
        self.driver.stop(timeout_s)
        self.sim.stop(timeout_s)
