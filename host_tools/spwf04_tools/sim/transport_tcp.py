"""TCP transport for the virtual board: the UART at port P (raw bytes), the pins at P+1 (line protocol).

Pins protocol (docs/ARCHITECTURE.md): one command per `\\n`-ended line, `RESET 0|1`, `WAKEUP 0|1`. A new
UART connection replaces the previous one; the module does not notice (its state is kept).
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Callable

from .bytelog import ByteLog
from .transport import Feed, PinHandler, UartTransport
from .uartmodel import OverrunModel

log = logging.getLogger(__name__)
ACCEPT_POLL = 0.5
SEND_TIMEOUT = 5.0
PIN_LINE_MAX = 64


def _bind_pair(host: str, port: int) -> tuple[socket.socket, socket.socket]:
    """Listeners on port and port+1; port 0 picks a free pair."""
    attempts = 50 if port == 0 else 1
    last: OSError | None = None
    for _ in range(attempts):
        a = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        b = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        for s in (a, b):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            a.bind((host, port))
            p = a.getsockname()[1]
            if p >= 65535:
                raise OSError(f"port {p} has no port+1 for the pins")
            b.bind((host, p + 1))
            a.listen(2)
            b.listen(4)
            return a, b
        except OSError as exc:
            last = exc
            a.close()
            b.close()
    where = f"{host}:{port}" if port else f"{host} (free pair)"
    raise OSError(f"cannot listen for the simulator's UART and pins at {where}: {last}")


class TcpTransport(UartTransport):
    name = "tcp"

    def __init__(self, feed: Feed, pins: PinHandler, baud: int | None, bytelog: ByteLog | None,
                 host: str = "127.0.0.1", port: int = 0,
                 board_rxbuf: Callable[[], int | None] = lambda: None) -> None:
        super().__init__(feed, baud, bytelog)
        self._board_rxbuf = board_rxbuf  # the board's UART buffer size, when modelled (uartmodel.py)
        self.overrun = OverrunModel()
        self._pins = pins
        self._uart_listener, self._pin_listener = _bind_pair(host, port)
        self.uart_address: tuple[str, int] = self._uart_listener.getsockname()[:2]
        self.pins_address: tuple[str, int] = self._pin_listener.getsockname()[:2]
        self._conn: socket.socket | None = None
        self._conn_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._pin_conns: set[socket.socket] = set()

    def start(self) -> None:
        self.start_writer()
        for target, name in ((self._accept_uart, "uart-accept"), (self._accept_pins, "pins-accept")):
            t = threading.Thread(target=target, name=f"sim-{name}", daemon=True)
            t.start()
            self._threads.append(t)

    # --- UART ---------------------------------------------------------------------------------------------

    def _accept_uart(self) -> None:
        self._uart_listener.settimeout(ACCEPT_POLL)
        while not self._stop.is_set():
            try:
                conn, peer = self._uart_listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(SEND_TIMEOUT)  # stop() shuts the socket down, which wakes a blocked recv
            with self._conn_lock:
                old, self._conn = self._conn, conn
            if old is not None:
                log.info("UART connection from %s:%d replaces the previous one", *peer[:2])
                _close(old)
            else:
                log.info("UART connected from %s:%d", *peer[:2])
            if self.bytelog:
                self.bytelog.note(f"UART connection from {peer[0]}:{peer[1]}")
            t = threading.Thread(target=self._read_uart, args=(conn,), name="sim-uart-rx", daemon=True)
            t.start()
            self._threads.append(t)

    def _read_uart(self, conn: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                data = conn.recv(self.read_size())
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                break
            if not data:
                break
            with self._conn_lock:
                current = conn is self._conn
            if not current:
                break
            self.received(data)
        with self._conn_lock:
            if self._conn is conn:
                self._conn = None
        _close(conn)

    def _peer_present(self) -> bool:
        with self._conn_lock:
            return self._conn is not None

    def _send(self, data: bytes) -> bool:
        with self._conn_lock:
            conn = self._conn
        if conn is None:
            return False  # nothing plugged in: a UART's bytes simply go nowhere
        size = self._board_rxbuf()
        if size is not None:
            data = self.overrun.admit(conn, data, size)
        try:
            conn.sendall(data)
            return True
        except (TimeoutError, socket.timeout):
            log.warning("UART peer does not read; %d bytes lost", len(data))
        except OSError:
            pass
        return False

    # --- pins ---------------------------------------------------------------------------------------------

    def _accept_pins(self) -> None:
        self._pin_listener.settimeout(ACCEPT_POLL)
        while not self._stop.is_set():
            try:
                conn, _peer = self._pin_listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            conn.settimeout(ACCEPT_POLL)
            self._pin_conns.add(conn)
            t = threading.Thread(target=self._read_pins, args=(conn,), name="sim-pins-rx", daemon=True)
            t.start()
            self._threads.append(t)

    def _read_pins(self, conn: socket.socket) -> None:
        buf = b""
        levels: dict[str, int] = {}
        while not self._stop.is_set():
            try:
                data = conn.recv(256)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                break
            if not data:
                break
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                self._pin_line(line, levels)
            if len(buf) > PIN_LINE_MAX:
                log.warning("pins: line too long, discarded: %r", buf[:PIN_LINE_MAX])
                buf = b""
        self._pin_conns.discard(conn)
        _close(conn)
        # The board went away: its pins float and the module's pull-up releases RESET.
        if levels.get("RESET") == 0 and not self._stop.is_set():
            self._pins("RESET", 1)

    def _pin_line(self, line: bytes, levels: dict[str, int]) -> None:
        parts = line.decode("ascii", "replace").strip().split()
        if not parts:
            return
        if len(parts) != 2 or parts[0].upper() not in ("RESET", "WAKEUP") or parts[1] not in ("0", "1"):
            log.warning("pins: ignored %r (expected 'RESET 0|1' or 'WAKEUP 0|1')", line)
            return
        name, level = parts[0].upper(), int(parts[1])
        levels[name] = level
        if self.bytelog:
            self.bytelog.note(f"pin {name} {level}")
        self._pins(name, level)

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        for s in (self._uart_listener, self._pin_listener):
            _close(s)
        with self._conn_lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            _close(conn)
        for c in list(self._pin_conns):
            _close(c)
        self.stop_writer(timeout)
        for t in self._threads:
            t.join(timeout)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass
