"""The Client_Socket replacement over the REPL: the TLS scenario and each way it can fail.

Every test runs the app on the board (virtual board + simulator + a real `openssl s_server` on
loopback) and checks what a user would read on the console.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from client_config import configure as _configure
from cryptography import x509

from spwf04_tools.pki import PKIOptions, build_pki
from spwf04_tools.sim.config import DEFAULT_AP
from spwf04_tools.tls_server import FW10_CIPHERS, OpenSSLServer

pytestmark = pytest.mark.virtual_only


def _run(board, code: str = "import client_socket\nprint('RESULT', client_socket.main())") -> str:
    return board.exec(code, timeout=120)


def _tlscert_commands(sim) -> list[str]:
    return [c.line for c in sim.commands if c.line.upper().startswith(("AT+S.TLSCERT", "AT+S.SOCKON"))]


def test_success_prints_the_page(board, driver, sim, tmp_path: Path) -> None:
    pki = build_pki(tmp_path)
    with OpenSSLServer(pki.server.pem, pki.server.key_pem, www=True) as srv:
        _configure(board, srv, pki.ca_pem)
        out = _run(board)
    assert "RESULT True" in out
    assert "<HTML>" in out and "s_server" in out  # the page openssl s_server -www sends
    for step in ("[1/9] bring-up", "[3/9] set the module clock", "[4/9] pre-flight check of the CA",
                 "[6/9] open the socket", "[9/9] close"):
        assert step in out
    assert DEFAULT_AP.passphrase not in out  # the key is never printed
    ski = pki.ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert f"auth {ski.hex().upper()}" in out
    assert not sim.sockets  # closed on the module too


def test_expired_ca_is_caught_before_any_tls_traffic(board, driver, sim, tmp_path: Path) -> None:
    pki = build_pki(tmp_path, PKIOptions(ca_validity="expired"))
    with OpenSSLServer(pki.server.pem, pki.server.key_pem, www=True) as srv:
        _configure(board, srv, pki.ca_pem)
        out = _run(board)
    assert "RESULT False" in out
    assert "FAILED: pre-flight check of the CA failed" in out
    assert "expired" in out
    assert _tlscert_commands(sim) == []


def test_clock_never_set_is_named(board, driver, sim, tmp_path: Path) -> None:
    pki = build_pki(tmp_path)
    with OpenSSLServer(pki.server.pem, pki.server.key_pem, www=True) as srv:
        _configure(board, srv, pki.ca_pem)
        out = _run(board, "import client_socket\n"
                          "c = client_socket.Client()\n"
                          "c.bring_up(); c.join()\n"
                          "try:\n"
                          "    c.preflight()\n"
                          "except client_socket.StepFailed as e:\n"
                          "    print('FAILED:', e)\n")
    assert "FAILED: pre-flight check of the CA failed" in out
    assert "clock not set" in out or "clock unset" in out or "never set" in out, out
    assert "AT+S.TIME" in out
    assert _tlscert_commands(sim) == []


def test_wrong_ca_gets_the_module_error_decoded(board, driver, sim, tmp_path: Path) -> None:
    pki = build_pki(tmp_path, PKIOptions(wrong_ca=True))
    with OpenSSLServer(pki.server.pem, pki.server.key_pem, www=True) as srv:
        _configure(board, srv, pki.wrong_ca.pem)
        out = _run(board)
    assert "RESULT False" in out
    assert "FAILED: open the socket failed" in out
    assert "AT-S.ERROR:74:Failed to open socket" in out
    assert "AT-S.Certificate Error:" in out
    assert "Likely causes" in out and "issued by that CA" in out


def test_server_name_mismatch(board, driver, sim, tmp_path: Path) -> None:
    pki = build_pki(tmp_path)
    with OpenSSLServer(pki.server.pem, pki.server.key_pem, www=True) as srv:
        _configure(board, srv, pki.ca_pem, server_name="other.example")
        out = _run(board)
    assert "RESULT False" in out
    assert "FAILED: open the socket failed" in out
    assert "AT-S.Certificate Error:" in out
    assert "server name 'other.example' must match" in out


def test_ca_without_ski_works_with_computed_auth(board, driver, sim, tmp_path: Path) -> None:
    pki = build_pki(tmp_path, PKIOptions(ca_ski=False))
    with pytest.raises(x509.ExtensionNotFound):
        pki.ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    key_id = x509.SubjectKeyIdentifier.from_public_key(pki.ca.cert.public_key()).digest
    with OpenSSLServer(pki.server.pem, pki.server.key_pem, www=True) as srv:
        _configure(board, srv, pki.ca_pem)
        out = _run(board)
    assert "RESULT True" in out, out
    assert f"auth {key_id.hex().upper()}" in out
    assert "<HTML>" in out


def test_fw10_profile_no_subjectkeyid_path(board, driver, sim, tmp_path: Path) -> None:
    sim.reconfigure(fw="1.0")
    pki = build_pki(tmp_path)
    with OpenSSLServer(pki.server.pem, pki.server.key_pem, www=True, ciphers=FW10_CIPHERS) as srv:
        _configure(board, srv, pki.ca_pem)
        out = _run(board)
    assert "SPWF04SA firmware 1.0.0" in out
    assert "module said No SubjectKeyId" in out
    assert "RESULT True" in out, out
    assert "<HTML>" in out
    auth = [c for c in sim.commands if c.line.lower().startswith("at+s.tlscert=auth")]
    assert len(auth) == 1


@pytest.mark.parametrize("key", ["ec256", "rsa4096"])
def test_fw10_rejects_unsupported_ca_before_any_at_traffic(board, driver, sim, tmp_path: Path, key: str) -> None:
    sim.reconfigure(fw="1.0")
    pki = build_pki(tmp_path, PKIOptions(ca_key=key, server_key=key))
    with OpenSSLServer(pki.server.pem, pki.server.key_pem, www=True) as srv:
        _configure(board, srv, pki.ca_pem)
        out = _run(board)
    assert "RESULT False" in out
    assert "FAILED: pre-flight check of the CA failed" in out
    assert ("EC" if key == "ec256" else "4096") in out
    assert _tlscert_commands(sim) == []


def test_missing_config_names_the_fix(board, driver) -> None:
    board.exec("import os\ntry:\n os.remove('client_config.json')\nexcept OSError:\n pass")
    out = _run(board)
    assert "RESULT False" in out
    assert "spwf04 deploy --config" in out


def test_config_repr_hides_the_key(board, driver) -> None:
    out = board.exec("import client_socket\n"
                     "c = client_socket.Config({'ssid': 'net', 'key': 'hunter2-secret', 'host': 'h'})\n"
                     "print(repr(c))\n")
    assert "hunter2-secret" not in out and "key=***" in out
