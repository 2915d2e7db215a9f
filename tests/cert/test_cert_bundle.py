"""spwf04.cert agrees with the cryptography package on every certificate of the machine's CA bundle."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certexpect import CA_BUNDLE, actual, diff, expected
from spwf04 import cert

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")]

BUNDLE = Path(CA_BUNDLE).read_bytes()
with warnings.catch_warnings():  # one bundle root has a non-positive serial number
    warnings.simplefilter("ignore")
    REFERENCE = x509.load_pem_x509_certificates(BUNDLE)


def test_bundle_is_big_enough_to_matter():
    assert len(REFERENCE) > 50


def test_every_bundle_certificate_agrees():
    mine = cert.parse(BUNDLE)
    assert len(mine) == len(REFERENCE)
    problems = {}
    for i, (m, r) in enumerate(zip(mine, REFERENCE)):
        d = diff(expected(r), actual(m))
        if d:
            problems[f"#{i} {m.subject_cn}"] = d
        assert m.der == r.public_bytes(serialization.Encoding.DER)
    assert problems == {}


def test_pem_blocks_are_the_exact_input_bytes():
    blocks = list(cert.iter_pem(BUNDLE))
    joined = b"".join(c.pem for c in blocks)
    # every byte of the bundle outside the PEM blocks is a comment or blank line
    assert all(c.pem.startswith(b"-----BEGIN CERTIFICATE-----") and c.pem.endswith(b"-----END CERTIFICATE-----\n")
               for c in blocks)
    assert len(joined) <= len(BUNDLE)
    for c in blocks[:10]:
        assert BUNDLE.find(c.pem) >= 0
        assert c.stored is c.pem


def test_der_input_gives_same_fields():
    for r in REFERENCE[::7]:
        der = r.public_bytes(serialization.Encoding.DER)
        (c,) = cert.parse(der)
        assert c.pem is None and c.stored == der
        assert diff(expected(r), actual(c)) == {}
        (c2,) = cert.parse(bytearray(der))
        assert c2.key_id == c.key_id
        (c3,) = cert.parse(memoryview(der))
        assert c3.subject_der == c.subject_der


def test_pem_as_str_and_crlf():
    r = REFERENCE[0]
    pem = r.public_bytes(serialization.Encoding.PEM).decode()
    (c,) = cert.parse(pem)
    assert c.pem == pem.encode()
    crlf = pem.replace("\n", "\r\n").encode()
    (c,) = cert.parse(crlf)
    assert c.pem == crlf  # the trailing CRLF belongs to the block: what the module is sent is the file
    assert c.der == r.public_bytes(serialization.Encoding.DER)


def test_iter_pem_is_lazy():
    it = cert.iter_pem(BUNDLE + b"-----BEGIN CERTIFICATE-----\nnot base64 at all!!\n-----END CERTIFICATE-----\n")
    first = next(it)
    assert first.subject_cn == expected(REFERENCE[0])["subject_cn"]
    with pytest.raises(cert.CertError):
        for _ in it:
            pass
