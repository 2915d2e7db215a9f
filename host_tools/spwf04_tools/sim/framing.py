"""AT framing: host bytes -> command lines and payloads; module lines -> wire units.

Host -> module (spec 2.1): a command line ends with a single CR; a payload command is followed by exactly
<len> raw bytes. Module -> host (spec 2.2): every line ends with CR LF; SOCKR data is raw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

CR = 0x0D
CRLF = b"\r\n"
_EDIT_BYTES = (b"\x08", b"\x7f")

EventKind = Literal["line", "payload"]


@dataclass(frozen=True)
class InputEvent:
    kind: EventKind
    data: bytes  # the line without its CR, or the payload
    overflow: bool = False  # the line was longer than the limit (extra bytes discarded)


class InputFramer:
    """Splits the host's byte stream into command lines and payloads.

    Choices (docs/simulator.md): LF is ignored; BS and DEL erase the previous byte of the line (for people
    at a terminal); bytes past `max_line` are discarded and the line is flagged as overflowing.
    """

    def __init__(self, max_line: int = 512, echo_hook: Callable[[bytes], None] | None = None) -> None:
        self.max_line = max_line
        self.echo_hook = echo_hook  # per-character echo: called with the bytes each line edit shows
        self._buf = bytearray()
        self._line = bytearray()
        self._overflow = False
        self._payload_need = 0

    def clear(self) -> None:
        self._buf.clear()
        self._line.clear()
        self._overflow = False
        self._payload_need = 0

    def feed(self, data: bytes) -> None:
        self._buf += data

    @property
    def buffered(self) -> int:
        return len(self._buf)

    @property
    def waiting_payload(self) -> int:
        return self._payload_need

    @property
    def partial_line(self) -> bytes:
        return bytes(self._line)

    def expect_payload(self, n: int) -> None:
        """After a payload command's line: the next n bytes are its payload, whatever they contain."""
        self._payload_need = n

    def next_event(self) -> InputEvent | None:
        if self._payload_need:
            if len(self._buf) < self._payload_need:
                return None
            n, self._payload_need = self._payload_need, 0
            payload = bytes(self._buf[:n])
            del self._buf[:n]
            return InputEvent("payload", payload)
        idx = self._buf.find(b"\r")
        if idx < 0:
            self._absorb(len(self._buf))
            return None
        self._absorb(idx)
        del self._buf[:1]  # the CR
        line, overflow = bytes(self._line), self._overflow
        self._line.clear()
        self._overflow = False
        return InputEvent("line", line, overflow)

    def _absorb(self, n: int) -> None:
        if not n:
            return
        seg = bytes(self._buf[:n])
        del self._buf[:n]
        if b"\n" in seg:
            seg = seg.replace(b"\n", b"")
        if any(e in seg for e in _EDIT_BYTES):
            for b in seg:  # rare: only when a person edits a line
                if b in (0x08, 0x7F):
                    if self._line:
                        self._line.pop()
                        if self.echo_hook:
                            self.echo_hook(b"\b \b")
                else:
                    self._add(bytes((b,)))
            return
        self._add(seg)

    def _add(self, seg: bytes) -> None:
        room = self.max_line - len(self._line)
        if len(seg) > room:
            self._overflow = True
            seg = seg[: max(room, 0)]
        self._line += seg
        if seg and self.echo_hook:
            self.echo_hook(seg)


# --- output units ------------------------------------------------------------------------------------------

UnitKind = Literal["echo", "line", "wind", "data"]


@dataclass
class Unit:
    """One piece of module output with a known boundary: a whole line (CR LF included) or raw data."""

    kind: UnitKind
    data: bytes
    sockr: bool = False  # part of a SOCKR answer (header, data, OK): no injection inside unless asked


def encode_text(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def decode_line(line: bytes) -> str:
    return line.decode("utf-8", "surrogateescape")


def line_unit(text: str | bytes, kind: UnitKind = "line", leading_crlf: bool = False, sockr: bool = False) -> Unit:
    body = text if isinstance(text, bytes) else encode_text(text)
    return Unit(kind, (CRLF if leading_crlf else b"") + body + CRLF, sockr)


def split_params(params: str) -> list[str]:
    """Positional, comma-separated; empty parameters are kept (spec 2.1)."""
    return params.split(",") if params != "" else []
