# Module control: the command engine, the one reader that routes every +WIND, bring-up, clock, raw AT
# passthrough and trace. Board and unix port (and CPython for the driver's unit tests).
#
# One reader: module output goes through _rx() -> Parser -> _on_event, whoever is waiting (a command, a
# socket read, a Wi-Fi join, asyncio polling). +WIND lines are routed to the socket table and link state
# the moment they are parsed; all other lines belong to the command in flight. The data path's usual answer
# (SOCKR/SOCKQ, transact()) is framed by the parser's answer mode without events.
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
_LINE_BATCH = const(32)  # a data-path answer's head line (24-26 bytes) fits
_OK_LEN = const(9)  # AT-S.OK CR LF
_RXCHUNK = const(256)  # line-mode reads: one UART readinto per chunk of lines, not one call per line
_LOG = const(8)  # recent WIND/stray lines kept for diagnostics
# SOCKR size: ST's Mbed driver reads (and writes) at most 730 bytes per command to work around module firmware
# issues, and what the module does with a larger SOCKR is unknown; 4096 saves commands where that is known
# to work (docs/benchmarks.md shows the cost of either).
_READ_MAX = const(730)
# parser.ANSWER_* values the data path compares with (a const here: no lookup per read; a test checks them)
_ANSWER_HEAD = const(2)
_ANSWER_DONE = const(4)
_W55 = const(0x800000)  # console_wind_off_medium bit 23 = WIND 55 (spec 3: bit k of _medium = WIND 32+k)

