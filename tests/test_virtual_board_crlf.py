"""The virtual board's friendly REPL ends lines with CR LF like a real board (a terminal shows no staircase);
its raw REPL, which tools use, passes what the program printed through byte for byte."""

from __future__ import annotations

import os
import re
import select
import time
from pathlib import Path

import pytest

from spwf04_tools.board import VirtualBoard

pytestmark = [pytest.mark.virtual_only, pytest.mark.timeout(60)]


def _read_until(fd: int, needle: bytes, timeout: float = 15) -> bytes:
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"did not see {needle!r}; got {buf[-500:]!r}")
        if select.select([fd], [], [], min(left, 0.5))[0]:
            buf += os.read(fd, 4096)
    return buf


def test_friendly_repl_prints_crlf_and_raw_repl_is_untouched(tmp_path: Path) -> None:
    with VirtualBoard(tmp_path / "flash") as vb:
        fd = os.open(vb.device, os.O_RDWR | os.O_NOCTTY)
        try:
            time.sleep(1.0)
            os.write(fd, b"\r")
            _read_until(fd, b">>> ")
            os.write(fd, b"print('one\\ntwo'); print('three')\r")
            out = _read_until(fd, b"three\r\n>>> ")
            assert b"\r\none\r\ntwo\r\nthree\r\n>>> " in out, out
            os.write(fd, b"1/0\r")
            out = _read_until(fd, b"ZeroDivisionError: divide by zero\r\n>>> ")
            assert b"Traceback (most recent call last):\r\n" in out
            assert re.search(rb"(?<!\r)\n", out) is None, out
            # raw REPL: bytes as printed (mpremote, deploy and the tests read them there)
            os.write(fd, b"\x01")
            _read_until(fd, b"raw REPL; CTRL-B to exit\r\n>")
            os.write(fd, b"print('x\\ny')\x04")
            out = _read_until(fd, b"\x04>")
            assert out.startswith(b"OKx\ny\n\x04"), out
            os.write(fd, b"\x02")
            _read_until(fd, b">>> ")
        finally:
            os.close(fd)
