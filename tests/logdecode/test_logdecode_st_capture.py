"""`spwf04 log` on console captures of ST's C example: host lines `>>UART TX buffer: <command>`, the payload
the host printed on lines of its own, then the module's echo and answer (a lost leading `AT` included).

The captures are built here from a freshly made CA, in the layout described in docs/at-protocol.md
(section "Captures of ST's example"), and decoded by the `spwf04 log` command as a user runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spwf04_tools.pki import build_pki

pytestmark = pytest.mark.timeout(120)

SPWF04 = str(Path(sys.executable).with_name("spwf04"))
BOOT = """\
+WIND:1:Poweron:170216-fd39c59-SPWF04S
+WIND:13:Copyright (c) 2012-2017 STMicroelectronics, Inc.  All rights Reserved:SPWF04SA
+WIND:0:Console active
+WIND:3:Watchdog Running:20
+WIND:32:WiFi Hardware Started
+WIND:21:WiFi Scanning
+WIND:35:WiFi Scan Complete:0x0
+WIND:19:WiFi Join:98:DE:D0:EA:4C:62
+WIND:25:WiFi Association successful:HomeNet
+WIND:24:WiFi Up:0:192.168.1.57
"""


def tx(command: str) -> str:
    return f" >>UART TX buffer: {command}\n"


def capture(ca_pem_crlf: bytes, auth: str, *, declared: int | None = None, show_payload: bool = True,
            clock: int | None = None, result: str = "AT-S.On:192.168.1.10:0\n-S.OK\n") -> str:
    """The console of one TLS connection attempt as ST's example prints it (FW 1.0)."""
    n = len(ca_pem_crlf) if declared is None else declared
    ca_cmd, auth_cmd = f"AT+S.TLSCERT=Ca,{n}", "AT+S.TLSCERT=Auth,40"
    sock = "AT+S.SOCKON=192.168.1.10,4443,NULL,s"
    clock = int(time.time()) if clock is None else clock
    pem_lines = ca_pem_crlf.decode().replace("\r\n", "\n") if show_payload else ""
    return ("\n*** Client Socket over TLS ***\nInitializing the wifi module...\n" + BOOT
            + tx("AT+S.TLSCERT=content,2") + "AT+S.TLSCERT=content,2\nAT-S.Clean\n-S.OK\n"
            + tx(f"AT+S.TIME={clock}") + f"AT+S.TIME={clock}\n-S.OK\n"
            + tx(ca_cmd) + pem_lines + f"{ca_cmd}\nAT-S.No SubjectKeyId\n-S.OK\n"
            + tx(auth_cmd) + (auth + "\n" if show_payload else "") + f"{auth_cmd}\n-S.OK\n"
            + tx(sock) + f"{sock}\n" + result)


def spwf04_log(tmp_path: Path, text: str, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "st_capture.txt"
    path.write_text(text)
    return subprocess.run([SPWF04, "log", *args, str(path)], capture_output=True, text=True, timeout=60)


def decoded(tmp_path: Path, text: str) -> tuple[int, list[dict], dict]:
    r = spwf04_log(tmp_path, text, "--json")
    assert r.returncode in (0, 1), r.stderr
    objs = [json.loads(line) for line in r.stdout.splitlines()]
    return r.returncode, objs[:-1], objs[-1]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return build_pki(tmp_path_factory.mktemp("pki"), pem_crlf=True, wrong_ca=True, wrong_ca_same_name=False)


def test_payload_lines_belong_to_the_host_command(tmp_path, pki):
    pem = pki.ca.pem.read_bytes()
    ski = pki.ca.ski.hex().upper()
    assert b"\r\n" in pem  # as in the observed FW 1.0 load: a PEM with CR LF line ends
    rc, events, summary = decoded(tmp_path, capture(pem, ski))
    ca, auth = summary["certificates"]
    assert (ca["kind"], ca["declared"], ca["form"], ca["ski"], ca["auth"]) == ("ca", len(pem), "PEM", ski, ski)
    assert ca["subject"] == "SPWF04 Test Root CA" and ca["module_ski"] == ""
    assert (auth["kind"], auth["declared"], auth["value"]) == ("auth", 40, ski)
    assert summary["inconsistencies"] == [] and rc == 0
    assert summary["sockets"][0]["result"] == "opened"
    payload = [e for e in events if e["kind"] == "data"]
    assert [e["dir"] for e in payload] == ["host"] * len(payload)
    assert len(payload) == pem.count(b"\n") + 1  # every PEM line and the auth line, nothing else
    # unprefixed text is the module's unless it is a payload: only the example's banner stays "other"
    others = [e["line"] for e in events if e["kind"] == "other"]
    assert others == ["*** Client Socket over TLS ***", "Initializing the wifi module..."]
    echoes = [e for e in events if e["kind"] == "echo"]
    assert len(echoes) == 5 and all(e["note"] == "echo of the command" for e in echoes)
    text = spwf04_log(tmp_path, capture(pem, ski)).stdout
    assert f"certificate auth: 40 bytes declared, 41 shown as printed lines; AT-S.OK; value {ski}" in text
    assert f"PEM CA 'SPWF04 Test Root CA' RSA-2048 valid" in text and f"SKI {ski}, auth {ski}" in text
    assert "Inconsistencies: none found" in text


def test_inconsistencies_the_capture_shows_are_reported(tmp_path, pki):
    pem = pki.ca.pem.read_bytes()
    wrong = pki.wrong_ca.ski.hex().upper()
    rc, _events, summary = decoded(tmp_path, capture(pem, wrong, result="AT-S.Certificate Error:23\n"
                                                    "AT-S.ERROR:74:Failed to open socket\n"))
    issues = " | ".join(summary["inconsistencies"])
    assert rc == 1
    assert f"auth {wrong} does not match the loaded CA 'SPWF04 Test Root CA'" in issues
    assert "no auth sent" not in issues
    assert summary["sockets"][0]["certificate_error"] == "23"
    rc, _events, summary = decoded(tmp_path, capture(pem, pki.ca.ski.hex().upper(), declared=len(pem) + 300))
    (issue,) = summary["inconsistencies"]
    assert f"declares {len(pem) + 300} bytes but" in issue and "(as far as the log shows)" in issue


def test_payload_not_printed_is_not_called_missing(tmp_path, pki):
    """A capture without the payload lines cannot show whether auth was right: no claim either way."""
    rc, _events, summary = decoded(tmp_path, capture(pki.ca.pem.read_bytes(), "", show_payload=False))
    assert summary["inconsistencies"] == [] and rc == 0
    ca, auth = summary["certificates"]
    assert ca["sent"] is None and auth["sent"] is None and auth["value"] is None
    text = spwf04_log(tmp_path, capture(pki.ca.pem.read_bytes(), "", show_payload=False)).stdout
    assert "certificate auth: 40 bytes declared, not in the log; AT-S.OK; value not shown in the log" in text
