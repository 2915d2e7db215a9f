# Module control: the command engine, the one reader that routes every +WIND, bring-up, clock, raw AT
# passthrough and trace. Board and unix port (and CPython for the driver's unit tests).
#
# One reader: module output goes through _rx() -> Parser -> _on_event, whoever is waiting (a command, a
# socket read, a Wi-Fi join, asyncio polling). +WIND lines are routed to the socket table and link state
# the moment they are parsed; all other lines belong to the command in flight. The one exception is the
# data path's usual answer (SOCKR/SOCKQ, _quick): read as bytes straight from the UART, and handed to the
# parser the moment it looks like anything else.
import errno
import time

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


try:
    from time import sleep_ms, ticks_diff, ticks_ms
except ImportError:  # CPython (unit tests)

    def ticks_ms():
        return int(time.monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b

    def sleep_ms(ms):
        time.sleep(ms / 1000)


from . import parser
from .errors import ModuleError, ModuleReset, redact
from .utc import CLOCK_MIN, to_epoch

_MAX_SOCKETS = const(8)
_CMD_MAX = const(512)  # longest command line the module is known to take
_TIMEOUT = const(5000)  # default command timeout (ms)
_PROBE_MS = const(1500)  # how long the liveness probe (bare AT) may take
_BOOT_MS = const(8000)  # ST's Mbed driver allows 8 s for start-up
_PIN_BOOT_MS = const(3000)  # after a pin reset: how long to wait before trying AT+S.RESET
_EPOCH_2000 = const(946684800)
_IDLE_MS = const(20)  # longest single wait for input (deadlines are checked in between)
_BATCH = const(512)  # payload bytes gathered in the UART buffer before one readinto (half the board's rxbuf)
_RXCHUNK = const(256)  # line-mode reads: one UART readinto per chunk of lines, not one call per line
_LOG = const(8)  # recent WIND/stray lines kept for diagnostics
# SOCKR size: ST's Mbed driver reads (and writes) at most 730 bytes per command to work around module firmware
# issues, and what the module does with a larger SOCKR is unknown; 4096 saves commands where that is known
# to work (docs/benchmarks.md shows the cost of either).
_READ_MAX = const(730)
_W55 = const(0x800000)  # console_wind_off_medium bit 23 = WIND 55 (spec 3: bit k of _medium = WIND 32+k)

# Indications that only a booting module sends (spec 5.1/5.3): seen unexpectedly = the module reset.
_BOOT_WINDS = (0, 1, 2, 3, 7, 13, 65)
# Indications that end or refuse a Wi-Fi link.
_LINK_DOWN = (20, 33, 38, 40, 41, 76, 77, 85)


def _pin(pin, v):
    try:
        pin.value(v)
    except AttributeError:
        pin(v)


def board_epoch():
    """UNIX epoch from the board clock (stm32 ports count from 2000)."""
    t = int(time.time())
    if time.gmtime(0)[0] == 2000:
        t += _EPOCH_2000
    return t


def _log(lst, item):
    # keep the last _LOG items, in place (no new list per line)
    if len(lst) >= _LOG:
        lst.pop(0)
    lst.append(item)


def _ms(t):
    return ticks_diff(ticks_ms(), t)


def sock_id(field):
    """A socket id field of a module line (str or bytes) -> the id, or -1. The module prints ids as one digit,
    so anything else (a digit inserted by line noise: '03' for '0') names no socket rather than a wrong one."""
    return int(field) if len(field) == 1 and field.isdigit() and int(field) < _MAX_SOCKETS else -1


def _text(raw):
    # A command line sent as bytes (CR included) as it appears in traces and errors: str, key redacted.
    return redact(str(raw[:-1], "utf-8"))


class Module:
    """The SPWF04SA on a UART. The driver never creates UART or Pin objects: pass them in.

    uart: machine.UART(1, 115200, rxbuf=1024, timeout=0) or tcp_uart.TcpUart; reset_pin / wakeup_pin:
    objects with value(v) (or callable), or None. timeout: default command timeout in ms. read_max: the
    largest SOCKR the driver asks for. probe_ms / pin_boot_ms / boot_ms: liveness probe, wait for a
    boot indication after a pin reset, start-up allowance (class defaults; settable per instance)."""

    probe_ms = _PROBE_MS
    pin_boot_ms = _PIN_BOOT_MS
    boot_ms = _BOOT_MS

    def __init__(self, uart, reset_pin=None, wakeup_pin=None, timeout=_TIMEOUT, read_max=_READ_MAX,
                 line_max=parser.LINE_MAX):
        self.uart = uart
        self.reset_pin = reset_pin
        self.wakeup_pin = wakeup_pin
        self.timeout = timeout
        self.read_max = read_max
        self._parser = parser.Parser(self._on_event, line_max)
        self._rxb = bytearray(_RXCHUNK)
        self._rxm = memoryview(self._rxb)
        self._parser.on_w55 = self._on_w55_line
        self._poll = None
        try:
            import select

            p = select.poll()
            p.register(uart, select.POLLIN)
            p.poll(0)
            self._poll = p
            # (MicroPython's ipoll waits the same without building a result list)
            self._pollf = p.ipoll if hasattr(p, "ipoll") else p.poll
        except Exception:
            pass  # not pollable (a test double): fall back to short sleeps
        self._out = None  # trace printer
        self.on_wind = None  # optional user callback(ev) for every +WIND
        self.fw = None  # "1.1.0" after init()
        self.build = None  # from +WIND:1:Poweron:<build>
        self.winds = []  # the last few +WIND lines but 55 (diagnostics)
        self.stray = []  # the last few lines that belonged to no command
        self._socks = [None] * _MAX_SOCKETS
        self._tls = None
        self._wlan = None
        self._lines = None  # events of the command in flight (None: no command)
        self._hook = None  # per-command event hook (SOCKQ/SOCKR bookkeeping)
        self._final = None
        self._nfinal = 0
        self._echo = False
        self._boot_until = None  # ticks until which boot indications are expected
        self._booted = False
        self._reset_exc = None  # a ModuleReset to raise from the next operation
        self._reset_mid = False  # it came before the final line of the command then in flight
        self._broken = None  # why the module needs init() (it stopped answering)
        self._desync = False  # a late final line of a timed-out command may still arrive
        self._stuck = 0  # payload bytes the module may still be waiting for
        self._a = 0  # UART bytes seen buffered at the last payload check
        self._clock = None  # (epoch, ticks, by hand) when the module clock was set (settime(), or cmd)
        self._drop(None)

    # ----------------------------------------------------------------------------------------- state
    def _drop(self, exc):
        # The module rebooted (or is being re-initialised): everything it held is gone.
        for s in self._socks:
            if s is not None:
                s._dead(exc)
        self._socks = [None] * _MAX_SOCKETS
        self.link = False  # Wi-Fi up with an IPv4 address
        self.ip = None
        self.hw = False  # radio started (+WIND:32)
        self.hw_failure = None
        self.join_failures = 0
        self.join_last = None
        self._clock = None
        self._wind_off_medium = None  # console_wind_off_medium as the user has it (read once; -1: cannot mask)
        self.w55off = False  # WIND 55 masked by the driver for a bulk receive (socket.py)
        self._lost = False  # the module may hold sockets the driver does not know of (socket._sweep closes them)
        self._raw = False  # at() opened a socket: the sweep cannot tell lost sockets from the user's
        if self._tls is not None:
            self._tls._drop()

    def _unexpected_reset(self, why):
        # (before the final line of the command in flight: that command failed; after it: the next one does)
        self._reset_mid = self._lines is not None and self._final is None
        if self._reset_exc is None:
            self._reset_exc = ModuleReset(
                errno.ECONNRESET, "module reset (%s): all sockets closed; call init() and join again" % why)
        self._drop(self._reset_exc)
        self._parser.disarm()
        self._boot_until = ticks_ms()  # the rest of this boot's indications are expected

    def check(self):
        """Raise what stops the module: OSError EIO when it stopped answering (call init()), or the ModuleReset
        of a reset the driver did not ask for (raised once). For the driver's parts after they waited."""
        if self._broken:
            raise OSError(errno.EIO, "module not answering since: %s; call init()" % self._broken)
        e = self._reset_exc
        if e is not None:
            self._reset_exc = None
            raise e

    # ----------------------------------------------------------------------------------------- trace
    def trace(self, on=True, out=None):
        """Print the UART traffic (> sent, < received); the Wi-Fi key and key payloads are redacted."""
        self._out = (out or print) if on else None

    def _t(self, s):
        if self._out:
            self._out(s)

    def warn(self, msg):
        """Warnings the user must see (e.g. every use of insecure=True); prints by default."""
        print("WARNING: spwf04: " + msg)

    # ----------------------------------------------------------------------------------------- reader
    def _on_event(self, ev):
        k = ev.kind
        if self._out:
            if k == parser.PAYLOAD:
                if ev.data is None:
                    self._out("< <<%d bytes>>" % ev.number)
            elif k == parser.GARBAGE:
                self._out("< !%s %s" % (ev.text, ev.line))
            else:
                self._out("< " + redact(ev.line))
        if k == parser.WIND:
            self._wind(ev)
            return
        if k == parser.ECHO:
            self._echo = True
            return
        if self._lines is None:
            _log(self.stray, redact(ev.line))
            return
        if self._hook is not None:
            self._hook(ev)
        if k == parser.OK or k == parser.ERROR:
            self._nfinal += 1
            if self._final is None:
                self._final = ev
        elif self._nfinal == 0:
            self._lines.append(ev)

    def _on_w55_line(self, raw):
        # The parser's fast path for +WIND:55:Pending Data::<id>:<received>:<cumulated>, the one line that
        # comes per TCP segment: bytes only, no Event. Traced, watched (on_wind) or odd lines take the
        # normal path.
        if self._out or self.on_wind is not None:
            return False
        f = raw.split(b":")
        if len(f) != 7 or f[3] or not f[4].isdigit():
            return False
        s = self._sock_of(f[4])
        if s is not None:
            s._wind55(f[5], f[6])
        return True

    def _wind(self, ev):
        n = ev.number
        prm = ev.params
        if n != 55:  # (data-path indications would only flush the interesting ones out)
            _log(self.winds, ev.line)
        if n == 55:  # Pending Data::<id>:<received>:<cumulated> (client sockets: empty first field)
            if len(prm) >= 4 and prm[0] == "":
                s = self._sock_of(prm[1])
                if s is not None:
                    s._wind55(prm[2], prm[3])
        elif n == 58:  # Socket Closed:<id>:<reason>
            if prm:
                s = self._sock_of(prm[0])
                if s is not None:
                    s._wind58()
        elif n == 63:  # Socket Dropping Data[:<id>:<n>]: the module lost received data (its buffer was full)
            self._dropped(prm, ev.line)
        elif n == 24:  # WiFi Up:<n>:<a.b.c.d>, then WiFi Up::fe80:... (IPv6 link-local) after a join
            ip = prm[-1] if prm else ""
            if ip.count(".") == 3:
                self.link = True
                self.ip = ip
                self.join_failures = 0
            elif not self.link and ev.line.rsplit("Up::", 1)[-1].startswith("fe80"):
                # The IPv6 line comes after the IPv4 one (real log): its twin was lost on the line, but the link
                # is up. Waiting for a line that will not come would cost the whole join timeout; ipconfig()
                # asks the module for the address. (A bare `WiFi Up::` at boot, seen in a variant, is no link.)
                self.link = True
                self.join_failures = 0
        elif n in _LINK_DOWN:
            self.link = False
            self.ip = None
            if n == 38:
                self.hw = False
            else:  # 20 (join failed) and 85 (no DHCP lease) end a join at once; deauths count up to 3
                self.join_failures += 3 if n == 20 or n == 85 else 1
                self.join_last = ev.line
        elif n == 32:
            self.hw = True
        elif n == 5:
            self.hw_failure = ev.line
        elif n == 8:
            self._unexpected_reset("hard fault: " + ev.line)
        elif n in _BOOT_WINDS:
            if n == 1:
                self.build = ev.tail()
            self._booted = True
            b = self._boot_until
            if b is None or ticks_diff(ticks_ms(), b) > self.boot_ms:
                self._boot_until = None
                self._unexpected_reset(ev.line)
        if self.on_wind is not None:
            self.on_wind(ev)

    def _dropped(self, prm, line):
        # Lost data must never pass for a stream with a gap: the socket it names (every socket if it names
        # none) fails with EIO. Meaning of the fields is unknown: a leading socket id is trusted if there.
        s = self._sock_of(prm[0]) if prm else None
        for x in (s,) if s is not None else self._socks:
            if x is not None:
                x._fail(errno.EIO, "the module dropped received data (%s): read faster, or slow the peer" % line)

    def _sock_of(self, field):
        # The socket a line's id field names (None: no valid id, or no socket of ours there).
        i = sock_id(field)
        return self._socks[i] if i >= 0 else None

    def _rx(self):
        # Consume what the UART has, never blocking. Payload goes straight into the reader's buffer (armed
        # with exactly the payload's size), in batches: one readinto per >= _BATCH bytes, however finely
        # the UART delivers them, so a SOCKR allocates nothing per received chunk.
        p = self._parser
        u = self.uart
        left = p.payload_left
        if left:
            a = u.any()
            if not a:
                return False
            if a < left and a < _BATCH and a != self._a:
                self._a = a  # a batch is building up; read as soon as it stops growing (small rxbuf)
                sleep_ms(1)
                return False
            self._a = 0
            pos = p.payload_pos
            n = u.readinto(p.payload_buf if pos == 0 else p.payload_buf[pos:])
            if not n:
                return False
            p.payload_filled(n)
            return True
        n = u.readinto(self._rxb)
        if not n:
            return False
        p.feed(self._rxb, n)  # (bytes after a Reading line are copied on into the payload buffer)
        return True

    def _idle(self, ms):
        # Wait up to ms for input (poll when the UART supports it, else a short sleep).
        if ms <= 0:
            return
        if ms > _IDLE_MS:
            ms = _IDLE_MS
        if self._poll is not None:
            self._pollf(ms)
        else:
            sleep_ms(1)

    def pump(self):
        """Process what the module has sent so far (routes WINDs); never blocks (bounded even when the
        module floods the line)."""
        if self._lines is None:
            for _ in range(_LOG * 8):
                if not self._rx():
                    return

    def wait_for(self, cond, ms):
        """Process the module's output until cond() is true, the module resets or ms pass; returns cond().
        Then check() raises a reset. For the driver's parts (Wi-Fi join, NTP) that wait for indications."""
        return self._wait(lambda: cond() or self._reset_exc is not None, ms) and cond()

    def _wait(self, cond, ms):
        # Pump until cond() or ms elapse (also while input keeps coming); returns cond().
        t = ticks_ms()
        while not cond():
            got = self._rx()
            r = ms - _ms(t)
            if r <= 0:
                return cond()
            if not got:
                self._idle(r)
        return True

    # ----------------------------------------------------------------------------------------- commands
    def _send(self, raw, payload=None):
        if self._out:
            self._t("> " + _text(raw))
            if payload is not None:
                self._t("> <<%d bytes>>" % len(payload))
        n = self.uart.write(raw)  # a command line goes in one call, the usual case
        if n != len(raw):
            self._write(memoryview(raw)[n or 0 :])
        if payload is not None:
            self._write(payload)

    def _write(self, data):
        mv = memoryview(data)
        t = ticks_ms()
        while len(mv):
            n = self.uart.write(mv)
            if n:
                if n >= len(mv):
                    return
                mv = mv[n:]
            elif _ms(t) > self.timeout:
                raise OSError(errno.ETIMEDOUT, "UART write stalled")
            else:
                sleep_ms(1)

    def cmd(self, cmd, payload=None, timeout=None, hook=None):
        """Send one command (plus raw payload), wait for its final line. Returns the list of events
        (AT-S. information lines, unprefixed lines) before the final line; raises ModuleError on
        AT-S.ERROR, OSError(ETIMEDOUT) when no final line arrives within timeout ms."""
        if len(cmd) > _CMD_MAX or "\r" in cmd or "\n" in cmd:
            raise ValueError("command too long (max 512) or contains CR/LF: %s" % redact(cmd[:40]))
        if self.w55off and ("WCFG" in cmd.upper() or "&W" in cmd.upper()):
            self._mask55(False)  # never store the driver's temporary WIND 55 mask
        r = self._do(cmd.encode() + b"\r", payload, timeout, hook)
        if cmd[:10].upper() == "AT+S.TIME=":
            # set by hand (m.at) or by settime(), which marks it as its own afterwards: the module has this
            # clock now, never the one the driver set earlier (pre-flight and diagnosis date-check with it)
            try:
                self._clock = (int(cmd[10:]), ticks_ms(), True)
            except ValueError:
                self._clock = None
        return r

    def _do(self, raw, payload=None, timeout=None, hook=None):
        # cmd() for a command line as bytes, CR included: what the sockets' data path sends (SOCKW; SOCKR and
        # SOCKQ through _quick), so no text is formatted or decoded per command. The str form is made only for
        # errors and traces.
        if self._broken or self._reset_exc is not None:
            self.check()
        if self._desync:
            self._resync()
        if self._rx():  # what arrived before the command is not its answer: routed first (strays are logged)
            self.pump()
            self.check()
        self._begin(hook)
        return self._finish(raw, payload, timeout or self.timeout, ticks_ms(), True)

    def _finish(self, raw, payload, ms, t, send):
        # The general way for a command in flight (_begin done): sent here unless it was, its lines parsed up to
        # the final one within ms of ticks t. Returns the lines before it; raises ModuleError on AT-S.ERROR.
        try:
            if send:
                self._send(raw, payload)
            self._wait_final(raw, payload, ms, t)
        except ModuleReset:
            self._parser.reset()
            raise
        except BaseException:  # timeout, Ctrl-C: the answer may still come
            self._parser.reset()
            if not self._broken:
                self._desync = True
            raise
        finally:
            lines = self._lines
            self._lines = None
            self._hook = None
        ev = self._final
        if ev.kind == parser.ERROR:
            raise ModuleError(ev.code, ev.text, _text(raw),
                              [redact(e.line)[5:] if e.line.startswith("AT-S.") else e.line for e in lines])
        return lines

    def _wait_final(self, raw, payload, ms, t):
        while self._final is None:
            if self._reset_exc is not None:
                self.check()
            got = self._rx()
            r = ms - ticks_diff(ticks_ms(), t)
            if r <= 0:  # checked even while input keeps coming: a flood cannot hold us
                if self._final is None:
                    self._timed_out(raw, payload, ms)
                return
            if not got:
                self._idle(r)
        if self._reset_exc is not None and self._reset_mid:  # (a reset, then a final line, in one chunk)
            self.check()

    def _begin(self, hook):
        # A command is in flight from here: lines now belong to it (until _do ends).
        self._lines = []
        self._final = None
        self._nfinal = 0
        self._hook = hook

    def _quick(self, raw, head, hook, ms):
        # _do for the data path's commands - SOCKR (the parser armed with its payload buffer), SOCKQ - in one
        # frame. Their usual answer - the head line, for a SOCKR exactly the armed payload, AT-S.OK - is read
        # straight from the UART: no parser, no events, no text; a few UART calls per read. Returns the head
        # line's fields (a bytearray; b"" for Reading). Any other shape (an indication or error first, noise,
        # a slow module): what was read is handed to the parser where it stands (armed for the rest, the hook
        # told how far the answer got) and _finish ends the command the general way with the same deadline,
        # returning the list of lines.
        if self._broken or self._reset_exc is not None or self._desync or self._out:
            return self._do(raw, None, ms, hook)  # (_do settles these first)
        t = ticks_ms()
        try:
            n = self.uart.write(raw)  # (_send without a trace: a command line usually goes in one call)
            if n != len(raw):
                self._write(memoryview(raw)[n or 0 :])
            u = self.uart
            b = self._rxb
            p = self._parser
            h = len(head)
            n = u.readinto(b) or 0  # usually the whole head line, and the payload's start behind it
            while True:
                j = b.find(b"\n", 0, n) if n else -1
                if j >= 0 or n == _RXCHUNK:
                    break
                if not n:  # nothing yet: wait for the answer's first bytes (one round trip), take what is there
                    # (not _more(0, ...): its wait for a count that stops growing costs a sleep and more calls per
                    # read, measured as 24-32 instead of 17-20 instructions per payload byte)
                    if not self._tick(t, ms):
                        break
                    n = u.readinto(b) or 0
                    continue
                g = self._more(n, h + 13, t, ms)  # (a head line with its fields is some 24-26 bytes)
                if g == n:
                    break
                n = g
            if j <= h or not b.startswith(head) or b.find(b"\r", h, j) != j - 1:
                # (a CR inside: the line ended there, its LF lost; what follows may be payload: the parser's rule)
                self._hand(hook, n)
                return self._finish(raw, None, ms, t, False)
            i = j + 1
            k = p._arm_n
            f = b"" if k else b[h : j - 1]  # (without the CR; Reading's fields are not used)
            if k:  # SOCKR: the payload, first what came with the line, then into the reader's buffer directly
                dst = p._arm_buf
                c = n - i
                if c > k:
                    c = k
                if c:
                    dst[:c] = self._rxm[i : i + c]
                    i += c
                pos = c
                if pos < k:
                    pos += u.readinto(dst[pos:] if pos else dst) or 0  # usually the whole rest
                last = 0
                while pos < k:
                    a = u.any()
                    if a:
                        if a < k - pos and a < _BATCH and a != last:
                            last = a  # a batch is building up (as in _rx): read once it stops growing
                            sleep_ms(1)
                        else:
                            last = 0
                            pos += u.readinto(dst[pos:]) or 0
                        continue
                    if not self._tick(t, ms):  # the parser takes over, counting what is still missing
                        hook(parser.READING)
                        p._payload()
                        p.payload_filled(pos)
                        self._hand(hook, 0)
                        return self._finish(raw, None, ms, t, False)
            n -= i  # the final line: what is left of the chunk, else a fresh read
            if n == 9 and b.startswith(b"AT-S.OK\r\n", i):  # (the whole answer in one chunk: SOCKQ, a short SOCKR)
                p._arm_n = 0
                p._arm_buf = None
                return f
            if n:
                b[:n] = bytes(self._rxm[i : i + n])
            else:
                n = u.readinto(b) or 0
            while True:
                if n >= 9:
                    if b.startswith(b"AT-S.OK\r\n"):
                        e = 9
                    elif n >= 11 and b.startswith(b"\r\nAT-S.OK\r\n"):  # (spec 6.10: at most one CR LF first)
                        e = 11
                    else:
                        e = 0
                    if e:
                        p._arm_n = 0  # (disarm() without the call)
                        p._arm_buf = None
                        if n > e:  # (an indication right behind: routed, no command in flight)
                            p.feed(bytes(self._rxm[e:n]))
                        return f
                    if b.find(b"\n", 2, n) > 0:
                        break
                if n == _RXCHUNK:
                    break
                if not n:
                    if not self._tick(t, ms):
                        break
                    n = u.readinto(b) or 0
                    continue
                g = self._more(n, 9, t, ms)
                if g == n:
                    break
                n = g
            if k:  # the payload is complete, its end is not what it should be: the general way decides
                hook(parser.READING)
                hook(parser.DONE)
                p.disarm()
                self._hand(hook, n)
            else:  # a SOCKQ: its head line (the count) goes to the parser first, else the count is lost
                self._hand(hook, 0)
                p.feed(head + f + b"\r\n")
                if n:
                    p.feed(self._rxb, n)
            return self._finish(raw, None, ms, t, False)
        except ModuleError:  # (from _finish: the answer's final line)
            raise
        except BaseException as e:  # as in _finish (again, if it came from there: the same state)
            self._parser.reset()
            self._lines = None
            self._hook = None
            if not self._broken and not isinstance(e, ModuleReset):
                self._desync = True
            raise

    def _more(self, n, need, t, ms):
        # More of a line into the chunk buffer behind its first n bytes, once `need` bytes in all are there or
        # the UART's count stops growing: a line that trickles in costs one read, not one per fragment.
        # Returns the new length (n: the deadline passed).
        u = self.uart
        last = 0
        need -= n
        while True:
            a = u.any()
            if a:
                if a < need and a != last:
                    last = a
                    sleep_ms(1)
                    continue
                return n + (u.readinto(self._rxm[n:] if n else self._rxb) or 0)
            if not self._tick(t, ms):
                return n

    def _hand(self, hook, n):
        # _quick gives up: the command goes on the general way, with the first n bytes of the chunk parsed.
        self._begin(hook)
        if n:
            self._parser.feed(self._rxb, n)

    def _tick(self, t, ms):
        # While waiting within a command's deadline: False once it has passed, else wait a little for input.
        r = ms - ticks_diff(ticks_ms(), t)
        if r <= 0:
            return False
        self._idle(r)
        return True

    def _timed_out(self, raw, payload, ms):
        # No final line in time. Probe with a bare AT to tell "busy" from "gone" before giving up.
        p = self._parser
        what = "no final line"
        lost = p.payload_left  # bytes were lost on the way in: the payload is incomplete
        if lost:
            what = "%d of %d payload bytes missing" % (lost, p.payload_total)
        p.reset()
        self._send(b"AT\r")
        self._wait(lambda: self._nfinal >= 2, self.probe_ms)
        got = self._nfinal
        if got >= 2 and payload is None and not lost:
            return  # the command's own final line came late, then the probe's OK: not a failure
        # (after a payload command the probe may have been swallowed as payload: never trust a late OK)
        if self._reset_exc is not None:
            self.check()
        cmd = _text(raw)
        if got:
            self._desync = True  # a late final line may still come: resynchronise before the next command
            if lost:  # a live module never stops inside a payload: its bytes were lost on the way (an overrun)
                raise OSError(errno.EIO, "%s: %s within %d ms, the module answers AT: received bytes were lost "
                              "(UART overrun or noise)" % (cmd, what, ms))
            raise OSError(errno.ETIMEDOUT, "%s: %s within %d ms; the module answers AT (busy)" % (cmd, what, ms))
        if payload is not None:
            self._stuck = len(payload)
        self._broken = "%s: %s within %d ms, then no answer to AT" % (cmd, what, ms)
        raise OSError(errno.ETIMEDOUT, self._broken + "; call init() (resets the module)")

    def _resync(self):
        # After a timeout: a late final line may still be on its way. Send a command whose answer is
        # recognisable and drop everything up to that answer.
        self._desync = False
        seen = []
        self._lines = []
        self._final = None
        self._nfinal = 0

        def hook(ev):
            if ev.kind == parser.INFO and ev.text == "Var" and ev.tail().startswith("console_echo="):
                seen.append(1)
            elif seen and ev.kind in (parser.OK, parser.ERROR):
                seen.append(2)

        self._hook = hook
        try:
            self._send(b"AT+S.GCFG=console_echo\r")
            ok = self._wait(lambda: len(seen) > 1, self.probe_ms)
        finally:
            self._lines = None
            self._hook = None
        if not ok:
            self._broken = "no answer while resynchronising after a timeout"
            raise OSError(errno.ETIMEDOUT, self._broken + "; call init()")

    def _mask55(self, on):
        # Mask (on) or unmask WIND 55 for a bulk receive (socket.py says when). SCFG only, never stored.
        # Masked indications are dropped (spec 3): on unmasking every socket asks SOCKQ before trusting
        # a count again.
        v = self._wind_off_medium
        if v is None:  # read once per boot, when first needed (reading it at init() gained nothing measurable)
            try:
                v = int(self.var("console_wind_off_medium", "AT+S.GCFG=console_wind_off_medium"), 16)
            except (ModuleError, ValueError):
                v = -1
            self._wind_off_medium = v
        if v < 0:
            return
        if not v & _W55:  # (WIND 55 already off by the user's choice: nothing to switch)
            try:
                self.cmd("AT+S.SCFG=console_wind_off_medium,0x%08x" % (v | _W55 if on else v))
            except ModuleError:  # a firmware without this variable: keep the indications
                self._wind_off_medium = -1
                on = False
        self.w55off = on
        if not on:
            for s in self._socks:
                if s is not None:
                    s._exact = False
                    s._dirty = True

    def var(self, name, cmd=None):
        """Value of a status variable (AT+S.STS=<name>, or the given command, e.g. AT+S.GCFG=<name>) from
        its AT-S.Var:<name>=<value> line, as str."""
        for ev in self.cmd(cmd or "AT+S.STS=" + name):
            t = ev.tail()
            if ev.text == "Var" and t.startswith(name + "="):
                return t[len(name) + 1 :]
        raise OSError(errno.EIO, "no AT-S.Var line for %s" % name)

    def at(self, cmd, payload=None, timeout=None):
        """Raw passthrough for experiments: at("AT+S.STS=fw_version") -> the module's lines (str, final
        line included). With payload, ',<len>' is appended unless cmd already ends with it. WINDs are still
        routed; SOCKR payload is returned as the last item (bytes). Does not touch the driver's socket
        table. AT+S.RESET is handled as an expected reboot."""
        if isinstance(payload, str):
            payload = payload.encode()
        if payload is not None and not cmd.endswith(",%d" % len(payload)):
            cmd = "%s,%d" % (cmd, len(payload))
        up = cmd.upper()
        if up.startswith("AT+S.RESET"):
            self.check()
            self.reboot(cmd)
            return ["AT-S.OK"]
        if "WIND_OFF" in up:  # the user takes over the indication masks
            self._wind_off_medium = None
            self.w55off = False
        data = None
        if up.startswith("AT+S.SOCKR="):
            try:
                n = int(cmd.split(",")[1])
                data = bytearray(n)
                self._parser.expect_payload(data, n)
            except (IndexError, ValueError):
                pass
        try:
            lines = [redact(e.line) for e in self.cmd(cmd, payload, timeout)]
        finally:
            self._parser.disarm()
        if up.startswith("AT+S.SOCKON"):
            self._raw = True  # a socket the driver does not own may exist now: no sweeping until init()
        lines.append(self._final.line)
        if data is not None:
            lines.append(bytes(data))
        return lines

    # ----------------------------------------------------------------------------------------- bring-up
    def init(self, reset=True):
        """Bring the module up: reset (pin, else AT+S.RESET), wait for the boot indications, echo off,
        read fw_version. Also the way back after ModuleReset or a module that stopped answering.
        Returns the firmware version string."""
        self._broken = None
        self._reset_exc = None
        self._desync = False
        self._lines = None
        self._parser.reset()
        self._drop(ModuleReset(errno.ECONNRESET, "module re-initialised: socket closed"))
        if self.wakeup_pin is not None:
            _pin(self.wakeup_pin, 1)  # high = awake; sleep modes must never stall the console
        if reset:
            self._reset()
        elif not self._alive():
            raise self._silent()
        self._reset_exc = None
        self._echo = False
        self.cmd("AT+S.SCFG=console_echo,0")
        if self._echo:  # echo was on in the stored configuration: store it off (one flash write)
            self.cmd("AT+S.WCFG")
        self.fw = self.var("fw_version")
        return self.fw

    def _silent(self):
        return OSError(errno.ETIMEDOUT, "module not answering AT: check power, the UART wiring and jumpers "
                                        "(UART mode) and the baud rate (115200; AT+S.FCFG restores it)")

    def _alive(self):
        # A bare AT answered? (Also swallows any final lines still in flight.)
        self._lines = []
        self._final = None
        self._nfinal = 0
        try:
            self._send(b"AT\r")
            return self._wait(lambda: self._nfinal > 0, self.probe_ms)
        finally:
            self._lines = None

    def _reset(self):
        self._booted = False
        self._boot_until = ticks_ms()
        if self.reset_pin is not None:
            _pin(self.reset_pin, 0)
            sleep_ms(200)
            self.pump()  # whatever the module said before the reset
            self._parser.reset()
            self._booted = False
            self._boot_until = ticks_ms()
            _pin(self.reset_pin, 1)
            if self._wait(lambda: self._booted, self.pin_boot_ms):
                self._wait_ready()
                return
        # Unpatched IDW04A1 boards ignore the reset pin (spec 1): reset by command.
        if not self._alive():
            if self._stuck:  # the module may be waiting for the rest of a payload: complete it
                self._write(b"\r" * self._stuck)
                self._stuck = 0
                self._wait(lambda: False, 300)
            if not self._alive():
                raise self._silent()
        self.reboot("AT+S.RESET")

    def reboot(self, cmd="AT+S.RESET"):
        """Reset the module with cmd (it applies saved settings so) and wait until it has booted; its sockets
        are gone. Raises OSError ETIMEDOUT when no boot indication comes."""
        # A reset the driver asked for: its boot indications are expected; the module may answer OK first.
        self._drop(ModuleReset(errno.ECONNRESET, "module reset by %s: socket closed" % cmd))
        self._booted = False
        self._boot_until = ticks_ms()
        self._send(cmd.encode() + b"\r")
        if not self._wait(lambda: self._booted, self.boot_ms):
            raise OSError(errno.ETIMEDOUT, "%s: no boot indication within %d ms" % (cmd, self.boot_ms))
        self._wait_ready()

    def _wait_ready(self):
        # After the first boot indication: wait for the radio (+WIND:32) or give up quietly after the boot
        # window (the console works without it; radio commands then fail with the module's own error).
        self._boot_until = ticks_ms()
        self._wait(lambda: self.hw, self.boot_ms)
        self._wait(lambda: False, 100)  # the rest of the boot burst is still expected
        self._boot_until = None  # from now on a boot indication means the module reset under us
        self._stuck = 0

    # ----------------------------------------------------------------------------------------- clock
    def settime(self, epoch=None):
        """Set the module clock (AT+S.TIME) to epoch (UNIX seconds, UTC) or, by default, the board clock."""
        if epoch is None:
            epoch = board_epoch()
            if epoch < CLOCK_MIN:
                raise ValueError("board clock not set (%d): pass settime(<UNIX epoch>) or set the RTC first "
                                 "(e.g. ntptime, or machine.RTC().datetime(...))" % epoch)
        epoch = int(epoch)
        if epoch < CLOCK_MIN:
            raise ValueError("epoch %d is before 2017: not a real UTC time (seconds since 2000? add %d)"
                             % (epoch, _EPOCH_2000))
        self.cmd("AT+S.TIME=%d" % epoch)
        self._clock = (epoch, ticks_ms(), False)  # (epoch, ticks, set by hand: see cmd)

    def time(self):
        """The module clock read back (AT+S.TIME) as UNIX seconds (UTC)."""
        d = t = None
        for ev in self.cmd("AT+S.TIME"):
            if ev.text == "Date" and ev.params:
                d = ev.params[0].split(".")
            elif ev.text == "Time" and ev.params:
                t = ev.params[0].split(".")
        try:
            return to_epoch((2000 + int(d[0]), int(d[1]), int(d[2]), int(t[0]), int(t[1]), int(t[2])))
        except (TypeError, ValueError, IndexError):
            raise OSError(errno.EIO, "unexpected AT+S.TIME answer")

    @property
    def clock_by_hand(self):
        """True when the module clock was last set with a raw AT+S.TIME (m.at or m.cmd), not settime()."""
        c = self._clock
        return bool(c and len(c) > 2 and c[2])

    def clock(self):
        """The module clock as the driver set it (UNIX seconds), or None if the driver has not set it
        since the module booted. No AT traffic."""
        c = self._clock
        if c is None:
            return None
        return c[0] + _ms(c[1]) // 1000

    # ----------------------------------------------------------------------------------------- parts
    @property
    def wlan(self):
        """The Wi-Fi station (spwf04.wlan.WLAN, network.WLAN style), made on first use."""
        if self._wlan is None:
            from .wlan import WLAN

            self._wlan = WLAN(self)
        return self._wlan

    @property
    def tls(self):
        """The module's TLS store (spwf04.tls.TLSStore: the CA and the clock checks), made on first use."""
        if self._tls is None:
            from .tls import TLSStore

            self._tls = TLSStore(self)
        return self._tls

    def socket(self, tls=False, server_hostname=None, insecure=False):
        """A stream socket (not yet connected); see spwf04.socket.Socket."""
        from .socket import Socket

        return Socket(self, tls, server_hostname, insecure)

    def sockets(self):
        """The driver's open sockets on this module."""
        return [s for s in self._socks if s is not None]

    def __repr__(self):
        return "<Module fw=%s link=%s ip=%s sockets=%d>" % (self.fw, "up" if self.link else "down", self.ip,
                                                           len(self.sockets()))
