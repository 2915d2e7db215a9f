"""The fault matrix: the driver over the REPL on the virtual board, the simulator injecting one fault at a
time. Every row ends in one of two ways - correct completion (SHA-256 of the echoed stream equal) or one of
the documented exceptions (ModuleError, ModuleReset, OSError with ETIMEDOUT/EIO/ENOTCONN/ECONNRESET) raised
within the operation's timeout - and then the driver re-initialises and works again (init, join, a clean
echo, no socket left open on the module).

The time bounds checked here are the documented timeouts (a correctness guarantee: "nothing hangs"), not
performance figures; they are generous and derived from the settings each test makes."""

from __future__ import annotations

import threading

import pytest

from faultkit import JOIN, KEY, SSID, parse_result, recover, stream_sha256
from spwf04_tools.sim.config import Faults, Timing

pytestmark = [pytest.mark.virtual_only, pytest.mark.timeout(240)]

TIMEOUT_MS, PROBE_MS, SOCK_S = 2000, 1000, 5
# The longest a single socket operation may take before it must raise: the socket timeout, plus one
# command that times out, its liveness probe and one resynchronisation (module.py _timed_out/_resync).
BOUND_MS = SOCK_S * 1000 + 2 * (TIMEOUT_MS + PROBE_MS) + 3000
SETTINGS = f"m.timeout = {TIMEOUT_MS}\nm.probe_ms = {PROBE_MS}\nTIMEOUT_S = {SOCK_S}\n"
DOCUMENTED = {"ModuleError", "ModuleReset", "OSError"}
DOCUMENTED_ERRNO = {"ETIMEDOUT", "EIO", "ENOTCONN", "ECONNRESET", "EBADF"}  # by name (faultkit.result)


def run_work(board, port: int, kib: int, timeout: float = 150) -> dict:
    out = board.exec(f"r = result(echo, {port}, {kib})\n", timeout=timeout)
    return parse_result(out)


def assert_documented(r: dict) -> None:
    assert r["type"] in DOCUMENTED, r
    if r["type"] == "OSError":
        assert r["errno"] in DOCUMENTED_ERRNO, r
    assert r["ms"] <= BOUND_MS, f"raised after {r['ms']} ms, beyond the documented bound {BOUND_MS} ms: {r}"
    assert r["msg"], r


def close_and_check_module_sockets(board, sim) -> None:
    """Faults off; closing every socket (failed ones too) must leave none open on the module."""
    from spwf04_tools.sim.config import Faults as F

    sim.reconfigure(faults=F())
    out = board.exec("print('CLOSE', cleanup())\n"
                     "try:\n    print('SOCKL', sockl())\n"
                     "except OSError as e:\n    print('SOCKL needs init()' if 'init()' in str(e) else e)\n",
                     timeout=60)
    if "SOCKL needs init()" in out:  # the module stopped answering: init() (which resets it) is the way back
        return
    assert "SOCKL []" in out, f"module sockets left open after close(): {out}\n{sim.sockets}"


# ------------------------------------------------------------------------ faults that must not lose a byte
LOSSLESS = {
    "wind-at-every-line-boundary": dict(faults=Faults(wind_inject=1.0, seed=11)),
    "random-fragmentation": dict(faults=Faults(fragment=1.0, fragment_max=8, fragment_gap=0.001, seed=12)),
    "every-wind55-lost": dict(faults=Faults(wind55_loss=1.0, seed=13)),
    "stale-wind55-counts": dict(faults=Faults(wind55_stale=1.0, seed=14)),
    "slow-module": dict(faults=Faults(command_delay=0.02, command_delay_jitter=0.3, seed=15)),
    "slow-uart-115200": dict(baud=115200),
    # the realistic timing profile (estimated boot, join, TLS and command latencies) under a WIND storm
    "realistic-timing+wind-storm": dict(timing=Timing.realistic(),
                                        faults=Faults(wind_inject=0.5, fragment=0.5, fragment_gap=0.0005, seed=16)),
}


