# Stream sockets on the module's client sockets (SOCKON / SOCKW / SOCKQ / SOCKR / SOCKC), with MicroPython
# stream semantics (read, readinto, readline, write, settimeout, ioctl for select.poll and asyncio).
#
# Receive accounting (spec 3, 6.9-6.11): _avail is a lower bound of the bytes the module holds for us, so a
# SOCKR never asks for more than is pending. +WIND:55 counts are trusted only when they are consistent with
# what we already know exactly (cumulated == known + received); anything else - a lost, stale or
# differently-meant WIND - marks the socket dirty and the next read asks SOCKQ. Without any WIND, SOCKQ is
# polled with a growing interval. +WIND:58 means end-of-file once SOCKQ says nothing is left.
#
# Bulk receive: when the WINDs announce small segments (< _SMALL bytes each, e.g. one per 730-byte TCP
# segment: ~35 bytes of indication per 730 of data, ~5 % of the line) and a read wants _SMALL bytes or more
# (or more than is known to be pending), WIND 55 is masked (one SCFG) and SOCKQ - the truth - gives the
# pending count, once per module buffer-full; each SOCKR then takes as much as SOCKQ reported (up to the
# buffer and read_max), its usual answer framed by the parser without events (Module.transact). As soon as no data is pending
# (before any wait, in poll(), at close) the mask is restored and every socket asks SOCKQ again, since
# masked indications are dropped (spec 3). No read ever waits on a WIND while it is masked.
import errno
import io
import sys

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from . import parser
from .errors import ModuleError, ModuleReset
from .module import _ms, sock_id, ticks_ms

_SEG = const(730)  # the module's TCP segment: SOCKW chunk (spec 6.9)
_POLL_MIN = const(50)  # first SOCKQ poll without a WIND (ms); doubles up to _POLL_MAX
_POLL_MAX = const(1000)
_SMALL = const(2048)  # WINDs announcing less than this per line cost > ~1.7 % of the line: mask in bulk
_LINE_CHUNK = const(128)  # readline reads this much at a time and keeps the rest
_TCP_MS = const(15000)  # connect timeouts when the socket has none
_TLS_MS = const(30000)  # spec 6.8: use >= 20 s for TLS
_MP_STREAM_POLL = const(3)
_MP_STREAM_CLOSE = const(4)
_POLLIN = const(0x01)
_POLLOUT = const(0x04)
_POLLERR = const(0x08)
_POLLHUP = const(0x10)
_MAX_SOCKETS = const(8)  # module socket ids 0-7
_GONE = (71, 72, 76, 78)  # the module no longer knows this socket

_Base = io.IOBase if sys.implementation.name == "micropython" else object


def _why(e):
    a = getattr(e, "args", ())
    return a[1] if len(a) > 1 else repr(e)


def _plain(what, s):
    if "," in s or "\r" in s or "\n" in s or not s:
        raise ValueError("%s %r: must be non-empty without ',' or line breaks" % (what, s))


