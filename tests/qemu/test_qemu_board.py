"""The 32-bit virtual board itself (MicroPython's qemu port, boards/QEMU_SPWF04): what makes it the memory and
cold-boot truth. Needs a MicroPython tree (MICROPY_DIR); without one every test here skips naming it.

- the heap is the F401RE's (61,804 B raw; gc sees 60,352 B, as on a NUCLEO_F401RE build);
- guest time runs at real time (the port's tick must match qemu's 168 MHz SoC clock);
- the RTC reads 2015-01-01 after a power-up (no battery), keeps time over a soft reset, loses it at power-off;
- /flash survives a power cycle; Ctrl-C stops running code; the module is reached through the USART registers;
- cold boot: a main.py written by client_socket.install_boot() gets UTC from the network (the module's NTP
  client) and reaches the TLS page with nobody at the REPL.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterator

import pytest
import serial

from spwf04_tools.pki import build_pki
from spwf04_tools.repl_link import DeviceLink, DeviceTimeout
from spwf04_tools.sim import SimConfig, Simulator
from spwf04_tools.sim.config import DEFAULT_AP
from spwf04_tools.sntp_server import SntpServer
from spwf04_tools.tls_server import OpenSSLServer

pytestmark = pytest.mark.virtual_only

F401RE_GC_HEAP = 60_352  # gc.mem_alloc() + gc.mem_free() of a NUCLEO_F401RE build (61,804 B raw)
POWER_UP = (2015, 1, 1)  # the F401RE RTC's date after a power-up without a battery


@pytest.fixture(scope="module")
def qemu(qemu_firmware: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """A 32-bit board of this module's own, wired to a simulator of its own."""
    from spwf04_tools.qemu_board import QemuBoard

    sim = Simulator(SimConfig())
    sim.start_tcp("127.0.0.1", 0)
    host, port = sim.uart_address
    board = QemuBoard(qemu_firmware, tmp_path_factory.mktemp("qemu-board"), module=f"{host}:{port}")
    try:
        board.start()
        yield board, sim
    finally:
        board.stop()
        sim.stop()


def _link(board) -> DeviceLink:
    return DeviceLink(board.device)


def _power_cycle(board) -> None:
    restarts = board.restarts
    board.power_cycle()
    deadline = time.monotonic() + 30
    while board.restarts == restarts:
        assert time.monotonic() < deadline, "the board did not come back after a power cycle"
        time.sleep(0.1)


def test_heap_is_the_f401re_heap(qemu) -> None:
    board, _ = qemu
    with _link(board) as dev:
        dev.soft_reset()
        total = dev.eval("__import__('gc').mem_alloc() + __import__('gc').mem_free()")
        platform = dev.eval("__import__('sys').platform")
    assert (platform, total) == ("qemu", F401RE_GC_HEAP)


def test_guest_time_runs_at_real_time(qemu) -> None:
    # With the port's default 25 MHz tick on qemu's 168 MHz SoC, sleep_ms(2000) takes 0.3 s of real time.
    # Guest time may lag real time on a busy host (timer ticks are then merged), never lead it.
    board, _ = qemu
    with _link(board) as dev:
        t = time.monotonic()
        guest = dev.eval("(lambda t: (__import__('time').sleep_ms(2000), "
                         "__import__('time').ticks_diff(__import__('time').ticks_ms(), t))[1])"
                         "(__import__('time').ticks_ms())")
        wall = time.monotonic() - t
    assert guest >= 2000
    assert wall >= 0.9 * guest / 1000, f"guest {guest} ms took {wall:.2f} s of real time"


def test_rtc_reads_2015_after_power_up_and_keeps_time_over_a_soft_reset(qemu) -> None:
    board, _ = qemu
    _power_cycle(board)
    with _link(board) as dev:
        assert tuple(dev.eval("__import__('time').localtime()[:3]")) == POWER_UP
        assert tuple(dev.eval("__import__('machine').RTC().datetime()[:3]")) == POWER_UP
        dev.exec("import machine\nmachine.RTC().datetime((2026, 12, 6, 0, 12, 30, 0, 0))")
        dev.soft_reset()
        assert tuple(dev.eval("__import__('time').localtime()[:4]")) == (2026, 12, 6, 12)
        # epoch 2000, as on stm32: the driver adds the 1970-2000 offset itself
        assert dev.eval("__import__('time').gmtime(0)[0]") == 2000
    _power_cycle(board)
    with _link(board) as dev:
        assert tuple(dev.eval("__import__('time').localtime()[:3]")) == POWER_UP


