"""The Wi-Fi key and private keys never appear in the driver's trace, exception texts, repr, the REPL
transcript of the application, the simulator's records, or host tool output; deploy leaves no secret in
temporary files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from seckit import SECRET_KEY, SECRET_SSID, audit
from spwf04_tools.pki import build_pki
from spwf04_tools.sim.config import Faults
from spwf04_tools.tls_server import OpenSSLServer

pytestmark = [pytest.mark.virtual_only, pytest.mark.timeout(240)]


def key_fragments(key_pem: bytes) -> list[str]:
    """Distinctive pieces of a PEM private key: every base64 line of its body."""
    return [l for l in key_pem.decode().splitlines() if l and not l.startswith("-----")]


def assert_clean(text: str, secrets: list[str], where: str) -> None:
    for s in secrets:
        assert s not in text, f"secret {s[:6]}... leaked into {where}"


TRACE_SESSION = f"""
import wifi_board, spwf04, errno
from spwf04 import ModuleError, ModuleReset
m = wifi_board.module()
m.trace(True)
m.init()
# 1. a wrong key first (the error message names the SSID, never the key)
try:
    m.wlan.connect({SECRET_SSID!r}, {SECRET_KEY[::-1]!r}, timeout=8000)
except OSError as e:
    print('JOIN-ERROR', e)
m.wlan.connect({SECRET_SSID!r}, {SECRET_KEY!r})
m.settime()
m.tls.load_key(path='client.key')
m.tls.load_cert(path='client.pem')
print('REPR', repr(m), repr(m.tls), repr(m.wlan), m.tls.__dict__, m.winds, m.stray)
# 2. bad key material: the error must not quote it
try:
    m.tls.load_key(data=open('client.key').read().replace('PRIVATE KEY', 'PUBLIC KEY'))
except ValueError as e:
    print('KEY-ERROR', e)
for a in ('AT+S.GCFG=wifi_wpa_psk_text', 'AT&V'):
    print('RAW', a, m.at(a))
"""

SLOW_SCFG = f"""
m.timeout = 400
m.probe_ms = 300
try:
    m.wlan.connect({SECRET_SSID!r}, {SECRET_KEY!r})
except OSError as e:
    print('TIMEOUT-ERROR', e)
try:
    m.cmd('AT+S.SCFG=wifi_wpa_psk_text,' + {SECRET_KEY!r})
except OSError as e:
    print('TIMEOUT-ERROR2', e, repr(e), e.args)
