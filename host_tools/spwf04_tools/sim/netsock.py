"""Real network connections behind the module's client sockets (TCP, UDP, TLS over TCP).

Each open socket has one reader thread. It hands received data to the module engine (which owns the
pending buffer and emits +WIND:55) and stops reading while the module holds `rx_cap` unread bytes, so the
peer is held back by TCP flow control like the real module's small buffers would.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from typing import Callable

from .tlsclient import TlsSession

log = logging.getLogger(__name__)

MSS = 730  # the module caps TCP segments at 730 bytes [confirmed]
READ_POLL = 1.0
SEND_TIMEOUT = 5.0

# reason numbers of +WIND:58 (unknown in the spec; the simulator's choice)
CLOSE_PEER = 1
CLOSE_ERROR = 2
CLOSE_NETWORK = 3

OnData = Callable[["NetSocket", bytes], None]
OnClosed = Callable[["NetSocket", int], None]


def open_connection(kind: str, ip: str, port: int, timeout: float) -> socket.socket:
    """Connect a real socket; TCP advertises the module's 730-byte MSS. Raises OSError."""
    if kind == "u":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.connect((ip, port))
        except OSError:
            s.close()
            raise
        return s
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, MSS)
    except OSError:
        pass
    s.settimeout(timeout)
    try:
        s.connect((ip, port))
    except OSError:
        s.close()
        raise
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def abort(s: socket.socket) -> None:
    """Close with RST: the module vanished (reset, network lost); the peer sees the connection die."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass


class NetSocket:
    def __init__(self, kind: str, sock: socket.socket, tls: TlsSession | None, rx_cap: int,
                 on_data: OnData, on_closed: OnClosed, rx_limit: int | None = None, tx_limit: int | None = None):
        self.kind = kind  # t | u | s
        self.sock = sock
        self.tls = tls
        self.rx_cap = rx_cap
        self._on_data = on_data
        self._on_closed = on_closed
        self.rx_limit = rx_limit  # fault: the peer "closes" after this many bytes received
        self.tx_limit = tx_limit  # fault: the peer "closes" after this many bytes sent
        self.rx_total = 0
        self.tx_total = 0
        self._unconsumed = 0
        self._cond = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._read_loop, name="sim-socket-rx", daemon=True)

    def start(self) -> None:
        self.sock.settimeout(READ_POLL)
        self._thread.start()

    # --- module side ----------------------------------------------------------------------------------------

    def consumed(self, n: int) -> None:
        """The module handed n bytes to the host (SOCKR): room for more."""
        with self._cond:
            self._unconsumed = max(0, self._unconsumed - n)
            self._cond.notify_all()

    def send(self, data: bytes) -> bool:
        """Send all of data; False if the peer is gone (fault limit reached: the rest is lost)."""
        cut = False
        if self.tx_limit is not None and self.tx_total + len(data) >= self.tx_limit:
            data = data[: max(0, self.tx_limit - self.tx_total)]
            cut = True
        self.tx_total += len(data)
        self.sock.settimeout(SEND_TIMEOUT)
        try:
            if data:
                if self.tls is not None:
                    self.tls.send(data)
                elif self.kind == "u":
                    for i in range(0, len(data), 1472):
                        self._send_datagram(data[i:i + 1472])
                else:
                    self.sock.sendall(data)
        finally:
            try:
                self.sock.settimeout(READ_POLL)
            except OSError:
                pass
        if cut:
            self._fault_close()
            return False
        return True

    def _send_datagram(self, data: bytes) -> None:
        try:
            self.sock.send(data)
        except ConnectionRefusedError:  # an earlier datagram's ICMP port unreachable, reported here: ignored
            self.sock.send(data)

    def close(self, graceful: bool = True) -> None:
        """SOCKC (graceful: TLS close_notify, FIN) or module reset (RST)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if graceful:
            if self.tls is not None:
                self.tls.close_notify()
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                self.sock.close()
            except OSError:
                pass
        else:
            try:
                self.sock.shutdown(socket.SHUT_RD)
            except OSError:
                pass
            abort(self.sock)
        if threading.current_thread() is not self._thread and self._thread.is_alive():
            self._thread.join(2.0)

    def _fault_close(self) -> None:
        log.info("fault injection: peer of a %s socket closes mid-transfer", self.kind)
        with self._cond:
            self._closing = True
        try:
            self.sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass
        abort(self.sock)
        self._on_closed(self, CLOSE_PEER)

    # --- reader -------------------------------------------------------------------------------------------

    def _read_loop(self) -> None:
        reason = CLOSE_PEER
        while True:
            with self._cond:
                while self._unconsumed >= self.rx_cap and not self._closing:
                    self._cond.wait(READ_POLL)
                if self._closing:
                    return
            try:
                raw = self.sock.recv(MSS if self.kind != "u" else 65535)
            except (TimeoutError, socket.timeout):
                continue
            except OSError as exc:
                if self.kind == "u" and isinstance(exc, ConnectionRefusedError) and not self._closing:
                    # ICMP port unreachable for a datagram: a UDP socket has no connection to lose, and no
                    # +WIND:58 for it is known (inference: the module ignores it; the sender hears nothing)
                    continue
                if self._closing:
                    return
                log.info("socket error from peer: %s", exc)
                reason = CLOSE_ERROR
                break
            if self._closing:
                return
            if self.tls is not None:
                try:
                    data = self.tls.receive(raw)
                except OSError as exc:
                    log.info("%s", exc)
                    reason = CLOSE_ERROR
                    break
                eof = not raw or self.tls.closed_by_peer
            else:
                data, eof = raw, not raw and self.kind != "u"
            if data:
                if self.rx_limit is not None and self.rx_total + len(data) >= self.rx_limit:
                    data = data[: max(0, self.rx_limit - self.rx_total)]
                    self.rx_total += len(data)
                    if data:
                        self._deliver(data)
                    self._fault_close()
                    return
                self.rx_total += len(data)
                self._deliver(data)
            if eof:
                break
        with self._cond:
            if self._closing:
                return
            self._closing = True
        self._on_closed(self, reason)

    def _deliver(self, data: bytes) -> None:
        with self._cond:
            self._unconsumed += len(data)
        self._on_data(self, data)