def test_flash_keeps_files_over_a_power_cycle(qemu) -> None:
    board, _ = qemu
    with _link(board) as dev:
        dev.put_bytes(b"kept\n" * 100, "kept.txt")
        assert dev.eval("__import__('os').statvfs('/flash')[0]") == 512
    _power_cycle(board)
    with _link(board) as dev:
        assert dev.get_bytes("kept.txt") == b"kept\n" * 100
        dev.exec("import os\nos.remove('kept.txt')")


def test_ctrl_c_stops_running_code(qemu) -> None:
    board, _ = qemu
    with _link(board) as dev:
        with pytest.raises(DeviceTimeout):
            dev.exec("while True:\n    pass", timeout=3)  # the timeout sends Ctrl-C
        assert dev.exec("print('alive')").strip() == "alive"


def test_ctrl_c_stops_a_sleep(qemu) -> None:
    """A wait sleeps in WFI (as on stm32), and Ctrl-C still ends it."""
    board, _ = qemu
    with _link(board) as dev:
        t0 = time.monotonic()
        with pytest.raises(DeviceTimeout):
            dev.exec("import time\ntime.sleep(60)", timeout=3)
        assert time.monotonic() - t0 < 30
        assert dev.exec("print('alive')").strip() == "alive"


def test_waits_sleep_and_count_as_idle(qemu) -> None:
    """qemu_spwf04.cpu(): a sleep is idle time (WFI), a busy loop is not: the base of the bench's CPU figure."""
    board, _ = qemu
    with _link(board) as dev:
        out = dev.exec("""
import qemu_spwf04 as Q, time
def busy_share(f):
    c0, i0, hz = Q.cpu()
    f()
    c1, i1, hz = Q.cpu()
    return ((c1 - c0) - (i1 - i0)) / (c1 - c0), (c1 - c0) / hz
def spin():
    t = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t) < 300:
        pass
print('%f %f %f %f' % (busy_share(lambda: time.sleep_ms(300)) + busy_share(spin)))
""", timeout=30)
    sleep_busy, sleep_s, spin_busy, spin_s = map(float, out.split())
    assert 0.29 < sleep_s < 0.5 and 0.29 < spin_s < 0.5, out
    assert sleep_busy < 0.2 and spin_busy > 0.95, out


def test_module_uart_receives_while_code_sleeps(qemu) -> None:
    """The module's UART is interrupt-fed into a ring of rxbuf bytes, as on stm32: an answer arrives while code
    sleeps, up to the ring's size, and the rest waits (qemu holds it back) until code reads: nothing lost."""
    board, sim = qemu
    sim.factory_reset()
    with _link(board) as dev:
        dev.soft_reset()
        out = dev.exec("""
import wifi_board, time
m = wifi_board.module()
m.init()
u = m.uart
u.write(b'AT+S.HELP\\r')
time.sleep_ms(1500)
held = u.any()
parts = []
t = time.ticks_ms()
while time.ticks_diff(time.ticks_ms(), t) < 3000:
    b = u.read()
    if b:
        parts.append(b)
        t = time.ticks_ms()
    else:
        time.sleep_ms(20)
help = b''.join(parts)
print(held, len(help), help.endswith(b'AT-S.OK\\r\\n'))
""", timeout=60)
    held, total, complete = out.split()
    assert complete == "True", out
    assert int(held) == min(int(total), 2048), out  # all of it, or a full ring: arrived while code slept


def test_module_through_the_usart_registers(qemu) -> None:
    board, sim = qemu
    sim.factory_reset()
    with _link(board) as dev:
        dev.soft_reset()
        out = dev.exec(f"""
import wifi_board, gc
a = gc.mem_alloc()
u = wifi_board.uart()
print(type(u).__name__, gc.mem_alloc() - a >= 2049)  # the receive ring: rxbuf + 1 bytes from the heap
m = wifi_board.module()
print(m.init())
m.wlan.connect({DEFAULT_AP.ssid!r}, {DEFAULT_AP.passphrase!r})
print(m.wlan.ipconfig('addr4')[0])
""", timeout=90)
    assert out.split() == ["Usart", "True", "1.1.0", "192.168.1.100"]
    assert "AT+S.SCFG=console_echo,0" in [c.line for c in sim.commands]  # what init() sent reached the module


