# The `socket` module that spwf04compat.install() puts in sys.modules: getaddrinfo and TCP stream sockets that
# are the SPWF04SA's client sockets (spwf04.socket.Socket, with its read/readinto/readline/write/ioctl).
#
# Lazy open: clients connect first and wrap in TLS afterwards, but the module must be told "TLS" in the very
# command that opens the connection (AT+S.SOCKON kind s / <server name>). So connect() only records the
# address; the socket opens in wrap_socket() (do_handshake_on_connect=True) or at the first read or write.
# Until then poll reports it ready, so that asyncio calls the read or write that opens it.
import errno

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from spwf04.socket import Socket, _plain

AF_INET = const(2)
AF_INET6 = const(10)
SOCK_STREAM = const(1)
SOCK_DGRAM = const(2)
IPPROTO_TCP = const(6)
_MP_STREAM_POLL = const(3)
_POLLRW = const(0x05)  # POLLIN | POLLOUT
_CHUNK = const(512)  # read-to-end piece size

_m = None  # the spwf04.Module, set by spwf04compat.install()


def getaddrinfo(host, port, af=0, type=0, proto=0, flags=0):
    """One IPv4 TCP entry whose address is (host, port) as given: the module resolves names itself when the
    socket opens (SOCKON takes a name; there is no separate lookup command), so a DNS failure is reported by
    the open, with the module's error."""
    if isinstance(host, bytes):
        host = host.decode()
    return [(AF_INET, SOCK_STREAM, IPPROTO_TCP, "", (host, int(port)))]


class socket(Socket):
    """MicroPython's socket.socket over the installed module (spwf04compat.install): TCP over IPv4. The module
    opens a connection and its TLS in one command, so connect() records the address and the first read or
    write (or wrap_socket with do_handshake_on_connect) opens it; failures then come from that call."""

    def __init__(self, af=AF_INET, type=SOCK_STREAM, proto=0):
        if af != AF_INET or type != SOCK_STREAM:
            raise OSError(errno.EOPNOTSUPP, "the SPWF04SA provider does TCP over IPv4 only "
                                            "(socket.AF_INET, socket.SOCK_STREAM)")
        if _m is None:
            raise OSError(errno.ENODEV, "no SPWF04SA module: call spwf04compat.install(module) first")
        Socket.__init__(self, _m)
        self._addr = None  # (host, port) recorded by connect(), not yet opened on the module
        self._hs = False  # TLS with do_handshake_on_connect: open at connect()

    def connect(self, addr):
        """Record (host, port); the module connects at the first read or write (see the class)."""
        if self._addr is not None or self.id is not None or self._closed:
            raise OSError(errno.EALREADY, "socket already connected or closed")
        host = addr[0]
        if isinstance(host, bytes):
            host = host.decode()
        _plain("host", host)  # bad input is named here, not at the first read or write
        self._addr = (host, int(addr[1]))
        if self._hs:
            self._open()

    def _open(self):
        a = self._addr
        self._addr = None
        try:
            Socket.connect(self, a)
        except Exception as e:  # later calls (and poll) must report this failure, not a never-opened socket
            a = e.args
            two = isinstance(e, OSError) and len(a) > 1  # OSError(errno, text), ModuleError included
            self.fail(a[0] if two else errno.EIO, "open failed: %s" % (a[1] if two else a[0] if a else e))
            raise

    def _tls(self, server_hostname, handshake):
        # ssl/tls wrap_socket: the same object, now opening as TLS (SNI and name check: server_hostname).
        if self.id is not None:
            raise OSError(errno.EOPNOTSUPP, "the SPWF04SA cannot start TLS on an open connection: call "
                                            "wrap_socket() before the first read or write")
        if self.tls:
            raise OSError(errno.EALREADY, "socket already wrapped in TLS")
        self.tls = True
        self.server_hostname = server_hostname
        self._hs = handshake
        if handshake and self._addr is not None:
            self._open()
        return self

    def read(self, n=-1):
        """As spwf04.Socket.read; read() reads to end-of-file in small pieces (a fragmented heap has room)."""
        if self._addr is not None:
            self._open()
        if n is not None and n >= 0:
            return Socket.read(self, n)
        # To end-of-file (non-blocking: what is there, None if nothing yet) in small pieces through one scratch
        # buffer: a board's fragmented heap has room for those, not for 4 KB blocks.
        buf = bytearray(_CHUNK)
        mv = memoryview(buf)
        parts = []
        while True:
            k = Socket.readinto(self, buf)
            if not k:
                break
            parts.append(bytes(mv[:k]))
        if not parts:
            return None if k is None else b""
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readinto(self, buf, nbytes=None):
        """As spwf04.Socket.readinto (opening the connection first if connect() only recorded it)."""
        if self._addr is not None:
            self._open()
        return Socket.readinto(self, buf, nbytes)

    def readline(self):
        """As spwf04.Socket.readline (opening the connection first if needed)."""
        if self._addr is not None:
            self._open()
        return Socket.readline(self)

    def recv(self, n):
        """As spwf04.Socket.recv (opening the connection first if needed)."""
        if self._addr is not None:
            self._open()
        return Socket.recv(self, n)

    def write(self, buf, n=None):
        """As spwf04.Socket.write; str is sent as UTF-8 (clients write header names as str)."""
        if self._addr is not None:
            self._open()
        if isinstance(buf, str):  # clients write header names as str
            buf = buf.encode()
        return Socket.write(self, buf, n)

    send = write
    sendall = write

    def close(self):
        """As spwf04.Socket.close (a socket never opened just forgets its address)."""
        self._addr = None
        Socket.close(self)

    def ioctl(self, req, arg):
        """Poll and close for select.poll and asyncio; a socket not yet opened is ready (its first read or
        write opens it)."""
        if req == _MP_STREAM_POLL and self._addr is not None:
            return arg & _POLLRW  # not opened yet: the next read or write opens it
        return Socket.ioctl(self, req, arg)

    def bind(self, *a):
        """Not supported: the provider has client sockets only (also listen and accept)."""
        raise OSError(errno.EOPNOTSUPP, "server sockets are not supported over the SPWF04SA provider")

    listen = accept = bind
