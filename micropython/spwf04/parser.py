# Streaming parser for the SPWF04SA AT console (module -> host direction). Pure, no I/O: it runs on the
# F401RE, on the unix port and on CPython (the host's UART-log decoder reuses it), and gives the same events
# whatever the fragmentation of the input.
#
#   p = Parser(on_event)          # on_event(ev) is called synchronously for every event
#   p.feed(b"AT-S.OK\r\n")        # bytes, split anywhere
#   p.expect_payload(buf, n)      # the next AT-S.Reading: line is followed by n raw bytes -> buf[0:n]
#
# Line mode: every line ends with LF (CR LF on the wire); trailing CRs are dropped, a CR inside a line also
# ends a line (echo without LF is unknown territory, spec 9.3), empty lines are skipped. A line longer than
# the preallocated buffer (counted to its LF, lone-CR lines inside included), invalid UTF-8 or containing NUL
# gives a GARBAGE event; the parser resynchronises
# on the next line start (or at an AT-S./+WIND: prefix inside a garbage line).
#
# Payload mode: after an AT-S.Reading: line, if armed with expect_payload(), exactly the armed number of
# bytes go to the caller's buffer (or, with buf=None, out as PAYLOAD events carrying the bytes), then the
# parser is back in line mode. The driver writes straight into the buffer itself (payload_buf/payload_pos,
# then payload_filled(n)) so bulk data never passes through Python byte handling.
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


# Event kinds (public: the host's log decoder uses them).
ECHO = const(1)  # the command line echoed back (console_echo=1)
INFO = const(2)  # AT-S.<Keyword>[:<fields>]: text=keyword, params=fields
OK = const(3)  # AT-S.OK or AT-S.OK:<a>:<b>: params=[a, b]
ERROR = const(4)  # AT-S.ERROR[:<code>[:<text>]]: code=int or None, text
WIND = const(5)  # +WIND:<n>:<text>[:<params>]: number=n, text, params
OTHER = const(6)  # any other line (SCAN entries, HELP text, ...): text=line
GARBAGE = const(7)  # over-long/undecodable line: text=reason, number=limit or bytes dropped, line=preview
PAYLOAD = const(8)  # binary payload: data=bytes chunk (unbuffered) or data=None when complete, number=count
KINDS = ("", "echo", "info", "ok", "error", "wind", "other", "garbage", "payload")

LINE_MAX = const(640)  # a 512-byte command echo, SCAN lines, module texts all fit
_PREVIEW = const(32)  # bytes of a garbage line kept for diagnostics


class Event:
    """One parsed item. Attributes: kind, line (the whole line as str; '' for payload), text, number,
    code, params (list of str), data (payload bytes)."""

    def __init__(self, kind, line, text, number=None, code=None, params=(), data=None):
        self.kind = kind
        self.line = line
        self.text = text
        self.number = number
        self.code = code
        self.params = params
        self.data = data

    def tail(self):
        """Everything after the keyword/text: 'AT-S.Var:ip_gw=1.2.3.4' -> 'ip_gw=1.2.3.4'."""
        return ":".join(self.params)

    def key(self):
        """A comparable tuple of all fields (tests, decoder)."""
        return (self.kind, self.line, self.text, self.number, self.code, tuple(self.params), self.data)

    def __repr__(self):
        if self.kind == PAYLOAD:
            return "<payload %d bytes%s>" % (self.number, "" if self.data is None else " " + repr(self.data))
        return "<%s %s>" % (KINDS[self.kind], self.line)


