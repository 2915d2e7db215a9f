"""check(): each pre-flight problem raises CertError with the right code, a message naming it and the fix."""

from __future__ import annotations

import calendar
import datetime as dt
import random

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from spwf04 import cert
from spwf04_tools.pki import build_pki, generate_key

pytestmark = pytest.mark.timeout(120)

NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
NOW_EPOCH = int(NOW.timestamp())


def load(path) -> cert.Certificate:
    (c,) = cert.parse(path.read_bytes())
    return c


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return build_pki(tmp_path_factory.mktemp("good"), now=NOW)


def test_good_ca_passes_both_profiles(good):
    ca = load(good.ca.pem)
    for fw in ("1.0", "1.1", "1.1.0"):
        assert cert.check(ca, NOW_EPOCH, fw) is None
    assert cert.check(ca, float(NOW_EPOCH), "1.0") is None  # time.time() on CPython is a float
    assert cert.check(load(good.ca.der), NOW_EPOCH, "1.1") is None


def expect(code, c, now=NOW_EPOCH, fw="1.1", kind="ca", *words):
    with pytest.raises(cert.CertError) as ei:
        cert.check(c, now, fw, kind)
    assert ei.value.code == code, str(ei.value)
    msg = str(ei.value)
    for w in words:
        assert w in msg, msg
    return msg


def test_clock_unset_and_implausible(good):
    ca = load(good.ca.pem)
    expect("clock_unset", ca, None, "1.1", "ca", "AT+S.TIME")
    expect("clock_implausible", ca, 0, "1.1", "ca", "1970-01-01", "AT+S.TIME")
    msg = expect("clock_implausible", ca, NOW_EPOCH - 946684800, "1.1", "ca", "since 2000")
    assert "946684800" in msg
    expect("clock_implausible", ca, 5_000_000_000, "1.0", "ca", "implausible")


@pytest.mark.parametrize("kind,code,word", [("expired", "expired", "expired on"),
                                             ("not_yet_valid", "not_yet_valid", "not valid yet")])
def test_validity(tmp_path, kind, code, word):
    pki = build_pki(tmp_path, now=NOW, ca_validity=kind)
    ca = load(pki.ca.pem)
    msg = expect(code, ca, NOW_EPOCH, "1.1", "ca", word, "2026-03-01 12:00:00 UTC", "SPWF04 Test Root CA")
    edge = ca.not_after if kind == "expired" else ca.not_before
    assert cert.fmt_time(edge) in msg


def test_validity_edges_are_inclusive(good):
    ca = load(good.ca.pem)
    nb, na = cert.to_epoch(ca.not_before), cert.to_epoch(ca.not_after)
    cert.check(ca, nb, "1.1")
    expect("not_yet_valid", ca, nb - 1)
    cert.check(ca, min(na, 4102444799), "1.1")


def test_server_certificate_is_not_a_ca(good):
    srv = load(good.server.pem)
    expect("not_ca", srv, NOW_EPOCH, "1.1", "ca", "not a CA", "issued the server")
    assert cert.check(srv, NOW_EPOCH, "1.1", kind="server") is None


@pytest.mark.parametrize("spec,fw,ok", [
    ("rsa1024", "1.0", True), ("rsa2048", "1.0", True), ("rsa4096", "1.0", False), ("ec256", "1.0", False),
    ("rsa1024", "1.1", True), ("rsa2048", "1.1", True), ("rsa4096", "1.1", False), ("ec256", "1.1", True)])
def test_key_profiles(tmp_path, spec, fw, ok):
    ca = load(build_pki(tmp_path, now=NOW, ca_key=spec).ca.pem)
    if ok:
        cert.check(ca, NOW_EPOCH, fw)
    else:
        msg = expect("key_unsupported", ca, NOW_EPOCH, fw)
        assert ("RSA-4096" in msg and "2048" in msg) if spec == "rsa4096" else "FW 1.0 does RSA only" in msg


def _custom_ca(key_spec: str, padding: int, tmp_path) -> bytes:
    from cryptography.hazmat.primitives.asymmetric import ec
    if key_spec == "p384":
        key = ec.generate_private_key(ec.SECP384R1())
    else:
        key = generate_key(key_spec, "ca")
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Big CA")])
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
         .serial_number(1).not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=9))
         .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True))
    if padding:
        b = b.add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"),
                                                       b"\x04" + bytes([0x82, padding >> 8, padding & 255])
                                                       + bytes(padding)), critical=False)
    return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def test_p384_refused_on_fw11(tmp_path):
    (c,) = cert.parse(_custom_ca("p384", 0, tmp_path))
    assert (c.key_type, c.key_bits, c.curve, c.path_len) == ("EC", 384, "P-384", 0)
    expect("key_unsupported", c, NOW_EPOCH, "1.1", "ca", "P-384", "P-256")


def test_stored_size_limit(tmp_path):
    (c,) = cert.parse(_custom_ca("rsa2048", 420, tmp_path))
    assert c.der_len <= cert.MAX_STORED < len(c.pem)
    expect("too_large", c, NOW_EPOCH, "1.1", "ca", "1475", "DER form (%d bytes)" % c.der_len)
    (d,) = cert.parse(c.der)
    cert.check(d, NOW_EPOCH, "1.1")  # the DER form fits
    (big,) = cert.parse(_custom_ca("rsa2048", 900, tmp_path))
    expect("too_large", big, NOW_EPOCH, "1.1", "ca", "smaller certificate")


def test_unknown_firmware(good):
    with pytest.raises(cert.CertError, match="fw_version"):
        cert.check(load(good.ca.pem), NOW_EPOCH, "2.0")


def test_identifiers(good, tmp_path):
    ca = load(good.ca.pem)
    assert ca.ski == good.ca.ski and ca.auth == ca.ski
    assert cert.hex_id(ca.auth) == good.ca.ski.hex().upper() and len(cert.hex_id(ca.auth)) == 40
    assert cert.colon_hex(b"\x7f\xd3\x65") == "7F:D3:65"
    srv = load(good.server.pem)
    assert srv.aki == ca.ski and srv.san_dns == ["localhost"] and srv.san_ip == ["127.0.0.1"]
    assert ca.crl_urls == ["http://localhost/spwf04-test-ca.crl"] and srv.crl_urls == []
    assert ca.self_issued and not srv.self_issued
    # a CA without SKI: the key id it computes is what the server chain's AKI carries (what auth must say)
    noski = build_pki(tmp_path, ca_ski=False)
    c = load(noski.ca.pem)
    assert c.ski is None
    assert c.auth == c.key_id == load(noski.server.pem).aki


def test_key_id_sha1_fallback_matches_hashlib(good, monkeypatch):
    ca = load(good.ca.pem)
    ref = ca.key_id
    monkeypatch.setattr(cert, "_hsha1", None)
    rng = random.Random(5)
    import hashlib
    for n in list(range(0, 130)) + [rng.randrange(1000) for _ in range(20)]:
        data = rng.randbytes(n)
        assert cert._sha1(data) == hashlib.sha1(data).digest(), n
    assert load(good.ca.pem).key_id == ref


def test_epoch_conversion_round_trip():
    rng = random.Random(1)
    for s in [0, 951782400, 4102444799, 2**31, 253402300799] + [rng.randrange(0, 2**34) for _ in range(2000)]:
        t = cert.from_epoch(s)
        assert t == tuple(dt.datetime.fromtimestamp(s, dt.timezone.utc).timetuple()[:6])
        assert cert.to_epoch(t) == calendar.timegm(t + (0, 0, 0)) == s