"""


def test_driver_trace_errors_and_repr_never_show_secrets(driver, board, secret_sim, tmp_path):
    pki = build_pki(tmp_path)
    board.put_bytes(pki.server.key_pem.read_bytes(), "client.key")
    board.put_bytes(pki.server.pem.read_bytes(), "client.pem")
    out = board.exec(TRACE_SESSION, timeout=120)
    assert "> AT+S.SCFG=wifi_wpa_psk_text,***" in out, "the trace did not run"
    assert "JOIN-ERROR" in out and "KEY-ERROR" in out and "REPR" in out
    assert "> AT+S.TLSCERT=key," in out and "bytes>>" in out
    secrets = [SECRET_KEY, SECRET_KEY[::-1]] + key_fragments(pki.server.key_pem.read_bytes())
    assert_clean(out, secrets, "the REPL transcript (trace, errors, repr, raw AT answers)")
    # the simulator's own records of the session
    assert_clean(repr(secret_sim.commands), secrets, "sim.commands")
    assert_clean(repr(secret_sim.tls_store), secrets, "sim.tls_store")
    # a timeout on the very command that carries the key: its message and args are redacted too
    secret_sim.reconfigure(faults=Faults(command_delay=1.5, command_delay_on="wifi_wpa_psk_text"))
    out2 = board.exec(SLOW_SCFG, timeout=120)
    assert "TIMEOUT-ERROR" in out2 and "TIMEOUT-ERROR2" in out2, out2
    assert_clean(out2, secrets, "timeout exceptions of the key's command")


def test_application_transcript_never_shows_the_key(driver, board, secret_sim, tmp_path):
    pki = build_pki(tmp_path)
    cfg = {"ssid": SECRET_SSID, "key": SECRET_KEY, "host": "127.0.0.1", "server_name": "localhost",
           "request": "GET / HTTP/1.0\r\n\r\n", "timeout": 15}
    with OpenSSLServer(pki.server.pem, pki.server.key_pem, www=True) as srv:
        cfg["port"] = srv.port
        board.put_bytes(json.dumps(cfg).encode(), "client_config.json")
        board.put_bytes(pki.ca_pem.read_bytes(), "ca.pem")
        good = board.exec("import client_socket\nprint('RESULT', client_socket.main())", timeout=120)
        cfg["key"] = SECRET_KEY + "x"  # a failing join: the failure report must not show the key either
        board.put_bytes(json.dumps(cfg).encode(), "client_config.json")
        bad = board.exec("import client_socket\nprint('RESULT', client_socket.main())", timeout=180)
    assert "RESULT True" in good, good
    assert "RESULT False" in bad, bad
    assert_clean(good + bad, [SECRET_KEY], "the Client_Socket application's transcript")


# ------------------------------------------------------------------------------------ host tools
def test_deploy_leaves_no_secret_in_temporary_files_or_output(board_link, tmp_path, monkeypatch):
    """deploy --config with the Wi-Fi key: every file the host process writes, renames or deletes while
    deploying is read before it goes (audit hooks), and none holds the key; nor does deploy's output."""
    from spwf04_tools.deploy import deploy

    cfg = tmp_path / "client.json"
    cfg.write_text(json.dumps({"ssid": SECRET_SSID, "key": SECRET_KEY, "host": "127.0.0.1", "port": 4443}))
    cfg.chmod(0o600)
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    written: set[str] = set()
    leaked: list[str] = []
    argv_leaks: list[str] = []

    def scan(path: str) -> None:
        p = Path(path)
        try:
            files = [p] if p.is_file() else [f for f in p.rglob("*") if f.is_file()] if p.is_dir() else []
            for f in files:
                if SECRET_KEY.encode() in f.read_bytes():
                    leaked.append(str(f))
        except OSError:
            pass

    def on(event: str, args: tuple) -> None:
        if event == "open":
            path, mode = args[0], args[1]
            if isinstance(path, (str, bytes, os.PathLike)) and isinstance(mode, str) and any(c in mode for c in "wax+"):
                written.add(os.fsdecode(path))
            elif isinstance(path, (str, bytes)) and isinstance(args[2], int) and args[2] & (os.O_WRONLY | os.O_RDWR):
                written.add(os.fsdecode(path))
        elif event in ("os.remove", "shutil.rmtree", "os.rename"):
            if isinstance(args[0], (str, bytes, os.PathLike)):
                scan(os.fsdecode(args[0]))
        elif event == "subprocess.Popen":
            if SECRET_KEY in " ".join(map(str, args[1] or [])):
                argv_leaks.append(str(args[1]))

    lines: list[str] = []
    with board_link.released() as port:
        with audit(on):
            deploy(port, config=cfg, out=lines.append)
    for f in written:
        if f.startswith("/dev/") or f == str(cfg):
            continue
        scan(f)
    for f in tmp.rglob("*"):
        if f.is_file():
            scan(str(f))
    assert not leaked, f"the Wi-Fi key was written to {leaked}"
    assert not argv_leaks, "the Wi-Fi key was passed on a command line"
    assert any("Wi-Fi key not shown" in l for l in lines), lines
    assert_clean("\n".join(lines), [SECRET_KEY], "deploy's output")
    assert list(tmp.iterdir()) == [], f"deploy left temporary files: {list(tmp.iterdir())}"


def test_log_decoder_output_redacts_captured_secrets(tmp_path):
    """A raw UART capture holds the key (the host sent it); the decoder's report must not repeat it."""
    import subprocess
    import sys

    pki_key = build_pki(tmp_path / "p").server.key_pem.read_bytes()
    cap = (b"AT+S.SCFG=wifi_wpa_psk_text," + SECRET_KEY.encode() + b"\r"
           b"AT+S.SCFG=wifi_wpa_psk_text," + SECRET_KEY.encode() + b"\r\nAT-S.OK\r\n"
           b"AT+S.GCFG=wifi_wpa_psk_text\rAT-S.Var:wifi_wpa_psk_text=" + SECRET_KEY.encode() + b"\r\nAT-S.OK\r\n"
           b"AT+S.TLSCERT=key,%d\r" % len(pki_key) + pki_key + b"AT-S.OK\r\n")
    f = tmp_path / "uart.log"
    f.write_bytes(cap)
    for extra in ([], ["--json"]):
        proc = subprocess.run([sys.executable, "-m", "spwf04_tools.cli", "log", str(f), *extra],
                              capture_output=True, text=True, timeout=60)
        out = proc.stdout + proc.stderr
        assert "wifi_wpa_psk_text" in out, out
        assert_clean(out, [SECRET_KEY] + key_fragments(pki_key), f"spwf04 log {' '.join(extra)} output")
