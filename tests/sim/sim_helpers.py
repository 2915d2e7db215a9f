"""Test helpers for the simulator: a pyserial link that reads exact bytes, and small TCP peers."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import serial

from spwf04_tools.sim import SimConfig, Simulator, Timing

FINAL_PREFIXES = (b"AT-S.OK", b"AT-S.ERROR")


class AtLink:
    """pyserial (socket:// or a pty) to the simulated module; collects bytes and compares them exactly."""

    def __init__(self, url: str, timeout: float = 0.05) -> None:
        if url.startswith("/dev/"):
            self.ser = serial.Serial(url, 115200, timeout=timeout)
        else:
            self.ser = serial.serial_for_url(url, timeout=timeout)
        self.buf = bytearray()

    def close(self) -> None:
        sock = getattr(self.ser, "_socket", None)
        if sock is not None:  # pyserial's socket:// close() sleeps 0.3 s "for quick reconnects"
            try:
                sock.close()
            except OSError:
                pass
            self.ser._socket = None
            self.ser.is_open = False
            return
        self.ser.close()

    def send(self, data: bytes) -> None:
        self.ser.write(data)
        self.ser.flush()

    def _fill(self) -> bool:
        data = self.ser.read(1)  # waits up to the timeout for the first byte only
        if data:
            waiting = self.ser.in_waiting
            if waiting:
                data += self.ser.read(waiting)
            self.buf += data
            return True
        return False

    def read_until(self, marker: bytes, timeout: float = 5.0) -> bytes:
        """Everything up to and including marker; TimeoutError with what arrived otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            idx = self.buf.find(marker)
            if idx >= 0:
                end = idx + len(marker)
                out = bytes(self.buf[:end])
                del self.buf[:end]
                return out
            if time.monotonic() > deadline:
                raise TimeoutError(f"{marker!r} not received within {timeout} s; got {bytes(self.buf)!r}")
            self._fill()

    def read_line(self, timeout: float = 5.0) -> bytes:
        return self.read_until(b"\r\n", timeout)

    def read_final(self, timeout: float = 5.0) -> bytes:
        """Bytes up to and including the final line (AT-S.OK... or AT-S.ERROR...)."""
        out = bytearray()
        while True:
            line = self.read_line(timeout)
            out += line
            if line.startswith(FINAL_PREFIXES):
                return bytes(out)
            if line.startswith(b"AT-S.Reading:"):  # raw data follows, then the final line
                n = int(line.split(b":")[1])
                out += self.read_exactly(n, timeout)

    def read_exactly(self, n: int, timeout: float = 5.0) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{n} bytes not received within {timeout} s; got {bytes(self.buf)!r}")
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def cmd(self, line: bytes, payload: bytes = b"", timeout: float = 5.0) -> bytes:
        """Send a command (CR added) and its payload; return everything up to the final line."""
        self.send(line + b"\r" + payload)
        return self.read_final(timeout)

    def quiet(self, seconds: float = 0.2) -> bytes:
        """Whatever arrives within seconds (to assert that nothing does)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._fill()
        out = bytes(self.buf)
        self.buf.clear()
        return out

    def drain(self, seconds: float = 0.1) -> bytes:
        return self.quiet(seconds)


class TcpPeer:
    """A loopback TCP server accepting one connection; records what it receives, sends on demand."""

    def __init__(self, udp: bool = False) -> None:
        self.udp = udp
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.received = bytearray()
        self.peer_addr = None
        self._cond = threading.Condition()
        self._stop = False
        if not udp:
            self.sock.listen(16)
        self.sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept if not udp else self._udp_loop, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            conn.settimeout(0.2)
            with self._cond:
                self.conns.append(conn)
                self._cond.notify_all()
            threading.Thread(target=self._reader, args=(conn,), daemon=True).start()

    def _reader(self, conn: socket.socket) -> None:
        while not self._stop:
            try:
                data = conn.recv(65536)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            if not data:
                return
            with self._cond:
                self.received += data
                self._cond.notify_all()

    def _udp_loop(self) -> None:
        while not self._stop:
            try:
                data, addr = self.sock.recvfrom(65536)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            with self._cond:
                self.peer_addr = addr
                self.received += data
                self._cond.notify_all()

    def wait_connections(self, n: int = 1, timeout: float = 5.0) -> socket.socket:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.conns) >= n, timeout):
                raise TimeoutError(f"{n} connection(s) not accepted within {timeout} s")
            return self.conns[n - 1]

    def wait_received(self, n: int, timeout: float = 5.0) -> bytes:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.received) >= n, timeout):
                raise TimeoutError(f"{n} bytes not received within {timeout} s; got {bytes(self.received)!r}")
            return bytes(self.received)

    def send(self, data: bytes, index: int = 0) -> None:
        if self.udp:
            self.sock.sendto(data, self.peer_addr)
        else:
            self.conns[index].sendall(data)

    def close_client(self, index: int = 0) -> None:
        self.conns[index].close()

    def stop(self) -> None:
        self._stop = True
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass
        self.sock.close()
        self._thread.join(2)


DEFAULT_SSID = b"SPWF04-SIM"
DEFAULT_PASS = b"simulated-wifi"
STATION_IP = b"192.168.1.100"
STATION_IP6 = b"fe80::280:e1ff:feb7:c82a"  # link-local from the default MAC 00:80:E1:B7:C8:2A


@dataclass
class Module:
    sim: Simulator
    link: AtLink

    def join(self, passphrase: bytes = DEFAULT_PASS, ssid: bytes = DEFAULT_SSID) -> bytes:
        """The join sequence of spec 6.4 (echo on); returns everything from the RESET echo to +WIND:24."""
        link = self.link
        link.cmd(b"AT+S.SCFG=wifi_wpa_psk_text," + passphrase)
        link.cmd(b"AT+S.SSIDTXT=" + ssid)
        link.cmd(b"AT+S.SCFG=wifi_priv_mode,2")
        link.cmd(b"AT+S.SCFG=wifi_mode,1")
        link.cmd(b"AT+S.WCFG")
        link.send(b"AT+S.RESET\r")
        out = link.read_until(b"+WIND:24:WiFi Up:0:" + STATION_IP + b"\r\n", timeout=10)
        if self.sim.config.behaviour.wifi_up_v6:  # the second 24 (IPv6 link-local) follows
            out += link.read_until(b"+WIND:24:WiFi Up::" + STATION_IP6 + b"\r\n", timeout=10)
        return out

    def reconnect(self) -> AtLink:
        self.link.close()
        host, port = self.sim.uart_address
        self.link = AtLink(f"socket://{host}:{port}")
        return self.link


def fast_config(**kwargs: Any) -> SimConfig:
    kwargs.setdefault("timing", Timing(scale=0.2))
    return SimConfig(**kwargs)
