"""``session-monitor decode``: the first tool a clinic's IT person points at a new device.

Reads raw bytes from stdin (or a live port) — or, for BLE characteristics, one value per line as
hex — runs the protocol's decoder and prints one JSON object per decoded measurement. A summary
of frames decoded and rejected goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import IO

from devices.decoding import ConversingDecoder, Decoder, DecoderSpec, Measurement, load_all
from monitor.channels import CHANNELS
from monitor.errors import ConfigError, DeviceError
from monitor.readings import Flag


def decode_parser(names: list[str]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="session-monitor decode", description="Decode a device's data and print one JSON object per value."
    )
    p.add_argument("--protocol", required=True, metavar="NAME", help="one of: " + ", ".join(names))
    p.add_argument(
        "--port",
        metavar="URL",
        help="read from a live port (/dev/ttyUSB0, COM3, socket://host:port, rfc2217://…) instead of stdin",
    )
    p.add_argument("--seconds", type=float, default=10.0, metavar="S", help="with --port: read for S seconds (default 10)")
    p.add_argument("--baud", type=int, metavar="N", help="with --port: baud rate (default: the protocol's)")
    return p


def measurement_json(m: Measurement) -> str:
    value = None if math.isnan(m.value) else m.value
    flags = [f.name for f in Flag if f and f in m.flags and f.name]
    doc = {
        "channel": m.channel,
        "value": value,
        "unit": CHANNELS[m.channel].ucum,
        "quality": m.quality.name,
        "flags": flags,
        "device_t": m.device_t,
    }
    return json.dumps(doc, allow_nan=False)


def _emit(measurements: list[Measurement], out: IO[str]) -> None:
    for m in measurements:
        out.write(measurement_json(m) + "\n")


def _feed_hex_lines(decoder: Decoder, stream: IO[bytes], out: IO[str]) -> None:
    for lineno, raw in enumerate(stream, 1):
        text = raw.decode("ascii", "replace").strip().replace(" ", "").replace(":", "").replace("-", "")
        if not text or text.startswith("#"):
            continue
        try:
            data = bytes.fromhex(text)
        except ValueError:
            decoder.stats.rejected += 1
            print(f"decode: line {lineno} is not hex: {raw.strip()!r}", file=sys.stderr)
            continue
        _emit(decoder.feed(data), out)


def _feed_bytes(decoder: Decoder, stream: IO[bytes], out: IO[str]) -> None:
    while chunk := stream.read1(4096) if hasattr(stream, "read1") else stream.read(4096):
        _emit(decoder.feed(chunk), out)
        out.flush()


def _feed_port(spec: DecoderSpec, decoder: Decoder, url: str, seconds: float, baud: int | None, out: IO[str]) -> None:
    import serial

    try:
        port = serial.serial_for_url(url, baudrate=baud or spec.default_baud or 9600, timeout=0.1)
    except (serial.SerialException, ValueError, OSError) as exc:
        raise DeviceError(
            f"cannot open {url}: {exc}; check the port name (session-monitor lists ports in the device dialog)"
        ) from None
    deadline = time.monotonic() + seconds
    talk = decoder if isinstance(decoder, ConversingDecoder) else None  # start / keep-alive / poll / ACK, as the driver does
    next_keepalive = time.monotonic() + (talk.keepalive_interval_s or 0.0) if talk is not None else math.inf
    try:
        if talk is not None:
            port.write(talk.start_commands())
        while time.monotonic() < deadline:
            data = port.read(port.in_waiting or 1)
            if data:
                _emit(decoder.feed(data), out)
                out.flush()
                if talk is not None and (reply := talk.take_replies()):
                    port.write(reply)
            if talk is not None and talk.keepalive_interval_s and time.monotonic() >= next_keepalive:
                next_keepalive = time.monotonic() + talk.keepalive_interval_s
                port.write(talk.keepalive())
    except serial.SerialException as exc:
        raise DeviceError(f"{url} stopped answering: {exc}") from None
    finally:
        port.close()


def decode_main(argv: list[str], stdin: IO[bytes] | None = None, out: IO[str] | None = None) -> int:
    registry = load_all()
    names = sorted(registry)
    args = decode_parser(names).parse_args(argv)
    spec = registry.get(args.protocol)
    if spec is None:
        raise ConfigError(f"unknown protocol {args.protocol!r}; known protocols: {', '.join(names) or 'none installed'}")
    decoder = spec.factory()
    out = out or sys.stdout
    if args.port:
        _feed_port(spec, decoder, args.port, args.seconds, args.baud, out)
    elif spec.input == "hex-lines":
        _feed_hex_lines(decoder, stdin or sys.stdin.buffer, out)
    else:
        _feed_bytes(decoder, stdin or sys.stdin.buffer, out)
    s = decoder.stats
    print(f"decode: {s.frames} frames decoded, {s.rejected} rejected, {s.skipped_bytes} bytes skipped", file=sys.stderr)
    return 0
