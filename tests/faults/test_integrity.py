"""Integrity: 1 MiB through a loopback echo peer under the faults that must cost nothing - WIND storms,
random fragmentation of every module line and payload, lost and stale +WIND:55 - with SHA-256 equality
of both directions: zero corrupted or lost bytes."""

from __future__ import annotations

import errno
import hashlib

import pytest

from faultkit import JOIN
from spwf04_tools.sim.config import Behaviour, Faults

pytestmark = [pytest.mark.virtual_only, pytest.mark.slow, pytest.mark.timeout(600)]

MIB = 1024 * 1024
BLOCK = 4096

ECHO_MIB = f"""
TB = bytearray({BLOCK})  # preallocated: a 60 KB heap must not fragment under the test's own allocations
def blk(i):
    d = hashlib.sha256(b'%d' % i).digest()
    for j in range(0, {BLOCK}, 32):
        TB[j:j + 32] = d
    return TB
def big_echo(port, total):
    s = m.socket()
    s.connect(('127.0.0.1', port))
    s.settimeout(30)
    tx = hashlib.sha256()
    rx = hashlib.sha256()
    buf = bytearray({BLOCK})
    mv = memoryview(buf)
    n = 0
    t = time.ticks_ms()
    for i in range(total // {BLOCK}):
        b = blk(i)
        tx.update(b)
        s.write(b)
        got = 0
        while got < {BLOCK}:
            k = s.readinto(mv[got:])
            if not k:
                raise OSError(errno.EIO, 'echo ended early at %d' % (n + got))
            got += k
        rx.update(buf)
        n += got
    ms = time.ticks_diff(time.ticks_ms(), t)
    s.close()
    return '%s %s %d %d' % (binascii.hexlify(tx.digest()).decode(), binascii.hexlify(rx.digest()).decode(), n, ms)
"""


