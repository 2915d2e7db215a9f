"""Long simulator byte logs: causal order of the records, and `spwf04 log` on several client rounds.

Each round is what a client does: join (AT+S.RESET, which gets no final line), clock, CA, auth, a TLS
socket to a real `openssl s_server`, a request, data back (with text inside that looks like module lines),
SOCKQ, SOCKR in pieces, SOCKC. The log is decoded by the `spwf04 log` command, as a user runs it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simsession import Session
from spwf04_tools.pki import build_pki
from spwf04_tools.tls_server import FW10_CIPHERS, OpenSSLServer

pytestmark = [pytest.mark.timeout(300), pytest.mark.virtual_only]

SPWF04 = str(Path(sys.executable).with_name("spwf04"))
_RECORD = re.compile(r'^\d+\.\d+ (H>M|M>H) "(.*)"$')
_FINAL = re.compile(r"AT-S\.OK|AT-S\.ERROR")


def round_data(i: int) -> bytes:
    """Socket data that a decoder which lost the SOCKR framing would show as module lines."""
    return (b"round %d\r\nAT-S.OK\r\n" % i + b"AT-S.ERROR:74:Failed to open socket\r\n"
            + b"+WIND:58:Socket Closed:0:1\r\nAT-S.Reading:9:9\r\ntail %d" % i)


def spwf04_log_json(path: Path) -> tuple[list[dict], dict]:
    r = subprocess.run([SPWF04, "log", "--json", str(path)], capture_output=True, text=True, timeout=120)
    assert r.returncode in (0, 1), r.stderr
    objs = [json.loads(line) for line in r.stdout.splitlines()]
    assert objs[-1]["kind"] == "summary"
    return objs[:-1], objs[-1]


def run_rounds(log: Path, pki, server, rounds: int) -> list[tuple[str, str]]:
    """The rounds on the simulator; returns (command, final line) as the host received them."""
    ca = pki.ca.pem.read_bytes()
    auth = pki.ca.ski.hex().upper().encode()
    seen: list[tuple[str, str]] = []

    def cmd(s: Session, line: bytes, payload: bytes = b"") -> None:
        out = s.cmd(line, payload)
        seen.append((line.decode(), [x for x in out.decode("latin-1").split("\r\n") if _FINAL.match(x)][-1]))

    with Session(log, fw="1.0") as s:
        s.cmd(b"AT+S.SCFG=console_echo,0")  # as the driver does: no echo to tell which command an answer is for
        for i in range(rounds):
            s.join()
            seen.append(("AT+S.RESET", ""))  # the module reboots: no final line
            for line in (b"AT+S.TLSCERT=content,2", b"AT+S.TIME=%d" % int(time.time())):
                cmd(s, line)
            cmd(s, b"AT+S.TLSCERT=ca,%d" % len(ca), ca)
            cmd(s, b"AT+S.TLSCERT=auth,40", auth)
            cmd(s, b"AT+S.SOCKON=127.0.0.1,%d,NULL,s" % server.port)
            cmd(s, b"AT+S.SOCKW=0,7", b"hello %d" % i)
            server.wait_for("hello %d" % i, timeout=10)
            data = round_data(i)
            server.send(data)
            s.read_until(lambda b: b"+WIND:55" in b and b.endswith(b"\r\n"), 10)
            cmd(s, b"AT+S.SOCKQ=0")
            half = len(data) // 2
            for sid, n, part in ((0, half, data[:half]), (0, len(data) - half, data[half:])):
                assert s.sockr(sid, n) == part
                seen.append((f"AT+S.SOCKR={sid},{n}", "AT-S.OK"))
            cmd(s, b"AT+S.SOCKC=0")
    return seen


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return build_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def server(pki):
    with OpenSSLServer(pki.server.pem, pki.server.key_pem, ciphers=FW10_CIPHERS) as srv:
        yield srv


def test_byte_log_records_are_in_causal_order(tmp_path):
    """No host command is logged before the final line of the command before it (the host waited for it)."""
    log = tmp_path / "order.log"
    with Session(log) as s:
        for _ in range(300):
            s.cmd(b"AT+S.STS=fw_version")
    finals = commands = 0
    for line in log.read_text().splitlines():
        m = _RECORD.match(line)
        if not m:
            continue
        if m.group(1) == "H>M":
            assert finals >= commands, f"command {commands + 1} logged before the answer to command {commands}"
            commands += 1
        else:
            finals += len(_FINAL.findall(m.group(2)))
    assert commands >= 300


def test_three_client_rounds_decode_every_socket_and_final_line(tmp_path, pki, server):
    log = tmp_path / "rounds.log"
    rounds = 3
    seen = run_rounds(log, pki, server, rounds)
    events, summary = spwf04_log_json(log)
    # every command, in order, with the final line the host got (none for RESET); nothing else in between
    decoded: list[tuple[str, str]] = []
    for e in events:
        if e["kind"] == "command" and not e["line"].startswith("AT+S.SCFG=") and e["line"] not in (
                "AT+S.SSIDTXT=SPWF04-SIM", "AT+S.WCFG", "AT"):
            decoded.append((e["line"], ""))
        elif e["kind"] in ("ok", "error") and decoded and decoded[-1][1] == "":
            decoded[-1] = (decoded[-1][0], e["line"])
    assert decoded[:len(seen)] == seen
    assert not [e for e in events if e["kind"] == "other"]
    # every socket's data: exactly the bytes the server sent, none of it taken for module lines
    assert [s["read"] for s in summary["sockets"]] == [len(round_data(i)) for i in range(rounds)]
    assert all(s["result"] == "opened" and s["ended"] == "closed by the host (SOCKC)" for s in summary["sockets"])
    data = [e for e in events if e["kind"] == "data" and e.get("note") == "socket data (SOCKR)"]
    assert sum(e["length"] for e in data) == sum(len(round_data(i)) for i in range(rounds))
    shown = "".join(e["line"] for e in data)
    for i in range(rounds):
        assert f"round {i}" in shown and f"tail {i}" in shown
    # the reboots were asked for (AT+S.RESET) and everything was set up again after each
    assert summary["inconsistencies"] == []
