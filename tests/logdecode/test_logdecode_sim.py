"""`spwf04 log` on simulator byte logs of real sessions (TLS to a real openssl s_server on loopback)."""

from __future__ import annotations

import time

import pytest

from simsession import Session
from spwf04_tools import logdecode
from spwf04_tools.pki import build_pki
from spwf04_tools.tls_server import FW10_CIPHERS, OpenSSLServer

pytestmark = [pytest.mark.timeout(180), pytest.mark.virtual_only]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return build_pki(tmp_path_factory.mktemp("pki"), wrong_ca=True)


@pytest.fixture(scope="module")
def server(pki):
    with OpenSSLServer(pki.server.pem, pki.server.key_pem, ciphers=FW10_CIPHERS) as srv:
        yield srv


def decode(path):
    return logdecode.decode_bytes(path.read_bytes())


def kinds(dec, kind):
    return [e for e in dec.events if e.kind == kind]


def test_good_fw10_session_with_socket_data(tmp_path, pki, server):
    log = tmp_path / "good.log"
    ca = pki.ca.pem.read_bytes()
    tricky = b"line\r\nAT-S.OK\r\n+WIND:1:Poweron:x\r\n\x00\xff"
    with Session(log, fw="1.0") as s:
        s.join()
        s.cmd(b"AT+S.TLSCERT=content,2")
        s.cmd(b"AT+S.TIME=%d" % int(time.time()))
        s.cmd(b"AT+S.TLSCERT=ca,%d" % len(ca), ca)
        s.cmd(b"AT+S.TLSCERT=auth,40", pki.ca.ski.hex().upper().encode())
        s.cmd(b"AT+S.SOCKON=127.0.0.1,%d,NULL,s" % server.port)
        s.cmd(b"AT+S.SOCKW=0,5", b"hello")
        server.wait_for("hello", timeout=10)
        server.send(tricky)
        s.read_until(lambda b: b"+WIND:55" in b and b.endswith(b"\r\n"), 10)
        s.cmd(b"AT+S.SOCKQ=0")
        assert s.sockr(0, len(tricky)) == tricky
        s.cmd(b"AT+S.SOCKC=0")
    dec, summary = decode(log)
    assert summary["inconsistencies"] == []
    assert summary["fw"] == "1.0"
    ca_entry, auth_entry = summary["certificates"]
    assert (ca_entry["kind"], ca_entry["declared"], ca_entry["sent"]) == ("ca", len(ca), len(ca))
    assert ca_entry["module_ski"] == "" and ca_entry["subject"] == "SPWF04 Test Root CA"
    assert auth_entry["value"] == pki.ca.ski.hex().upper() == ca_entry["auth"]
    (sock,) = summary["sockets"]
    assert sock["result"] == "opened" and sock["written"] == 5 and sock["read"] == len(tricky)
    assert sock["ended"] == "closed by the host (SOCKC)" and sock["clock"]
    data = [e for e in kinds(dec, "data") if e.note == "socket data (SOCKR)"]
    assert sum(e.length for e in data) == len(tricky)
    assert not [e for e in kinds(dec, "wind") if e.number == 1 and e.t and e.t > data[0].t]  # not a reboot
    assert not kinds(dec, "other")
    text = logdecode.render_text(dec, summary)
    assert "Inconsistencies: none found" in text and "simulated-wifi" not in text


@pytest.mark.parametrize("delta", [+2, -2])
def test_tlscert_length_that_does_not_match_the_bytes_sent(tmp_path, pki, delta):
    log = tmp_path / "len.log"
    ca = pki.ca.pem.read_bytes()
    with Session(log, fw="1.0") as s:
        s.cmd(b"AT+S.TIME=%d" % int(time.time()))
        s.send_raw(b"AT+S.TLSCERT=ca,%d\r" % (len(ca) + delta) + ca)
        time.sleep(0.3)
        s.send_raw(b"AT+S.TLSCERT=auth,40\r" + pki.ca.ski.hex().upper().encode())
        time.sleep(0.5)
    dec, summary = decode(log)
    ca_entry = summary["certificates"][0]
    assert ca_entry["declared"] == len(ca) + delta and ca_entry["sent"] == len(ca)
    assert ca_entry["length_mismatch"]
    assert any(f"declares {len(ca) + delta} bytes but {len(ca)} were sent" in i for i in summary["inconsistencies"])
    note = next(e.note for e in kinds(dec, "data") if "TLSCERT=ca" in e.note)
    assert ("swallows the next command" in note) if delta > 0 else ("extra bytes" in note)


def test_auth_that_does_not_match_the_loaded_ca_and_certificate_error(tmp_path, pki, server):
    log = tmp_path / "auth.log"
    ca = pki.ca.der.read_bytes()
    wrong = pki.wrong_ca.ski.hex().upper().encode()
    with Session(log, fw="1.1") as s:
        s.join()
        s.cmd(b"AT+S.TIME=%d" % int(time.time()))
        s.cmd(b"AT+S.TLSCERT=ca,%d" % len(ca), ca)
        s.cmd(b"AT+S.TLSCERT=auth,40", wrong)
        s.cmd(b"AT+S.SOCKON=127.0.0.1,%d,NULL,s" % server.port)
    dec, summary = decode(log)
    ca_entry = summary["certificates"][0]
    assert ca_entry["module_ski"] == pki.ca.ski.hex().upper()  # FW 1.1 prints the SKI
    issues = " | ".join(summary["inconsistencies"])
    assert f"auth {wrong.decode()} does not match the loaded CA 'SPWF04 Test Root CA'" in issues
    assert "differs from the SKI the module reported" in issues
    (sock,) = summary["sockets"]
    assert sock["result"].startswith("failed: AT-S.ERROR:74:Failed to open socket")
    cert_err = next(e for e in kinds(dec, "info") if e.text == "Certificate Error")
    assert "simulator's default mapping" in cert_err.note
    err = kinds(dec, "error")[-1]
    assert err.code == 74 and err.note == "error 74: Failed to open socket"


def test_tls_before_the_clock_was_set(tmp_path, pki, server):
    log = tmp_path / "clock.log"
    ca = pki.ca.pem.read_bytes()
    with Session(log, fw="1.0") as s:
        s.join()
        s.cmd(b"AT+S.TLSCERT=ca,%d" % len(ca), ca)
        s.cmd(b"AT+S.TLSCERT=auth,40", pki.ca.ski.hex().upper().encode())
        s.cmd(b"AT+S.SOCKON=127.0.0.1,%d,NULL,s" % server.port)
    dec, summary = decode(log)
    assert any("without setting the module clock first" in i for i in summary["inconsistencies"])
    assert summary["clock"] == [] and summary["sockets"][0]["clock"] is None
    assert "clock: never set in this log" in logdecode.render_text(dec, summary)
