"""`--log FILE`: every byte in both directions with a timestamp, secrets redacted by default.

Format (one record per chunk as it crossed the wire):
    # header lines start with '#'
    <seconds since start, 6 decimals> <H>M|M>H> "<bytes, escaped>"
Escapes: \\r \\n \\t \\\\ \\" and \\xNN for other non-printable bytes; `<redacted>` / `<N bytes redacted>` mark
removed secrets. Redaction (default on): the value of wifi_wpa_psk_text in SCFG lines and their echo, in
`AT-S.Var:wifi_wpa_psk_text=` lines, and the payload of `AT+S.TLSCERT=key,<n>` (private key). Lines that
could be such a line are held back until their end, keeping the timestamp of their first byte.
"""

from __future__ import annotations

import datetime as _dt
import re
import threading
import time
from pathlib import Path
from typing import BinaryIO

_PSK_PREFIXES = (b"at+s.scfg=wifi_wpa_psk_text,", b"at-s.var:wifi_wpa_psk_text=")
_KEY_PREFIX = b"at+s.tlscert=key,"
_ALL_PREFIXES = _PSK_PREFIXES + (_KEY_PREFIX,)
_HOLD_LIMIT = 600
_KEY_LEN_RE = re.compile(rb"^at\+s\.tlscert=key,\s*(\d+)", re.IGNORECASE)


def escape(data: bytes) -> str:
    out = []
    for chunk in re.split(rb"([^\x20-\x7e]|[\\\"])", data):
        if not chunk:
            continue
        if chunk in (b"\\", b'"'):
            out.append("\\" + chunk.decode())
        elif len(chunk) == 1 and not 0x20 <= chunk[0] <= 0x7E:
            out.append({b"\r": "\\r", b"\n": "\\n", b"\t": "\\t"}.get(chunk, f"\\x{chunk[0]:02x}"))
        else:
            out.append(chunk.decode("ascii"))
    return "".join(out)


class _Redactor:
    """Per-direction stream filter: passes bytes through, holding back lines that may carry a secret."""

    def __init__(self, payloads: bool) -> None:
        self.payloads = payloads  # this direction carries TLSCERT payloads (host -> module)
        self.held: bytearray | None = bytearray()  # None: inside a line that cannot be secret
        self.held_t = 0.0
        self.skip = 0

    def feed(self, data: bytes, t: float) -> list[tuple[float, str]]:
        out: list[tuple[float, str]] = []
        i, n = 0, len(data)
        while i < n:
            if self.skip:
                k = min(self.skip, n - i)
                out.append((t, f"<{k} bytes redacted>"))
                self.skip -= k
                i += k
                continue
            end = _line_end(data, i)
            seg = data[i:end]
            i = end
            complete = bool(seg) and seg[-1:] in (b"\r", b"\n")
            if self.held is None:
                out.append((t, escape(seg)))
                if complete:
                    self.held = bytearray()
                continue
            if not self.held:
                self.held_t = t
            self.held += seg
            low = bytes(self.held).lower()
            if complete:
                out.append((self.held_t, self._finish(bytes(self.held), low)))
                self.held = bytearray()
            elif not any(p.startswith(low[: len(p)]) for p in _ALL_PREFIXES) or len(self.held) > _HOLD_LIMIT:
                out.append((self.held_t, escape(bytes(self.held))))
                self.held = None
        return out

    def _finish(self, line: bytes, low: bytes) -> str:
        for p in _PSK_PREFIXES:
            if low.startswith(p):
                ending = line[len(line.rstrip(b"\r\n")):]
                return escape(line[: len(p)]) + "<redacted>" + escape(ending)
        if self.payloads and low.startswith(_KEY_PREFIX):
            m = _KEY_LEN_RE.match(line)
            if m:
                self.skip = int(m.group(1))
        return escape(line)

    def flush(self, t: float) -> list[tuple[float, str]]:
        if self.held:
            rec = [(self.held_t, escape(bytes(self.held)))]
            self.held = bytearray()
            return rec
        return []


def _line_end(data: bytes, i: int) -> int:
    """End of the segment starting at i: after the next CR LF, CR or LF (a CR LF stays together)."""
    cr, lf = data.find(b"\r", i), data.find(b"\n", i)
    ends = [e for e in (cr, lf) if e >= 0]
    if not ends:
        return len(data)
    end = min(ends)
    if data[end:end + 2] == b"\r\n":
        return end + 2
    return end + 1


class ByteLog:
    TO_MODULE = "H>M"
    TO_HOST = "M>H"

    def __init__(self, path: Path, redact: bool = True, header: str = "") -> None:
        self.path = Path(path)
        self.redact = redact
        self._fh: BinaryIO | None = open(self.path, "ab", buffering=0)
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self._red = {self.TO_MODULE: _Redactor(payloads=True), self.TO_HOST: _Redactor(payloads=False)}
        started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")
        note = "secrets redacted" if redact else "SECRETS NOT REDACTED"
        self._write(f"# spwf04 sim byte log, started {started}; {header}; {note}\n"
                    f"# H>M host to module, M>H module to host\n")

    def record(self, direction: str, data: bytes) -> None:
        if not data:
            return
        with self._lock:
            if self._fh is None:
                return
            t = time.monotonic() - self._t0
            if not self.redact:
                self._write(f"{t:.6f} {direction} \"{escape(data)}\"\n")
                return
            for ts, text in self._red[direction].feed(data, t):
                if text:
                    self._write(f"{ts:.6f} {direction} \"{text}\"\n")

    def note(self, text: str) -> None:
        with self._lock:
            if self._fh is not None:
                self._write(f"# {time.monotonic() - self._t0:.6f} {text}\n")

    def close(self) -> None:
        with self._lock:
            if self._fh is None:
                return
            t = time.monotonic() - self._t0
            for direction, red in self._red.items():
                for ts, text in red.flush(t):
                    self._write(f"{ts:.6f} {direction} \"{text}\"\n")
            self._fh.close()
            self._fh = None

    def _write(self, text: str) -> None:
        assert self._fh is not None
        self._fh.write(text.encode("utf-8"))
