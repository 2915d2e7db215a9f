"""What cryptography says about a certificate, in spwf04.cert's field names (shared by the cert tests)."""

from __future__ import annotations

import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def _ext(cert: x509.Certificate, cls):
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def expected(cert: x509.Certificate) -> dict:
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    icn = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    bc = _ext(cert, x509.BasicConstraints)
    ski = _ext(cert, x509.SubjectKeyIdentifier)
    aki = _ext(cert, x509.AuthorityKeyIdentifier)
    san = _ext(cert, x509.SubjectAlternativeName)
    pub = cert.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        key_type, bits = "RSA", pub.key_size
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        key_type, bits = "EC", pub.key_size
    elif isinstance(pub, ed25519.Ed25519PublicKey):
        key_type, bits = "Ed25519", 256
    elif isinstance(pub, ed448.Ed448PublicKey):
        key_type, bits = "Ed448", 456
    else:
        raise AssertionError(f"unexpected key {pub!r}")
    return {
        "subject_cn": cn[-1].value if cn else None,
        "issuer_cn": icn[-1].value if icn else None,
        "subject_der": cert.subject.public_bytes(),
        "issuer_der": cert.issuer.public_bytes(),
        "not_before": tuple(cert.not_valid_before_utc.timetuple()[:6]),
        "not_after": tuple(cert.not_valid_after_utc.timetuple()[:6]),
        "is_ca": bool(bc and bc.ca),
        "path_len": bc.path_length if bc else None,
        "ski": ski.digest if ski else None,
        "aki": aki.key_identifier if aki else None,
        "key_id": x509.SubjectKeyIdentifier.from_public_key(pub).digest,
        "key_type": key_type,
        "key_bits": bits,
        "sig_alg": cert.signature_algorithm_oid._name,
        "der_len": len(cert.public_bytes(serialization.Encoding.DER)),
        "version": cert.version.value + 1,
        "san_dns": san.get_values_for_type(x509.DNSName) if san else [],
        "san_ip": [str(ipaddress.ip_address(a)) for a in san.get_values_for_type(x509.IPAddress)] if san else [],
    }


def actual(c) -> dict:
    """The same fields read from a spwf04.cert.Certificate (or a dict from the unix port)."""
    if isinstance(c, dict):
        return c
    return {k: getattr(c, k) for k in expected_keys()}


def expected_keys() -> list[str]:
    return ["subject_cn", "issuer_cn", "subject_der", "issuer_der", "not_before", "not_after", "is_ca", "path_len",
            "ski", "aki", "key_id", "key_type", "key_bits", "sig_alg", "der_len", "version", "san_dns", "san_ip"]


def diff(exp: dict, got: dict) -> dict:
    return {k: (got.get(k), v) for k, v in exp.items() if got.get(k) != v}
