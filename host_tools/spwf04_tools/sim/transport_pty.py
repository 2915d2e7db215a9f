"""PTY transport: a pseudo-terminal whose slave path works with pyserial, picocom, mpremote-style tools.

The simulator keeps the slave open itself so that the master never sees EIO between client sessions, and
keeps the slave in raw mode (a client's leftover ECHO/ICRNL settings would otherwise feed the module's own
output back to it or turn CR into LF).
"""

from __future__ import annotations

import errno
import logging
import os
import select
import termios
import threading
import tty

from .bytelog import ByteLog
from .transport import Feed, UartTransport

log = logging.getLogger(__name__)
POLL = 0.5
WRITE_TIMEOUT = 2.0
_COOKED_LFLAGS = termios.ECHO | termios.ICANON | termios.ISIG | termios.IEXTEN
_COOKED_IFLAGS = termios.ICRNL | termios.INLCR | termios.IGNCR | termios.IXON
_COOKED_OFLAGS = termios.OPOST


class PtyTransport(UartTransport):
    name = "pty"

    def __init__(self, feed: Feed, baud: int | None, bytelog: ByteLog | None) -> None:
        super().__init__(feed, baud, bytelog)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read_loop, name="sim-pty-rx", daemon=True)
        self._warned_full = False

    def start(self) -> None:
        self.start_writer()
        self._reader.start()

    def _keep_raw(self) -> None:
        try:
            attrs = termios.tcgetattr(self._slave)
        except termios.error:
            return
        if attrs[3] & _COOKED_LFLAGS or attrs[0] & _COOKED_IFLAGS or attrs[1] & _COOKED_OFLAGS:
            tty.setraw(self._slave, termios.TCSANOW)

    def _read_loop(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._master], [], [], POLL)
            except (OSError, ValueError):
                return
            self._keep_raw()
            if not ready:
                continue
            try:
                data = os.read(self._master, self.read_size())
            except BlockingIOError:
                continue
            except OSError as exc:
                if exc.errno == errno.EIO:  # no slave open (cannot happen while we hold it); wait
                    self._stop.wait(POLL)
                    continue
                return
            if data:
                self.received(data)

    def _send(self, data: bytes) -> bool:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._master, view)
                view = view[n:]
                continue
            except BlockingIOError:
                pass
            except OSError:
                return False
            # Once the buffer was found full, do not stall the writer again for long.
            wait = 0.05 if self._warned_full else WRITE_TIMEOUT
            _, ready, _ = select.select([], [self._master], [], wait)
            if not ready:
                if not self._warned_full:
                    log.warning("pty %s: nobody reads; module output is being lost", self.path)
                    self._warned_full = True
                return False
        self._warned_full = False
        return True

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self.stop_writer(timeout)
        if self._reader.is_alive():
            self._reader.join(timeout)
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
