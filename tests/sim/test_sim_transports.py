"""Transports (pty, TCP + pins), the `spwf04 sim` command, the byte log with redaction, line-rate pacing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sim_helpers import DEFAULT_PASS, fast_config
from sim_helpers import AtLink

from spwf04_tools.sim import Simulator

pytestmark = pytest.mark.timeout(60)
# `python -m spwf04_tools.sim` is `spwf04 sim` without importing the other subcommands (built by others).
SIM_CMD = [sys.executable, "-m", "spwf04_tools.sim"]


def test_pty_with_pyserial() -> None:
    with Simulator(fast_config()) as sim:
        path = sim.start_pty()
        assert path.startswith("/dev/")
        sim.wait_ready()
        link = AtLink(path)
        try:
            link.drain(0.2)  # boot indications buffered in the pty
            assert link.cmd(b"AT+S.STS=fw_version") == b"AT+S.STS=fw_version\r\nAT-S.Var:fw_version=1.1.0\r\nAT-S.OK\r\n"
            data = bytes(range(256)) * 4
            assert link.cmd(b"AT+S.FSC=/bin,%d" % len(data), data) == b"AT+S.FSC=/bin,%d\r\nAT-S.OK\r\n" % len(data)
            assert sim.files["bin"] == data  # raw bytes survive the pty (CR, LF, NUL, 0xFF)
        finally:
            link.close()
        # A second client session on the same device works and the module kept its state.
        link = AtLink(path)
        try:
            assert link.cmd(b"AT") == b"AT\r\nAT-S.OK\r\n"
        finally:
            link.close()


def test_pins_connection_drop_releases_reset() -> None:
    with Simulator(fast_config()) as sim:
        sim.start_tcp()
        sim.wait_ready()
        boots = sim.boot_count
        pins = socket.create_connection(sim.pins_address)
        pins.sendall(b"RESET 0\n")
        sim.wait_for(lambda: not sim.engine.powered, 5, "held in reset")
        pins.close()  # the board went away: its pin floats, the pull-up releases reset
        sim.wait_ready()
        assert sim.boot_count == boots + 1


def _start_cli(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([*SIM_CMD, "--no-state", "--time-scale", "0.2", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line:
        proc.kill()
        raise AssertionError(f"spwf04 sim printed nothing: {proc.stderr.read() if proc.stderr else ''}")
    return proc, line


def _stop_cli(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_cli_tcp(tmp_path: Path) -> None:
    log = tmp_path / "uart.log"
    proc, addr = _start_cli("--tcp", "127.0.0.1:0", "--fw", "1.0", "--log", str(log))
    try:
        host, port = addr.rsplit(":", 1)
        time.sleep(0.3)  # let the boot indications go out (to nobody)
        link = AtLink(f"socket://{host}:{port}")
        try:
            assert link.cmd(b"AT+S.STS=fw_version") == b"AT+S.STS=fw_version\r\nAT-S.Var:fw_version=1.0.0\r\nAT-S.OK\r\n"
            assert link.cmd(b"AT+S.SCFG=wifi_wpa_psk_text," + DEFAULT_PASS) == (
                b"AT+S.SCFG=wifi_wpa_psk_text," + DEFAULT_PASS + b"\r\nAT-S.OK\r\n")  # echoed, as the module does
            key = b"-----BEGIN PRIVATE KEY-----\nSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n"
            assert link.cmd(b"AT+S.TLSCERT=key,%d" % len(key), key).endswith(b"AT-S.OK\r\n")
        finally:
            link.close()
        pins = socket.create_connection((host, int(port) + 1))
        pins.close()
    finally:
        assert _stop_cli(proc) == 0
    text = log.read_text()
    assert "H>M \"AT+S.STS=fw_version\\r\"" in text
    assert "M>H \"AT-S.Var:fw_version=1.0.0\\r\\n" in text or "AT-S.Var:fw_version=1.0.0" in text
    assert DEFAULT_PASS.decode() not in text and "SECRETKEYMATERIAL" not in text
    assert "wifi_wpa_psk_text,<redacted>" in text and "bytes redacted>" in text
    assert re.search(r"^\d+\.\d{6} (H>M|M>H) \"", text, re.M)


def test_cli_pty_char_echo() -> None:
    proc, path = _start_cli("--pty")
    try:
        assert path.startswith("/dev/")
        time.sleep(0.3)
        link = AtLink(path)
        try:
            link.drain(0.2)
            link.send(b"AT")
            assert link.read_until(b"AT", 2) == b"AT"  # typed characters come back as typed
            link.send(b"\r")
            assert link.read_final() == b"\r\nAT-S.OK\r\n"
        finally:
            link.close()
    finally:
        assert _stop_cli(proc) == 0


def test_cli_rejects_bad_arguments() -> None:
    r = subprocess.run([*SIM_CMD, "--tcp", "nonsense:port"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "HOST:PORT" in r.stderr
    r = subprocess.run([*SIM_CMD, "--pty", "--no-state", "--set", "nosuch=1"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode != 0 and "unknown setting 'nosuch'" in r.stderr


def test_byte_log_records_both_directions_and_redacts(tmp_path: Path) -> None:
    log = tmp_path / "bytes.log"
    cfg = fast_config(log_file=log)
    with Simulator(cfg) as sim:
        host, port = sim.start_tcp()
        sim.wait_ready()
        sim.drain_output()
        link = AtLink(f"socket://{host}:{port}")
        link.cmd(b"AT+S.SCFG=wifi_wpa_psk_text,SuperSecret1")
        link.cmd(b"AT+S.SOCKW=0,4", b"\x00\r\n\xff")
        link.close()
    text = log.read_text()
    assert "SuperSecret1" not in text
    assert text.count("wifi_wpa_psk_text,<redacted>") == 2  # host line and module echo
    assert 'H>M "AT+S.SOCKW=0,4\\r"' in text and '"\\x00\\r\\n' in text and '\\xff"' in text
    assert 'M>H "AT-S.ERROR:76:Illegal Socket ID\\r\\n"' in text


def test_byte_log_can_keep_secrets_when_asked(tmp_path: Path) -> None:
    log = tmp_path / "bytes.log"
    with Simulator(fast_config(log_file=log, log_secrets=True)) as sim:
        host, port = sim.start_tcp()
        sim.wait_ready()
        link = AtLink(f"socket://{host}:{port}")
        link.cmd(b"AT+S.SCFG=wifi_wpa_psk_text,SuperSecret1")
        link.close()
    assert "SuperSecret1" in log.read_text()


def test_baud_pacing_both_directions() -> None:
    baud = 19200
    with Simulator(fast_config(baud=baud)) as sim:
        host, port = sim.start_tcp()
        sim.wait_ready()
        link = AtLink(f"socket://{host}:{port}")
        try:
            link.drain(0.3)
            t0 = time.monotonic()
            out = link.cmd(b"AT&V", timeout=20)
            elapsed = time.monotonic() - t0
            assert elapsed >= 0.9 * len(out) * 10 / baud  # a lower bound: the line rate is respected
            payload = os.urandom(1500)
            t0 = time.monotonic()
            assert link.cmd(b"AT+S.FSC=/p,1500", payload, timeout=20).endswith(b"AT-S.OK\r\n")
            assert time.monotonic() - t0 >= 0.9 * 1500 * 10 / baud
            assert sim.files["p"] == payload
        finally:
            link.close()


def test_stop_is_prompt_with_open_connections() -> None:
    sim = Simulator(fast_config())
    host, port = sim.start_tcp()
    sim.wait_ready()
    link = AtLink(f"socket://{host}:{port}")
    pins = socket.create_connection(sim.pins_address)
    t0 = time.monotonic()
    sim.stop()
    assert time.monotonic() - t0 < 10  # generous: stop() must not hang on open connections
    link.close()
    pins.close()


import re  # noqa: E402  (used above)
