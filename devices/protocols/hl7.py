"""HL7 v2 ORU^R01 vital signs (IHE PCD-01 and vendor variants) in MLLP framing, over serial or TCP.

protocols.md §4. A message is ``0x0B <segments separated by CR> 0x1C 0x0D``. Numerics come from
OBX segments with value type NM; the code in OBX-3 picks the channel. NIBP arrives under either
code family (150021-3 MDC_PRESS_BLD_NONINV_* or 150301-3 MDC_PRESS_CUFF_*): both are accepted.
An empty OBX-5 or result status ``X`` is "no value" (INVALID), never 0. Every accepted message is
acknowledged (MSA|AA), as MLLP senders expect; the driver writes ``take_replies()``.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from devices.decoding import DecoderSpec, DecoderStats, Measurement, note, register
from devices.protocols._common import numeric
from monitor.readings import Flag, Quality

SB, EB, CR = 0x0B, 0x1C, 0x0D
MAX_MESSAGE = 1 << 20

#: OBX-3 identifier → channel. MDC codes (11073-10101) and the Philips MDIL codes from §4.
CODES: dict[str, str] = {
    "147842": "hr",  # MDC_ECG_HEART_RATE
    "149530": "pr",  # MDC_PULS_OXIM_PULS_RATE
    "149522": "pr",  # MDC_BLD_PULS_RATE_INV
    "150456": "spo2",  # MDC_PULS_OXIM_SAT_O2
    "150021": "nibp_sys", "150022": "nibp_dia", "150023": "nibp_map",  # MDC_PRESS_BLD_NONINV_*
    "150301": "nibp_sys", "150302": "nibp_dia", "150303": "nibp_map",  # MDC_PRESS_CUFF_*
    "150033": "abp_sys", "150034": "abp_dia", "150035": "abp_map",  # MDC_PRESS_BLD_ART_*
    "151562": "rr",  # MDC_RESP_RATE
    "150344": "temp",  # MDC_TEMP
    "150364": "temp",  # MDC_TEMP_BODY
    "0002-4182": "hr",  # Philips MDIL HR
    "0002-4bb8": "spo2",  # Philips MDIL SpO2
}  # fmt: skip
#: Unit (OBX-6 identifier or text) → factor to the channel's unit; a unit not listed is refused.
UNITS: dict[str, tuple[str, ...]] = {
    "/min": ("264864", "/min", "bpm", "{beats}/min", "{breaths}/min", "0004-0aa0", "264928", "265024"),
    "%": ("262688", "%", "0004-0220"),
    "mm[Hg]": ("266016", "mmHg", "mm[Hg]", "0004-0f20"),
    "Cel": ("268192", "Cel", "°C", "degC", "C"),
}
_CHANNEL_UNIT = {"hr": "/min", "pr": "/min", "rr": "/min", "spo2": "%", "temp": "Cel"}
_TS = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?([+-]\d{4})?$")


def hl7_time(text: str) -> float | None:
    """HL7 TS ``YYYYMMDD[HH[MM[SS[.ffff]]]][+/-ZZZZ]`` → epoch seconds (no zone: local time)."""
    m = _TS.match(text.strip())
    if not m:
        return None
    y, mo, d, h, mi, s, frac, zone = m.groups()
    try:
        t = dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
        if zone:
            sign = 1 if zone[0] == "+" else -1
            t = t.replace(tzinfo=dt.timezone(sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))))
        return t.timestamp() + (float("0." + frac) if frac else 0.0)
    except (ValueError, OverflowError, OSError):  # impossible dates or zones: no device time
        return None


def _unit_ok(channel: str, unit_field: str, comp: str) -> bool:
    unit = _CHANNEL_UNIT.get(channel, "mm[Hg]")
    given = {p.strip() for p in unit_field.split(comp)[:2] if p.strip()}
    return not given or bool(given & set(UNITS[unit]))


class Hl7MllpDecoder:
    keepalive_interval_s: float | None = None

    def __init__(self) -> None:
        self.stats = DecoderStats()
        self._buf = bytearray()
        self._replies = bytearray()

    def start_commands(self) -> bytes:
        return b""

    def keepalive(self) -> bytes:
        return b""

    def take_replies(self) -> bytes:
        out = bytes(self._replies)
        self._replies.clear()
        return out

    def feed(self, data: bytes) -> list[Measurement]:
        out: list[Measurement] = []
        buf = self._buf
        buf += data
        stats = self.stats
        while buf:
            start = buf.find(SB)
            if start < 0:
                stats.skipped_bytes += len(buf)
                buf.clear()
                break
            if start:
                stats.skipped_bytes += start
                del buf[:start]
            end = buf.find(bytes((EB, CR)), 1)
            again = buf.find(SB, 1)
            if 0 <= again < (end if end >= 0 else len(buf)):  # a new start before this one ended
                stats.rejected += 1
                stats.skipped_bytes += again
                note(stats, "hl7-mllp: message cut short by the next start block")
                del buf[:again]
                continue
            if end < 0:
                if len(buf) > MAX_MESSAGE:
                    stats.rejected += 1
                    stats.skipped_bytes += len(buf)
                    note(stats, "hl7-mllp: message longer than 1 MB dropped")
                    buf.clear()
                break
            message = bytes(buf[1:end])
            del buf[: end + 2]
            self._message(message.decode("utf-8", "replace"), out)
        return out

    def _message(self, text: str, out: list[Measurement]) -> None:
        segments = [s for s in re.split(r"[\r\n]+", text) if s]
        if not segments or not segments[0].startswith("MSH") or len(segments[0]) < 8:
            self.stats.rejected += 1
            note(self.stats, "hl7-mllp: message without an MSH segment")
            return
        msh = segments[0]
        sep, comp = msh[3], msh[4]
        msh_fields = msh.split(sep)
        msg_type = msh_fields[8] if len(msh_fields) > 8 else ""
        control_id = msh_fields[9] if len(msh_fields) > 9 else ""
        self.stats.frames += 1
        kind = msg_type.split(comp)[0]
        if kind not in ("ORU", "ORF"):
            return  # ACKs, queries, ...: nothing to decode, nothing to acknowledge
        self._ack(msh_fields, sep, comp, control_id)
        msg_t = hl7_time(msh_fields[6]) if len(msh_fields) > 6 else None
        obr_t = None
        for seg in segments[1:]:
            fields = seg.split(sep)
            if fields[0] == "OBR":
                obr_t = hl7_time(fields[7]) if len(fields) > 7 else None
            elif fields[0] == "OBX":
                self._obx(fields, comp, obr_t if obr_t is not None else msg_t, out)

    def _obx(self, f: list[str], comp: str, default_t: float | None, out: list[Measurement]) -> None:
        f = f + [""] * (15 - len(f))
        ident = f[3].split(comp)[0].strip()
        ident = ident.rsplit(".", 1)[-1] if ident.count(".") >= 3 else ident  # "1.1.9.150301" containment form
        channel = CODES.get(ident)
        if channel is None:
            return
        if f[2] not in ("NM", "") or (not f[2] and f[11] != "X"):
            return  # device/channel headers (empty OBX-2) and non-numeric observations
        device_t = hl7_time(f[14]) if f[14] else default_t
        status = f[11].strip()
        value_text = f[5].strip()
        if status == "X" or not value_text:
            out.append(numeric(channel, None, Quality.INVALID, Flag.NO_VALUE, device_t))
            return
        try:
            value = float(value_text)
        except ValueError:
            out.append(numeric(channel, None, Quality.OK, Flag.NONE, device_t))
            note(self.stats, f"hl7-mllp: OBX value {value_text!r} for {channel} is not a number")
            return
        if not _unit_ok(channel, f[6], comp):
            note(self.stats, f"hl7-mllp: unit {f[6]!r} for {channel} not understood; value not used")
            out.append(numeric(channel, None, Quality.INVALID, Flag.NO_VALUE, device_t))
            return
        if not math.isfinite(value) or value <= 0:
            out.append(numeric(channel, None, Quality.OK, Flag.NONE, device_t))
            return
        quality = Quality.QUESTIONABLE if status in ("P", "C", "I") else Quality.OK
        out.append(numeric(channel, value, quality, Flag.NONE, device_t))

    def _ack(self, msh: list[str], sep: str, comp: str, control_id: str) -> None:
        version = msh[11] if len(msh) > 11 else "2.6"
        enc = msh[1] if len(msh) > 1 else "^~\\&"
        sender = (msh[2] if len(msh) > 2 else "", msh[3] if len(msh) > 3 else "")
        header = sep.join(
            [
                "MSH",
                enc,
                "SESSION-MONITOR",
                "",
                sender[0],
                sender[1],
                "",
                "",
                f"ACK{comp}R01{comp}ACK",
                f"ACK{control_id}",
                "P",
                version,
            ]
        )
        body = f"{header}\rMSA{sep}AA{sep}{control_id}\r"
        self._replies += bytes((SB,)) + body.encode("utf-8") + bytes((EB, CR))


register(
    DecoderSpec(
        "hl7-mllp",
        "HL7 v2 ORU^R01 vital signs in MLLP framing (IHE PCD-01, GE, Philips): HR, SpO2, NIBP (both MDC code families), RR, temp",
        Hl7MllpDecoder,
        transport="serial",
        input="bytes",
        default_baud=9600,
        line_rate_bytes_s=250,
        device_kind="monitor",
        stale_after_s=90.0,
    )
)
