"""Decode a captured SPWF04SA UART session with the same parser code the device runs.

spwf04 log FILE|- [--fw 1.0|1.1] [--json]

Inputs (detected): the simulator's `--log` files (`<t> H>M|M>H "<escaped bytes>"`, exact in both
directions), raw captures (the bytes as they crossed the UART), and text logs such as those of ST's C example
(host debug prefixes `>>`/`<<`/`>`/`<`/TX/RX, lines whose leading `AT` was lost, lines run together).
Module output goes through spwf04.parser (micropython/spwf04/parser.py, imported via device_path()); the
host's commands and payloads are split here. Every line is annotated; a summary follows (certificates loaded
and their lengths versus bytes sent, the module's SKI versus the `auth` sent versus the loaded CA, the clock,
the sockets) with every inconsistency found. `--json`: one object per event, then a summary object.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from spwf04_tools import at_tables, device_path, logtext

device_path()
from spwf04 import cert as devcert  # noqa: E402  (the device's own code, shared with the board)
from spwf04.utc import CLOCK_MIN  # noqa: E402
from spwf04 import parser as P  # noqa: E402
from spwf04.errors import redact  # noqa: E402

# Host commands followed by <len> raw bytes (spec 2.1) and the index of their length parameter.
_PAYLOAD_CMDS = {"SOCKW": 1, "SOCKDW": -1, "TLSCERT": 1, "WPAECERT": -1, "FSC": 1, "CMDREQ": -1, "BYPASS": -1,
                 "SMTP": -1, "MQTTPUB": -1, "WSOCKW": 1, "INPUTSSI": -1}
_TLSCERT_PAYLOAD_KINDS = ("ca", "cert", "key", "auth")
_CMD_START = re.compile(rb"AT(?:\+S\.|\r|&)", re.IGNORECASE)
_SIM_LINE = re.compile(r'^(\d+(?:\.\d+)?) (H>M|M>H) "(.*)"$')
_SIM_PIN = re.compile(r"^# (\d+(?:\.\d+)?) pin RESET 0$")  # the board pulled the module's reset pin low
_ESC = re.compile(r'\\(x[0-9a-fA-F]{2}|[rnt\\"])|<(\d+) bytes redacted>')
_PREFIX = re.compile(r"^\s*(?:\[[^\]]{0,40}\]\s*)?(>>|<<|->|<-|TX:?|RX:?|>|<)\s?", re.IGNORECASE)
_SPLIT = re.compile(r"(?<=.)(?=AT[+-]S\.|\+WIND:)")
_BUILD_FW = {"170216": "1.0", "171117": "1.1", "170726": "1.1"}


# ------------------------------------------------------------------------------------------------- input

@dataclass
class Chunk:
    t: float | None
    dir: str | None  # "host" (host -> module), "module", "pin" (a reset pulse), or None (unknown direction)
    data: bytes


@dataclass
class Capture:
    form: str  # sim | raw | text
    chunks: list[Chunk]
    exact: bool  # host payload bytes are all in the capture (simulator logs)
    header: list[str] = field(default_factory=list)


def _unescape(s: str) -> bytes:
    out = bytearray()
    pos = 0
    for m in _ESC.finditer(s):
        out += s[pos:m.start()].encode("latin-1", "replace")
        if m.group(2):
            out += b"\x00" * int(m.group(2))  # redacted payload: keep its length, never its content
        else:
            e = m.group(1)
            out += bytes([int(e[1:], 16)]) if e[0] == "x" else {"r": b"\r", "n": b"\n", "t": b"\t"}.get(e, e.encode())
        pos = m.end()
    out += s[pos:].encode("latin-1", "replace")
    return bytes(out)


def read_sim_log(text: str) -> Capture:
    chunks, header = [], []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            pin = _SIM_PIN.match(line)
            if pin:
                chunks.append(Chunk(float(pin.group(1)), "pin", b"RESET 0"))
            header.append(line[1:].strip())
            continue
        m = _SIM_LINE.match(line)
        if not m:
            raise ValueError(f"line {n} is not a simulator log record: {line[:60]!r}")
        chunks.append(Chunk(float(m.group(1)), "host" if m.group(2) == "H>M" else "module", _unescape(m.group(3))))
    return Capture("sim", chunks, True, header)


def normalise_text_line(line: str) -> tuple[str | None, list[str]]:
    """One line of a pasted log -> (direction hint, module/host lines). Strips debug prefixes, restores a lost
    leading AT, splits lines run together."""
    hint = None
    m = _PREFIX.match(line)
    if m:
        tag = m.group(1).upper()
        hint = "host" if tag in (">>", ">", "->", "TX", "TX:") else "module"
        line = logtext.strip_label(line[m.end():])
    line = line.strip("\r\n\t ")
    if not line:
        return hint, []
    for lost, fix in (("+S.", "AT+S."), ("-S.", "AT-S."), ("T+S.", "AT+S."), ("T-S.", "AT-S.")):
        if line.startswith(lost):
            line = fix + line[len(lost):]
            break
    return hint, [p for p in _SPLIT.split(line) if p]


def read_text_log(text: str) -> Capture:
    chunks = []
    for raw in text.splitlines():
        hint, parts = normalise_text_line(raw)
        for p in parts:
            d = hint
            if d is None:
                d = None  # unprefixed: echo or host print, cannot tell
            chunks.append(Chunk(None, d, p.encode("utf-8", "replace") + (b"\r" if d == "host" else b"\r\n")))
    return Capture("text", chunks, False)


def read_capture(data: bytes) -> Capture:
    """Detect the form of a capture and split it into chunks."""
    head = data[:4096].decode("utf-8", "replace")
    first = next((ln for ln in head.splitlines() if ln.strip() and not ln.startswith("#")), "")
    if head.startswith("# spwf04 sim byte log") or _SIM_LINE.match(first):
        return read_sim_log(data.decode("utf-8", "replace"))
    text = data.decode("utf-8", "replace")
    looks_text = any(_PREFIX.match(ln) for ln in text.splitlines()[:200]) or \
        any(ln.startswith(("+S.", "-S.")) for ln in text.splitlines()[:200]) or \
        (b"\r\n" not in data and b"AT" in data)
    if looks_text and "\ufffd" not in text:
        return read_text_log(text)
    return Capture("raw", [Chunk(None, None, data)], False)


# ------------------------------------------------------------------------------------------------ events

@dataclass
class Event:
    seq: int
    t: float | None
    dir: str | None
    kind: str  # command, echo, info, ok, error, wind, data, pin (host reset pulse), other
    line: str
    text: str = ""
    code: int | None = None
    number: int | None = None
    params: list[str] = field(default_factory=list)
    note: str = ""
    length: int | None = None  # data: bytes

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "line": self.line}
        for k in ("t", "dir", "text", "code", "number", "params", "note", "length"):
            v = getattr(self, k)
            if v not in (None, "", []):
                d[k] = v
        return d


@dataclass
class Command:
    """A command as the summary sees it (from the host side, or from the echo when only that is known)."""

    event: Event
    name: str  # upper case, e.g. TLSCERT
    args: list[str]
    declared: int | None = None  # payload length in the command
    sent: int | None = None  # payload bytes the capture shows (None: not in the capture)
    payload: bytes | None = None
    responses: list[Event] = field(default_factory=list)
    final: Event | None = None
    echoed: bool = False
    event_line: str = ""  # the command as sent (unredacted, for matching its echo)


def split_command(line: str) -> tuple[str, list[str]]:
    body = line[5:] if line[:5].upper() == "AT+S." else line[2:] if line[:2].upper() == "AT" else line
    name, _, rest = body.partition("=")
    return name.upper(), (rest.split(",") if rest else [])


def payload_length(name: str, args: list[str]) -> int | None:
    i = _PAYLOAD_CMDS.get(name)
    if i is None:
        return None
    if name == "TLSCERT" and (not args or args[0].lower() not in _TLSCERT_PAYLOAD_KINDS):
        return None
    try:
        return int(args[i].strip())
    except (IndexError, ValueError):
        return None


_AT_ANYWHERE = re.compile(rb"AT\+S\.", re.IGNORECASE)  # cannot occur in base64 or hex payloads
_AT_LINE_START = re.compile(rb"(?<=[\r\n])AT[\r&]", re.IGNORECASE)


def _next_command(buf: bytes, start: int, declared: int) -> int:
    """Where the host's next command starts after a payload beginning at start (declared bytes long)."""
    end = start + declared
    if end == len(buf) or (end < len(buf) and _CMD_START.match(buf, end)):
        return end  # exactly the declared bytes, then a command: the common, correct case
    found = [m.start() for m in (_AT_ANYWHERE.search(buf, start), _AT_LINE_START.search(buf, start)) if m]
    return min(found) if found else len(buf)


