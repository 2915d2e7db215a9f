"""The board's diagnosis of a failed TLS open, ranked by the module's certificate error number, end to end:
the driver over the REPL on the virtual board, the simulator verifying real server chains at its clock
(docs/diagnosis.md has the mapping and where each entry comes from). Also: a module clock set behind the
driver's back, and a private key given to load_ca."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from cryptography.hazmat.primitives import serialization

from spwf04_tools.pki import PKIOptions, build_pki
from spwf04_tools.tls_server import EchoTLSServer

pytestmark = [pytest.mark.virtual_only, pytest.mark.timeout(240)]

UP = """
import wifi_board, spwf04
m = wifi_board.module()
m.init()
m.wlan.connect('SPWF04-SIM', 'simulated-wifi')
m.settime()
def fail(host_name, port):
    try:
        m.socket(server_hostname=host_name).connect(('127.0.0.1', port))
    except spwf04.ModuleError as e:
        print('DETAILS', e.details[-1])
        print('DIAG', e.diagnosis)
        return
    print('CONNECTED')
"""


def _run(board, pki, code: str, timeout: float = 120) -> dict[str, str]:
    board.put_bytes(pki.ca.pem.read_bytes(), "ca.pem")
    with EchoTLSServer(pki.fullchain_pem, pki.server.key_pem) as srv:
        out = board.exec(UP + "m.tls.load_ca(path='ca.pem')\n" + code.replace("PORT", str(srv.port)),
                         timeout=timeout)
    return dict(line.split(" ", 1) for line in out.strip().splitlines() if " " in line)


def _causes(diagnosis: str) -> list[str]:
    return re.split(r"(?:^|; )\d\) ", diagnosis)[1:]


def test_name_mismatch_is_ranked_first_for_error_5(driver, board, sim_clean, tmp_path):
    out = _run(board, build_pki(tmp_path), "fail('wrong.example', PORT)\n")
    assert out["DETAILS"] == "Certificate Error:5", out
    causes = _causes(out["DIAG"])
    assert causes[0].startswith("certificate error 5 (name mismatch): server name 'wrong.example' must match "
                                "the server certificate's SAN/CN"), causes
    assert any("chain must be issued by that CA" in c for c in causes[1:])  # 5's meaning is unsourced: later
    assert not any(c.startswith("server name 'wrong.example' must match") for c in causes)  # said once


def test_expired_server_certificate_ranks_dates_at_the_module_clock_for_error_3(driver, board, sim_clean,
                                                                                tmp_path):
    out = _run(board, build_pki(tmp_path, PKIOptions(server_validity="expired")), "fail('localhost', PORT)\n")
    assert out["DETAILS"] == "Certificate Error:3", out
    causes = _causes(out["DIAG"])
    today = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    assert causes[0].startswith("certificate error 3 (meaning unpublished; dates, as far as known): the "
                                "server's certificate or an intermediate is outside its validity at the module "
                                f"clock {today}"), causes
    assert "openssl x509 -noout -dates" in causes[0]


def test_missing_intermediate_is_suggested_first_for_error_23(driver, board, sim_clean, tmp_path):
    pki = build_pki(tmp_path, PKIOptions(intermediate=True, send_intermediate=False))
    out = _run(board, pki, "fail('localhost', PORT)\n")
    assert out["DETAILS"] == "Certificate Error:23", out
    causes = _causes(out["DIAG"])
    assert causes[0].startswith("certificate error 23 (issuer not found) after CA 'SPWF04 Test Root CA'"), causes
    assert "missing intermediate" in causes[0]


def test_a_clock_set_by_hand_is_the_clock_the_driver_checks_and_names(driver, board, sim_clean, tmp_path):
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    # the CA is valid for a month back, the server's certificate from yesterday: 3 days ago only the server's
    # certificate is out of its dates, as the module will find with the clock set by hand
    pki = build_pki(tmp_path, PKIOptions(ca_not_before=now - dt.timedelta(days=30),
                                         ca_not_after=now + dt.timedelta(days=3650)))
    past = int((now - dt.timedelta(days=3)).timestamp())
    out = _run(board, pki, f"""
set_by_driver = m.clock()
print('AT', m.at('AT+S.TIME={past}')[-1])
print('CLOCK', abs(m.clock() - {past}) < 30, abs(set_by_driver - {past}) > 86400)
fail('localhost', PORT)
""")
    assert out["AT"] == "AT-S.OK" and out["CLOCK"] == "True True", out
    assert out["DETAILS"] == "Certificate Error:3", out
    day = (now - dt.timedelta(days=3)).strftime("%Y-%m-%d")
    assert f"at the module clock {day} (set by hand with AT+S.TIME, not m.settime())" in _causes(out["DIAG"])[0]


def test_a_clock_set_by_hand_before_the_ca_is_refused_before_any_traffic(driver, board, sim_clean, tmp_path):
    pki = build_pki(tmp_path)  # the CA is valid from yesterday
    past = int((dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)).timestamp())
    out = _run(board, pki, f"""
m.at('AT+S.TIME={past}')
try:
    m.socket(server_hostname='localhost').connect(('127.0.0.1', PORT))
except spwf04.CertError as e:
    print('REFUSED', e.code, str(e))
""")
    assert out["REFUSED"].startswith("not_yet_valid CA 'SPWF04 Test Root CA' valid "), out
    assert "(set by hand with AT+S.TIME): fix the clock or the CA" in out["REFUSED"]


@pytest.mark.parametrize("form", ["pem", "der"])
def test_load_ca_names_a_private_key(driver, board, sim_clean, tmp_path, form):
    pki = build_pki(tmp_path)
    key = pki.ca.key.private_bytes(serialization.Encoding.PEM if form == "pem" else serialization.Encoding.DER,
                                   serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    board.put_bytes(key, "ca_key." + form)
    out = board.exec(UP + f"""
try:
    m.tls.load_ca(path='ca_key.{form}')
except spwf04.CertError as e:
    print('REFUSED', e.code, str(e))
print('CA', m.tls.ca)
""", timeout=90)
    lines = dict(line.split(" ", 1) for line in out.strip().splitlines())
    assert lines["REFUSED"].startswith("private_key this is a private key, not a certificate"), out
    assert lines["CA"] == "None"
    tlscert = [c.line for c in sim_clean.commands if c.line.upper().startswith("AT+S.TLSCERT")]
    assert tlscert == [], "the key went to the module"
