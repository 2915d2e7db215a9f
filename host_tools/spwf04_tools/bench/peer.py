"""The far end of the benchmark's sockets: a loopback TCP or TLS server that sources or sinks a byte stream.

One request line per connection, sent by the board after connect (and after the TLS handshake):

    R <n> <tag>\\n   the server sends the first n bytes of the benchmark stream (stream.py), then waits for
                    the board to close
    W <n> <tag>\\n   the server reads n bytes, records their SHA-256 under <tag>, then waits for the close

The board measures time; the server only checks data (what the board sent is compared with the stream).
Every socket operation has a timeout; the server threads stop with the context manager.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import ssl
from dataclasses import dataclass

from ..loopback import LoopbackServer
from .stream import blocks

log = logging.getLogger(__name__)

IO_TIMEOUT = 60.0
HEADER_MAX = 64


@dataclass
class Sink:
    """What the server received for one W request."""

    tag: str
    expected: int
    received: int
    sha256: str


class BulkPeer(LoopbackServer):
    io_timeout = IO_TIMEOUT

    def __init__(self, context: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.context = context
        self._sinks: dict[str, Sink] = {}
        self.connections = 0  # connections that got through the TLS handshake (or plain ones)

    def sink(self, tag: str, timeout: float = 10.0) -> Sink:
        """The result of the W request tagged `tag` (waits until the server has read all of it)."""
        for _ in range(int(timeout / 0.05)):
            with self._lock:
                r = self._sinks.get(tag)
                if r is not None and r.received >= r.expected:
                    return r
            if self.errors:
                raise RuntimeError(f"bench peer: {self.errors[-1]}")
            self._stop.wait(0.05)
        with self._lock:
            r = self._sinks.get(tag)
        raise TimeoutError(f"bench peer: request {tag!r} incomplete after {timeout} s "
                           f"({r.received if r else 0} of {r.expected if r else '?'} bytes)")

    # --- server threads ---------------------------------------------------------------------------------

    def serve(self, raw: socket.socket) -> None:
        try:
            conn = self.context.wrap_socket(raw, server_side=True) if self.context else raw
            with conn:
                with self._lock:
                    self.connections += 1
                header, rest = self._header(conn)
                parts = header.split()
                if len(parts) != 3 or parts[0] not in (b"R", b"W") or not parts[1].isdigit():
                    raise ValueError(f"bad request line {header!r}: expected 'R|W <n> <tag>'")
                n, tag = int(parts[1]), parts[2].decode()
                if parts[0] == b"R":
                    for chunk in blocks(n):
                        conn.sendall(chunk)
                else:
                    self._sink(conn, n, tag, rest)
                self._wait_close(conn)
        except (OSError, ValueError) as exc:
            if not self.stopping:
                log.warning("bench peer: %s", exc)
            raise

    def _header(self, conn: socket.socket) -> tuple[bytes, bytes]:
        buf = b""
        while b"\n" not in buf:
            d = conn.recv(HEADER_MAX)
            if not d:
                raise ValueError("connection closed before the request line")
            buf += d
            if len(buf) > HEADER_MAX and b"\n" not in buf:
                raise ValueError(f"request line too long: {buf[:HEADER_MAX]!r}")
        line, _, rest = buf.partition(b"\n")
        return line, rest

    def _sink(self, conn: socket.socket, n: int, tag: str, first: bytes) -> None:
        h = hashlib.sha256()
        rec = Sink(tag, n, 0, "")
        with self._lock:
            self._sinks[tag] = rec
        data = first
        while True:
            if data:
                data = data[: n - rec.received]
                h.update(data)
                with self._lock:
                    rec.received += len(data)
                    rec.sha256 = h.hexdigest() if rec.received >= n else ""
            if rec.received >= n:
                return
            data = conn.recv(65536)
            if not data:
                raise ValueError(f"request {tag}: connection closed after {rec.received} of {n} bytes")

    def _wait_close(self, conn: socket.socket) -> None:
        # The board closes (SOCKC) when it is done; a peer that closed first would add a +WIND:58 to the run.
        while not self._stop.is_set():
            try:
                if not conn.recv(4096):
                    return
            except (TimeoutError, socket.timeout):
                return