def _line_count_tolerant(declared: int, sent: int, payload: bytes) -> bool:
    """Text logs lose line endings: accept LF counted where CR LF was sent, or a missing final newline."""
    lines = payload.count(b"\n")
    return declared in (sent, sent + lines, sent - 1, sent + lines - 1)


def _preview(data: bytes, n: int = 48) -> str:
    s = data[:n].decode("latin-1")
    s = "".join(c if 32 <= ord(c) < 127 else "." for c in s)
    return s + ("..." if len(data) > n else "")


class Decoder:
    """Feeds a Capture through the device parser (module side) and the host splitter; annotates events."""

    def __init__(self, fw: str | None = None) -> None:
        self.fw = fw
        self.fw_source = "--fw" if fw else None
        self.events: list[Event] = []
        self.commands: list[Command] = []
        self._seq = 0
        self._t: float | None = None
        self._dir: str | None = None
        # Commands awaiting their final line, oldest first. The module answers one command at a time, but a
        # simulator log stamps output when it was logged (after sending), so the host's next command can
        # appear before the previous answer: answers go to the oldest waiting command.
        self._waiting: list[Command] = []
        self._after_payload_cmd: Command | None = None  # unknown-direction logs: payload lines follow an echo
        self._parser = P.Parser(self._on_module)
        self.have_host = False
        self.is_sim = False
        self.as_text = False

    # ---- plumbing
    def _add(self, kind: str, line: str, **kw: Any) -> Event:
        self._seq += 1
        ev = Event(self._seq, self._t, self._dir, kind, line, **kw)
        self.events.append(ev)
        return ev

    def decode(self, cap: Capture) -> None:
        self.is_sim = cap.form == "sim"
        self.as_text = cap.form == "text"  # payloads only as the host printed them, line ends lost
        if cap.form == "sim":
            self._decode_split(cap)
        else:
            for ch in cap.chunks:
                self._t, self._dir = ch.t, ch.dir
                if ch.dir == "host":
                    self.have_host = True
                    self._host_bytes(ch.data, exact=False)
                elif ch.dir is None and self._host_payload_line(ch.data):
                    continue
                else:
                    self._parser.feed(ch.data)
        self._parser.feed(b"\n")  # flush a last unterminated line

    def _decode_split(self, cap: Capture) -> None:
        """Simulator logs: the host stream is split with full lookahead (payload lengths are checked against
        the bytes that really follow), then merged in time order with the module's events."""
        host = [c for c in cap.chunks if c.dir == "host"]
        buf = b"".join(c.data for c in host)
        times: list[tuple[int, float | None]] = []
        off = 0
        for c in host:
            times.append((off, c.t))
            off += len(c.data)
        host_items = self._split_host(buf, times, exact=True)
        self.have_host = bool(host_items)
        hi = 0
        for ch in cap.chunks:
            if ch.dir == "host":
                continue
            while hi < len(host_items) and (host_items[hi][0] or 0) <= (ch.t or 0):
                host_items[hi][1]()
                hi += 1
            if ch.dir == "pin":
                self._t, self._dir = ch.t, "host"
                self._add("pin", "RESET pin low", note="the host resets the module")
                continue
            self._t, self._dir = ch.t, "module"
            self._parser.feed(ch.data)
        while hi < len(host_items):
            host_items[hi][1]()
            hi += 1

    # ---- host side
    def _host_payload_line(self, data: bytes) -> bool:
        """An unprefixed line right after a host command with a declared length, when it can be that command's
        payload as the host printed it (logtext.owns): taken as host payload, not as module output."""
        c = self._after_payload_cmd
        if c is None or c.event.kind != "command" or c.declared is None:
            return False
        if not logtext.owns(c.declared, c.payload or b"", data):
            return False
        self._dir = "host"
        self._payload_line(c, data)
        return True

    def _payload_line(self, c: Command, data: bytes) -> None:
        line = data.rstrip(b"\r\n")
        c.sent = (c.sent or 0) + len(line) + 1
        c.payload = (c.payload or b"") + line + b"\n"
        text = line.decode("utf-8", "replace")
        self._add("data", self._shown_payload_line(c, text), length=len(line), note=self._payload_note(c, partial=True))

    def _host_bytes(self, data: bytes, exact: bool) -> None:
        """Text logs: one host line (a command, or payload printed by the host)."""
        line = data.rstrip(b"\r\n").decode("utf-8", "replace")
        if _CMD_START.match(data) or data[:2].upper() == b"AT":
            self._host_command(line)
            return
        c = self._after_payload_cmd
        if c is not None:  # payload lines the host printed after the command
            self._payload_line(c, data)
            return
        self._add("other", line, note="host output")

    def _split_host(self, buf: bytes, times: list[tuple[int, float | None]], exact: bool
                    ) -> list[tuple[float | None, Callable[[], None]]]:
        items: list[tuple[float | None, Callable[[], None]]] = []

        def t_at(pos: int) -> float | None:
            t = None
            for o, tt in times:
                if o > pos:
                    break
                t = tt
            return t

        i, n = 0, len(buf)
        while i < n:
            while i < n and buf[i] in b"\r\n":
                i += 1
            if i >= n:
                break
            j = buf.find(b"\r", i)
            k = buf.find(b"\n", i)
            end = min(x for x in (j, k, n) if x >= 0)
            line = buf[i:end].decode("utf-8", "replace")
            start = end + 1 if end < n else n
            name, args = split_command(line) if line[:2].upper() == "AT" else ("", [])
            declared = payload_length(name, args) if name else None
            t = t_at(i)
            if not line[:2].upper() == "AT":
                items.append((t, lambda line=line, t=t: self._host_stray(line, t)))
                i = start
                continue
            if declared is None:
                items.append((t, lambda line=line, t=t: self._host_command(line, t)))
                i = start
                continue
            nxt = _next_command(buf, start, declared)
            sent = nxt - start
            payload = buf[start:start + max(sent, 0)]
            items.append((t, lambda line=line, t=t, sent=sent, payload=payload, tp=t_at(start):
                          self._host_command(line, t, sent, payload, tp)))
            i = nxt
        return items

    def _host_stray(self, line: str, t: float | None) -> None:
        self._t, self._dir = t, "host"
        self._add("other", line, note="bytes from the host that are not a command")

    def _host_command(self, line: str, t: float | None = None, sent: int | None = None,
                      payload: bytes | None = None, tp: float | None = None) -> None:
        if t is not None or self.is_sim:
            self._t = t
        self._dir = "host"
        shown = redact(line)
        name, args = split_command(line)
        ev = self._add("command", shown, text=name, params=[redact(a) for a in args] if shown == line else [])
        cmd = Command(ev, name, args, payload_length(name, args), sent, payload, event_line=line)
        self._note_command(cmd)
        if cmd.declared is not None and payload is not None:
            if tp is not None:
                self._t = tp
            kind = args[0].lower() if name == "TLSCERT" and args else name.lower()
            shown_payload = "<private key, not shown>" if kind == "key" else _preview(payload)
            self._add("data", shown_payload, length=len(payload), note=self._payload_note(cmd))
        elif cmd.declared is not None:
            self._after_payload_cmd = cmd

    @staticmethod
    def _shown_payload_line(c: Command, line: str) -> str:
        """A payload line as printed: never a line of a private key (TLSCERT=key or any PEM key block)."""
        in_key = c.name == "TLSCERT" and c.args and c.args[0].lower() == "key"
        if in_key or b"PRIVATE KEY" in (c.payload or b""):
            return "<private key, not shown>"
        return line

    def _payload_note(self, c: Command, partial: bool = False) -> str:
        what = f"payload of {c.event.line}"
        if c.sent is None or partial:
            return what + (f": {c.sent} bytes so far" if c.sent else "")
        if c.sent == c.declared:
            return what + f": {c.sent} bytes, as declared"
        if c.sent < c.declared:
            return (what + f": only {c.sent} of {c.declared} bytes before the next command; the module waits for "
                    f"{c.declared - c.sent} more and swallows the next command as data")
        return (what + f": {c.sent} bytes sent but {c.declared} declared; the module takes the {c.sent - c.declared} "
                "extra bytes as the start of a command")

    def _note_command(self, cmd: Command) -> None:
        self._after_payload_cmd = None
        ev = cmd.event
        ev.note = command_note(cmd)
        self.commands.append(cmd)
        self._waiting.append(cmd)
        if len(self._waiting) > 2:  # hosts never pipeline: an older command got no answer (e.g. swallowed)
            del self._waiting[0]

    # ---- module side (spwf04.parser events)
    def _on_module(self, pe: P.Event) -> None:
        kind = pe.kind
        if kind == P.PAYLOAD:
            if pe.data is not None:
                self._add("data", _preview(pe.data), length=len(pe.data), note="socket data (SOCKR)")
            return
        if kind == P.GARBAGE:
            self._add("other", pe.line, text=pe.text, number=pe.number, note=f"unreadable bytes ({pe.text})")
            return
        line = pe.line
        if kind == P.ECHO:
            name, args = split_command(line)
            shown = redact(line)
            ev = self._add("echo", shown, text=name, params=[redact(a) for a in args] if shown == line else [])
            key = line.strip().upper()
            for k, w in enumerate(self._waiting):
                if w.event.kind == "command" and not w.echoed and w.event_line.strip().upper() == key:
                    ev.note = "echo of the command"
                    w.echoed = True
                    del self._waiting[:k]  # earlier commands were never echoed: the module did not see them
                    return
            # no host side for this command in the capture: the echo is all we know of it
            cmd = Command(ev, name, args, payload_length(name, args), echoed=True, event_line=line)
            self._note_command(cmd)
            ev.note = "echo: " + ev.note
            if cmd.declared is not None:
                self._after_payload_cmd = cmd
            if name == "SOCKR" and len(args) > 1 and args[1].isdigit():
                self._parser.expect_payload(None, int(args[1]))
            return
        if kind == P.OTHER and self._after_payload_cmd is not None and not self.have_host:
            c = self._after_payload_cmd
            c.sent = (c.sent or 0) + len(line.encode()) + 1
            c.payload = (c.payload or b"") + line.encode() + b"\n"
            self._add("data", self._shown_payload_line(c, line), length=len(line),
                      note=self._payload_note(c, partial=True))
            return
        self._after_payload_cmd = None
        if kind == P.WIND:
            ev = self._add("wind", line, text=pe.text, number=pe.number, params=list(pe.params))
            ev.note = self._wind_note(pe)
            if pe.number in at_tables.BOOT_WINDS:
                # A rebooted module answers nothing that was in flight (AT+S.RESET itself gets no final line
                # from the simulator, and maybe none from the module): left waiting, such a command took the
                # next command's final line, and every later answer went one command too early.
                self._waiting.clear()
            return
        if kind == P.OK:
            ev = self._add("ok", line, params=list(pe.params), note="success")
        elif kind == P.ERROR:
            ev = self._add("error", line, text=pe.text, code=pe.code, note=self._error_note(pe))
        elif kind == P.INFO:
            ev = self._add("info", redact(line), text=pe.text, params=list(pe.params) if redact(line) == line else [])
            ev.note = self._info_note(pe)
        else:
            ev = self._add("other", line, text=pe.text, note="unprefixed module output")
        c = self._waiting[0] if self._waiting else None
        if c is not None:
            if kind in (P.OK, P.ERROR):
                c.final = ev
                del self._waiting[0]
            else:
                c.responses.append(ev)
        if kind == P.INFO and pe.text == "Reading" and self.have_host:
            # The SOCKR this line answers, even when an older command is still waiting (a log whose host
            # command was recorded before the previous answer): missing it shows socket data as module lines.
            r = next((w for w in self._waiting if w.name == "SOCKR"), None)
            if r is not None and len(r.args) > 1 and r.args[1].strip().isdigit():
                # the host asked for m bytes: they follow this line raw; the parser must know it
                self._parser.expect_payload(None, int(r.args[1]))

    # ---- annotations
    def _fw_for_tables(self) -> str:
        return self.fw or "1.1"

    def _error_note(self, pe: P.Event) -> str:
        if pe.code is None:
            return "error (no code shown)"
        known = at_tables.error_text(pe.code, self._fw_for_tables())
        if known is None:
            return f"error {pe.code}: the firmware has no text for this code"
        if pe.text and pe.text != known:
            return f"error {pe.code}: text differs from the firmware's '{known}'"
        return f"error {pe.code}: {known}"

    def _wind_note(self, pe: P.Event) -> str:
        n = pe.number
        name = at_tables.wind_text(n) if n is not None else None
        note = f"indication {n}: {name}" if name else f"indication {n}: not a known number"
        if n == 1 and pe.params:
            fw = _BUILD_FW.get(pe.params[0][:6])
            if fw and not self.fw:
                self.fw, self.fw_source = fw, f"boot build {pe.params[0]}"
            note += f" (build {pe.params[0]}{', FW ' + fw if fw else ''})"
        if n in at_tables.BOOT_WINDS:
            note += "; the module (re)booted"
        return note

    def _info_note(self, pe: P.Event) -> str:
        t = pe.text
        tail = ":".join(pe.params)
        if t == "Certificate Error":
            n = int(tail) if tail.isdigit() else None
            known = at_tables.CERTIFICATE_ERRORS_OBSERVED.get(n) if n is not None else None
            note = f"TLS certificate error {tail}: " + (known or "no reported meaning (no official table exists)")
            if self.is_sim and n is not None:
                from spwf04_tools.sim.config import DEFAULT_CERT_ERRORS
                causes = [k for k, v in DEFAULT_CERT_ERRORS.items() if v == n]
                if causes:
                    note += f"; the simulator's default mapping: {', '.join(causes)}"
            return note
        if t == "SubjectKeyId":
            return "the module read this SKI from the CA (FW 1.1 prints it)"
        if t == "No SubjectKeyId":
            return "the module found no SKI in the CA (FW 1.0 says so even for CAs with one): auth must be sent"
        if t == "On":
            return "socket opened: address " + (pe.params[0] if pe.params else "?") + ", id " + \
                (pe.params[-1] if pe.params else "?")
        if t == "Reading":
            return "socket data follows"
        if t == "Query":
            return f"{tail} unread bytes"
        if t in ("Date", "Time"):
            return "module clock"
        if t == "Var" and tail.startswith("fw_version="):
            v = tail.split("=", 1)[1]
            if not self.fw and v[:3] in ("1.0", "1.1"):
                self.fw, self.fw_source = v[:3], "AT+S.STS=fw_version"
            return f"firmware {v}"
        if t in ("Skip CA", "Loading"):
            return "TLS progress line (meaning unknown)"
        if t in ("List", "CA", "Cert", "Key", "Id", "Clean"):
            return "TLS credential store"
        return "information"


