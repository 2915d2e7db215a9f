"""The CA file the module will trust, checked on the host (used by `spwf04 deploy` and `spwf04 doctor`).

`read_ca` turns a file into certificates or one line saying what the file is instead (missing, empty, a
private key, a certificate request, a truncated PEM, garbage) and what to pass. `is_ca`, `validity`,
`key_problem` and `driver_blob` are the individual checks the doctor turns into detailed findings;
`problems` runs them all and gives one line per failure, problem and fix, for deploy. X.509 is read with
the `cryptography` package, not with the device's loader. The file's content never appears in a message:
a private key given by mistake must not end up in a terminal or a log.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

# ST support: stored certificate bundle (TLSCERT=cert / tls.cert); unknown whether it caps `ca`, but the
# driver refuses a larger CA, so the host does too.
MAX_STORED = 1475
CA_HINT = "pass the CA certificate (BEGIN CERTIFICATE)"

# PEM labels that are not certificates, with what to call them in a message.
_PRIVATE_KEY = re.compile(rb"-----BEGIN (?:RSA |EC |DSA |ENCRYPTED |OPENSSH )?PRIVATE KEY-----")
_OTHER_PEM = (
    (_PRIVATE_KEY, "a private key"),
    (re.compile(rb"-----BEGIN (?:RSA )?PUBLIC KEY-----"), "a public key"),
    (re.compile(rb"-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----"), "a certificate request (CSR)"),
    (re.compile(rb"-----BEGIN X509 CRL-----"), "a certificate revocation list"),
    (re.compile(rb"-----BEGIN PKCS7-----"), "a PKCS#7 bundle"),
)
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----(?:\r\n|\n)?", re.S)


class CAInputError(ValueError):
    """The file cannot be used as a CA at all; the message is one line: the problem and the fix."""


@dataclass
class CAFile:
    path: str
    data: bytes  # the exact file bytes: what the driver sends with TLSCERT=ca (PEM on FW 1.0)
    form: str  # PEM | DER
    certs: list[x509.Certificate]


# ------------------------------------------------------------------------------------------------ reading

def read_ca(path: str | Path) -> CAFile:
    """The certificates of a CA file, or CAInputError naming what the file is instead."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise CAInputError(f"cannot read CA file {p}: {exc.strerror or exc}: give the path of the CA certificate "
                           "(PEM or DER)") from None
    if not data.strip():
        raise CAInputError(f"CA file {p} is empty: {CA_HINT}")
    if _PRIVATE_KEY.search(data) and b"-----BEGIN CERTIFICATE-----" in data:
        raise CAInputError(f"{p.name} holds a private key besides a certificate: pass the CA certificate alone "
                           "(a private key must never go to the board)")
    other = _not_a_certificate(data)
    if other:
        raise CAInputError(f"{p.name} is {other}, not a certificate: {CA_HINT}")
    if b"-----BEGIN CERTIFICATE-----" in data:
        return CAFile(str(p), data, "PEM", _parse_pem(p, data))
    if b"-----BEGIN" in data:
        raise CAInputError(f"{p.name} holds a PEM block that is not a certificate: {CA_HINT}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cert = x509.load_der_x509_certificate(data)
    except ValueError:
        raise CAInputError(f"{p.name} holds no readable X.509 certificate (neither PEM nor DER): export the CA "
                           "certificate as PEM or DER, e.g. openssl x509 -in ca.crt -out ca.pem") from None
    return CAFile(str(p), data, "DER", [cert])


def _not_a_certificate(data: bytes) -> str | None:
    """What the file is when it is a key or another PEM object rather than a certificate."""
    for pattern, what in _OTHER_PEM:
        if pattern.search(data) and b"-----BEGIN CERTIFICATE-----" not in data:
            return what
    if b"-----BEGIN" not in data and _is_der_private_key(data):
        return "a private key (DER)"
    return None


def _is_der_private_key(data: bytes) -> bool:
    try:
        serialization.load_der_private_key(data, password=None)
        return True
    except TypeError:  # encrypted: a key all the same
        return True
    except (ValueError, UnsupportedAlgorithm):  # not a DER private key
        return False


def _parse_pem(p: Path, data: bytes) -> list[x509.Certificate]:
    begins, ends = data.count(b"-----BEGIN CERTIFICATE-----"), data.count(b"-----END CERTIFICATE-----")
    if ends < begins:
        raise CAInputError(f"{p.name} is truncated: a BEGIN CERTIFICATE line has no END CERTIFICATE line; copy the "
                           "whole CA certificate again")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [x509.load_pem_x509_certificate(b) for b in _PEM_CERT.findall(data)]
    except ValueError:
        raise CAInputError(f"{p.name}: a certificate block is damaged (its base64 does not decode to X.509); copy "
                           "the whole CA certificate again, e.g. openssl x509 -in ca.crt -out ca.pem") from None


# ------------------------------------------------------------------------------------------ single checks

def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def validity(cert: x509.Certificate, now: int) -> str | None:
    """'not_yet_valid', 'expired', or None when the certificate is valid at the epoch `now`."""
    if now < int(cert.not_valid_before_utc.timestamp()):
        return "not_yet_valid"
    if now > int(cert.not_valid_after_utc.timestamp()):
        return "expired"
    return None


def key_desc(cert: x509.Certificate) -> tuple[str, int, str | None]:
    pub = cert.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        return "RSA", pub.key_size, None
    if isinstance(pub, ec.EllipticCurvePublicKey):
        return "EC", pub.key_size, pub.curve.name
    if isinstance(pub, ed25519.Ed25519PublicKey):
        return "Ed25519", 256, None
    if isinstance(pub, ed448.Ed448PublicKey):
        return "Ed448", 456, None
    return type(pub).__name__, 0, None


def key_problem(cert: x509.Certificate, fw: str) -> str | None:
    kind, bits, curve = key_desc(cert)
    if kind == "RSA":
        if bits > 2048:
            return (f"RSA-{bits}: RSA keys above 2048 bits are not usable (an RSA-4096 certificate in the chain "
                    "failed with Certificate Error:22 on FW 1.1; larger sizes are unverified)")
        if bits < 1024:
            return f"RSA-{bits} is too small for the module's TLS stack"
        return None
    if kind == "EC":
        if fw == "1.0":
            return f"EC {curve} key: FW 1.0 does RSA only (no ECDH/ECDSA)"
        if curve != "secp256r1":
            return f"EC {curve} key: only P-256 (secp256r1) is assumed to work on FW 1.1"
        return None
    return f"{kind} key: not supported by the module"


def pem_blocks(data: bytes) -> list[bytes]:
    """PEM certificate blocks as given: BEGIN line to END line plus one line end (spwf04.cert.iter_pem's rule)."""
    return _PEM_CERT.findall(data)


def driver_blob(ca: CAFile, anchor: x509.Certificate, fw: str) -> tuple[bytes, str]:
    """The bytes m.tls.load_ca() sends with TLSCERT=ca: on FW 1.0 PEM (the block as given, else encoded),
    on FW 1.1 DER (encoding=None: what worked on each firmware)."""
    if fw == "1.0":
        if ca.form == "PEM":
            want = der(anchor)
            for block in pem_blocks(ca.data):
                try:
                    if der(x509.load_pem_x509_certificate(block)) == want:
                        return block, "PEM"
                except ValueError:
                    continue
        return anchor.public_bytes(serialization.Encoding.PEM), "PEM"
    return der(anchor), "DER"


# ------------------------------------------------------------------------------------------ all at once

def problems(ca: CAFile, now: int, fw: str) -> list[str]:
    """Every reason the driver or the module would refuse this CA at epoch `now` on firmware `fw`: one line
    each, the problem then the fix. Empty: usable."""
    return list(_problems(ca, now, fw).values())


def _problems(ca: CAFile, now: int, fw: str) -> dict[str, str]:
    """problems() keyed by check (bundle, not_ca, dates, key, size)."""
    name = Path(ca.path).name
    if len(ca.certs) != 1:
        return {"bundle": f"{name} holds {len(ca.certs)} certificates: the module takes exactly one CA; keep only "
                          "the CA that issued the server's certificate in the file"}
    cert = ca.certs[0]
    what = f"{name} ('{_cn(cert)}')"
    out = {}
    if not is_ca(cert):
        out["not_ca"] = (f"{what} is not a CA certificate (no basicConstraints CA:TRUE): pass the CA that issued "
                         "the server's certificate, not the server certificate itself")
    when = validity(cert, now)
    if when:
        out["dates"] = (f"{what} {_date_text(cert, when, now)}: use a CA that is valid today (reissue the CA and "
                        "the server certificate)")
    why = key_problem(cert, fw)
    if why:
        out["key"] = (f"{what} has a key FW {fw} cannot use ({why}): reissue the CA with an RSA-2048 key"
                      + (" or EC P-256" if fw == "1.1" else ""))
    blob, enc = driver_blob(ca, cert, fw)
    if len(blob) > MAX_STORED:
        out["size"] = (f"{what} is {len(blob)} bytes as {enc} (what the driver sends on FW {fw}), over the module's "
                       f"{MAX_STORED}-byte limit: use a smaller CA certificate (RSA-2048, fewer extensions, shorter "
                       "names)")
    return out


def _cn(cert: x509.Certificate) -> str:
    attrs = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(attrs[-1].value) if attrs else cert.subject.rfc4514_string()


def _date_text(cert: x509.Certificate, when: str, now: int) -> str:
    today = dt.datetime.fromtimestamp(now, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if when == "expired":
        return f"expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC (today is {today})"
    return f"is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC (today is {today})"


def deploy_check(path: str | Path, now: int, fw: str | None) -> tuple[list[str], list[str]]:
    """(errors, notes) for `spwf04 deploy --ca`. Without a firmware profile the CA must suit FW 1.1, the more
    capable one (FW 1.0 takes a subset of its keys and sends the larger PEM); what only FW 1.0 refuses is a
    note. Raises CAInputError for a file that is no certificate at all."""
    ca = read_ca(path)
    if fw is not None:
        return problems(ca, now, fw), []
    errors = _problems(ca, now, "1.1")
    notes = [f"if the module runs FW 1.0: {line}" for code, line in _problems(ca, now, "1.0").items()
             if code not in errors]
    return list(errors.values()), notes
