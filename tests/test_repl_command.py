"""`spwf04 repl`: a person at a terminal gets the virtual board's REPL, wired to the simulator."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

SPWF04 = str(Path(sys.executable).with_name("spwf04"))


def _read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"did not see {needle!r}; got {buf[-800:]!r}")
        r, _, _ = select.select([fd], [], [], min(left, 0.5))
        if r:
            try:
                buf += os.read(fd, 4096)
            except OSError:
                break
    return buf


@pytest.mark.virtual_only
def test_repl_starts_board_and_simulator_and_ctrl_x_stops_them(tmp_path: Path) -> None:
    for name in ("tcp_uart.py", "spwf04_pins.py"):
        (tmp_path / name).write_bytes((Path(__file__).resolve().parents[1] / "micropython" / name).read_bytes())
    master, slave = pty.openpty()
    proc = subprocess.Popen([SPWF04, "repl", "--flash", str(tmp_path)], stdin=slave, stdout=slave,
                            stderr=slave, close_fds=True)
    os.close(slave)
    try:
        _read_until(master, b"Ctrl-X leaves", 20)
        time.sleep(1.0)
        os.write(master, b"\r")
        _read_until(master, b">>> ", 20)
        os.write(master, b"print(6*7)\r")
        _read_until(master, b"42", 20)
        # the board's UART reaches the simulated module, which answers the liveness probe
        os.write(master, b"import tcp_uart, time; u = tcp_uart.TcpUart(tcp_uart.module_address())\r")
        _read_until(master, b">>> ", 20)
        os.write(master, b"u.write(b'AT\\r'); time.sleep(0.5); print(u.read())\r")
        _read_until(master, b"AT-S.OK", 20)
        os.write(master, b"\x18")  # Ctrl-X
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
