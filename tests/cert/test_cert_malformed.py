"""Malformed input of any kind gives CertError, never another exception (and never unbounded work)."""

from __future__ import annotations

import random

import pytest
from cryptography.hazmat.primitives import serialization

from spwf04 import cert
from spwf04_tools.pki import build_pki

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    d = tmp_path_factory.mktemp("mal")
    a = build_pki(d / "a")
    b = build_pki(d / "b", ca_key="ec256", server_key="ec256", ca_ski=False)
    return [a.ca.der.read_bytes(), a.server.der.read_bytes(), b.server.der.read_bytes(), a.ca.pem.read_bytes()]


def only_cert_error(data) -> None:
    """Parse; success is fine (some corruptions stay well-formed), any exception must be CertError."""
    try:
        for c in cert.parse(data):
            assert isinstance(c.subject_cn, (str, type(None)))
            assert len(c.not_before) == 6 and isinstance(c.key_bits, int)
            assert len(c.key_id) == 20
            repr(c)
    except cert.CertError as e:
        assert str(e) and e.code == "malformed"


def test_every_truncation(samples):
    for data in samples:
        for n in range(len(data)):
            cut = data[:n]
            if data[:1] == b"0":  # DER: every proper prefix is malformed
                with pytest.raises(cert.CertError):
                    cert.parse(cut)
            else:
                only_cert_error(cut)


def test_pem_truncations_raise(samples):
    pem = samples[3]
    end = pem.index(b"-----END")
    for n in range(0, end, 7):
        with pytest.raises(cert.CertError):
            cert.parse(pem[:n])


def test_random_corruption_fixed_seed(samples):
    rng = random.Random(20240611)
    for i in range(4000):
        data = bytearray(samples[i % 3])
        op = rng.randrange(4)
        for _ in range(rng.randrange(1, 4)):
            pos = rng.randrange(len(data))
            if op == 0:
                data[pos] = rng.randrange(256)
            elif op == 1:
                data[pos] ^= 1 << rng.randrange(8)
            elif op == 2:
                del data[pos:pos + rng.randrange(1, 8)]
            else:
                data[pos:pos] = rng.randbytes(rng.randrange(1, 8))
        only_cert_error(bytes(data))


def test_length_fields_corrupted_everywhere(samples):
    """Overwrite each length byte position with extreme values: lengths beyond the end, long forms."""
    der = samples[0]
    for pos in range(1, len(der)):
        for v in (0x00, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0x89, 0xFF):
            data = bytearray(der)
            data[pos] = v
            only_cert_error(bytes(data))


@pytest.mark.parametrize("data", [
    b"", b"\x30", b"\x30\x80\x00\x00", b"\x30\x84\xff\xff\xff\xff", b"\x30\x83\xff\xff\xff" + bytes(100),
    b"\x30\x82\xff\xff" + bytes(100), b"\x30\x00", b"\x30\x02\x30\x00", b"\x1f\x81\x00",
    b"\x30" + b"\x82\x10\x00" + b"\x30\x82\x0f\xfc" * 1000, b"\x30\x80" * 5000,
    bytes(range(256)) * 10, b"\x00" * 2000, b"\xff" * 2000, b"\x30\x81\x05\x30\x03\x30\x01",
    b"\x30" * 100000,
])
def test_hostile_der(data):
    with pytest.raises(cert.CertError):
        cert.parse(data)


def test_deep_nesting_and_huge_element_counts(samples):
    nested = b"\x05\x00"
    for _ in range(60):  # stays under 64 KB: SEQUENCE { SEQUENCE { ... } } 60 levels deep
        nested = b"\x30\x82" + len(nested).to_bytes(2, "big") + nested
    with pytest.raises(cert.CertError):
        cert.parse(nested)
    # a Name with 3000 RDNs: refused after the element cap, not walked in full
    rdns = b"\x31\x00" * 3000
    name = b"\x30\x82" + len(rdns).to_bytes(2, "big") + rdns
    tbs_body = b"\xa0\x03\x02\x01\x02\x02\x01\x01\x30\x00" + name
    tbs = b"\x30\x82" + len(tbs_body).to_bytes(2, "big") + tbs_body
    body = tbs + b"\x30\x03\x06\x01\x2a\x03\x01\x00"
    with pytest.raises(cert.CertError, match="more than 64"):
        cert.parse(b"\x30\x82" + len(body).to_bytes(2, "big") + body)


@pytest.mark.parametrize("data", [
    b"-----BEGIN CERTIFICATE-----\nMIIB\n",  # no END
    b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",  # empty
    b"-----BEGIN CERTIFICATE-----\nabcde\n-----END CERTIFICATE-----\n",  # bad base64 padding
    b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",  # base64 of garbage
    b"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",  # a key, not a certificate
    b"-----BEGIN CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    "-----BEGIN CERTIFICATE-----\n\u00e9\u00e9\u00e9\n-----END CERTIFICATE-----\n",
    b"hello world", "plain text",
])
def test_bad_pem(data):
    with pytest.raises(cert.CertError):
        cert.parse(data)


def test_key_material_never_echoed():
    secret = b"-----BEGIN PRIVATE KEY-----\nU0VDUkVUU0VDUkVU\n-----END PRIVATE KEY-----\n"
    with pytest.raises(cert.CertError) as ei:
        cert.parse(secret)
    assert "U0VDUkVU" not in str(ei.value)


@pytest.mark.parametrize("obj", [None, 123, 1.5, ["x"], {"a": 1}, object()])
def test_wrong_types(obj):
    with pytest.raises(cert.CertError):
        cert.parse(obj)


def test_trailing_data_after_der(samples):
    with pytest.raises(cert.CertError, match="after the certificate"):
        cert.parse(samples[0] + b"\x00")


def test_pem_trailing_key_block_is_skipped(samples):
    data = samples[3] + b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    (c,) = cert.parse(data)
    assert c.pem == samples[3]


def test_reencoded_pem_bundle_round_trip(samples):
    from cryptography import x509
    certs = [x509.load_der_x509_certificate(d) for d in samples[:3]]
    bundle = b"# comment\n" + b"\n".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
    assert [c.der for c in cert.parse(bundle)] == samples[:3]
