"""The loopback TLS servers start, serve real handshakes, capture client data and always stop."""

from __future__ import annotations

import os
import socket
import ssl

import pytest

from spwf04_tools.pki import build_pki
from spwf04_tools.tls_server import FW10_CIPHERS, EchoTLSServer, OpenSSLServer, ServerError

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return build_pki(tmp_path_factory.mktemp("pki"), intermediate=True)


def client_ctx(cafile, ciphers="ALL:@SECLEVEL=0") -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(cafile))
    ctx.set_ciphers(ciphers)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def test_s_server_fw10_suite_and_captures_client_data(pki):
    with OpenSSLServer(pki.server.pem, pki.server.key_pem, chain=pki.chain_pem, ciphers=FW10_CIPHERS) as srv:
        assert srv.running
        with socket.create_connection(srv.address, timeout=10) as raw:
            with client_ctx(pki.ca.pem).wrap_socket(raw, server_hostname="localhost") as tls:
                assert tls.version() == "TLSv1.2"
                assert tls.cipher()[0] == "AES128-SHA256"  # static RSA first, as FW 1.0 needs
                tls.sendall(b"hello from the client\n")
                srv.wait_for("hello from the client", timeout=10)
                srv.send(b"reply from server\n")
                assert tls.recv(100) == b"reply from server\n"
        srv.wait_for("CIPHER is AES128-SHA256", timeout=5)
    assert not srv.running


def test_s_server_www_and_naccept(pki):
    with OpenSSLServer(pki.server.pem, pki.server.key_pem, chain=pki.chain_pem, ciphers=FW10_CIPHERS, www=True,
                       naccept=1) as srv:
        with socket.create_connection(srv.address, timeout=10) as raw:
            with client_ctx(pki.ca.pem).wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
                body = b""
                while chunk := tls.recv(4096):
                    body += chunk
        assert body.startswith(b"HTTP/1.0 200 ok")
        srv.proc.wait(10)  # -naccept 1: exits by itself after one client
        assert srv.returncode == 0


def test_missing_intermediate_fails_client_verification(pki):
    with OpenSSLServer(pki.server.pem, pki.server.key_pem, ciphers=FW10_CIPHERS) as srv:
        with socket.create_connection(srv.address, timeout=10) as raw:
            with pytest.raises(ssl.SSLCertVerificationError):
                client_ctx(pki.ca.pem).wrap_socket(raw, server_hostname="localhost")


def test_ecdhe_only_server_refuses_static_rsa_client(pki):
    with OpenSSLServer(pki.server.pem, pki.server.key_pem, chain=pki.chain_pem,
                       ciphers="ECDHE-RSA-AES128-GCM-SHA256") as srv:
        with socket.create_connection(srv.address, timeout=10) as raw:
            with pytest.raises(ssl.SSLError):
                client_ctx(pki.ca.pem, "AES128-SHA256:@SECLEVEL=0").wrap_socket(raw, server_hostname="localhost")


def test_rsa1024_works_at_seclevel0(tmp_path):
    weak = build_pki(tmp_path, ca_key="rsa1024", server_key="rsa1024")
    with OpenSSLServer(weak.server.pem, weak.server.key_pem, ciphers=FW10_CIPHERS) as srv:
        with socket.create_connection(srv.address, timeout=10) as raw:
            with client_ctx(weak.ca.pem).wrap_socket(raw, server_hostname="localhost") as tls:
                assert tls.cipher()[0] == "AES128-SHA256"


def test_start_failure_raises_with_output(tmp_path, pki):
    bad = tmp_path / "bad.key"
    bad.write_text("not a key\n")
    with pytest.raises(ServerError, match="did not start"):
        with OpenSSLServer(pki.server.pem, bad, startup_timeout=5):
            pass


def test_stopped_even_when_body_raises(pki):
    with pytest.raises(RuntimeError):
        with OpenSSLServer(pki.server.pem, pki.server.key_pem) as srv:
            pid = srv.proc.pid
            raise RuntimeError("boom")
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_wait_for_times_out(pki):
    with OpenSSLServer(pki.server.pem, pki.server.key_pem) as srv:
        with pytest.raises(TimeoutError, match="never-printed"):
            srv.wait_for("never-printed", timeout=0.3)


def test_echo_server_binary_integrity(pki):
    payload = bytes(range(256)) * 64 + b"\r\n\x00AT-S.OK\r\n+WIND:55:x\r\n"
    with EchoTLSServer(pki.fullchain_pem, pki.server.key_pem) as echo:
        with socket.create_connection((echo.host, echo.port), timeout=10) as raw:
            with client_ctx(pki.ca.pem).wrap_socket(raw, server_hostname="localhost") as tls:
                assert tls.cipher()[0] == "AES128-SHA256"
                tls.sendall(payload)
                got = b""
                while len(got) < len(payload):
                    chunk = tls.recv(65536)
                    assert chunk
                    got += chunk
        assert got == payload
    assert echo.received == payload
    assert echo.connections == 1
