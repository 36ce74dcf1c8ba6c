"""Line framing for the ASCII protocols (Masimo, Accutorr): CR, LF or CRLF end a line; an
over-long run without a line end is garbage and is dropped, so a wrong baud rate cannot make the
buffer grow without bound."""

from __future__ import annotations

from devices.decoding import DecoderStats, note

MAX_LINE = 512


class LineSplitter:
    __slots__ = ("_buf", "_discarding", "_name", "_stats")

    def __init__(self, stats: DecoderStats, name: str) -> None:
        self._buf = bytearray()
        self._discarding = False  # inside an over-long line: drop up to its end
        self._stats = stats
        self._name = name

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf
        buf += data
        lines: list[bytes] = []
        start = 0
        n = len(buf)
        while start < n:
            cr = buf.find(b"\r", start)
            lf = buf.find(b"\n", start)
            end = cr if lf < 0 or (0 <= cr < lf) else lf
            if end < 0:
                break
            if self._discarding:
                self._stats.skipped_bytes += end - start
                self._discarding = False
            elif end - start > MAX_LINE:
                self._drop(end - start)
            elif end > start:
                lines.append(bytes(buf[start:end]))
            start = end + 1
        del buf[:start]
        if len(buf) > MAX_LINE:
            if self._discarding:
                self._stats.skipped_bytes += len(buf)
            else:
                self._drop(len(buf))
            self._discarding = True
            buf.clear()
        return lines

    def _drop(self, count: int) -> None:
        self._stats.rejected += 1
        self._stats.skipped_bytes += count
        note(self._stats, f"{self._name}: line longer than {MAX_LINE} bytes dropped (wrong baud rate?)")