def command_note(c: Command) -> str:
    a = [x.strip() for x in c.args]
    if c.name == "TLSCERT" and a:
        k = a[0].lower()
        if k == "content":
            return {"1": "list the TLS credential store", "2": "erase the TLS credential store"}.get(
                a[1] if len(a) > 1 else "", "TLS credential store")
        label = {"ca": "trusted CA", "auth": "CA key identifier (auth)", "cert": "own certificate",
                 "key": "own private key"}.get(k, k)
        return f"load {label}, {c.declared} bytes declared"
    if c.name == "TIME" and a:
        try:
            e = int(a[0])
            return "set the module clock to " + devcert.fmt_time(devcert.from_epoch(e))
        except ValueError:
            return "set the module clock (unreadable value)"
    if c.name == "TIME":
        return "read the module clock"
    if c.name == "SOCKON" and len(a) >= 4:
        kind = a[3]
        how = {"t": "TCP", "u": "UDP", "s": "TLS"}.get(kind, f"TLS with server name '{kind}'")
        return f"open a {how} socket to {a[0]}:{a[1]}"
    if c.name == "SOCKC":
        return "close socket " + (a[0] if a else "?")
    if c.name == "SOCKW":
        return f"write {c.declared} bytes to socket {a[0] if a else '?'}"
    if c.name == "SOCKR":
        return f"read {a[1] if len(a) > 1 else '?'} bytes from socket {a[0] if a else '?'}"
    if c.name == "SOCKQ":
        return "ask how much data socket " + (a[0] if a else "?") + " holds"
    if c.name in ("", "AT") or c.event.line.upper() == "AT":
        return "liveness probe"
    return "command " + c.name