@pytest.mark.parametrize("row", list(LOSSLESS), ids=list(LOSSLESS))
def test_lossless_fault_completes_correctly(driver, board, fsim, peer, row):
    kib = 8 if row in ("slow-uart-115200", "slow-module", "realistic-timing+wind-storm") else 32
    board.exec(JOIN + SETTINGS, timeout=60)
    fsim.reconfigure(**LOSSLESS[row])
    r = run_work(board, peer.port, kib)
    assert r["ok"], f"{row}: {r}"
    assert r["value"] == stream_sha256(kib)
    close_and_check_module_sockets(board, fsim)
    recover(board, fsim, peer.port)


# ------------------------------------------------------------------------ faults that may end in an error
LOSSY = {
    "garbage-bytes": Faults(garbage=0.05, seed=21),
    "bytes-lost-module-to-host": Faults(drop=0.05, seed=22),
    "wind-inside-sockr-data": Faults(wind_in_sockr=0.5, seed=23),
}


ATTEMPT = f"""
NEED = [False]
def attempt(port):
    if NEED[0]:  # the documented way back after ModuleReset or a module that stopped answering
        NEED[0] = False
        m.init()
        m.wlan.connect({SSID!r}, {KEY!r})
    try:
        return echo(port, 4)
    except Exception as e:
        NEED[0] = isinstance(e, ModuleReset) or 'init()' in str(e)
        raise
"""


@pytest.mark.parametrize("row", list(LOSSY), ids=list(LOSSY))
def test_lossy_fault_never_gives_wrong_data(driver, board, fsim, peer, row):
    """Each attempt: the right bytes, or a documented exception in bounded time - never wrong data."""
    board.exec(JOIN + SETTINGS + ATTEMPT, timeout=60)
    fsim.reconfigure(faults=LOSSY[row])
    want = stream_sha256(4)
    outcomes = []
    for attempt in range(6):
        r = parse_result(board.exec("r = result(attempt, %d)\n" % peer.port, timeout=120))
        if r["ok"]:
            assert r["value"] == want, f"{row}: WRONG DATA returned without an error: {r}"
        else:
            assert_documented(r)
        outcomes.append("ok" if r["ok"] else r["type"])
    close_and_check_module_sockets(board, fsim)
    recover(board, fsim, peer.port)


# ------------------------------------------------------------------------ host -> module bytes lost
LOSSY_UART = """
class LossyUart:
    # Wraps the board's UART (TcpUart, the qemu board's USART, machine.UART) and loses `n` bytes of the k-th
    # SOCKW payload on the wire (no flow control): the module keeps waiting for them. The driver sees nothing
    # but silence.
    def __init__(self, u):
        self.u = u
    def setup(self, k, n):
        self.k, self.n, self.seen, self.prev = k, n, 0, b''
    def write(self, b):
        payload = self.prev.startswith(b'AT+S.SOCKW=')
        self.prev = bytes(b[:16])
        if payload:
            self.seen += 1
            if self.seen == self.k:
                self.u.write(b[:len(b) - self.n])
                return len(b)
        return self.u.write(b)
    def any(self):
        return self.u.any()
    def read(self, n=-1):
        return self.u.read(n)
    def readinto(self, b, n=None):
        return self.u.readinto(b) if n is None else self.u.readinto(b, n)
    def readline(self):
        return self.u.readline()
    def ioctl(self, req, arg):
        return self.u.ioctl(req, arg)
u = LossyUart(wifi_board.uart())
u.setup(3, {n})
m = spwf04.Module(u, reset_pin=wifi_board.reset_pin(), wakeup_pin=wifi_board.wakeup_pin())
m.init()
m.wlan.connect({ssid!r}, {key!r})
"""


@pytest.mark.parametrize("lost", [1, 2, 40])
def test_payload_bytes_lost_module_hangs_waiting(driver, board, fsim, peer, lost):
    board.exec(JOIN + LOSSY_UART.format(n=lost, ssid=SSID, key=KEY) + SETTINGS, timeout=90)
    r = run_work(board, peer.port, 8)
    assert not r["ok"], f"a SOCKW with {lost} payload bytes missing completed: {r}"
    assert_documented(r)
    assert r["errno"] in ("ETIMEDOUT", "EIO"), r
    # the bytes the module took as the rest of the payload must not have been handed on silently
    close_and_check_module_sockets(board, fsim)
    recover(board, fsim, peer.port)


