"""A threaded TCP server on loopback for tests and benchmarks: the peer at the far end of the module's sockets.

Subclasses implement `serve(conn)` for one accepted connection. Every socket has a timeout; `stop()` (or
leaving the `with` block) closes the listener, wakes every connection thread blocked in recv and joins it.

    class Echo(LoopbackServer):
        def serve(self, conn):
            while (d := conn.recv(4096)):
                conn.sendall(d)
    with Echo() as peer: ... peer.port ...
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType


class LoopbackServer:
    io_timeout = 60.0

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.accepted = 0  # connections accepted so far
        self.open = 0  # connections being served now
        self.errors: list[str] = []
        self._srv: socket.socket | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def start(self) -> "LoopbackServer":
        if self._srv is None:
            self._srv = socket.create_server((self.host, 0))
            self._srv.settimeout(0.2)  # the accept loop notices stop() within this time
            self.port = int(self._srv.getsockname()[1])
            self._spawn(self._accept, f"{type(self).__name__}:{self.port}")
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._srv is not None:
            self._srv.close()
            self._srv = None
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()

    def __enter__(self):
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _spawn(self, target, name: str, *args: object) -> None:
        t = threading.Thread(target=target, args=args, name=name, daemon=True)
        t.start()
        self._threads = [x for x in self._threads if x.is_alive()] + [t]

    def _accept(self) -> None:
        while not self._stop.is_set():
            srv = self._srv
            if srv is None:
                return
            try:
                conn, _ = srv.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                self.open += 1
                self._conns.add(conn)
            self._spawn(self._run, f"{type(self).__name__}-conn", conn)

    def _run(self, conn: socket.socket) -> None:
        conn.settimeout(self.io_timeout)
        try:
            self.serve(conn)
        except (OSError, ValueError) as e:  # ValueError: the client broke the exchange's protocol
            if not self._stop.is_set():  # errors while stopping are the shutdown itself
                with self._lock:
                    self.errors.append(f"{type(e).__name__}: {e}")
        finally:
            with self._lock:
                self.open -= 1
                self._conns.discard(conn)
            conn.close()