# ----------------------------------------------------------------------------------------------- summary

def _shown_payload(dec: Decoder, c: Command) -> bytes | None:
    """The payload as far as the capture shows it whole: exactly the declared bytes (simulator logs, raw
    captures), or in a text log the lines the host printed when their count fits the declared length."""
    if not c.payload or c.sent is None or c.declared is None:
        return None
    if c.sent == c.declared:
        return c.payload[: c.declared]
    if not dec.is_sim and _line_count_tolerant(c.declared, c.sent, c.payload):
        return c.payload
    return None


class _Tally:
    """The summary's state while walking the events: what the module holds (clock, CA, auth, sockets) as far
    as the log shows, and what was collected for the report."""

    def __init__(self, dec: Decoder) -> None:
        self.dec = dec
        self.fw = dec.fw or "1.1"
        self.issues: list[str] = []
        self.certs: list[dict[str, Any]] = []
        self.clock: list[dict[str, Any]] = []
        self.sockets: list[dict[str, Any]] = []
        self.auth_checks: list[dict[str, Any]] = []
        self.clock_set: int | None = None
        self.open_socks: dict[str, dict[str, Any]] = {}
        self.forget_tls()

    def forget_tls(self) -> None:
        self.ca: devcert.Certificate | None = None
        self.ca_loaded = False
        self.auth_sent: str | None = None
        self.auth_seen = False  # a TLSCERT=auth command is in the log (its payload may not be)
        self.module_ski: str | None = None

    def issue(self, ev: Event, text: str) -> None:
        self.issues.append(f"event {ev.seq}: {text}")

    # ---- module events
    def reboot(self, ev: Event, asked: bool) -> None:
        """A burst of boot indications; `asked`: right after AT+S.RESET or a reset pulse from the host."""
        if (self.clock_set is not None or self.ca_loaded or self.open_socks) and not (asked and not self.open_socks):
            self.issue(ev, "the module rebooted: its clock, TLS store and sockets are gone"
                       + (" (open sockets: " + ", ".join(self.open_socks) + ")" if self.open_socks else ""))
        self.clock_set = None
        self.forget_tls()
        for s in self.open_socks.values():
            s["ended"] = "module reboot"
        self.open_socks.clear()

    def peer_closed(self, ev: Event) -> None:
        sid = ev.params[0]
        if sid in self.open_socks:
            self.open_socks[sid]["ended"] = f"closed by the peer/module (+WIND:58, reason {':'.join(ev.params[1:])})"

    # ---- commands
    def command(self, ev: Event, c: Command) -> None:
        a = [x.strip() for x in c.args]
        if c.name == "TLSCERT" and a:
            self.tlscert(ev, c, a)
        elif c.name == "TIME":
            self.time(ev, c, a)
        elif c.name == "SOCKON" and len(a) >= 4:
            self.sockon(ev, c, a)
        elif c.name == "SOCKC" and a:
            s = self.open_socks.get(a[0])
            if s is not None and _ok(c):
                s["ended"] = "closed by the host (SOCKC)"
                del self.open_socks[a[0]]
        elif c.name == "SOCKW" and a and a[0] in self.open_socks:
            self.open_socks[a[0]]["written"] += c.sent if c.sent is not None else (c.declared or 0)
            if c.declared is not None and c.sent is not None and c.sent != c.declared and self.dec.is_sim:
                self.issue(ev, f"{c.event.line} declares {c.declared} bytes but {c.sent} were sent")
        elif c.name == "SOCKR" and len(a) > 1 and a[0] in self.open_socks and a[1].isdigit() and _ok(c):
            self.open_socks[a[0]]["read"] += int(a[1])

    def tlscert(self, ev: Event, c: Command, a: list[str]) -> None:
        kind = a[0].lower()
        if kind == "content" and len(a) > 1 and a[1] == "2" and not _failed(c):
            self.forget_tls()
            return
        if kind not in _TLSCERT_PAYLOAD_KINDS:
            return
        entry: dict[str, Any] = {"event": ev.seq, "kind": kind, "declared": c.declared, "sent": c.sent,
                                 "printed": self.dec.as_text and c.sent is not None,
                                 "result": c.final.line if c.final else None}
        if c.sent is not None and c.declared is not None and c.sent != c.declared and (
                self.dec.is_sim or (c.sent > 0 and not _line_count_tolerant(c.declared, c.sent, c.payload or b""))):
            self.issue(ev, f"{c.event.line} declares {c.declared} bytes but {c.sent} were sent"
                       + ("" if self.dec.is_sim else " (as far as the log shows)"))
            entry["length_mismatch"] = True
        if kind == "ca":
            self.load_ca(ev, c, entry)
        if kind == "auth":
            self.auth(ev, c, entry)
        self.certs.append(entry)

    def load_ca(self, ev: Event, c: Command, entry: dict[str, Any]) -> None:
        self.ca_loaded = _ok(c) or c.final is None
        self.module_ski = None
        for r in c.responses:
            if r.text == "SubjectKeyId":
                self.module_ski = ":".join(r.params).replace(":", "").upper()
            elif r.text == "No SubjectKeyId":
                self.module_ski = ""
        entry["module_ski"] = self.module_ski
        self.ca = None
        blob = _shown_payload(self.dec, c)
        if blob:
            try:
                (ca,) = devcert.parse(blob)
            except (devcert.CertError, ValueError) as exc:
                self.issue(ev, f"the CA payload is not a certificate the driver could read: {exc}")
                return
            except Exception as exc:  # noqa: BLE001 - e.g. several certificates: report, do not crash
                self.issue(ev, f"the CA payload could not be read: {exc}")
                return
            self.ca = ca
            entry.update(subject=ca.subject_cn, ski=devcert.hex_id(ca.ski) if ca.ski else None,
                         auth=devcert.hex_id(ca.auth), not_before=devcert.fmt_time(ca.not_before),
                         not_after=devcert.fmt_time(ca.not_after), key=f"{ca.key_type}-{ca.key_bits}",
                         form="PEM" if blob.lstrip().startswith(b"-----BEGIN") else "DER")
            if self.module_ski and ca.ski and self.module_ski != devcert.hex_id(ca.ski):
                self.issue(ev, f"the module reported SKI {self.module_ski} but the CA's SKI is "
                           f"{devcert.hex_id(ca.ski)}")

    def auth(self, ev: Event, c: Command, entry: dict[str, Any]) -> None:
        ca, ski = self.ca, self.module_ski
        self.auth_seen = self.auth_seen or not _failed(c)
        self.auth_sent = sent = c.payload[: c.declared].decode("latin-1") if c.payload and c.sent else None
        entry["value"] = sent
        self.auth_checks.append({"event": ev.seq, "auth": sent, "module_ski": ski,
                                 "ca_auth": devcert.hex_id(ca.auth) if ca is not None else None})
        if sent is None:
            if not self.ca_loaded:
                self.issue(ev, "auth sent with no CA loaded before it")
            return
        norm = sent.replace(":", "").strip()
        if not re.fullmatch(r"[0-9A-Fa-f]{40}", norm):
            self.issue(ev, f"auth '{sent}' is not 40 hex digits")
        if ca is not None and norm.upper() != devcert.hex_id(ca.auth):
            self.issue(ev, f"auth {norm} does not match the loaded CA '{ca.subject_cn}' "
                       f"({'SKI' if ca.ski else 'key id'} {devcert.hex_id(ca.auth)})")
        if ski and norm.upper() != ski:
            self.issue(ev, f"auth {norm} differs from the SKI the module reported ({ski})")

    def time(self, ev: Event, c: Command, a: list[str]) -> None:
        if a and a[0].lstrip("-").isdigit() and not _failed(c):
            self.clock_set = int(a[0])
            date = devcert.fmt_time(devcert.from_epoch(self.clock_set))
            self.clock.append({"event": ev.seq, "set": self.clock_set, "date": date})
            if not CLOCK_MIN <= self.clock_set < 4102444800:
                self.issue(ev, f"the clock was set to an implausible {date}")
        elif not a:
            d = next((r.params[0] for r in c.responses if r.text == "Date" and r.params), None)
            tm = next((r.params[0] for r in c.responses if r.text == "Time" and r.params), None)
            if d and tm:
                self.clock.append({"event": ev.seq, "read": f"20{d.replace('.', '-')[:8]} {tm.replace('.', ':')} UTC"})

    def sockon(self, ev: Event, c: Command, a: list[str]) -> None:
        tls = a[3] not in ("t", "u")
        sock: dict[str, Any] = {"event": ev.seq, "host": a[0], "port": a[1], "kind": a[3], "tls": tls}
        if tls:
            self.tls_preconditions(ev, sock)
        cert_err = next((":".join(r.params) for r in c.responses if r.text == "Certificate Error"), None)
        on = next((r for r in c.responses if r.text == "On"), None)
        if _failed(c):
            sock["result"] = f"failed: {c.final.line}" + (f" after Certificate Error:{cert_err}" if cert_err else "")
            if cert_err:
                n = int(cert_err) if cert_err.isdigit() else None
                sock["certificate_error"] = cert_err
                sock["meaning"] = at_tables.CERTIFICATE_ERRORS_OBSERVED.get(n, "no reported meaning")
        elif on is not None:
            sid = on.params[-1] if on.params else "?"
            sock.update(result="opened", id=sid, address=on.params[0] if on.params else None, ended="still open "
                        "at the end of the log", written=0, read=0)
            self.open_socks[sid] = sock
        else:
            sock["result"] = "no answer in the log"
        self.sockets.append(sock)

    def tls_preconditions(self, ev: Event, sock: dict[str, Any]) -> None:
        """What a TLS SOCKON needs, checked against what the log showed before it."""
        sock["clock"] = devcert.fmt_time(devcert.from_epoch(self.clock_set)) if self.clock_set else None
        if self.clock_set is None:
            self.issue(ev, "TLS socket opened without setting the module clock first (AT+S.TIME): certificate "
                       "dates cannot be checked")
        if not self.ca_loaded:
            self.issue(ev, "TLS socket opened with no CA loaded (AT+S.TLSCERT=ca)")
        elif not self.auth_seen:
            self.issue(ev, "TLS socket opened with no auth sent (AT+S.TLSCERT=auth): FW 1.0 does not extract the "
                       "CA's SKI itself")
        if self.ca is not None and self.clock_set is not None:
            try:
                devcert.check(self.ca, self.clock_set, self.fw, "ca")
            except devcert.CertError as exc:
                self.issue(ev, f"the loaded CA fails the driver's pre-flight check at that clock: {exc}")