# ------------------------------------------------------------------------ module resets
@pytest.mark.parametrize("phase", ["before", "mid_response", "after"])
@pytest.mark.parametrize("cmd", ["SOCKR", "SOCKW", "SOCKQ", "SOCKON"])
def test_module_reset_mid_operation(driver, board, fsim, peer, cmd, phase):
    board.exec(JOIN + SETTINGS, timeout=60)
    # The echo's reads ask SOCKQ only when no WIND announces the data: for SOCKQ, every +WIND:55 is lost.
    extra = {"wind55_loss": 1.0} if cmd == "SOCKQ" else {}
    fsim.reconfigure(faults=Faults(reset_on=f"AT\\+S\\.{cmd}=", reset_on_nth=2 if cmd != "SOCKON" else 1,
                                   reset_phase=phase, **extra))
    r = run_work(board, peer.port, 8)
    assert not r["ok"], r
    assert_documented(r)
    if phase != "mid_response" or cmd in ("SOCKON", "SOCKW", "SOCKQ"):
        # the boot indications arrive in line mode: the driver knows the module reset
        assert r["type"] == "ModuleReset", r
    else:
        # inside SOCKR data the boot indications look like data: the driver must still not return them
        assert r["type"] in ("ModuleReset", "OSError"), r
    out = board.exec("print('AFTER', result(lambda: S[0].read(1)))\n", timeout=60)
    assert "RESULT exc" in out, f"a socket of the reset module still reads: {out}"
    recover(board, fsim, peer.port)


CA_LOAD = """
m.settime()
def load():
    m.tls.load_ca(path='ca.der')
    return m.tls.auth
"""


@pytest.mark.parametrize("phase", ["before", "mid_response", "after"])
@pytest.mark.parametrize("which", ["ca", "auth"])
def test_module_reset_during_ca_upload(driver, board, fsim, peer, tmp_path, phase, which):
    from spwf04_tools.pki import build_pki

    pki = build_pki(tmp_path)
    board.put_bytes(pki.ca.der.read_bytes(), "ca.der")
    board.exec(JOIN + SETTINGS + CA_LOAD, timeout=60)
    fsim.reconfigure(faults=Faults(reset_on=f"TLSCERT={which},", reset_phase=phase))
    out = board.exec("r = result(load)\ntime.sleep(0.3)\nm.pump()\n"
                     "print('CA', m.tls.ca is not None, m.tls.auth)\nresult(m.var, 'fw_version')\n", timeout=90)
    r = parse_result(out)
    if phase == "after" and r["ok"]:  # auth completed, then the module rebooted: the next command says so
        assert "RESULT exc ModuleReset" in out, out
    else:
        assert not r["ok"], r
        assert r["type"] == "ModuleReset", r
        assert r["ms"] <= BOUND_MS
    # the driver must not believe a CA is loaded on a module that rebooted during the upload
    assert "CA False None" in out, out
    recover(board, fsim, peer.port)


@pytest.mark.parametrize("delay", [0.15, 0.4, 0.9])
def test_module_reset_at_a_random_moment_of_a_transfer(driver, board, fsim, peer, delay):
    """A reset pulse from outside (brown-out, watchdog) while 64 KiB go back and forth: it lands inside
    a SOCKW payload, a SOCKR payload or between commands - whichever, a documented error, no wrong data."""
    board.exec(JOIN + SETTINGS, timeout=60)
    timer = threading.Timer(delay, fsim.reset)
    timer.start()
    try:
        r = run_work(board, peer.port, 64)
    finally:
        timer.cancel()
    if r["ok"]:  # the reset came after the transfer
        assert r["value"] == stream_sha256(64)
    else:
        assert_documented(r)
        assert r["type"] in ("ModuleReset", "OSError"), r
    recover(board, fsim, peer.port)


# ------------------------------------------------------------------------ the peer goes away
@pytest.mark.parametrize("where", ["peer_close_after_rx", "peer_close_after_tx"])
def test_peer_closes_mid_transfer(driver, board, fsim, peer, where):
    board.exec(JOIN + SETTINGS, timeout=60)
    fsim.reconfigure(faults=Faults(**{where: 5000}))
    r = run_work(board, peer.port, 32)
    assert not r["ok"], r
    assert_documented(r)
    assert r["type"] in ("OSError", "ModuleError"), r
    close_and_check_module_sockets(board, fsim)
    recover(board, fsim, peer.port)
