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
#
# Answer mode (the driver's data path: SOCKR, SOCKQ): expect(head, buf, n) arms for a command's usual answer
# - a line starting with `head`, for a SOCKR n payload bytes into buf, then AT-S.OK. `answer` says how far it
# came (ANSWER_*), `fields` holds the rest of the head line, `short` the count of a Reading line that announced
# fewer bytes than armed (those are delivered, no more). take() is feed() for the driver's reads, which start
# where a line starts: it frames the usual head line (and the payload's start behind it) and the final line
# straight from the bytes, without events. Anything else - indications, an error, noise, a line split across
# reads - goes the general way, as events, and ends the same: this is the one framer of the answer (the driver
# reads bytes, the parser says what they are).
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

# How far an armed answer has come (Parser.answer)
ANSWER_OFF = const(0)  # not in answer mode
ANSWER_WAIT = const(1)  # armed; no head line yet
ANSWER_HEAD = const(2)  # the head line came; payload_left bytes of payload still to come
ANSWER_LOST = const(3)  # a line came between the complete payload and the final line: the framing is lost
ANSWER_DONE = const(4)  # AT-S.OK after the head line (and payload): the answer is complete, without events
ANSWER_SHORT = const(5)  # a Reading line announced fewer bytes than armed (`short`): those come, then the final line
_OK_CR = b"AT-S.OK\r"


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
        self.held = 0  # bytes of a partial line held in _buf
        self._skip = False  # inside an over-long line: drop bytes up to its LF
        self._src = self._src_view = None  # the caller's receive buffer and a view of it (receive_buffer)
        self._arm_buf = None
        self._arm_n = 0
        self._head = None  # answer mode: the head line's start, while it has not come
        self.answer = ANSWER_OFF
        self.fields = None  # answer mode: the head line after `head`, CR dropped (bytes; b"" with a payload)
        self.short = -1  # answer mode: a Reading line announced this many bytes, fewer than armed
        self.payload_buf = None  # memoryview being filled in payload mode (None: PAYLOAD events)
        self.payload_pos = 0
        self.payload_left = 0  # > 0: payload mode
        self.payload_total = 0

    def reset(self):
        """Forget partial lines, payload mode and arming (after a module reset or an aborted read)."""
        self.held = 0
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

    def expect(self, head, buf=None, n=0):
        """Answer mode: the usual answer of the command about to be sent is a line starting with head (bytes),
        then, with n > 0, n payload bytes into buf (a memoryview), then AT-S.OK; framed without events (see
        `answer`)."""
        self._arm_buf = buf  # (expect_payload() inline, for the data path: buf is a memoryview, or None when n is 0)
        self._arm_n = n
        self._head = head
        self.answer = ANSWER_WAIT
        self.fields = None
        self.short = -1

    def disarm(self):
        """Undo expect_payload() / expect(): the next Reading line is a line like any other. `fields` and
        `short` keep the last answer's values."""
        self._arm_n = 0
        self._arm_buf = None
        self._head = None
        self.answer = ANSWER_OFF

    def _payload(self):
        # The armed Reading line was seen: what follows is the payload.
        self.payload_buf = self._arm_buf
        self.payload_left = self.payload_total = self._arm_n
        self.payload_pos = 0
        self._arm_n = 0
        self._arm_buf = None

    def payload_filled(self, n):
        """n payload bytes were written at payload_buf[payload_pos:] (by the parser or by the caller)."""
        self.payload_pos += n
        self.payload_left -= n
        if self.payload_left <= 0:
            self.payload_left = 0
            self.payload_buf = None
            if not self.answer:  # (in answer mode the driver knows: no event per read)
                self.on_event(Event(PAYLOAD, "", "", self.payload_total))

    def _quiet(self, data, i, j):
        # Answer mode: is the line data[i:j] (j: its LF, or the end of an assembled line; its CR included) the
        # usual answer's head or final line? Then it is taken here, without an event (True); the head line
        # starts the payload.
        a = self.answer
        if a == ANSWER_WAIT:
            h = self._head
            # (a CR inside: the line ended there and what follows is payload, the line rule: the general way)
            if h is None or not data.startswith(h, i) or data.find(b"\r", i + len(h), j) != j - 1:
                return False
            n = self._arm_n
            self.fields = b"" if n else data[i + len(h) : j - 1]
            self.answer = ANSWER_HEAD  # (the arming stays until disarm(): _line1 arms nothing after the head)
            if n:
                self.payload_buf = self._arm_buf
                self.payload_left = self.payload_total = n
                self.payload_pos = 0
            return True
        if a == ANSWER_HEAD and not self.payload_left and j - i == 8 and data.startswith(_OK_CR, i):
            self.answer = ANSWER_DONE
            return True
        return False

    def take(self, data, n):
        """feed(data, n) for the driver's reads in answer mode, which start where a line starts (right after the
        command, or after the payload): the usual head line, with the payload's start behind it, or the final
        line is framed here in one call; the rest goes to feed(). Returns `answer`."""
        i = 0
        if not self.held and not self._skip and not self.payload_left:
            if self.answer == ANSWER_HEAD:  # (the final line as _quiet() takes it, without the call: the data path)
                if n >= 9 and data.startswith(_OK_CR) and data[8] == 10:
                    self.answer = ANSWER_DONE
                    i = 9
            else:
                h = self._head
                j = data.find(b"\n", 0, n)
                # (the head line as _quiet() takes it, without the call: the data path)
                if j > 0 and h is not None and data.startswith(h) and data.find(b"\r", len(h), j) == j - 1:
                    i = j + 1
                    self.answer = ANSWER_HEAD
                    k = self._arm_n
                    if not k:
                        self.fields = data[len(h) : j - 1]
                    else:  # the payload: its start right behind the head line, the rest read by the driver
                        self.fields = b""
                        self.payload_buf = self._arm_buf
                        self.payload_total = k
                        if k > n - i:
                            k = n - i
                        self.payload_buf[:k] = self._view(data)[i : i + k]
                        i += k
                        self.payload_pos = k
                        self.payload_left = self.payload_total - k
                        if not self.payload_left:
                            self.payload_filled(0)
        if i < n:
            self.feed(data, n, i)
        return self.answer

    def feed(self, data, end=None, i=0):
        """Consume bytes: data[i:end] (bytes or bytearray, any fragment of the stream; end: default all). The
        driver feeds one preallocated receive buffer, so nothing here may keep a reference to data."""
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
                    self.payload_buf[p : p + k] = self._view(data)[i : i + k]  # (a view: no copy of the chunk)
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
            if self.held:
                if not self._keep(data, i, j):
                    self._skip = False
                    i = j + 1
                    continue
                n = self.held
                self.held = 0
                if self.answer and self._quiet(self._buf, 0, n):  # (before the copy: no allocation)
                    i = j + 1
                    continue
                line = bytes(self._mv[:n])
            elif self.answer and self._quiet(data, i, j):
                i = j + 1
                continue
            elif j - i > size:
                # (preview from the first `size` bytes, exactly what the fragmented path holds)
                self._text(_garbage("line too long", data[i : i + size], size))
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

    def receive_buffer(self, buf):
        """Declare the caller's one receive buffer (a bytearray it feeds again and again and never resizes): its
        slices are then taken from one view made here, not from a new view per chunk."""
        self._src = buf
        self._src_view = memoryview(buf)

    def _view(self, data):
        # A memoryview of data to slice (no view of other data is kept: a caller may resize what it fed).
        return self._src_view if data is self._src else memoryview(data)

    def _keep(self, data, i, j):
        # Append data[i:j] to the partial line; on overflow report once and skip to the line's end.
        if self._skip or i == j:
            return True
        n = self.held
        k = j - i
        if n + k > self.size:
            self._buf[n:] = data[i : i + self.size - n]
            self._text(_garbage("line too long", self._buf, self.size))
            self.held = 0
            self._skip = True
            return False
        self._buf[n : n + k] = self._view(data)[i:j]
        self.held = n + k
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
            self._text(_garbage("garbage", raw if k < 0 else raw[:k], len(raw) if k < 0 else k))
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
                    self._text(_garbage("garbage", raw[:k], k))
                    ev = t
        k = ev.kind
        if k == INFO or k == OTHER:
            self._text(ev)
        else:
            self.on_event(ev)
        if k != INFO:
            return
        if self.answer == ANSWER_WAIT:
            # The head line the general way (behind other lines, or split across reads). A Reading line in another
            # form than the head may announce fewer bytes than armed (a short read): just those come, into the
            # start of the buffer; the driver reports the shortfall.
            h = self._head
            if h is not None and raw.startswith(h):
                self.fields = raw[len(h) :]
                self.answer = ANSWER_HEAD
            if self._arm_n and ev.text == "Reading":
                self.answer = ANSWER_HEAD
                a = ev.params[0] if ev.params else ""
                if a.isdigit() and int(a) < self._arm_n:
                    self.short = self._arm_n = int(a)
                    self._arm_buf = self._arm_buf[: self.short]
                    self.answer = ANSWER_SHORT  # (not the usual answer: its final line is an event)
                self._payload()
        elif self._arm_n and ev.text == "Reading" and not self.answer:
            self._payload()  # (expect_payload() without answer mode: at(), the decoder)

    def _text(self, ev):
        # A line that is neither final nor an indication: after a complete payload it means lost framing.
        if self.answer == ANSWER_HEAD and not self.payload_left:
            self.answer = ANSWER_LOST
        self.on_event(ev)

def parse(data, size=LINE_MAX):
    """All events of a complete capture (bytes) -> list of Event. Payload is not armed."""
    out = []
    Parser(out.append, size).feed(data)
    return out