def _ok(c: Command) -> bool:
    return c.final is not None and c.final.kind == "ok"


def _failed(c: Command) -> bool:
    return c.final is not None and c.final.kind == "error"


def summarise(dec: Decoder) -> dict[str, Any]:
    t = _Tally(dec)
    cmd_by_event = {c.event.seq: c for c in dec.commands}
    in_boot = False
    asked_reset = False  # the last command was AT+S.RESET (or a reset pulse): the reboot that follows was asked for
    for ev in dec.events:
        c = cmd_by_event.get(ev.seq)  # None for the echo of a command the host side showed
        if ev.kind == "pin" or c is not None:
            in_boot = False
            asked_reset = ev.kind == "pin" or c.name == "RESET"
        if ev.kind == "wind" and ev.number in at_tables.BOOT_WINDS and not in_boot:
            in_boot = True  # one reboot per burst of boot indications
            t.reboot(ev, asked_reset)
        if ev.kind == "wind" and ev.number == 58 and ev.params:
            t.peer_closed(ev)
        if c is not None:
            t.command(ev, c)
    for e in dec.events:
        if e.kind == "error" and e.note.startswith("error") and "differs from the firmware" in e.note:
            t.issue(e, e.note)
    return {"fw": dec.fw, "fw_source": dec.fw_source, "certificates": t.certs, "auth": t.auth_checks,
            "clock": t.clock, "sockets": t.sockets, "inconsistencies": t.issues}