def classify(s):
    """One decoded, non-empty line (no CR/LF) -> Event."""
    if s.startswith("+WIND:"):
        j = s.find(":", 6)
        num = s[6:] if j < 0 else s[6:j]
        if num.isdigit():
            parts = [""] if j < 0 else s[j + 1 :].split(":")
            return Event(WIND, s, parts[0], int(num), None, parts[1:])
        return Event(OTHER, s, s)
    if s.startswith("AT-S."):
        body = s[5:]
        if body == "OK" or body.startswith("OK:"):
            return Event(OK, s, "OK", None, None, body[3:].split(":") if len(body) > 2 else [])
        if body == "ERROR" or body.startswith("ERROR:"):
            rest = body[6:]
            j = rest.find(":")
            c = rest if j < 0 else rest[:j]
            if c.isdigit():
                return Event(ERROR, s, "" if j < 0 else rest[j + 1 :], None, int(c))
            return Event(ERROR, s, rest)
        j = body.find(":")
        if j < 0:
            return Event(INFO, s, body, None, None, [])
        return Event(INFO, s, body[:j], None, None, body[j + 1 :].split(":"))
    if s[:2].upper() == "AT":
        return Event(ECHO, s, s)
    return Event(OTHER, s, s)


# The final line of nearly every command, as one shared event (no decoding or allocation per command).
OK_EV = Event(OK, "AT-S.OK", "OK", None, None, [])
# What the driver's own UART reads (spwf04.module._quick) tell a hook when they hand an answer over to the
# parser: the Reading line went by (its fields unused), the payload is complete (count not given).
READING = Event(INFO, "AT-S.Reading", "Reading", None, None, [])
DONE = Event(PAYLOAD, "", "", 0)


def _garbage(reason, raw, n):
    return Event(GARBAGE, repr(bytes(raw[:_PREVIEW])), reason, n)


