"""The board's UART receive buffer, modelled on the host (a mode: SimConfig.uart_rxbuf).

The SPWF04SA has no UART flow control (ST's host code sets `console_hwfc,0`): bytes the module sends while
the board's receive buffer is full are lost (the STM32 overrun). Over the virtual board's TCP "wire" nothing
is ever lost, so this model stands in for the buffer: before each piece of module output goes out, it reads
how many bytes the board's end of the loopback connection holds unread (the kernel's receive queue, from
/proc/net/tcp) and sends only what still fits in a buffer of the board's size; the rest is dropped and
counted. Output should be paced (`--baud`): unpaced, a whole answer arrives at once and the model judges it
as if the board had been given no time to read.

Approximations (the model is no kinder than the board): bytes the virtual UART already pulled into its own
buffer are not counted as unread (the board's buffer looks as large as the real one at most twice over);
the check happens per paced piece (about 5 ms of line time), not per byte. Loopback IPv4 only.
"""

from __future__ import annotations

import logging
import socket
import threading

log = logging.getLogger(__name__)

PROC_TCP = "/proc/net/tcp"


def _hex_addr(addr: tuple[str, int]) -> str:
    ip = socket.inet_aton(addr[0])
    return f"{int.from_bytes(ip, 'little'):08X}:{addr[1]:04X}"


def unread_bytes(conn: socket.socket) -> int | None:
    """Bytes the peer of `conn` (the board, on this host) has received but not read; None if unknown."""
    try:
        board = _hex_addr(conn.getpeername()[:2])
        sim = _hex_addr(conn.getsockname()[:2])
        with open(PROC_TCP, encoding="ascii") as fh:
            next(fh)
            for line in fh:
                f = line.split()
                if len(f) > 4 and f[1] == board and f[2] == sim:
                    return int(f[4].split(":")[1], 16)
    except (OSError, ValueError, StopIteration):
        return None
    return None


class OverrunModel:
    """Admit module output into a receive buffer of `size` bytes; what does not fit is lost."""

    def __init__(self) -> None:
        self.lost = 0  # bytes dropped since start
        self.overruns = 0  # pieces that lost bytes
        self._lock = threading.Lock()

    def admit(self, conn: socket.socket, data: bytes, size: int) -> bytes:
        queued = unread_bytes(conn)
        if queued is None:
            return data
        free = max(0, size - queued)
        if len(data) <= free:
            return data
        with self._lock:
            self.lost += len(data) - free
            self.overruns += 1
        log.warning("UART overrun: the board holds %d unread bytes of its %d-byte buffer; %d bytes lost",
                    queued, size, len(data) - free)
        return data[:free]