def want_sha256(total: int) -> str:
    h = hashlib.sha256()
    for i in range(total // BLOCK):
        h.update(hashlib.sha256(b"%d" % i).digest() * (BLOCK // 32))
    return h.hexdigest()


STORMS = {
    "wind-storm+fragmentation+lost+stale-wind55": Faults(wind_inject=0.5, fragment=0.5, fragment_max=6,
                                                         fragment_gap=0.0005, wind55_loss=0.3,
                                                         wind55_stale=0.3, seed=101),
    "wind-at-every-line": Faults(wind_inject=1.0, seed=102),
    "every-wind55-lost": Faults(wind55_loss=1.0, seed=103),
}


@pytest.mark.parametrize("row", list(STORMS), ids=list(STORMS))
def test_one_mib_echo_under_faults_is_bit_exact(driver, board, fsim, peer, row, record_property):
    board.exec(JOIN + ECHO_MIB, timeout=60)
    fsim.reconfigure(faults=STORMS[row])
    out = board.exec(f"print('MIB', big_echo({peer.port}, {MIB}))\n", timeout=560)
    line = [l for l in out.splitlines() if l.startswith("MIB ")][0]
    _, tx, rx, n, ms = line.split()
    want = want_sha256(MIB)
    assert int(n) == MIB
    assert tx == want
    assert rx == want, f"{row}: the bytes that came back differ from the bytes sent"
    assert peer.rx_bytes == MIB, f"the peer received {peer.rx_bytes} bytes, not {MIB}"
    assert not fsim.sockets
    record_property("mib_echo_ms", int(ms))
    print(f"{row}: 1 MiB echo bit-exact in {int(ms) / 1000:.1f} s")


# ------------------------------------------------------------------ lost data: OSError(EIO), never a silent gap
TRY_ECHO = """
def try_echo(port, total, read_max=None):
    if read_max:
        m.read_max = read_max
    try:
        return 'MIB ' + big_echo(port, total)
    except OSError as e:
        return 'EXC %s %s' % (e.args[0], e.args[1] if len(e.args) > 1 else '')
"""

LOSSY = {
    # the module's buffer (2 KiB) is smaller than what the peer echoes while the board still writes (4 KiB)
    "wind63-small-buffer": (Behaviour(rx_overflow="drop", socket_rx_cap=2048), None, "lost"),
    # the same mode with a buffer larger than the board's window: nothing is dropped, every byte arrives
    "wind63-buffer-larger-than-window": (Behaviour(rx_overflow="drop", socket_rx_cap=16384), None, "exact"),
    # a module that cuts SOCKR at 730 bytes (short Reading) while the driver asks for 4096
    "sockr-cut-short-at-730": (Behaviour(payload_cap=730, payload_cap_style="short"), 4096, "short"),
    # a module that refuses SOCKR above 730 (error 32): the driver learns the cap, nothing is lost
    "sockr-refused-above-730": (Behaviour(payload_cap=730, payload_cap_style="error"), 4096, "exact"),
}


@pytest.mark.parametrize("row", list(LOSSY), ids=list(LOSSY))
def test_one_mib_lost_data_is_eio_never_a_gap(driver, board, fsim, peer, row):
    behaviour, read_max, want = LOSSY[row]
    fsim.reconfigure(behaviour=behaviour)
    fsim.factory_reset()
    board.exec(JOIN + ECHO_MIB + TRY_ECHO, timeout=60)
    dropped0 = fsim.engine.rx_dropped
    out = board.exec(f"print(try_echo({peer.port}, {MIB}, {read_max!r}))\n", timeout=560)
    line = [l for l in out.splitlines() if l.startswith(("MIB ", "EXC "))][0]
    dropped = fsim.engine.rx_dropped - dropped0
    if want == "exact":
        _, tx, rx, n, _ms = line.split()
        assert (int(n), tx, rx) == (MIB, want_sha256(MIB), want_sha256(MIB)), line
        assert dropped == 0
        if read_max:  # the cap was learnt: no SOCKR above 730 after the refused one
            sizes = [int(c.line.rsplit(",", 1)[1]) for c in fsim.commands if c.line.startswith("AT+S.SOCKR=")]
            assert sizes.count(4096) == 1 and max(sizes[sizes.index(4096) + 1:]) <= 730
        return
    # Data was lost on the module: the read that would have crossed the gap raised EIO instead.
    assert line.startswith("EXC %d " % errno.EIO), line
    if want == "lost":
        assert dropped > 0 and "dropped received data" in line and "+WIND:63" in line, (dropped, line)
    else:
        assert "short SOCKR: 730 of 4096" in line and "read_max now 730" in line, line
    assert not line.startswith("MIB ")


# ------------------------------------------------------------------ the board's UART buffer overruns
SLOW_BOARD = """
import tcp_uart
class SlowUart(tcp_uart.TcpUart):
    # A board too busy to keep up with the line: it takes at most 32 bytes per 10 ms (3.2 KB/s, below the
    # 11.5 KB/s of 115200 baud). The module does not wait for it: no flow control.
    def any(self):
        time.sleep_ms(10)
        if self._start == self._end:
            self._start = self._end = 0
            n = self._sock.readinto(self._mv[:32])
            if n:
                self._end = n
        return self._end - self._start
    def readinto(self, buf, nbytes=None):
        k = min(self.any(), len(buf))
        if not k:
            return None
        buf[:k] = self._mv[self._start:self._start + k]
        self._start += k
        return k
m = spwf04.Module(SlowUart(tcp_uart.module_address(), rxbuf=wifi_board.pins.UART_RXBUF),
                  reset_pin=wifi_board.reset_pin(), wakeup_pin=wifi_board.wakeup_pin(), read_max={read_max})
m.init()
m.wlan.connect({ssid!r}, {key!r})
"""

OVERRUN = {
    # a 4 KiB SOCKR answer outruns a slow board's 2 KiB buffer: bytes are lost on the UART -> EIO
    "read_max-4096": (4096, MIB, "lost"),
    # 730-byte answers fit in the same buffer however slowly the board drains it: every byte arrives
    "read_max-730": (730, 64 * 1024, "exact"),
}


@pytest.mark.parametrize("row", list(OVERRUN), ids=list(OVERRUN))
def test_uart_overrun_on_a_slow_board_is_eio_never_a_gap(driver, board, fsim, peer, row):
    from faultkit import KEY, SSID

    read_max, total, want = OVERRUN[row]
    board.exec(JOIN + ECHO_MIB + TRY_ECHO, timeout=60)
    fsim.reconfigure(baud=115200, uart_rxbuf=2048)  # the board's buffer size (spwf04_pins.UART_RXBUF)
    try:
        board.exec(SLOW_BOARD.format(read_max=read_max, ssid=SSID, key=KEY), timeout=120)
        lost0 = fsim.uart_overrun_bytes
        out = board.exec(f"print(try_echo({peer.port}, {total}))\n", timeout=560)
        lost = fsim.uart_overrun_bytes - lost0
    finally:
        fsim.reconfigure(baud=None, uart_rxbuf=None)
    line = [l for l in out.splitlines() if l.startswith(("MIB ", "EXC "))][0]
    if want == "exact":
        _, tx, rx, n, _ms = line.split()
        assert (int(n), tx, rx) == (total, want_sha256(total), want_sha256(total)), line
        assert lost == 0
    else:
        assert lost > 0, "the model lost nothing: the test proves nothing"
        assert line.startswith("EXC %d " % errno.EIO) and "were lost" in line, line
