"""The board harness itself: mpremote against the board, heap limit, the virtual UART, tracebacks."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from spwf04_tools.repl_link import DeviceError, DeviceTimeout

MPREMOTE = str(Path(sys.executable).with_name("mpremote"))


def test_mpremote_copies_a_module_that_then_imports(board, tmp_path: Path) -> None:
    src = tmp_path / "hello_mod.py"
    src.write_text("ANSWER = 6 * 7\n")
    with board.released() as port:
        out = subprocess.run([MPREMOTE, "connect", port, "resume", "cp", str(src), ":hello_mod.py"],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        out = subprocess.run([MPREMOTE, "connect", port, "resume", "exec", "print(6*7)"],
                             capture_output=True, text=True, timeout=30)
        assert out.stdout.strip() == "42"
    assert board.exec("import hello_mod\nprint(hello_mod.ANSWER)").strip() == "42"
    board.exec("import os\nos.remove('hello_mod.py')")


def test_file_lands_in_flash_dir(board, flash_dir: Path) -> None:
    board.put_bytes(b"X = 1\n", "landed.py")
    assert (flash_dir / "landed.py").read_bytes() == b"X = 1\n"
    (flash_dir / "landed.py").unlink()


def test_heap_is_limited_like_the_f401re(board, on_hardware: bool) -> None:
    total = board.eval("__import__('gc').mem_free() + __import__('gc').mem_alloc()")
    # The F401RE has ~60 KB of heap; the virtual board's 60wK (64-bit words) is the same in objects.
    assert 40_000 < total < 140_000
    with pytest.raises(DeviceError) as exc:
        board.exec("b = bytearray(200_000)")
    assert "MemoryError: memory allocation failed, allocating 200000 bytes" in str(exc.value)
    # and the board is usable afterwards
    assert board.exec("print('alive')").strip() == "alive"


def test_device_exception_arrives_with_traceback(board) -> None:
    with pytest.raises(DeviceError) as exc:
        board.exec("def inner():\n    raise ValueError('from the device')\ninner()\n")
    text = str(exc.value)
    assert "Traceback (most recent call last):" in text
    assert "in inner" in text
    assert "ValueError: from the device" in text


def test_runaway_code_times_out_and_board_recovers(board) -> None:
    with pytest.raises(DeviceTimeout):
        board.exec("while True:\n    pass\n", timeout=1.5)
    assert board.exec("print(1 + 1)").strip() == "2"


def test_soft_reset_clears_state(board) -> None:
    board.exec("leftover = 123")
    board.soft_reset()
    with pytest.raises(DeviceError, match="NameError"):
        board.exec("print(leftover)")


class _Peer:
    """A small loopback TCP peer standing in for the module at the other end of the UART."""

    def __init__(self) -> None:
        self.srv = socket.create_server(("127.0.0.1", 0))
        self.srv.settimeout(10)
        self.port = self.srv.getsockname()[1]
        self.conn: socket.socket | None = None
        self.received = bytearray()
        self._accepted = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        try:
            self.conn, _ = self.srv.accept()
            self.conn.settimeout(10)
        finally:
            self._accepted.set()

    def send(self, data: bytes) -> None:
        assert self._accepted.wait(10) and self.conn
        self.conn.sendall(data)

    def recv_exactly(self, n: int) -> bytes:
        assert self._accepted.wait(10) and self.conn
        while len(self.received) < n:
            chunk = self.conn.recv(4096)
            if not chunk:
                break
            self.received += chunk
        return bytes(self.received[:n])

    def close(self) -> None:
        if self.conn:
            self.conn.close()
        self.srv.close()


@pytest.mark.virtual_only
def test_tcp_uart_poll_read_write(board, driver) -> None:
    peer = _Peer()
    try:
        board.exec(
            "import select, tcp_uart\n"
            f"u = tcp_uart.TcpUart(('127.0.0.1', {peer.port}))\n"
            "p = select.poll(); p.register(u, select.POLLIN)\n"
            "print('idle', p.poll(50), u.any(), u.read(4))\n"
        )
        # nothing has arrived: poll times out empty, any() is 0, read returns None
        peer.send(b"AT-S.OK\r\n+WIND:0:Console active\r\n\x00binary\xff")
        out = board.exec(
            "ev = p.poll(5000)\n"
            "print('ready', len(ev), ev[0][1] & select.POLLIN)\n"
            "import time\n"
            "t = time.ticks_ms()\n"
            "while u.any() < 40 and time.ticks_diff(time.ticks_ms(), t) < 5000: pass\n"
            "print(u.readline())\n"
            "print(u.readline())\n"
            "b = bytearray(16); n = u.readinto(b); print(n, bytes(b[:n]))\n"
            "print(u.write(b'AT+S.STS\\r'))\n"
        )
        lines = out.splitlines()
        assert lines[0] == "ready 1 1"
        assert lines[1] == "b'AT-S.OK\\r\\n'"
        assert lines[2] == "b'+WIND:0:Console active\\r\\n'"
        assert lines[3] == "8 b'\\x00binary\\xff'"
        assert lines[4] == "9"
        assert peer.recv_exactly(9) == b"AT+S.STS\r"
    finally:
        board.exec("u.close()") if False else None
        peer.close()


@pytest.mark.virtual_only
def test_tcp_uart_idle_reads_return_none(board, driver) -> None:
    peer = _Peer()
    try:
        out = board.exec(
            "import tcp_uart, select\n"
            f"u = tcp_uart.TcpUart(('127.0.0.1', {peer.port}))\n"
            "print(u.read(4), u.readinto(bytearray(4)), u.readline(), u.any())\n"
            "p = select.poll(); p.register(u, select.POLLIN); print(p.poll(20))\n"
            "u.close()\n"
        )
        assert out.split() == ["None", "None", "None", "0", "[]"]
    finally:
        peer.close()


@pytest.mark.virtual_only
def test_tcp_uart_works_with_asyncio(board, driver) -> None:
    peer = _Peer()
    try:
        board.exec(
            "import asyncio, tcp_uart\n"
            f"u = tcp_uart.TcpUart(('127.0.0.1', {peer.port}))\n"
            "async def main():\n"
            "    r = asyncio.StreamReader(u)\n"
            "    line = await asyncio.wait_for(r.readline(), 5)\n"
            "    u.write(b'got:' + line)\n"
            "    return line\n"
        )
        peer.send(b"hello over the uart\r\n")
        out = board.exec("print(asyncio.run(main()))\nu.close()")
        assert out.strip() == "b'hello over the uart\\r\\n'"
        assert peer.recv_exactly(25) == b"got:hello over the uart\r\n"
    finally:
        peer.close()


@pytest.mark.virtual_only
def test_unwired_uart_names_the_fix(board, driver) -> None:
    out = board.exec(
        "import os, wifi_board\n"
        "os.unsetenv('SPWF04_MODULE')\n"
        "try:\n"
        "    wifi_board.uart()\n"
        "except OSError as e:\n"
        "    print(e)\n"
    )
    assert "spwf04 board --module" in out


def test_pin_map_is_the_documented_one() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "micropython"))
    import spwf04_pins as pins

    assert (pins.UART_ID, pins.UART_TX, pins.UART_RX) == (1, "PA9", "PA10")
    assert (pins.RESET_PIN, pins.WAKEUP_PIN) == ("PA8", "PB0")
    assert shutil.which  # keep the import used
