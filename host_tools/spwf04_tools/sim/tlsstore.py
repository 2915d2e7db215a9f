"""The module's TLS credential store (TLSCERT ca/cert/key/auth) and certificate parsing helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization

_PEM_CERT_RE = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in PEM text (any line ends) or one DER certificate. ValueError if none."""
    blocks = _PEM_CERT_RE.findall(data)
    if blocks:
        return [x509.load_pem_x509_certificate(b.replace(b"\r\n", b"\n")) for b in blocks]
    if data[:1] == b"\x30":
        return [x509.load_der_x509_certificate(data)]
    raise ValueError("neither PEM certificate text nor a DER certificate")


def load_private_key_pem(data: bytes) -> bytes:
    """A PEM (PKCS#8, unencrypted) copy of a PEM or DER private key; ValueError if it is not one."""
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data.replace(b"\r\n", b"\n"), password=None)
        else:
            key = serialization.load_der_private_key(data, password=None)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not an unencrypted private key ({exc.__class__.__name__})") from None
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def subject_key_id(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return None


def authority_key_id(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except x509.ExtensionNotFound:
        return None


def colon_hex(data: bytes) -> str:
    """`7F:D3:65:...` as FW 1.1 prints a SubjectKeyId."""
    return ":".join(f"{b:02X}" for b in data)


@dataclass
class TlsStore:
    ca: bytes | None = None
    auth: bytes | None = None  # exactly as sent (hex text)
    cert: bytes | None = None
    key: bytes | None = field(default=None, repr=False)
    extracted_ski: bytes | None = None  # FW 1.1: the SKI read from the CA when it was loaded

    def clean(self) -> None:
        self.ca = self.auth = self.cert = self.key = self.extracted_ski = None

    def listing(self) -> dict[str, int]:
        return {"CA": int(self.ca is not None), "Cert": int(self.cert is not None),
                "Key": int(self.key is not None),
                "Id": int(self.auth is not None or self.extracted_ski is not None)}

    def key_id(self, use_extracted: bool, accept_colons: bool) -> bytes | None:
        """The key identifier the module selects the CA by: `auth` if stored, else (FW 1.1) the CA's SKI.

        A malformed `auth` yields an identifier that matches nothing (b"")."""
        if self.auth is not None:
            text = self.auth.strip().decode("ascii", "replace")
            if accept_colons:
                text = text.replace(":", "")
            try:
                return bytes.fromhex(text) if re.fullmatch(r"[0-9A-Fa-f]+", text) else b""
            except ValueError:
                return b""
        return self.extracted_ski if use_extracted else None

    def to_flash(self) -> dict[str, bytes | str | None]:
        return {"ca": self.ca, "auth": self.auth, "cert": self.cert, "key": self.key,
                "extracted_ski": self.extracted_ski}

    @classmethod
    def from_flash(cls, raw: dict[str, bytes | str | None]) -> "TlsStore":
        def b(name: str) -> bytes | None:
            v = raw.get(name)
            return v.encode() if isinstance(v, str) else v
        return cls(ca=b("ca"), auth=b("auth"), cert=b("cert"), key=b("key"), extracted_ski=b("extracted_ski"))

    def snapshot(self) -> "TlsStore":
        return TlsStore(self.ca, self.auth, self.cert, self.key, self.extracted_ski)
