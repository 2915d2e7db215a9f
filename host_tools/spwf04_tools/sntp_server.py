"""A small SNTP server (RFC 4330) on loopback for tests and the demo, plus the packet codec the simulator's
NTP client uses.

The server answers client requests (mode 3) with a server reply (mode 4, stratum 1) carrying a
configurable time: `epoch` given -> that UNIX time at start, advancing in real time; None -> the host's
clock. `silent` receives and counts requests but never answers (a dead server, for timeout tests).

    with SntpServer(epoch=1790000000) as srv:       # 127.0.0.1, a free port
        srv.port, srv.requests

    python -m spwf04_tools.sntp_server --port 12300 --time 2026-12-06T12:00:00
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import socket
import struct
import threading
import time
from dataclasses import dataclass
from types import TracebackType

log = logging.getLogger(__name__)

NTP_DELTA = 2208988800  # seconds from 1900-01-01 (NTP era 0) to 1970-01-01
PACKET = struct.Struct("!BBbb11I")  # LI/VN/mode, stratum, poll, precision, then 11 32-bit words
PACKET_LEN = 48
MODE_CLIENT = 3
MODE_SERVER = 4
NTP_PORT = 123


class SntpError(Exception):
    """A reply that is not a usable SNTP answer to our request."""


def to_ntp(t: float) -> tuple[int, int]:
    """UNIX seconds -> (NTP seconds, fraction) of era 0/1 (the seconds field wraps in 2036)."""
    secs = int(t) + NTP_DELTA
    return secs & 0xFFFFFFFF, int((t - int(t)) * (1 << 32)) & 0xFFFFFFFF


def from_ntp(secs: int, frac: int) -> float:
    """NTP timestamp -> UNIX seconds. RFC 4330 section 3: a seconds field with the top bit clear is in era 1
    (2036-2104), since no usable time before 1968 is expected."""
    if not secs & 0x80000000:
        secs += 1 << 32
    return secs - NTP_DELTA + frac / (1 << 32)


def build_request(transmit: float) -> bytes:
    """A client request (LI 0, VN 4, mode 3) whose transmit timestamp is `transmit` (also the nonce the
    reply must echo as its originate timestamp)."""
    s, f = to_ntp(transmit)
    return PACKET.pack((4 << 3) | MODE_CLIENT, 0, 0, 0, *([0] * 9), s, f)


@dataclass(frozen=True)
class Reply:
    epoch: float  # the server's transmit time, UNIX seconds
    stratum: int
    originate: tuple[int, int]


def parse_reply(data: bytes, request: bytes) -> Reply:
    """Check a server reply against the request it answers (RFC 4330 section 5) and return its time."""
    if len(data) < PACKET_LEN:
        raise SntpError(f"reply of {len(data)} bytes (an SNTP packet has at least {PACKET_LEN})")
    w = PACKET.unpack_from(data)
    li, mode, stratum = w[0] >> 6, w[0] & 7, w[1]
    if mode != MODE_SERVER:
        raise SntpError(f"mode {mode}, not a server reply ({MODE_SERVER})")
    if li == 3 or not 1 <= stratum <= 15:
        raise SntpError(f"server not synchronised (leap indicator {li}, stratum {stratum})")
    if data[24:32] != request[40:48]:
        raise SntpError("originate timestamp is not our transmit timestamp (a stale or forged reply)")
    secs, frac = w[13], w[14]
    if not secs and not frac:
        raise SntpError("transmit timestamp is zero")
    return Reply(from_ntp(secs, frac), stratum, (w[9], w[10]))


def build_reply(request: bytes, now: float, received: float) -> bytes:
    """The server's answer to `request` at time `now` (received at `received`), stratum 1."""
    vn = (request[0] >> 3) & 7 or 4
    rs, rf = to_ntp(received)
    ts, tf = to_ntp(now)
    orig = struct.unpack_from("!II", request, 40)
    ref = b"LOCL"
    return (PACKET.pack((vn << 3) | MODE_SERVER, 1, 4, -20, 0, 0, struct.unpack("!I", ref)[0],
                        ts, 0, orig[0], orig[1], rs, rf, ts, tf))


class SntpServer:
    """SNTP server on a loopback UDP port, in a thread. Counts requests; `silent` never answers."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, epoch: float | None = None,
                 silent: bool = False) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.settimeout(0.2)
        self.host, self.port = self.sock.getsockname()[:2]
        self.silent = silent
        self.requests = 0
        self.answered = 0
        self._offset = 0.0 if epoch is None else epoch - time.time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="sntp-server", daemon=True)

    def now(self) -> float:
        """The time this server serves (UNIX seconds)."""
        return time.time() + self._offset

    def start(self) -> "SntpServer":
        self._thread.start()
        log.info("SNTP server on %s:%d serving %s%s", self.host, self.port,
                 dt.datetime.fromtimestamp(self.now(), dt.timezone.utc).isoformat(timespec="seconds"),
                 " (silent)" if self.silent else "")
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)
        self.sock.close()

    def __enter__(self) -> "SntpServer":
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(512)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            received = self.now()
            if len(data) < PACKET_LEN or data[0] & 7 != MODE_CLIENT:
                log.info("SNTP server: ignored %d bytes from %s (not a client request)", len(data), addr)
                continue
            self.requests += 1
            if self.silent:
                continue
            try:
                self.sock.sendto(build_reply(data, self.now(), received), addr)
                self.answered += 1
            except OSError as exc:
                log.info("SNTP server: reply to %s failed: %s", addr, exc)


def query(host: str, port: int = NTP_PORT, timeout: float = 3.0) -> Reply:
    """One SNTP request from this host (a plain client, for checks). Raises SntpError or TimeoutError."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        req = build_request(time.time())
        s.sendto(req, (host, port))
        data, _ = s.recvfrom(512)
        return parse_reply(data, req)


def _parse_time(text: str) -> float:
    if text.isdigit():
        return float(text)
    t = dt.datetime.fromisoformat(text)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.timestamp()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m spwf04_tools.sntp_server", description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=12300, help="UDP port (default 12300; 123 needs root)")
    ap.add_argument("--time", type=_parse_time, default=None,
                    help="serve this time (UNIX seconds or ISO 8601, UTC), advancing; default: the host clock")
    ap.add_argument("--silent", action="store_true", help="count requests, never answer")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with SntpServer(args.host, args.port, args.time, args.silent) as srv:
        print(f"{srv.host}:{srv.port}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