# Link health: one value (Module._link), its detail in Module._link_why (the reason, or the ModuleReset to raise).
_LINK_OK = const(0)  # answering, in step
_LINK_DESYNC = const(1)  # a command timed out or was interrupted: its late answer may still come; resync first
_LINK_RESET = const(2)  # the module reset by itself: the next operation raises the ModuleReset, once
_LINK_RESET_NOW = const(3)  # ... and the command in flight fails with it (the reset came before its final line)
_LINK_BROKEN = const(4)  # the module stopped answering: only init() helps
# The transitions (_link_to refuses any other; init() goes to OK from anywhere):
#   OK -> DESYNC             a command ended by a timeout or Ctrl-C while the module answers (_abort, _timed_out)
#   DESYNC -> OK             the resynchronising command was answered (_resync)
#   OK, DESYNC -> RESET(_NOW)  an unexpected boot indication (_unexpected_reset; _NOW while a command waits)
#   RESET(_NOW) -> OK        the ModuleReset was raised (check) or a socket raised it (reset_reported)
#   OK, DESYNC -> BROKEN     no answer to the liveness probe or to the resynchronisation (_timed_out, _resync)
#   BROKEN -> RESET          boot indications inside SOCKR data: the module is back, it rebooted (transact)
# As bit masks of the states each one may move to (bit k: state k):    BROKEN NOW RESET DESYNC OK
_LINK_NEXT = (
    0b11110,  # from OK
    0b11101,  # from DESYNC
    0b01101,  # from RESET (a second reset keeps the first exception)
    0b01101,  # from RESET_NOW
    0b00100,  # from BROKEN
)

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

    # Defaults kept on the class, not set per instance: a smaller instance dict is a cheaper one to search, and
    # MicroPython searches it for every method call (docs/benchmarks.md, "Hash tables").
    on_wind = None  # optional user callback(ev) for every +WIND
    fw = None  # "1.1.0" after init()
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
        self.parser = parser.Parser(self._on_event, line_max)
        self._rxb = bytearray(_RXCHUNK)
        self.parser.receive_buffer(self._rxb)
        self.parser.on_w55 = self._on_w55_line
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
        self._link = _LINK_OK  # link health (_LINK_*), and its detail:
        self._link_why = None  # BROKEN: why the module needs init(); RESET(_NOW): the ModuleReset to raise
        self._stuck = 0  # payload bytes the module may still be waiting for
        self._batch_seen = 0  # UART bytes seen buffered at the last check of a batch
        self._trickle = False  # the last read of a data-path answer came short: gather before the next
        self._clock = None  # (epoch, ticks, by hand) when the module clock was set (settime(), or cmd)
        self._drop(None)

    # ----------------------------------------------------------------------------------------- state
    def _drop(self, exc):
        # The module rebooted (or is being re-initialised): everything it held is gone.
        for s in self._socks:
            if s is not None:
                s.invalidate(exc)
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
        self.lost_sockets = False  # the module may hold sockets the driver does not know of (spwf04.socket sweeps them)
        self.raw_sockets = False  # at() opened a socket: the sweep cannot tell lost sockets from the user's
        if self._tls is not None:
            self._tls.forget()

    def _link_to(self, state, why=None):
        # Move the link health along the table above; False (and no change) for a move it does not allow.
        if not _LINK_NEXT[self._link] >> state & 1:
            return False
        if state == _LINK_RESET or state == _LINK_RESET_NOW:
            if self._link == _LINK_RESET or self._link == _LINK_RESET_NOW:
                why = self._link_why  # (a second reset before the first was raised: one exception)
        self._link = state
        self._link_why = why
        return True

    def _unexpected_reset(self, why):
        # (before the final line of the command in flight: that command fails; after it: the next one does)
        e = ModuleReset(errno.ECONNRESET, "module reset (%s): all sockets closed; call init() and join again" % why)
        if self._link_to(_LINK_RESET_NOW if self._lines is not None and self._final is None else _LINK_RESET, e):
            e = self._link_why
        self._drop(e)
        self.parser.disarm()
        self._boot_until = ticks_ms()  # the rest of this boot's indications are expected

    def check(self):
        """Raise what stops the module: OSError EIO when it stopped answering (call init()), or the ModuleReset
        of a reset the driver did not ask for (raised once). For the driver's parts after they waited."""
        k = self._link
        if k == _LINK_BROKEN:
            raise OSError(errno.EIO, "module not answering since: %s; call init()" % self._link_why)
        if k == _LINK_RESET or k == _LINK_RESET_NOW:
            e = self._link_why
            self._link_to(_LINK_OK)
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
            s.on_pending(f[5], f[6])
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
                    s.on_pending(prm[2], prm[3])
        elif n == 58:  # Socket Closed:<id>:<reason>
            if prm:
                s = self._sock_of(prm[0])
                if s is not None:
                    s.on_closed()
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
                x.fail(errno.EIO, "the module dropped received data (%s): read faster, or slow the peer" % line)

    # ----------------------------------------------------------------------------------------- for sockets
    # spwf04.socket's side of the module: the socket table, the data path's commands (exchange, transact),
    # the WIND 55 mask and the lost-socket flags. Indications reach a socket through its on_pending,
    # on_closed, recount, fail and invalidate.
    def socket_at(self, i):
        """The driver's socket with module id i (0-7), or None."""
        return self._socks[i]

    def register(self, i, sock):
        """sock has module id i now (SOCKON's answer); a socket of the driver that still had it fails."""
        old = self._socks[i]
        if old is not None and old is not sock:
            old.fail(errno.ENOTCONN, "the module reused this socket's id")
        self._socks[i] = sock

    def unregister(self, i, sock):
        """Module id i is no longer sock's (closed, or its SOCKON failed)."""
        if self._socks[i] is sock:
            self._socks[i] = None

    def busy(self):
        """True while a command waits for its final line (the module's output belongs to it)."""
        return self._lines is not None

    def reset_reported(self):
        """A socket raised the pending ModuleReset: the module's next operation need not raise it again."""
        if _LINK_RESET <= self._link <= _LINK_RESET_NOW:  # (a ModuleReset waits to be raised)
            self._link_to(_LINK_OK)

    def _sock_of(self, field):
        # The socket a line's id field names (None: no valid id, or no socket of ours there).
        i = sock_id(field)
        return self._socks[i] if i >= 0 else None

    def _rx(self):
        # Consume what the UART has, never blocking. A data-path answer is read straight into place - the payload
        # into the reader's buffer (armed with exactly its size) - and, once a read came short of what the
        # answer needs next, in batches: read once that much is there or the UART's count stops growing (the one
        # batching rule). So a SOCKR costs a few UART calls and allocates nothing per received chunk, however
        # finely the UART delivers it.
        p = self.parser
        u = self.uart
        left = p.payload_left
        w = left or p.answer
        if w:
            # (what the answer needs next: the payload's next batch, the final line after it, else its head line)
            need = (left if left < _BATCH else _BATCH) if left else _OK_LEN if p.answer == _ANSWER_HEAD \
                else _LINE_BATCH
            if self._trickle:
                a = u.any()
                if not a:
                    return False
                if a < need and a != self._batch_seen:
                    self._batch_seen = a  # a batch is building up; read as soon as it stops growing (small rxbuf)
                    sleep_ms(1)
                    return False
                self._batch_seen = 0
            if left:
                pos = p.payload_pos
                n = u.readinto(p.payload_buf if pos == 0 else p.payload_buf[pos:])
                if not n:
                    return False
                self._trickle = n < need
                p.payload_filled(n)
                return True
        n = u.readinto(self._rxb)
        if not n:
            return False
        if w:  # (a read of a data-path answer starts where a line starts, unless a line is held)
            self._trickle = n < need
            p.take(self._rxb, n)
        else:
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
        return self._wait(lambda: cond() or _LINK_RESET <= self._link <= _LINK_RESET_NOW, ms) and cond()

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
            self.mask_pending(False)  # never store the driver's temporary WIND 55 mask
        r = self.exchange(cmd.encode() + b"\r", payload, timeout, hook)
        if cmd[:10].upper() == "AT+S.TIME=":
            # set by hand (m.at) or by settime(), which marks it as its own afterwards: the module has this
            # clock now, never the one the driver set earlier (pre-flight and diagnosis date-check with it)
            try:
                self._clock = (int(cmd[10:]), ticks_ms(), True)
            except ValueError:
                self._clock = None
        return r

    def exchange(self, raw, payload=None, timeout=None, hook=None):
        """cmd() for a command line as bytes, CR included: what the sockets' data path sends (SOCKW, and SOCKR and
        SOCKQ through transact()), so no text is formatted or decoded per command."""
        # (the str form is made only for errors and traces)
        if self._link == _LINK_DESYNC:  # the late answer of a timed-out command: skipped first
            self._resync()
        elif self._link:
            self.check()
        if self._rx():  # what arrived before the command is not its answer: routed first (strays are logged)
            self.pump()
            self.check()
        return self._run(raw, payload, timeout or self.timeout, hook, False)

    def _run(self, raw, payload, ms, hook, quick):
        # The command in flight: sent, its answer parsed up to the final line (in answer mode: or to the usual
        # answer's end) within ms. Returns the lines before the final one; raises ModuleError on AT-S.ERROR.
        # quick (transact()'s usual case): the answer in a few UART calls - one read for the head line and the
        # payload's start, the payload straight into the reader's buffer, one read for the final line - the
        # parser framing every byte (Parser.take); whatever is still missing is waited for the general way.
        self._lines = []  # (_begin inline: the data path)
        self._final = None
        self._nfinal = 0
        if hook is not None:  # (None already: every command ends with it)
            self._hook = hook
        p = self.parser
        try:
            if quick:
                u = self.uart
                k = u.write(raw)  # (a command line usually goes in one call)
                if k != len(raw):
                    self._write(memoryview(raw)[k or 0 :])
                b = self._rxb
                if self._poll is not None:  # (_idle() inline: the answer is a round trip away)
                    self._pollf(_IDLE_MS)
                k = u.readinto(b)
                if k and p.take(b, k) == _ANSWER_HEAD and p.payload_left:
                    k = u.readinto(p.payload_buf[p.payload_pos :])  # usually the whole rest
                    if k:
                        p.payload_filled(k)
                if p.answer == _ANSWER_HEAD and not p.payload_left:
                    k = u.readinto(b)  # the final line
                    if k:
                        p.take(b, k)
            else:
                self._send(raw, payload)
            if self._final is None and p.answer != _ANSWER_DONE:
                self._wait_final(raw, payload, ms, quick and p.held > 0)  # (a line trickles in: gather it)
        except BaseException as e:  # a timeout, Ctrl-C, a reset: the parser forgets its partial state and,
            p.reset()  # but after a reset, the late answer may still come: resynchronise before the next command
            if not isinstance(e, ModuleReset):
                self._link_to(_LINK_DESYNC)  # (not from BROKEN or RESET: see the table)
            raise
        finally:
            lines = self._lines
            self._lines = None
            self._hook = None
        ev = self._final
        if ev is not None and ev.kind == parser.ERROR:  # (None: transact()'s usual answer, complete)
            raise ModuleError(ev.code, ev.text, _text(raw),
                              [redact(e.line)[5:] if e.line.startswith("AT-S.") else e.line for e in lines])
        return lines

    def _wait_final(self, raw, payload, ms, gather=False):
        # Input is parsed until the command's final line (or the usual answer's end, in answer mode) or ms pass.
        # gather: the answer is known to trickle in (a line came in part): batch from the first read.
        t = ticks_ms()
        self._trickle = gather
        p = self.parser
        while self._final is None and p.answer != _ANSWER_DONE:
            if self._link >= _LINK_RESET:
                self.check()
            got = self._rx()
            r = ms - ticks_diff(ticks_ms(), t)
            if r <= 0:  # checked even while input keeps coming: a flood cannot hold us
                if self._final is None and p.answer != _ANSWER_DONE:
                    self._timed_out(raw, payload, ms)
                return
            if not got:
                self._idle(r)
        if self._link == _LINK_RESET_NOW:  # (a reset, then a final line, in one chunk)
            self.check()

    def _begin(self, hook):
        # A command is in flight from here: lines now belong to it (until exchange() ends).
        self._lines = []
        self._final = None
        self._nfinal = 0
        self._hook = hook

    def transact(self, raw, head, buf, n, ms):
        """A data-path command (spwf04.socket's SOCKR and SOCKQ, as bytes with its CR) whose usual answer the
        parser frames without events: a line starting with head, with n > 0 n payload bytes into buf (a
        memoryview), then AT-S.OK. Returns how far that answer came (parser.ANSWER_*; the parser's `fields` and
        `short` tell the rest); any other answer ends the general way (errors as for cmd())."""
        # (a small frame - few locals, a shallow stack - so MicroPython keeps it off the heap: the data path)
        p = self.parser
        p.expect(head, buf, n)
        try:
            if self._link or self._out:
                self._transact_slowly(raw, head, n, ms)
            else:
                self._run(raw, None, ms, None, True)
            return p.answer
        except OSError as e:
            self._reset_in(buf, n, e)
            raise
        finally:
            p.disarm()

    def _transact_slowly(self, raw, head, n, ms):
        # transact() when something is to settle first (exchange() does) or the traffic is traced.
        self.exchange(raw, None, ms)
        f = self.parser.fields
        if self._out and f is not None:  # (the usual answer makes no events: traced here)
            self._out("< %s%s%s" % (str(head, "utf-8"), str(f, "utf-8"), "\n< <<%d bytes>>" % n if n else ""))

    def _reset_in(self, buf, n, e):
        # A SOCKR failed (e): a module that rebooted mid-payload leaves its boot indications inside the data
        # counted. Raises the ModuleReset then (also from BROKEN: the module is back).
        if n and not isinstance(e, ModuleError):
            try:
                b = bytes(buf)
            except MemoryError:
                return
            if b"+WIND:1:" in b or b"+WIND:0:" in b:
                self._unexpected_reset("boot indications inside SOCKR data")
                self.check()

    def _timed_out(self, raw, payload, ms):
        # No final line in time. Probe with a bare AT to tell "busy" from "gone" before giving up.
        p = self.parser
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
        if _LINK_RESET <= self._link <= _LINK_RESET_NOW:  # (a ModuleReset waits to be raised)
            self.check()
        cmd = _text(raw)
        if got:
            self._link_to(_LINK_DESYNC)  # a late final line may still come: resynchronise before the next command
            if lost:  # a live module never stops inside a payload: its bytes were lost on the way (an overrun)
                raise OSError(errno.EIO, "%s: %s within %d ms, the module answers AT: received bytes were lost "
                              "(UART overrun or noise)" % (cmd, what, ms))
            raise OSError(errno.ETIMEDOUT, "%s: %s within %d ms; the module answers AT (busy)" % (cmd, what, ms))
        if payload is not None:
            self._stuck = len(payload)
        why = "%s: %s within %d ms, then no answer to AT" % (cmd, what, ms)
        self._link_to(_LINK_BROKEN, why)
        raise OSError(errno.ETIMEDOUT, why + "; call init() (resets the module)")

    def _resync(self):
        # After a timeout: a late final line may still be on its way. Send a command whose answer is
        # recognisable and drop everything up to that answer.
        self._link_to(_LINK_OK)
        seen = []

        def hook(ev):
            if ev.kind == parser.INFO and ev.text == "Var" and ev.tail().startswith("console_echo="):
                seen.append(1)
            elif seen and ev.kind in (parser.OK, parser.ERROR):
                seen.append(2)

        self._begin(hook)
        try:
            self._send(b"AT+S.GCFG=console_echo\r")
            ok = self._wait(lambda: len(seen) > 1, self.probe_ms)
        finally:
            self._lines = None
            self._hook = None
        if not ok:
            why = "no answer while resynchronising after a timeout"
            self._link_to(_LINK_BROKEN, why)
            raise OSError(errno.ETIMEDOUT, why + "; call init()")

    def mask_pending(self, on):
        """Mask (on) or unmask WIND 55 for a bulk receive (spwf04.socket says when). SCFG only, never stored."""
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
                    s.recount()

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
                self.parser.expect_payload(data, n)
            except (IndexError, ValueError):
                pass
        try:
            lines = [redact(e.line) for e in self.cmd(cmd, payload, timeout)]
        finally:
            self.parser.disarm()
        if up.startswith("AT+S.SOCKON"):
            self.raw_sockets = True  # a socket the driver does not own may exist now: no sweeping until init()
        lines.append(self._final.line)
        if data is not None:
            lines.append(bytes(data))
        return lines

    # ----------------------------------------------------------------------------------------- bring-up
    def init(self, reset=True):
        """Bring the module up: reset (pin, else AT+S.RESET), wait for the boot indications, echo off,
        read fw_version. Also the way back after ModuleReset or a module that stopped answering.
        Returns the firmware version string."""
        self._link = _LINK_OK  # (from anywhere)
        self._link_why = None
        self._lines = None
        self.parser.reset()
        self._drop(ModuleReset(errno.ECONNRESET, "module re-initialised: socket closed"))
        if self.wakeup_pin is not None:
            _pin(self.wakeup_pin, 1)  # high = awake; sleep modes must never stall the console
        if reset:
            self._reset()
        elif not self._alive():
            raise self._silent()
        self._link = _LINK_OK  # (a reset seen while resetting was the one asked for)
        self._link_why = None
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
        self._begin(None)
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
            self.parser.reset()
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
