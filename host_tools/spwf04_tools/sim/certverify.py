"""Server chain verification the way the module does it, at the module's clock (not the host's).

The module selects its CA by key identifier: the issuing certificate's Authority Key Identifier must equal
the stored `auth` (FW 1.1: or the SKI it extracted from the CA) [inferred]. Checks, in this order, each with
its own cause (mapped to a Certificate Error number by SimConfig.cert_errors, the simulator's choice):

1. cert_too_large     a certificate from the peer is larger than Behaviour.peer_cert_max_len
2. unsupported_key    a key the profile cannot use (FW 1.0: non-RSA; RSA above max_rsa_bits; DSA/EdDSA)
3. ca_not_found       no CA stored, no usable key id, or no certificate in the chain issued by the stored CA
4. bad_signature      a signature in the chain does not verify, or an issuer is not a CA
5. not_valid_at_clock a certificate (server, intermediates, stored CA) is outside its validity at the clock
6. name_mismatch      a domain was given and the server certificate does not carry it (SAN DNS, else CN)
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from .config import Behaviour
from .profiles import Profile
from .tlsstore import TlsStore, authority_key_id, load_certificates

# TLS alert descriptions sent to the server when the module rejects its certificate.
ALERT_BAD_CERTIFICATE = 42
ALERT_UNSUPPORTED_CERTIFICATE = 43
ALERT_CERTIFICATE_EXPIRED = 45
ALERT_UNKNOWN_CA = 48


@dataclass(frozen=True)
class CertFailure:
    cause: str  # a key of SimConfig.cert_errors
    detail: str  # for the simulator's log only
    alert: int = ALERT_BAD_CERTIFICATE


def verify_chain(chain_der: list[bytes], store: TlsStore, now: _dt.datetime, domain: str | None,
                 profile: Profile, behaviour: Behaviour) -> CertFailure | None:
    if not chain_der:
        return CertFailure("ca_not_found", "the server sent no certificate", ALERT_UNKNOWN_CA)
    for i, der in enumerate(chain_der):
        if len(der) > behaviour.peer_cert_max_len:
            return CertFailure("cert_too_large", f"certificate {i} is {len(der)} bytes "
                               f"(limit {behaviour.peer_cert_max_len})", ALERT_UNSUPPORTED_CERTIFICATE)
    try:
        chain = [x509.load_der_x509_certificate(d) for d in chain_der]
    except ValueError as exc:
        return CertFailure("bad_signature", f"unparseable certificate from the server: {exc}")
    for i, cert in enumerate(chain):
        problem = _key_problem(cert, profile, behaviour)
        if problem:
            return CertFailure("unsupported_key", f"certificate {i}: {problem}", ALERT_UNSUPPORTED_CERTIFICATE)

    if store.ca is None:
        return CertFailure("ca_not_found", "no CA loaded (TLSCERT=ca)", ALERT_UNKNOWN_CA)
    try:
        ca = load_certificates(store.ca)[0]
    except ValueError as exc:
        return CertFailure("ca_not_found", f"the stored CA cannot be parsed: {exc}", ALERT_UNKNOWN_CA)
    problem = _key_problem(ca, profile, behaviour)
    if problem:
        return CertFailure("unsupported_key", f"stored CA: {problem}", ALERT_UNSUPPORTED_CERTIFICATE)
    key_id = store.key_id(profile.extracts_ski or behaviour.fw10_ski == "extract", behaviour.auth_accept_colons)
    if key_id is None:
        return CertFailure("ca_not_found", "no CA key identifier (send TLSCERT=auth)", ALERT_UNKNOWN_CA)

    anchor = _anchor_index(chain, ca, key_id)
    if anchor is None:
        return CertFailure("ca_not_found", "no certificate in the chain names the stored key id "
                           f"{key_id.hex() or '(malformed auth)'} as its authority", ALERT_UNKNOWN_CA)

    path = chain[: anchor + 1] + [ca]
    for i in range(len(path) - 1):
        subject, issuer = path[i], path[i + 1]
        if not _is_ca(issuer):
            return CertFailure("bad_signature", f"issuer of certificate {i} is not a CA")
        try:
            subject.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature) as exc:
            return CertFailure("bad_signature", f"certificate {i} is not signed by its issuer ({exc or 'bad signature'})")

    for i, cert in enumerate(path):
        nb, na = cert.not_valid_before_utc, cert.not_valid_after_utc
        if now < nb or now > na:
            what = "stored CA" if i == len(path) - 1 else f"certificate {i}"
            state = "not yet valid" if now < nb else "expired"
            return CertFailure("not_valid_at_clock", f"{what} {state} at module time {now:%Y-%m-%d %H:%M:%S} "
                               f"(valid {nb:%Y-%m-%d} .. {na:%Y-%m-%d})",
                               ALERT_CERTIFICATE_EXPIRED if now > na else ALERT_BAD_CERTIFICATE)

    if domain is not None and not name_matches(chain[0], domain):
        return CertFailure("name_mismatch", f"server certificate does not name {domain!r}")
    return None


def _anchor_index(chain: list[x509.Certificate], ca: x509.Certificate, key_id: bytes) -> int | None:
    for i, cert in enumerate(chain):
        aki = authority_key_id(cert)
        if aki is not None:
            if key_id and aki == key_id:
                return i
        elif cert.issuer == ca.subject and cert.subject != cert.issuer:
            return i  # no AKI: fall back to the issuer name (simulator's choice)
    return None


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return cert.version == x509.Version.v1  # old v1 roots carry no extensions


def _key_problem(cert: x509.Certificate, profile: Profile, behaviour: Behaviour) -> str | None:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size > behaviour.max_rsa_bits:
            return f"RSA-{key.key_size} key (largest supported: {behaviour.max_rsa_bits})"
        return None
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not profile.tls_ecc:
            return f"EC key ({key.curve.name}); FW {profile.fw_version} does RSA only"
        if key.curve.name not in ("secp256r1", "secp384r1"):
            return f"EC curve {key.curve.name} unsupported"
        return None
    return f"{type(key).__name__.replace('PublicKey', '')} key unsupported"


def name_matches(cert: x509.Certificate, name: str) -> bool:
    name = name.strip().rstrip(".").lower()
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        ip = None
    if san is not None:
        if ip is not None:
            return ip in san.get_values_for_type(x509.IPAddress)
        dns = san.get_values_for_type(x509.DNSName)
        if dns:
            return any(_dns_match(p, name) for p in dns)
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return any(_dns_match(str(a.value), name) for a in cns)


def _dns_match(pattern: str, name: str) -> bool:
    pattern = pattern.strip().rstrip(".").lower()
    if pattern.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == name
