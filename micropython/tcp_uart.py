# The virtual board's "hardware": a machine.UART-like object whose wire is a TCP connection to the
# SPWF04SA simulator, and virtual pins (reset, wakeup) that reach the simulator's pin port.
# Unix port only. It mirrors what the driver uses of the stm32 machine.UART with timeout=0:
# read/readinto/readline return None when nothing has arrived, write blocks until sent, any()
# counts buffered bytes, and ioctl(MP_STREAM_POLL) lets select.poll and asyncio wait on it.
import errno
import io
import os
import select
import socket

from micropython import const
from vboard_io import RxBuffer, SignalPin

_MP_STREAM_POLL = const(3)
_MP_STREAM_CLOSE = const(4)
_MP_STREAM_GET_FILENO = const(10)
_POLLIN = const(0x0001)


def module_address():
    """(host, port) of the module's UART, from SPWF04_MODULE=HOST:PORT set by `spwf04 board --module`."""
    spec = os.getenv("SPWF04_MODULE")
    if not spec:
        raise OSError(
            errno.ENODEV,
            "no module wired: start the virtual board with `spwf04 board --module HOST:PORT` "
            "(or `spwf04 repl`, which starts the simulator too)",
        )
    host, _, port = spec.rpartition(":")
    return host or "127.0.0.1", int(port)


def _connect(addr):
    s = socket.socket()
    try:
        s.connect(socket.getaddrinfo(addr[0], addr[1])[0][-1])
    except OSError as e:
        s.close()
        raise OSError(e.errno, "module at %s:%d does not answer: is the simulator running?" % addr)
    try:  # a command line and its payload are two writes: without this, Nagle holds the payload ~40 ms
        s.setsockopt(6, 1, 1)  # IPPROTO_TCP, TCP_NODELAY (Linux numbers; the unix port lacks the names)
    except OSError:
        pass
    return s


class TcpUart(io.IOBase, RxBuffer):
    def __init__(self, addr, baudrate=115200, rxbuf=2048):
        self.baudrate = baudrate
        self._sock = _connect(addr)
        self._sock.setblocking(False)
        self._poll = select.poll()
        self._poll.register(self._sock, select.POLLIN)
        # Bytes pulled from the socket by any()/readline() that the caller has not taken yet.
        self._buf = bytearray(rxbuf)
        self._mv = memoryview(self._buf)
        self._start = 0
        self._end = 0
        self._direct()

    def _direct(self):
        # While nothing is buffered, readinto is the socket's own (C) method: no Python frame per read, as on a
        # board whose UART is C. Bytes buffered by any()/readline() switch it back to the copying one. (Not for a
        # subclass, whose own readinto must stay in charge: a test's slow board, say.)
        if type(self) is TcpUart:
            self.readinto = self._sock.readinto if self._sock and self._start == self._end else self._readinto

    def init(self, baudrate=None, **kw):
        if baudrate:
            self.baudrate = baudrate

    def deinit(self):
        self.close()

    def close(self):
        if self._sock:
            self._sock.close()
            self._sock = None
        self._direct()  # (then raises EBADF)

    def _check(self):
        if self._sock is None:
            raise OSError(errno.EBADF, "UART closed")

    def _fill(self):
        # Pull what the socket has into the internal buffer (only used for any() and readline()).
        self._check()
        if self._start == self._end:
            self._start = self._end = 0
        if self._end < len(self._buf):
            n = self._sock.readinto(self._mv[self._end :] if self._end else self._buf)
            if n:
                self._end += n
                self._direct()

    def any(self):
        if self._start == self._end:  # (_fill's empty case inline: the driver asks any() on every wait)
            self._start = self._end = 0
            n = self._sock.readinto(self._buf) if self._sock else self._check()
            if n:
                self._end = n
                self._direct()
            return self._end
        self._fill()
        return self._end - self._start

    # The usual case of write() is kept in a small method: MicroPython puts the frame of a function with few
    # locals on the C stack and a bigger one on the heap (one allocation per call).
    def _readinto(self, buf, nbytes=None):
        self._check()
        want = len(buf) if nbytes is None else min(nbytes, len(buf))
        got = 0
        buffered = self._end - self._start
        if buffered:
            got = min(buffered, want)
            buf[:got] = self._mv[self._start : self._start + got]
            self._start += got
        if got < want:
            # Straight from the socket into the caller's buffer: no intermediate copy.
            n = self._sock.readinto(memoryview(buf)[got:want])
            if n:
                got += n
        if self._start == self._end:
            self._direct()
        return got or None

    readinto = _readinto  # (on a TcpUart itself: replaced per instance, see _direct)

    def write(self, buf):
        n = self._sock.write(buf) if self._sock else self._check()  # usually all of it at once
        if n == len(buf):
            return n
        return self._write(buf, n or 0)

    def _write(self, buf, sent):
        mv = memoryview(buf)[sent:]
        while True:
            try:
                n = self._sock.write(mv)
            except OSError as e:
                if e.errno != errno.EAGAIN:
                    raise
                n = 0
            if n:
                sent += n
                if sent >= len(buf):
                    return sent
                mv = memoryview(buf)[sent:]
            else:
                p = select.poll()
                p.register(self._sock, select.POLLOUT)
                if not p.poll(5000):
                    raise OSError(errno.ETIMEDOUT, "UART write stalled: simulator not reading")

    def ioctl(self, req, arg):
        if req == _MP_STREAM_POLL:
            readable = self._end > self._start or (self._sock and self._poll.poll(0)) if arg & _POLLIN else False
            return self._poll_mask(arg, readable)
        if req == _MP_STREAM_CLOSE:
            self.close()
            return 0
        if req == _MP_STREAM_GET_FILENO and self._sock:
            # select.poll then sleeps in poll(2) on the socket, like the board's UART interrupt wakes it,
            # instead of calling ioctl(POLL) once a millisecond. Bytes that any() already moved into _buf are
            # not seen by that wait: the driver reads before it waits and waits only for more.
            return self._sock.fileno()
        return -errno.EINVAL


class VirtualPin(SignalPin):
    """An output pin of the virtual board, wired to the simulator's pin port (UART port + 1) over TCP."""

    def __init__(self, name, value=None):
        self._sock = None
        super().__init__(name, value)

    def _send(self, line):
        if self._sock is None:
            host, port = module_address()
            self._sock = _connect((host, port + 1))
        self._sock.write(line)