# ------------------------------------------------------------------------------------------------ output

_ARROW = {"host": ">", "module": "<", None: " "}


def render_text(dec: Decoder, summary: dict[str, Any]) -> str:
    out = []
    for e in dec.events:
        t = f"{e.t:10.6f} " if e.t is not None else ""
        ln = e.line if len(e.line) <= 70 else e.line[:67] + "..."
        out.append(f"{t}{_ARROW[e.dir]} {e.kind:<7} {ln:<48} ; {e.note}")
    out.append("")
    out.append("Summary" + (f" (FW {summary['fw']} from {summary['fw_source']})" if summary["fw"] else ""))
    for c in summary["certificates"]:
        sent = "not in the log" if c["sent"] is None else f"{c['sent']} sent"
        if c.get("printed"):  # counted from printed lines: one byte per line end, whatever was sent
            sent = f"{c['sent']} shown as printed lines"
        extra = ""
        if c["kind"] == "ca":
            if c.get("subject") is not None:
                extra = f"; {c['form']} CA '{c['subject']}' {c.get('key')} valid {c['not_before']} .. " \
                        f"{c['not_after']}, SKI {c['ski'] or 'none'}, auth {c['auth']}"
            ski = c.get("module_ski")
            extra += "; module: " + ("No SubjectKeyId" if ski == "" else f"SKI {ski}" if ski else "no SKI line")
        if c["kind"] == "auth":
            extra = f"; value {c['value']}" if c.get("value") else "; value not shown in the log"
        out.append(f"  certificate {c['kind']}: {c['declared']} bytes declared, {sent}; {c['result']}{extra}")
    for k in summary["clock"]:
        out.append(f"  clock: " + (f"set to {k['date']} ({k['set']})" if "set" in k else f"read {k['read']}"))
    if not summary["clock"]:
        out.append("  clock: never set in this log")
    for s in summary["sockets"]:
        line = f"  socket {s['host']}:{s['port']} kind {s['kind']}: {s['result']}"
        if s.get("id") is not None:
            line += f" (id {s['id']}), {s['written']} bytes written, {s['read']} read, {s['ended']}"
        if s.get("meaning"):
            line += f"; Certificate Error {s['certificate_error']}: {s['meaning']}"
        out.append(line)
    if summary["inconsistencies"]:
        out.append("Inconsistencies:")
        out += [f"  - {i}" for i in summary["inconsistencies"]]
    else:
        out.append("Inconsistencies: none found")
    return "\n".join(out)