def _read_console(board, until: bytes, timeout: float) -> str:
    """What the board prints on its own (main.py at boot), read as a terminal would."""
    with serial.Serial(board.device, timeout=0.2) as port:
        buf = b""
        deadline = time.monotonic() + timeout
        while until not in buf and time.monotonic() < deadline:
            buf += port.read(4096)
    return buf.decode(errors="replace")


def test_cold_boot_main_py_gets_utc_from_the_network_and_reaches_the_tls_page(qemu, tmp_path: Path) -> None:
    board, sim = qemu
    pki = build_pki(tmp_path / "pki")
    served = time.time() + 7 * 86400  # a week from the host clock: only the SNTP server can give this time
    with SntpServer(epoch=served) as ntp, OpenSSLServer(pki.server.pem, pki.server.key_pem, www=True) as srv:
        sim.reconfigure(ntp_port=ntp.port)
        sim.factory_reset()
        cfg = {"ssid": DEFAULT_AP.ssid, "key": DEFAULT_AP.passphrase, "host": srv.host, "port": srv.port,
               "server_name": "localhost", "request": "GET / HTTP/1.0\r\n\r\n", "timeout": 15,
               "ntp_server": "127.0.0.1"}
        with _link(board) as dev:
            dev.put_bytes(json.dumps(cfg).encode(), "client_config.json")
            dev.put_bytes(pki.ca_pem.read_bytes(), "ca.pem")
            dev.exec("import client_socket\nclient_socket.install_boot()")
        try:
            _power_cycle(board)
            out = _read_console(board, b"done\r\n", timeout=120)
        finally:
            with _link(board) as dev:
                dev.exec("import os\nos.remove('main.py')")
    assert "board clock not set (reads 2015-01-01 00:00:00" in out, out
    assert "from the module's NTP client" in out and "board clock set" in out, out
    assert "<HTML>" in out and "done" in out, out
    assert ntp.requests >= 1
    assert abs(sim.module_time - served) <= 10


def test_driver_deployed_to_romfs_runs_the_tls_scenario_from_rom(qemu, tmp_path: Path) -> None:
    """Issue 18's route on the 32-bit board: a firmware whose frozen driver is not this one (emulated: deploy looks
    for frozen modules on an empty sys.path entry), deploy writes the driver to the ROMFS partition, and the
    Client_Socket app runs from /rom; afterwards a deploy against the real frozen driver empties the ROMFS."""
    from spwf04_tools.deploy import deploy

    board, sim = qemu
    pki = build_pki(tmp_path / "pki")
    sim.factory_reset()
    with OpenSSLServer(pki.server.pem, pki.server.key_pem, chain=pki.chain_pem, www=True, tls1_2=True) as srv:
        cfg = tmp_path / "client_config.json"
        cfg.write_text(json.dumps({"ssid": DEFAULT_AP.ssid, "key": DEFAULT_AP.passphrase, "host": srv.host,
                                   "port": srv.port, "server_name": "localhost",
                                   "request": "GET / HTTP/1.0\r\n\r\n", "timeout": 15}))
        lines: list[str] = []
        deploy(board.device, cfg, pki.ca_pem, out=lines.append, frozen_path="frozen-elsewhere")
        assert any(ln.startswith("driver placement: romfs") for ln in lines), lines
        try:
            with _link(board) as dev:
                dev.soft_reset()
                out = dev.exec("import spwf04, client_socket\nprint('FROM', spwf04.__file__)\n"
                               "print('RESULT', client_socket.main())", timeout=180)
        finally:
            deploy(board.device, out=lambda *a: None)  # the frozen driver again: the ROMFS copy is emptied
    assert "FROM /rom/spwf04/__init__.mpy" in out, out
    assert "HTTP/1.0 200 ok" in out and "RESULT True" in out, out[-2000:]