class Parser:
    def __init__(self, on_event, size=LINE_MAX):
        self.on_event = on_event
        # Optional fast path (the driver's): on_w55(raw) gets every +WIND:55: line as bytes first and
        # returns True if it handled it (no str, split or Event); False gives the normal WIND event.
        self.on_w55 = None
        self.size = size
        self._buf = bytearray(size)  # the only line storage: nothing grows with the input
        self._mv = memoryview(self._buf)
        self._n = 0  # bytes of a partial line held in _buf
        self._skip = False  # inside an over-long line: drop bytes up to its LF
        self._arm_buf = None
        self._arm_n = 0
        self.payload_buf = None  # memoryview being filled in payload mode (None: PAYLOAD events)
        self.payload_pos = 0
        self.payload_left = 0  # > 0: payload mode
        self.payload_total = 0

    def reset(self):
        """Forget partial lines, payload mode and arming (after a module reset or an aborted read)."""
        self._n = 0
        self._skip = False
        self.disarm()
        self.payload_left = 0
        self.payload_buf = None

    def expect_payload(self, buf, n):
        """Arm: the next AT-S.Reading: line is followed by n raw bytes, delivered into buf[0:n] (a writable
        buffer) or, with buf=None, as PAYLOAD events. May be called from the Reading event's callback."""
        if n < 0:  # (payload mode would count backwards through the input)
            raise ValueError("payload size %d: must be >= 0 (0 disarms)" % n)
        self._arm_buf = buf if buf is None or type(buf) is memoryview else memoryview(buf)
        self._arm_n = n

    def disarm(self):
        """Undo expect_payload(): the next Reading line is a line like any other."""
        self._arm_n = 0
        self._arm_buf = None

    def _payload(self):
        # The armed Reading line was seen: what follows is the payload.
        self.payload_buf = self._arm_buf
        self.payload_left = self.payload_total = self._arm_n
        self.payload_pos = 0
        self.disarm()

    def payload_filled(self, n):
        """n payload bytes were written at payload_buf[payload_pos:] (by the parser or by the caller)."""
        self.payload_pos += n
        self.payload_left -= n
        if self.payload_left <= 0:
            self.payload_left = 0
            self.payload_buf = None
            self.on_event(Event(PAYLOAD, "", "", self.payload_total))

    def feed(self, data, end=None):
        """Consume bytes: data[:end] (bytes or bytearray, any fragment of the stream; end: default all). The
        driver feeds one preallocated receive buffer, so nothing here may keep a reference to data."""
        i = 0
        if end is None:
            end = len(data)
        size = self.size
        while i < end:
            left = self.payload_left
            if left:
                k = end - i
                if k > left:
                    k = left
                if self.payload_buf is None:
                    self.on_event(Event(PAYLOAD, "", "", k, None, (), bytes(data[i : i + k])))
                else:
                    p = self.payload_pos
                    self.payload_buf[p : p + k] = memoryview(data)[i : i + k]  # (a view: no copy of the chunk)
                i += k
                self.payload_filled(k)
                continue
            j = data.find(b"\n", i, end)
            if j < 0:
                self._keep(data, i, end)
                return
            if self._skip:  # the over-long line ends here
                self._skip = False
                i = j + 1
                continue
            if self._n:
                if not self._keep(data, i, j):
                    self._skip = False
                    i = j + 1
                    continue
                line = bytes(self._mv[: self._n])
                self._n = 0
            elif j - i > size:
                # (preview from the first `size` bytes, exactly what the fragmented path holds)
                self.on_event(_garbage("line too long", data[i : i + size], size))
                i = j + 1
                continue
            else:
                e = j - 1 if j > i and data[j - 1] == 13 else j  # the CR of CR LF, without a second slice
                line = data[i:e]
                if b"\r" in line:
                    # (rare) keep the final CR too: after a CR-ended Reading line inside it, that CR is
                    # payload, exactly as on the fragmented path, which holds the line with its CR
                    line = data[i:j]
            i = j + 1
            if b"\r" in line:
                self._line(line)
            elif line:
                self._line1(line)

    def _keep(self, data, i, j):
        # Append data[i:j] to the partial line; on overflow report once and skip to the line's end.
        if self._skip or i == j:
            return True
        n = self._n
        k = j - i
        if n + k > self.size:
            self._buf[n:] = data[i : i + self.size - n]
            self.on_event(_garbage("line too long", self._buf, self.size))
            self._n = 0
            self._skip = True
            return False
        self._buf[n : n + k] = memoryview(data)[i:j]
        self._n = n + k
        return True

    def _line(self, raw):
        # raw: one LF-terminated line without the LF. A CR ends a line too; an empty tail after the last CR
        # is the CR of CR LF. If a line switches to payload mode, the rest of raw (and the LF) is payload.
        while True:
            k = raw.find(b"\r")
            part = raw if k < 0 else raw[:k]
            if part:
                self._line1(part)
            if k < 0:
                return
            raw = raw[k + 1 :]
            if not raw:
                return
            if self.payload_left:
                self.feed(bytes(raw) + b"\n")
                return

    def _line1(self, raw):
        if raw == b"AT-S.OK":
            self.on_event(OK_EV)
            return
        if self.on_w55 is not None and raw.startswith(b"+WIND:55:") and self.on_w55(raw):
            return
        while True:
            try:
                s = str(raw, "utf-8")
                bad = "\x00" in s
            except UnicodeError:
                bad = True
            if not bad:
                break
            # Garbage (noise, a wrong baud rate, lost payload bytes): report it, then resynchronise at an
            # AT-S. or +WIND: prefix inside it, if any.
            a = raw.find(b"AT-S.", 1)
            b = raw.find(b"+WIND:", 1)
            k = a if b < 0 or 0 < a < b else b
            self.on_event(_garbage("garbage", raw if k < 0 else raw[:k], len(raw) if k < 0 else k))
            if k < 0:
                return
            raw = raw[k:]
        ev = classify(s)
        if ev.kind == OTHER:
            # Text glued to a final line ("<lost payload bytes>AT-S.OK"): the command must still end, and the
            # text is reported as garbage. Only an exact OK/ERROR tail counts (a SCAN SSID cannot fake it:
            # its line goes on with CAPS).
            k = s.rfind("AT-S.")
            if k > 0:
                t = classify(s[k:])
                if t.kind == OK or t.kind == ERROR:
                    self.on_event(_garbage("garbage", raw[:k], k))
                    ev = t
        self.on_event(ev)
        if self._arm_n and ev.kind == INFO and ev.text == "Reading":
            self._payload()


def parse(data, size=LINE_MAX):
    """All events of a complete capture (bytes) -> list of Event. Payload is not armed."""
    out = []
    Parser(out.append, size).feed(data)
    return out
