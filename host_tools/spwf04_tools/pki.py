"""Test/demo PKI for the SPWF04SA TLS path, laid out like ST's one-way TLS example.

Usage:
    from spwf04_tools.pki import PKIOptions, build_pki
    pki = build_pki(tmp_path)                                  # good setup: CA (SKI, AKI, CRL DP) + server
    pki.ca.pem, pki.ca.der                                     # what the module is given (TLSCERT=ca)
    pki.server.pem, pki.server.key_pem, pki.chain_pem          # for `openssl s_server -cert/-key/-cert_chain`
    build_pki(d, PKIOptions(ca_key="rsa4096"))                 # key: rsa1024 | rsa2048 | rsa4096 | ec256
    build_pki(d, PKIOptions(ca_ski=False, ca_validity="expired", server_validity="not_yet_valid"))
    build_pki(d, PKIOptions(intermediate=True, send_intermediate=False))   # missing intermediate
    build_pki(d, PKIOptions(wrong_ca=True)); pki.wrong_ca.pem  # same CA name, other key: did not sign server
    build_pki(d, PKIOptions(server_cn="example.com", san_dns=("example.com",), san_ip=()))
Keys are cached per (type, role) for speed (a 4096-bit RSA key takes a second); fresh_keys=True opts out.
Private keys are test keys written unencrypted with mode 0600; never use them for anything real.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KeySpec = Literal["rsa1024", "rsa2048", "rsa4096", "ec256"]
Validity = Literal["valid", "expired", "not_yet_valid"]
PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]

KEY_SPECS: tuple[str, ...] = ("rsa1024", "rsa2048", "rsa4096", "ec256")
DEFAULT_CRL_URL = "http://localhost/spwf04-test-ca.crl"

_key_cache: dict[tuple[str, str], PrivateKey] = {}


def generate_key(spec: str, role: str = "", fresh: bool = False) -> PrivateKey:
    """A private key of the given spec; cached per (spec, role) unless fresh (distinct roles never share)."""
    if spec not in KEY_SPECS:
        raise ValueError(f"unknown key spec {spec!r}; use one of {', '.join(KEY_SPECS)}")
    cache_key = (spec, role)
    if not fresh and cache_key in _key_cache:
        return _key_cache[cache_key]
    key: PrivateKey
    if spec == "ec256":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=int(spec[3:]))
    if not fresh:
        _key_cache[cache_key] = key
    return key


def validity_window(kind: str, now: _dt.datetime) -> tuple[_dt.datetime, _dt.datetime]:
    """not_before/not_after for 'valid' (now-1d .. now+10y), 'expired' or 'not_yet_valid' at `now`."""
    day = _dt.timedelta(days=1)
    if kind == "valid":
        return now - day, now + 3650 * day
    if kind == "expired":
        return now - 730 * day, now - day
    if kind == "not_yet_valid":
        return now + day, now + 730 * day
    raise ValueError(f"unknown validity {kind!r}; use valid, expired or not_yet_valid")


@dataclass(frozen=True)
class Issued:
    """One certificate with its key and the files it was written to."""

    cert: x509.Certificate
    key: PrivateKey = field(repr=False)
    pem: Path
    der: Path
    key_pem: Path = field(repr=False)

    @property
    def ski(self) -> bytes | None:
        try:
            return self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        except x509.ExtensionNotFound:
            return None


@dataclass
class PKIOptions:
    ca_key: str = "rsa2048"
    intermediate_key: str = "rsa2048"
    server_key: str = "rsa2048"
    ca_ski: bool = True
    ca_crl_url: str | None = DEFAULT_CRL_URL  # ST's example CA carries a CRL distribution point
    server_crl_url: str | None = None
    ca_validity: str = "valid"
    intermediate_validity: str = "valid"
    server_validity: str = "valid"
    ca_not_before: _dt.datetime | None = None  # explicit windows override the *_validity choice
    ca_not_after: _dt.datetime | None = None
    server_not_before: _dt.datetime | None = None
    server_not_after: _dt.datetime | None = None
    intermediate: bool = False
    send_intermediate: bool = True
    wrong_ca: bool = False
    wrong_ca_same_name: bool = True  # the nastiest wrong CA: same subject, other key
    ca_cn: str = "SPWF04 Test Root CA"
    intermediate_cn: str = "SPWF04 Test Intermediate CA"
    server_cn: str | None = "localhost"
    san_dns: tuple[str, ...] = ("localhost",)
    san_ip: tuple[str, ...] = ("127.0.0.1",)
    organization: str = "SPWF04 test PKI"
    sig_hash: str = "sha256"  # sha256 | sha384 | sha512 | sha1
    pem_crlf: bool = False  # write ca.pem with CRLF line ends (as in the spec's FW 1.0 log)
    now: _dt.datetime | None = None
    fresh_keys: bool = False


@dataclass(frozen=True)
class PKI:
    directory: Path
    options: PKIOptions
    ca: Issued  # the CA given to the module
    server: Issued
    intermediate: Issued | None
    wrong_ca: Issued | None
    chain_pem: Path | None  # intermediates the server sends after its own certificate (s_server -cert_chain)
    fullchain_pem: Path  # server certificate + sent intermediates

    @property
    def ca_pem(self) -> Path:
        return self.ca.pem

    @property
    def ca_der(self) -> Path:
        return self.ca.der


_HASHES = {"sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


def _name(cn: str | None, org: str) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    if cn:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _crl_dp(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints(
        [x509.DistributionPoint(full_name=[x509.UniformResourceIdentifier(url)], relative_name=None,
                                reasons=None, crl_issuer=None)])


def _aki_for(issuer_cert: x509.Certificate | None, issuer_key: PrivateKey) -> x509.AuthorityKeyIdentifier:
    if issuer_cert is not None:
        try:
            ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
        except x509.ExtensionNotFound:
            pass
    # issuer without SKI: the RFC 5280 method-1 identifier of its key, as OpenSSL would compute it
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key())


def make_ca(cn: str, key: PrivateKey, not_before: _dt.datetime, not_after: _dt.datetime, *,
            issuer: Issued | None = None, ski: bool = True, crl_url: str | None = None,
            organization: str = "SPWF04 test PKI", sig_hash: str = "sha256") -> x509.Certificate:
    """A CA certificate: self-signed root when issuer is None, else an intermediate signed by issuer."""
    subject = _name(cn, organization)
    sign_key = issuer.key if issuer else key
    b = (x509.CertificateBuilder()
         .subject_name(subject)
         .issuer_name(issuer.cert.subject if issuer else subject)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(not_before)
         .not_valid_after(not_after)
         .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                      data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                      crl_sign=True, encipher_only=False, decipher_only=False), critical=True))
    if ski:
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    if issuer is not None:
        b = b.add_extension(_aki_for(issuer.cert, issuer.key), critical=False)
    elif ski:
        b = b.add_extension(_aki_for(None, key), critical=False)  # self AKI = own SKI, as ST's example CA
    if crl_url:
        b = b.add_extension(_crl_dp(crl_url), critical=False)
    return b.sign(sign_key, _HASHES[sig_hash]())


def make_server_cert(issuer: Issued, key: PrivateKey, not_before: _dt.datetime, not_after: _dt.datetime, *,
                     cn: str | None = "localhost", san_dns: tuple[str, ...] = ("localhost",),
                     san_ip: tuple[str, ...] = ("127.0.0.1",), crl_url: str | None = None,
                     organization: str = "SPWF04 test PKI", sig_hash: str = "sha256") -> x509.Certificate:
    """A TLS server certificate signed by issuer, AKI = issuer's SKI."""
    is_rsa = isinstance(key, rsa.RSAPrivateKey)
    b = (x509.CertificateBuilder()
         .subject_name(_name(cn, organization))
         .issuer_name(issuer.cert.subject)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(not_before)
         .not_valid_after(not_after)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=is_rsa,
                                      data_encipherment=False, key_agreement=not is_rsa, key_cert_sign=False,
                                      crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
         .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
         .add_extension(_aki_for(issuer.cert, issuer.key), critical=False))
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in san_dns]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in san_ip]
    if names:
        b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if crl_url:
        b = b.add_extension(_crl_dp(crl_url), critical=False)
    return b.sign(issuer.key, _HASHES[sig_hash]())


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def write_issued(directory: Path, stem: str, cert: x509.Certificate, key: PrivateKey,
                 crlf: bool = False) -> Issued:
    """Write <stem>.pem, <stem>.der and <stem>.key into directory."""
    pem = cert.public_bytes(serialization.Encoding.PEM)
    if crlf:
        pem = pem.replace(b"\n", b"\r\n")
    (directory / f"{stem}.pem").write_bytes(pem)
    (directory / f"{stem}.der").write_bytes(cert.public_bytes(serialization.Encoding.DER))
    _write_private(directory / f"{stem}.key", key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return Issued(cert, key, directory / f"{stem}.pem", directory / f"{stem}.der", directory / f"{stem}.key")


def build_pki(directory: str | os.PathLike[str], options: PKIOptions | None = None, **overrides: object) -> PKI:
    """Build a CA (+ optional intermediate and wrong CA) and a server certificate into directory."""
    o = options or PKIOptions()
    if overrides:
        o = PKIOptions(**{**o.__dict__, **overrides})  # type: ignore[arg-type]
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    now = o.now or _dt.datetime.now(_dt.timezone.utc)
    if o.sig_hash not in _HASHES:
        raise ValueError(f"unknown sig_hash {o.sig_hash!r}; use one of {', '.join(_HASHES)}")

    ca_nb, ca_na = validity_window(o.ca_validity, now)
    ca_key = generate_key(o.ca_key, "ca", o.fresh_keys)
    ca_cert = make_ca(o.ca_cn, ca_key, o.ca_not_before or ca_nb, o.ca_not_after or ca_na, ski=o.ca_ski,
                      crl_url=o.ca_crl_url, organization=o.organization, sig_hash=o.sig_hash)
    ca = write_issued(d, "ca", ca_cert, ca_key, crlf=o.pem_crlf)

    signer = ca
    intermediate = None
    if o.intermediate:
        i_nb, i_na = validity_window(o.intermediate_validity, now)
        i_key = generate_key(o.intermediate_key, "intermediate", o.fresh_keys)
        i_cert = make_ca(o.intermediate_cn, i_key, i_nb, i_na, issuer=ca, crl_url=o.ca_crl_url,
                         organization=o.organization, sig_hash=o.sig_hash)
        intermediate = signer = write_issued(d, "intermediate", i_cert, i_key)

    s_nb, s_na = validity_window(o.server_validity, now)
    s_key = generate_key(o.server_key, "server", o.fresh_keys)
    s_cert = make_server_cert(signer, s_key, o.server_not_before or s_nb, o.server_not_after or s_na,
                              cn=o.server_cn, san_dns=tuple(o.san_dns), san_ip=tuple(o.san_ip),
                              crl_url=o.server_crl_url, organization=o.organization, sig_hash=o.sig_hash)
    server = write_issued(d, "server", s_cert, s_key)

    wrong = None
    if o.wrong_ca:
        w_key = generate_key(o.ca_key, "wrong_ca", o.fresh_keys)
        w_cn = o.ca_cn if o.wrong_ca_same_name else "SPWF04 Unrelated CA"
        w_cert = make_ca(w_cn, w_key, ca_nb, ca_na, ski=True, crl_url=None, organization=o.organization,
                         sig_hash=o.sig_hash)
        wrong = write_issued(d, "wrong-ca", w_cert, w_key)

    sent = [intermediate] if intermediate is not None and o.send_intermediate else []
    chain_pem = None
    if sent:
        chain_pem = d / "server-chain.pem"
        chain_pem.write_bytes(b"".join(i.pem.read_bytes() for i in sent))
    fullchain = d / "server-fullchain.pem"
    fullchain.write_bytes(server.pem.read_bytes() + (chain_pem.read_bytes() if chain_pem else b""))
    return PKI(d, o, ca, server, intermediate, wrong, chain_pem, fullchain)
