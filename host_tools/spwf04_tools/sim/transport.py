"""What every UART transport shares: a paced writer thread, paced input, the byte log hook."""

from __future__ import annotations

import collections
import logging
import threading
from typing import Callable

from .bytelog import ByteLog
from .pacing import LinePacer

log = logging.getLogger(__name__)

Feed = Callable[[bytes], None]
PinHandler = Callable[[str, int], None]
READ_CHUNK = 4096
_COALESCE_MAX = 65536  # bytes joined into one send at most


class UartTransport:
    """Base: subclasses implement `_send(data) -> bool` (False: nobody listening, bytes lost) and reading."""

    name = "uart"

    def __init__(self, feed: Feed, baud: int | None, bytelog: ByteLog | None) -> None:
        self._feed = feed
        self.out_pacer = LinePacer(baud)
        self.in_pacer = LinePacer(baud)
        self.bytelog = bytelog
        self._queue: collections.deque[tuple[bytes, float]] = collections.deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._writer = threading.Thread(target=self._write_loop, name=f"sim-{self.name}-tx", daemon=True)
        self._generation = 0

    def set_baud(self, baud: int | None) -> None:
        self.out_pacer.set_baud(baud)
        self.in_pacer.set_baud(baud)

    def start_writer(self) -> None:
        self._writer.start()

    # --- output -------------------------------------------------------------------------------------------

    def write(self, pieces: list[tuple[bytes, float]]) -> None:
        with self._cond:
            self._queue.extend(pieces)
            self._cond.notify()

    def discard(self) -> None:
        """Drop output not yet on the wire (the module was reset: its UART stops at once)."""
        with self._cond:
            self._queue.clear()
            self._generation += 1

    def drain(self, timeout: float) -> bool:
        """Wait until everything queued is written (True) or timeout (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    _busy = False

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
                while not self._queue and not self._stopping:
                    self._cond.wait(1.0)
                if self._stopping:
                    return
                data, gap = self._queue.popleft()
                # What is already queued back to back goes out in one piece, as a UART sends it: separate
                # sends of a SOCKR's header, data and OK would split the answer where the wire does not.
                # (Fault fragments carry a gap and stay apart; the pacer still slices by line time.)
                if not gap and self._queue:
                    parts = [data]
                    size = len(data)
                    while not gap and self._queue and size < _COALESCE_MAX:
                        nxt, gap = self._queue.popleft()
                        parts.append(nxt)
                        size += len(nxt)
                    data = b"".join(parts)
                gen = self._generation
                self._busy = True
            for piece in self.out_pacer.pieces(data):
                self.out_pacer.wait(len(piece))
                with self._cond:
                    if gen != self._generation or self._stopping:
                        break
                self._send_logged(piece)
            if gap:
                with self._cond:
                    self._cond.wait_for(lambda: self._stopping, gap)

    def _send_logged(self, piece: bytes) -> None:
        """Send, with the byte log record written BEFORE the bytes leave: the host can answer only after it has
        them, and its answer is logged by the reader thread, so logging after the send let the host's next
        command appear in the log before the answer it reacted to."""
        if self.bytelog is None or not self._peer_present():
            self._send(piece)
            return
        self.bytelog.record(ByteLog.TO_HOST, piece)
        if not self._send(piece):
            self.bytelog.note(f"the {len(piece)} bytes above did not reach the host (connection gone)")

    def _peer_present(self) -> bool:
        """Whether anyone is there to receive output (bytes nobody could receive are not logged as sent)."""
        return True

    def _send(self, data: bytes) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    # --- input --------------------------------------------------------------------------------------------

    def received(self, data: bytes) -> None:
        """Called by the reader with bytes from the host: log them, pace them, hand them to the module."""
        if self.bytelog is not None:
            self.bytelog.record(ByteLog.TO_MODULE, data)
        for piece in self.in_pacer.pieces(data):
            self.in_pacer.wait(len(piece))
            self._feed(piece)

    def read_size(self) -> int:
        return min(READ_CHUNK, self.in_pacer.slice_bytes)

    def stop_writer(self, timeout: float = 2.0) -> None:
        with self._cond:
            self._stopping = True
            self._queue.clear()
            self._cond.notify_all()
        if self._writer.is_alive():
            self._writer.join(timeout)