class Socket(_Base):
    """A TCP or TLS stream socket on the module. Create with module.socket(tls=False, server_hostname=None,
    insecure=False); server_hostname turns TLS on and is passed to the module (SNI / name check)."""

    _kind = "t"  # SOCKON kind of a plain socket; datagram() makes it "u"
    # (defaults on the class, not per instance: see Module's)
    peer = None  # (host, port) once connect() was called
    _pend = None  # bytes read past a readline's LF

    def __init__(self, module, tls=False, server_hostname=None, insecure=False):
        self._m = module
        self.id = None
        self.tls = bool(tls or server_hostname)
        self.server_hostname = server_hostname
        self.insecure = insecure
        self._timeout = None  # seconds; None blocks, 0 never waits
        self._avail = 0  # bytes surely pending in the module (lower bound)
        self._exact = True  # _avail is exact (WIND:55 counts can be checked against it)
        self._dirty = False  # the module may hold more than _avail: ask SOCKQ
        self._eof = False  # +WIND:58 seen
        self._err = None  # (class, errno, message): why the socket is unusable
        self._closed = False
        self._queried_at = ticks_ms()
        self._poll_ms = _POLL_MIN
        self._fresh = False  # _avail is SOCKQ's count, no read since (an answer without a count is not one)
        self._small = False  # the last WIND 55 announced a small segment (see _SMALL)
        self._read_size = 0  # the size _read_cmd (AT+S.SOCKR=<id>,<size>) asks for
        self._query_cmd = None  # AT+S.SOCKQ=<id>, made at the first query

    # ------------------------------------------------------------------------------ from the module
    # (spwf04.module delivers the indications and failures that concern this socket through these)
    def on_pending(self, r, c):
        """+WIND:55 for this socket: r bytes received, c pending in all (as str or bytes fields)."""
        try:
            r = int(r)
            c = int(c)
        except ValueError:
            r = c = -1
        self._small = 0 < r < _SMALL
        if self._exact and r >= 0 and c == self._avail + r:
            self._avail = c
        else:
            self._exact = False
            self._dirty = True
        self._poll_ms = _POLL_MIN

    def on_closed(self):
        """+WIND:58: the peer closed; end-of-file once SOCKQ says nothing is left."""
        self._eof = True
        self._dirty = True  # SOCKQ tells what is left to read

    def recount(self):
        """WIND 55 was masked (its indications are dropped): ask SOCKQ before trusting a count again."""
        self._exact = False
        self._dirty = True

    def invalidate(self, exc):
        """The module's socket is gone (exc: the ModuleReset, or None for a plain close): every call raises."""
        if self._err is None:
            if exc is None:
                self._err = (OSError, errno.EBADF, "socket closed")
            else:
                self._err = (type(exc), exc.args[0], exc.args[1] if len(exc.args) > 1 else "")

    def fail(self, eno, msg):
        """The socket's stream cannot be trusted any more: every call raises OSError(eno, msg)."""
        self.invalidate(OSError(eno, msg))

    def _ok(self):
        e = self._err
        if e is not None:
            if e[0] is ModuleReset:
                self._m.reset_reported()  # reported here: the next module call need not repeat it
            raise e[0](e[1], e[2])
        if self._closed:
            raise OSError(errno.EBADF, "socket closed")
        if self.id is None:
            raise OSError(errno.ENOTCONN, "socket not connected")

    # ------------------------------------------------------------------------------ module calls
    def _unusable(self, e):
        # A command of this socket ended in a timeout or Ctrl-C: its byte stream cannot be trusted any more.
        self.fail(errno.EIO, "socket unusable after: %s" % _why(e))

    def _counted(self, n):
        # A SOCKQ answer with its count (read either way): the exact number pending, as of now.
        self._avail = n
        self._exact = True
        self._dirty = False
        self._fresh = True

    def _query(self):
        # Only an answer with a count makes _fresh: 'AT-S.Query:' with its digits lost to line noise must not
        # pass for 'nothing pending' (end-of-file would come early, the rest of the data silently dropped).
        self._fresh = False
        self._queried_at = ticks_ms()
        try:
            q = self._query_cmd
            if q is None:
                q = self._query_cmd = b"AT+S.SOCKQ=%d\r" % self.id
            m = self._m
            m.transact(q, b"AT-S.Query:", None, 0, m.timeout)
            f = m.parser.fields  # (the head line's count, however the answer came; None: no Query line)
            if f and f.isdigit():
                self._counted(int(f))
        except ModuleError as e:
            if e.code not in _GONE:
                raise
            # The module dropped the socket (peer closed and id released): nothing more will come.
            self._avail = 0
            self._dirty = False
            self._eof = True
            self._fresh = True
        except ModuleReset:
            raise
        except BaseException as e:
            self._unusable(e)
            raise
        if self._avail:
            self._poll_ms = _POLL_MIN
        elif self._poll_ms < _POLL_MAX:
            self._poll_ms *= 2

    def _read(self, mv, off, k):
        # One SOCKR of k bytes straight into mv[off:off+k]. Returns k or raises.
        m = self._m
        dst = mv if off == 0 and k == len(mv) else mv[off : off + k]
        self._avail -= k
        self._fresh = False
        try:
            if k != self._read_size:  # (bulk reads repeat one size: the command line and answer head are made once)
                self._read_size = k
                self._read_cmd = b"AT+S.SOCKR=%d,%d\r" % (self.id, k)
                self._read_head = b"AT-S.Reading:%d:" % k  # (another count - a short read - is an event)
            a = m.transact(self._read_cmd, self._read_head, dst, k, m.timeout + k // 5)
        except (ModuleError, ModuleReset) as e:
            if k > _SEG and getattr(e, "code", 0) == 32:
                # SOCKR above 730 refused (nothing was read): the module caps reads; 730 from now on
                m.read_max = _SEG
                self._avail += k
                return self._read(mv, off, _SEG)
            self.recount()
            raise
        except BaseException as e:  # timeout, lost bytes, Ctrl-C: where the data went is unknown
            self.fail(errno.EIO, "socket unusable after an interrupted read: %s" % _why(e))
            raise
        if a == parser.ANSWER_DONE:
            return k  # the usual answer
        if a == parser.ANSWER_SHORT:
            short = m.parser.short
            # A short read (fewer bytes than asked, and never more was asked than pending): the module capped it
            # or lost data. Its bytes were read as announced (the answer stays in step), but a stream with a
            # possible gap is never handed on.
            if k > _SEG and short == _SEG:
                m.read_max = _SEG  # the module caps SOCKR at 730: no larger read from now on
            self.fail(errno.EIO, "short SOCKR: %d of %d pending bytes came; data of this socket may be lost%s" % (
                short, k, " (SOCKR capped at 730: read_max now 730)" if m.read_max == _SEG and k > _SEG else ""))
            self._ok()
        if a == parser.ANSWER_HEAD:
            return k  # (the usual answer with an unusual final line, e.g. console_verbose's AT-S.OK:<heap>:<state>)
        # Text after the payload, or AT-S.OK without any (a damaged Reading line: the data went by as
        # text). We never ask for more than is pending, so this is lost framing, not "no data": the
        # bytes are gone and the socket's stream cannot be trusted.
        self.fail(errno.EIO, "SOCKR framing lost (%s): data of this socket is corrupt" % (
            "text after the payload" if a == parser.ANSWER_LOST else "no payload"))
        self._ok()

    def _recv1(self, mv, off, n, t0):
        # Some bytes into mv[off:off+n]: count > 0, 0 at end-of-file, None if none by the deadline (the
        # socket's timeout from ticks t0; timeout 0: do not wait).
        m = self._m
        mx = m.read_max
        while True:
            if self._err is not None:
                self._ok()
            k = self._avail
            if k > 0:
                if k > n:
                    k = n
                if k > mx:
                    k = mx
                short = k < n and k < mx  # more is wanted than is known to be pending
                # (readinto's short cut restates this rule for a read that is not short, to stay a C-stack
                # frame on the hot path instead of calling a shared helper: change the two together)
                if self._small and not m.w55off and (short or n >= _SMALL):
                    m.mask_pending(True)  # a bulk read of small segments: SOCKQ counts from now on
                if short and m.w55off and not self._fresh:
                    self._query()  # one SOCKQ now saves a short SOCKR (the module has likely more)
                    if self._fresh:
                        continue  # (no count in the answer: read what is known)
                return self._read(mv, off, k)
            m.pump()  # a WIND may be waiting in the UART buffer
            if self._avail:
                continue
            # After +WIND:58, end-of-file needs a SOCKQ of 0 after the last read: a count with lost digits
            # ('Query:979' -> 'Query:9') must not end the stream early.
            # Masked, the WINDs that would announce more are gone: ask at once.
            if self._dirty or ((self._eof or m.w55off) and not self._fresh) or _ms(self._queried_at) >= self._poll_ms:
                self._query()
                if self._avail:
                    continue
            if m.w55off:  # nothing pending: WINDs back on before anyone waits (then SOCKQ again)
                m.mask_pending(False)
                continue
            if self._eof and not self._dirty and self._fresh:
                return 0
            t = self._timeout
            if t == 0:
                return None
            w = self._poll_ms - _ms(self._queried_at)
            if t is not None:
                r = int(t * 1000) - _ms(t0)
                if r <= 0:
                    return None
                if r < w:
                    w = r
            m.wait_for(self._wake, w)

    def _wake(self):
        return self._avail or self._dirty or self._err is not None

    # ------------------------------------------------------------------------------ public API
    def connect(self, addr):
        """connect((host, port)): host is an IPv4 address or a DNS name (the module resolves it)."""
        host, port = addr[0], int(addr[1])
        if self.id is not None or self._closed:
            raise OSError(errno.EALREADY, "socket already connected or closed")
        _plain("host", host)
        m = self._m
        kind = self._kind
        if self.tls:
            if self.server_hostname is not None:
                _plain("server_hostname", self.server_hostname)
            kind = self.server_hostname or "s"
            m.tls.preflight(self)
        t = self._timeout
        ms = int(t * 1000) if t else (_TLS_MS if self.tls else _TCP_MS)
        self.peer = (host, port)

        def hook(ev):  # register at the AT-S.On line so WINDs right after it find the socket
            if ev.kind == parser.INFO and ev.text == "On" and len(ev.params) > 1:
                i = sock_id(ev.params[-1])
                if i >= 0:
                    m.register(i, self)
                    self.id = i
                    self.peer = (ev.params[0], port)

        for attempt in (0, 1):
            if m.lost_sockets:
                _sweep(m)
            try:
                m.cmd("AT+S.SOCKON=%s,%d,NULL,%s" % (host, port, kind), None, ms, hook)
                break
            except ModuleError as e:
                self._unregister()
                if e.code == 75 and not attempt and len(m.sockets()) < _MAX_SOCKETS:
                    m.lost_sockets = True  # all ids in use, yet not all are ours: sweep the lost ones, try again
                    continue
                if self.tls:
                    import gc

                    gc.collect()  # the diagnosis is loaded on demand: give it room
                    try:
                        from .diag import diagnose

                        d = diagnose(m, self, e)
                    except MemoryError:  # the module's own error still comes out
                        d = "no memory left for the diagnosis (free some and retry)"
                    raise ModuleError(e.code, e.text, e.command, e.details, d)
                raise
            except BaseException:
                self._unregister()
                m.lost_sockets = True  # timed out or interrupted: the module may have opened the socket all the same
                raise
        if self.id is None:
            m.lost_sockets = True
            raise OSError(errno.EIO, "SOCKON answered OK without an AT-S.On:<ip>:<id> line")
        self._queried_at = ticks_ms()

    def _unregister(self):
        if self.id is not None:
            self._m.unregister(self.id, self)
        self.id = None

    def datagram(self):
        """Make this socket, before connect(), a UDP one: each write() is one datagram (spwf04.ntp's SNTP)."""
        if self.id is not None or self.tls:
            raise OSError(errno.EALREADY, "datagram(): only a plain socket before connect()")
        self._kind = "u"

    def settimeout(self, t):
        """Seconds a read, connect or close may wait: None blocks, 0 never waits (reads return None when
        nothing is there), else a read that gets nothing in time raises OSError ETIMEDOUT."""
        self._timeout = t

    def setblocking(self, flag):
        """setblocking(True) is settimeout(None), setblocking(False) is settimeout(0)."""
        self._timeout = None if flag else 0

    def _from_pend(self, mv):
        p = self._pend
        if not p:
            return 0
        k = min(len(p), len(mv))
        mv[:k] = p[:k]
        self._pend = p[k:] if k < len(p) else None
        return k

    def readinto(self, buf, nbytes=None):
        """Fill buf (blocking: until full or end-of-file; with a timeout: partial on timeout, OSError
        ETIMEDOUT if nothing; non-blocking: what is there, None if nothing). Returns the count."""
        # A bulk read's usual case - all of buf is known to be pending, one SOCKR, WIND 55 already masked
        # where _recv1 would mask it - straight to _read: this frame is small enough for the C stack, and the
        # general path's two heap frames (_readinto, _recv1) and its loop are skipped.
        k = len(buf)
        if (0 < k <= self._avail and (nbytes is None or nbytes >= k) and self._err is None and not self._pend
                and k <= self._m.read_max and (self._m.w55off or not self._small or k < _SMALL)):
            r = self._read(memoryview(buf), 0, k)
            return r if r == k else r + self._readinto(memoryview(buf)[r:], None)  # (a SOCKR capped at 730)
        return self._readinto(buf, nbytes)

    def _readinto(self, buf, nbytes):
        mv = memoryview(buf)
        if nbytes is not None and nbytes < len(mv):
            mv = mv[:nbytes]
        want = len(mv)
        got = self._from_pend(mv) if self._pend else 0
        if got == want:
            return got
        if self._err is not None or self.id is None:
            self._ok()
        t0 = ticks_ms()
        while got < want:
            n = self._recv1(mv, got, want - got, t0)
            if not n:
                if n is None and got == 0:
                    if self._timeout == 0:
                        return None
                    raise OSError(errno.ETIMEDOUT, "read timed out")
                break
            got += n
        return got

    def read(self, n=-1):
        """Up to n bytes (blocking: n unless end-of-file comes first; b'' at end-of-file); read() reads to
        end-of-file. With a timeout: what came in time, OSError ETIMEDOUT if nothing; non-blocking: None if
        nothing is there."""
        if n is None or n < 0:  # all, until end-of-file: small chunks, so only the result needs one block
            parts = []
            while True:
                b = self.read(512)
                if not b:
                    break
                parts.append(b)
            return b"".join(parts)
        buf = bytearray(n)
        k = self.readinto(buf)
        if k is None:
            return None
        return bytes(buf) if k == n else bytes(memoryview(buf)[:k])

    def recv(self, n):
        """Up to n bytes, returning as soon as some are there (b'' at end-of-file)."""
        buf = bytearray(n)
        mv = memoryview(buf)
        k = self._from_pend(mv)
        if not k:
            self._ok()
            k = self._recv1(mv, 0, n, ticks_ms())
            if k is None:
                if self._timeout == 0:
                    return None
                raise OSError(errno.ETIMEDOUT, "read timed out")
        return bytes(mv[:k])

    def readline(self):
        """One line with its LF (the last one may lack it at end-of-file; b'' after that). Bytes read past the
        LF are kept for the next read. A timeout with part of a line raises; that part is kept."""
        parts = []
        while True:
            b = self._pend
            self._pend = None
            if not b:
                try:
                    b = self.recv(_LINE_CHUNK)
                except OSError:
                    if parts:  # keep what we have for the next call, then report
                        self._pend = b"".join(parts)
                    raise
                if b is None:  # non-blocking, nothing more now
                    return b"".join(parts) if parts else None
                if not b:
                    break
            i = b.find(b"\n")
            if i >= 0:
                parts.append(b[: i + 1])
                if i + 1 < len(b):
                    self._pend = b[i + 1 :]
                break
            parts.append(b)
        return b"".join(parts)

    def write(self, buf, n=None):
        """Send all of buf (in 730-byte SOCKW segments); returns the count."""
        self._ok()
        mv = memoryview(buf)
        if n is not None and n < len(mv):
            mv = mv[:n]
        total = len(mv)
        o = 0
        m = self._m
        try:
            while o < total:
                k = total - o
                if k > _SEG:
                    k = _SEG
                m.exchange(b"AT+S.SOCKW=%d,%d\r" % (self.id, k), mv if k == total else mv[o : o + k], m.timeout + k // 5)
                o += k
        except (ModuleError, ModuleReset):
            raise
        except BaseException as e:
            self._unusable(e)
            raise
        return total

    send = write
    sendall = write

    def close(self):
        """Drain what the module still holds (so SOCKC cannot fail with 77 Pending data), then SOCKC. A socket
        that failed is closed best effort; whatever the module may still hold is swept (see _sweep)."""
        if self._closed:
            return
        i = self.id
        m = self._m
        try:
            if i is not None and m.socket_at(i) is self and (self._err is None or self._err[0] is not ModuleReset):
                try:
                    self._close_module(i)
                except BaseException:
                    m.lost_sockets = True  # the module may still hold the id: swept below or by the next connect()
                    if self._err is None:
                        raise
                if m.w55off and self._err is None:
                    m.mask_pending(False)
        finally:
            self._closed = True
            self._unregister()
            self._pend = None
            self._avail = 0  # (readinto's short cut tests _avail, not _closed)
        if m.lost_sockets:
            try:
                _sweep(m)
            except OSError:
                pass  # line noise or a silent module: the next connect() sweeps again (or init() resets)

    def _close_module(self, i, drain=True):
        # Drain (bounded), then SOCKC; 77 (pending data, spec 6.11) means more came meanwhile: again.
        # drain=False tries SOCKC first (the sweep: most ids it tries are free and answer 76).
        m = self._m
        mv = None
        for attempt in range(4):
            if drain:
                for _ in range(64):  # a peer that never stops sending cannot hold us forever
                    self._query()
                    if not self._avail:
                        break
                    if mv is None:
                        mv = _scratch(min(512, m.read_max))
                    while self._avail:
                        self._read(mv, 0, min(self._avail, len(mv)))
            drain = True
            try:
                m.cmd("AT+S.SOCKC=%d" % i)
                return
            except ModuleError as e:
                if e.code in _GONE:
                    return
                if e.code != 77 or attempt == 3:
                    raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def makefile(self, *args, **kw):
        """The socket itself (it is a stream: read, readline, write), as MicroPython's sockets do."""
        return self

    def ioctl(self, req, arg):
        """The stream protocol's poll and close, so select.poll and asyncio can wait on the socket."""
        if req == _MP_STREAM_POLL:
            if self._err is not None or self._closed:
                return (arg & (_POLLIN | _POLLOUT)) | _POLLERR | _POLLHUP
            m = self._m
            if not m.busy():  # no command in flight: route what arrived, settle doubts now
                try:
                    m.pump()
                    if (arg & _POLLIN and self.id is not None and not self._avail and not self._pend
                            and (self._dirty or _ms(self._queried_at) >= self._poll_ms)):
                        self._query()
                    if m.w55off and not self._avail:
                        m.mask_pending(False)
                except OSError:
                    return (arg & _POLLIN) | _POLLERR
            r = 0
            if arg & _POLLIN and (self._avail or self._pend or (self._eof and not self._dirty)
                                  or self._err is not None):
                r |= _POLLIN
            if arg & _POLLOUT and self.id is not None:
                r |= _POLLOUT
            return r
        if req == _MP_STREAM_CLOSE:
            self.close()
            return 0
        return -errno.EINVAL

    def __repr__(self):
        return "<Socket %s %s %s>" % (self.id, "tls" if self.tls else "tcp", self.peer)


def _scratch(n):
    # A buffer to drain into at close, allocated only when something is pending; a small one if the heap has
    # no block of n bytes left (a close must not fail for want of memory: more SOCKRs instead).
    try:
        return memoryview(bytearray(n))
    except MemoryError:
        return memoryview(bytearray(32))


def _sweep(m):
    # Close the module sockets the driver lost track of: a SOCKON that timed out (its AT-S.On line lost or
    # late), a SOCKC that did not get through. Every id not in the driver's table is closed like one of ours
    # (SOCKC first: a free id answers 76/78, spec 4), so this costs a SOCKC per free id and runs only after
    # such a failure. Not after at() opened a socket by hand (it would be closed too). Raises (and stays
    # due) when the module does not answer.
    if m.raw_sockets:
        return
    for i in range(_MAX_SOCKETS):
        if m.socket_at(i) is None:
            s = Socket(m)
            s.id = i
            m.register(i, s)  # WINDs for this id find it while it is drained
            try:
                s._close_module(i, False)
            finally:
                m.unregister(i, s)
    m.lost_sockets = False
