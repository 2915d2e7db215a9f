"""The test PKI produces the layouts the other tests rely on (checked with cryptography and openssl)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import stat
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from spwf04_tools.pki import PKIOptions, build_pki, validity_window

pytestmark = pytest.mark.timeout(120)


def ext(cert: x509.Certificate, cls):
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def openssl_verify(ca, leaf, untrusted=None) -> subprocess.CompletedProcess[str]:
    args = ["openssl", "verify", "-CAfile", str(ca)]
    if untrusted:
        args += ["-untrusted", str(untrusted)]
    return subprocess.run(args + [str(leaf)], capture_output=True, text=True, timeout=30)


def test_good_setup_is_laid_out_like_st_example(tmp_path):
    pki = build_pki(tmp_path)
    ca, srv = pki.ca.cert, pki.server.cert
    assert ext(ca, x509.BasicConstraints).ca is True
    ca_ski = ext(ca, x509.SubjectKeyIdentifier).digest
    assert len(ca_ski) == 20
    assert ext(ca, x509.AuthorityKeyIdentifier).key_identifier == ca_ski
    crl = ext(ca, x509.CRLDistributionPoints)
    assert crl[0].full_name[0].value.startswith("http://")
    assert ext(srv, x509.AuthorityKeyIdentifier).key_identifier == ca_ski
    san = ext(srv, x509.SubjectAlternativeName)
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert srv.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "localhost"
    assert ext(srv, x509.BasicConstraints).ca is False
    srv.verify_directly_issued_by(ca)
    assert pki.chain_pem is None
    assert pki.fullchain_pem.read_bytes() == pki.server.pem.read_bytes()
    assert pki.ca_der.read_bytes() == x509.load_pem_x509_certificate(pki.ca_pem.read_bytes()).public_bytes(
        __import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.DER)
    r = openssl_verify(pki.ca.pem, pki.server.pem)
    assert r.returncode == 0, r.stdout + r.stderr
    for issued in (pki.ca, pki.server):
        assert stat.S_IMODE(issued.key_pem.stat().st_mode) == 0o600
        assert "PRIVATE" not in repr(issued)


@pytest.mark.parametrize("spec,cls,bits", [("rsa1024", rsa.RSAPublicKey, 1024), ("rsa2048", rsa.RSAPublicKey, 2048),
                                           ("rsa4096", rsa.RSAPublicKey, 4096), ("ec256", ec.EllipticCurvePublicKey, 256)])
def test_key_specs(tmp_path, spec, cls, bits):
    pki = build_pki(tmp_path, ca_key=spec, server_key=spec)
    for c in (pki.ca.cert, pki.server.cert):
        assert isinstance(c.public_key(), cls)
        assert c.public_key().key_size == bits
    pki.server.cert.verify_directly_issued_by(pki.ca.cert)


def test_ca_without_ski_and_server_aki_is_method1_key_id(tmp_path):
    pki = build_pki(tmp_path, ca_ski=False)
    assert ext(pki.ca.cert, x509.SubjectKeyIdentifier) is None
    method1 = x509.SubjectKeyIdentifier.from_public_key(pki.ca.cert.public_key()).digest
    assert ext(pki.server.cert, x509.AuthorityKeyIdentifier).key_identifier == method1


@pytest.mark.parametrize("which", ["ca", "server"])
@pytest.mark.parametrize("kind", ["expired", "not_yet_valid"])
def test_validity_windows(tmp_path, which, kind):
    now = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    pki = build_pki(tmp_path, now=now, **{f"{which}_validity": kind})
    cert = getattr(pki, which).cert
    if kind == "expired":
        assert cert.not_valid_after_utc < now
    else:
        assert cert.not_valid_before_utc > now
    other = pki.server.cert if which == "ca" else pki.ca.cert
    assert other.not_valid_before_utc < now < other.not_valid_after_utc
    with pytest.raises(ValueError):
        validity_window("sometime", now)


def test_explicit_window_beyond_2049_uses_generalized_time(tmp_path):
    nb = dt.datetime(2049, 6, 1, tzinfo=dt.timezone.utc)
    na = dt.datetime(2051, 6, 1, 12, 30, 15, tzinfo=dt.timezone.utc)
    pki = build_pki(tmp_path, ca_not_before=nb, ca_not_after=na)
    assert pki.ca.cert.not_valid_after_utc == na


@pytest.mark.parametrize("send", [True, False])
def test_intermediate(tmp_path, send):
    pki = build_pki(tmp_path, intermediate=True, send_intermediate=send)
    assert pki.intermediate is not None
    pki.intermediate.cert.verify_directly_issued_by(pki.ca.cert)
    pki.server.cert.verify_directly_issued_by(pki.intermediate.cert)
    assert ext(pki.server.cert, x509.AuthorityKeyIdentifier).key_identifier == pki.intermediate.ski
    assert ext(pki.intermediate.cert, x509.BasicConstraints).ca
    if send:
        assert pki.chain_pem is not None
        assert pki.chain_pem.read_bytes() == pki.intermediate.pem.read_bytes()
        assert openssl_verify(pki.ca.pem, pki.server.pem, pki.chain_pem).returncode == 0
    else:
        assert pki.chain_pem is None
        assert openssl_verify(pki.ca.pem, pki.server.pem).returncode != 0


def test_wrong_ca_did_not_sign_server(tmp_path):
    pki = build_pki(tmp_path, wrong_ca=True)
    assert pki.wrong_ca is not None
    assert pki.wrong_ca.cert.subject == pki.ca.cert.subject
    assert pki.wrong_ca.ski != pki.ca.ski
    with pytest.raises(Exception):
        pki.server.cert.verify_directly_issued_by(pki.wrong_ca.cert)
    assert openssl_verify(pki.wrong_ca.pem, pki.server.pem).returncode != 0
    other = build_pki(tmp_path / "o", wrong_ca=True, wrong_ca_same_name=False)
    assert other.wrong_ca.cert.subject != other.ca.cert.subject


def test_names_and_crl_and_crlf(tmp_path):
    pki = build_pki(tmp_path, server_cn="example.com", san_dns=("example.com", "*.example.com"), san_ip=(),
                    server_crl_url="http://127.0.0.1:1/s.crl", ca_crl_url=None, pem_crlf=True)
    san = ext(pki.server.cert, x509.SubjectAlternativeName)
    assert san.get_values_for_type(x509.DNSName) == ["example.com", "*.example.com"]
    assert san.get_values_for_type(x509.IPAddress) == []
    assert ext(pki.server.cert, x509.CRLDistributionPoints) is not None
    assert ext(pki.ca.cert, x509.CRLDistributionPoints) is None
    raw = pki.ca.pem.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") > 10
    x509.load_pem_x509_certificate(raw)


def test_keys_cached_per_role_and_fresh(tmp_path):
    a = build_pki(tmp_path / "a")
    b = build_pki(tmp_path / "b")
    assert a.ca.ski == b.ca.ski
    assert a.ca.ski != x509.SubjectKeyIdentifier.from_public_key(a.server.cert.public_key()).digest
    c = build_pki(tmp_path / "c", fresh_keys=True)
    assert c.ca.ski != a.ca.ski


def test_bad_options_raise(tmp_path):
    with pytest.raises(ValueError, match="key spec"):
        build_pki(tmp_path, ca_key="rsa3000")
    with pytest.raises(ValueError, match="sig_hash"):
        build_pki(tmp_path, sig_hash="md5")
    with pytest.raises(TypeError):
        build_pki(tmp_path, no_such_option=1)
    assert PKIOptions().ca_key == "rsa2048"
