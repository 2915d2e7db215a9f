"""TLS verification cannot be disabled silently: without a CA the driver refuses (even when the module
itself would connect unverified), and the explicit insecure option warns on every use."""

from __future__ import annotations

import pytest

from seckit import SECRET_KEY, SECRET_SSID
from spwf04_tools.pki import build_pki
from spwf04_tools.sim.config import Behaviour
from spwf04_tools.tls_server import EchoTLSServer

pytestmark = [pytest.mark.virtual_only, pytest.mark.timeout(180)]

UP = f"""
import wifi_board, spwf04
m = wifi_board.module()
m.init()
m.wlan.connect({SECRET_SSID!r}, {SECRET_KEY!r})
m.settime()
"""


def _sockons(sim) -> list[str]:
    return [c.line for c in sim.commands if c.line.upper().startswith("AT+S.SOCKON")]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return build_pki(tmp_path_factory.mktemp("sec-pki"))


def test_no_ca_is_refused_even_if_the_module_would_skip_verification(driver, board, secret_sim, pki):
    secret_sim.reconfigure(behaviour=Behaviour(tls_no_ca="skip"))  # a module that connects unverified
    with EchoTLSServer(pki.fullchain_pem, pki.server.key_pem) as srv:
        out = board.exec(UP + f"""
for kw in ({{'tls': True}}, {{'server_hostname': 'localhost'}}):
    try:
        m.socket(**kw).connect(('127.0.0.1', {srv.port}))
        print('CONNECTED')
    except spwf04.CertError as e:
        print('REFUSED', e.code, 'insecure=True' in str(e))
""", timeout=90)
    assert out.split("\n")[:2] == ["REFUSED no_ca True", "REFUSED no_ca True"], out
    assert "CONNECTED" not in out
    assert _sockons(secret_sim) == [], "a TLS SOCKON went out without a CA"


def test_insecure_warns_on_every_use(driver, board, secret_sim, pki):
    secret_sim.reconfigure(behaviour=Behaviour(tls_no_ca="skip"))
    board.put_bytes(pki.ca.pem.read_bytes(), "ca.pem")
    with EchoTLSServer(pki.fullchain_pem, pki.server.key_pem) as srv:
        out = board.exec(UP + f"""
for i in range(3):
    s = m.socket(tls=True, insecure=True)
    s.connect(('127.0.0.1', {srv.port}))
    s.write(b'x%d' % i)
    print('ECHO', s.read(2))
    s.close()
m.tls.load_ca(path='ca.pem')   # with a CA loaded, insecure=True still skips the driver's checks: still warned
s = m.socket(server_hostname='localhost', insecure=True)
s.connect(('127.0.0.1', {srv.port}))
s.close()
s = m.socket(server_hostname='localhost')   # the secure path: no warning
s.connect(('127.0.0.1', {srv.port}))
s.close()
""", timeout=120)
    lines = out.splitlines()
    warnings = [l for l in lines if l.startswith("WARNING") and "insecure=True" in l]
    assert len(warnings) == 4, out
    assert [l for l in lines if l.startswith("ECHO")] == ["ECHO b'x0'", "ECHO b'x1'", "ECHO b'x2'"]
    assert lines[-1].startswith("WARNING"), "the secure connection printed something"
    assert len(_sockons(secret_sim)) == 5


def test_insecure_must_be_given_explicitly(driver, board):
    out = board.exec("""
import wifi_board
m = wifi_board.module()
print(m.socket().insecure, m.socket(tls=True).insecure, m.socket(server_hostname='x').insecure)
""", timeout=30)
    assert out.strip() == "False False False"