# A PEM private key anywhere in the capture (TLSCERT=key payload, or a host that printed one): its body is
# masked before decoding, so no code path below can print it. Same length, line ends kept, so payload
# byte counts stay checkable.
_PEM_KEY = re.compile(rb"(-----BEGIN [A-Z ]*PRIVATE KEY-----)(.*?)(-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S)
_NOT_LINE_END = re.compile(rb"[^\r\n]")


def mask_private_keys(data: bytes) -> bytes:
    return _PEM_KEY.sub(lambda m: m.group(1) + _NOT_LINE_END.sub(b"*", m.group(2)) + m.group(3), data)


def decode_bytes(data: bytes, fw: str | None = None) -> tuple[Decoder, dict[str, Any]]:
    dec = Decoder(fw)
    dec.decode(read_capture(mask_private_keys(data)))
    return dec, summarise(dec)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE|-", help="capture to decode ('-' reads standard input)")
    parser.add_argument("--fw", choices=("1.0", "1.1"), help="firmware (default: from the log, else 1.1)")
    parser.add_argument("--json", action="store_true", help="one JSON object per event, then a summary object")


def run(args: argparse.Namespace) -> int:
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        print(f"spwf04 log: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        dec, summary = decode_bytes(data, args.fw)
    except ValueError as exc:
        print(f"spwf04 log: {exc}", file=sys.stderr)
        return 2
    if args.json:
        for e in dec.events:
            print(json.dumps(e.to_json()))
        print(json.dumps({"kind": "summary", **summary}))
    else:
        print(render_text(dec, summary))
    return 1 if summary["inconsistencies"] else 0
