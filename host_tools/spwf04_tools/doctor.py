"""Explain why a CA / server / clock setup will or will not work with the SPWF04SA's TLS client.

spwf04 doctor --ca FILE [--server HOST:PORT] [--name NAME] [--time EPOCH|now|unset] [--fw 1.0|1.1] [--json]

Reads the CA (PEM/DER, bundles); with --server, connects to it (TLS, no verification) to collect the chain it
presents and probes the TLS versions and cipher suites it accepts. Every check becomes a numbered finding with
a severity (error, warning, info, ok) and a fix; a verdict (FAIL, WARN, OK) and the exact AT command sequence
the driver will send for this CA follow. Exit status: 0 OK/WARN, 1 FAIL, 2 unusable input.
X.509 is handled by the `cryptography` package (not by the device's loader). See docs/doctor.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import logging
import re
import socket
import ssl
import subprocess
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID

from spwf04_tools import device_path
from spwf04_tools.sim import tlsclient as _tlsclient
# The CA file checks deploy shares (reading, CA flag, dates, key, size): one implementation, in cacheck.
from spwf04_tools.cacheck import (MAX_STORED, CAFile, CAInputError, der, driver_blob, is_ca, key_desc,  # noqa: F401
                                  key_problem, read_ca, validity)

device_path()
from spwf04 import utc as _utc  # noqa: E402  (the driver's clock floor: one value for board and host)

log = logging.getLogger(__name__)

# ---- the module's limits (spec sections 6.14, 7, 7.1); values beyond the reports there are assumptions ----
MAX_PEER_CERT = 2560  # ST support: "each certificate received from the peer <= about 2.5 KB"
CLOCK_MIN = _utc.CLOCK_MIN  # 2017-01-01, the driver's clock floor: an earlier module clock is unset or wrong
CLOCK_MAX = 4102444800  # 2100-01-01
MODULE_TLS_VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2")  # SEVENSTAX: TLS 1.0-1.2 with downgrade [confirmed]
# The module's suite offer per profile: the simulator's explicit list (sim/tlsclient.py), one source for both.
FW10_SUITES = _tlsclient.FW10_SUITES
FW11_EXTRA_SUITES = _tlsclient.FW11_EXTRA_SUITES
SEVERITIES = ("error", "warning", "info", "ok")

_SHA1_SIGS = {SignatureAlgorithmOID.RSA_WITH_SHA1, SignatureAlgorithmOID.ECDSA_WITH_SHA1}
_WEAK_SIGS = {SignatureAlgorithmOID.RSA_WITH_MD5}


def module_suites(fw: str) -> tuple[str, ...]:
    return _tlsclient.module_suites(fw)


# ---------------------------------------------------------------------------------------------- data model

@dataclass
class Finding:
    code: str  # stable identifier (documented in docs/doctor.md)
    severity: str  # error | warning | info | ok
    title: str
    detail: str = ""
    fix: str = ""
    number: int = 0


@dataclass
class ServerInfo:
    host: str
    port: int
    chain: list[x509.Certificate] = field(default_factory=list)
    version: str | None = None
    cipher: str | None = None
    error: str | None = None  # connection / handshake failure of the chain-collecting handshake
    error_stage: str | None = None  # "connect" or "handshake"
    versions: dict[str, bool] = field(default_factory=dict)  # probed protocol versions -> accepted
    suites: dict[str, bool] = field(default_factory=dict)  # probed module suites (TLS 1.2) -> accepted
    module_cipher: str | None = None  # what the module's whole offer negotiates ("version suite") or why none


@dataclass
class Report:
    verdict: str
    findings: list[Finding]
    commands: list[dict[str, Any]]
    ca: dict[str, Any]
    server: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "findings": [asdict(f) for f in self.findings],
                "commands": self.commands, "ca": self.ca, "server": self.server}


class DoctorInputError(Exception):
    """The CA file or another argument cannot be used at all."""


# ------------------------------------------------------------------------------------------- X.509 helpers

def cn(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[-1].value) if attrs else name.rfc4514_string()


def ext(cert: x509.Certificate, cls: type) -> Any:
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def ski_of(cert: x509.Certificate) -> bytes | None:
    v = ext(cert, x509.SubjectKeyIdentifier)
    return v.digest if v else None


def key_id(cert: x509.Certificate) -> bytes:
    """RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING (what OpenSSL puts in AKIs)."""
    return x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest


def auth_id(cert: x509.Certificate) -> bytes:
    """What the driver sends with TLSCERT=auth: the CA's SKI, or its method-1 key id when it has none."""
    return ski_of(cert) or key_id(cert)


def aki_of(cert: x509.Certificate) -> bytes | None:
    v = ext(cert, x509.AuthorityKeyIdentifier)
    return v.key_identifier if v else None


def hexid(b: bytes) -> str:
    return b.hex().upper()


def sig_problem(cert: x509.Certificate, fw: str) -> tuple[str, str] | None:
    """(severity, reason) when the module cannot (or may not) verify this certificate's signature."""
    oid = cert.signature_algorithm_oid
    name = oid._name  # noqa: SLF001 - the OpenSSL-style name, for messages
    if oid in _WEAK_SIGS:
        return "error", f"{name}: MD5 signatures are broken and refused by TLS stacks"
    if oid in (SignatureAlgorithmOID.ED25519, SignatureAlgorithmOID.ED448, SignatureAlgorithmOID.RSASSA_PSS):
        return "error", f"{name}: not supported by the module's TLS stack (TLS 1.2 era, no EdDSA/PSS certificates)"
    if name.startswith("ecdsa") and fw == "1.0":
        return "error", f"{name}: FW 1.0 cannot verify ECDSA signatures"
    if oid in _SHA1_SIGS:
        return "info", f"{name}: SHA-1 signature, accepted by old stacks but deprecated"
    return None


def fmt_time(t: dt.datetime | int) -> str:
    if isinstance(t, int):
        t = dt.datetime.fromtimestamp(t, dt.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S UTC")


def issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Name chaining plus a valid signature."""
    try:
        child.verify_directly_issued_by(issuer)
        return True
    except (ValueError, TypeError, InvalidSignature):
        return False


def name_matches(pattern: str, name: str) -> bool:
    """RFC 6125 DNS-ID matching: case-insensitive, a wildcard only as the whole left-most label."""
    p, n = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if "*" not in p:
        return p == n
    plabels, nlabels = p.split("."), n.split(".")
    if plabels[0] != "*" or "*" in ".".join(plabels[1:]) or len(plabels) < 3:
        return False  # partial wildcards, wildcards below a public suffix: refuse, as modern clients do
    return len(plabels) == len(nlabels) and plabels[1:] == nlabels[1:] and nlabels[0] != ""


def match_name(cert: x509.Certificate, name: str) -> tuple[str, str]:
    """('san'|'cn'|'none', what matched or what is there)."""
    san = ext(cert, x509.SubjectAlternativeName)
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        ip = None
    if san is not None:
        if ip is not None:
            ips = san.get_values_for_type(x509.IPAddress)
            if ip in ips:
                return "san", f"IP:{ip}"
        else:
            for dns in san.get_values_for_type(x509.DNSName):
                if name_matches(dns, name):
                    return "san", f"DNS:{dns}"
    cns = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    for c in cns:
        if (ip is not None and c == str(ip)) or (ip is None and name_matches(c, name)):
            return "cn", f"CN={c}"
    have = []
    if san is not None:
        have += [f"DNS:{d}" for d in san.get_values_for_type(x509.DNSName)]
        have += [f"IP:{a}" for a in san.get_values_for_type(x509.IPAddress)]
    have += [f"CN={c}" for c in cns]
    return "none", ", ".join(have) or "no names at all"


# ------------------------------------------------------------------------------------------------- inputs

def load_ca(path: str | Path) -> CAFile:
    try:
        return read_ca(path)
    except CAInputError as exc:  # a key, a request, garbage...: named, with what to give instead
        raise DoctorInputError(str(exc)) from None


def parse_time(value: str | None) -> int | None:
    """--time: 'now' (default; the driver sets the module clock from the host), an epoch, or 'unset'."""
    if value is None or value == "now":
        return int(time.time())
    if value in ("unset", "none"):
        return None
    try:
        return int(value)
    except ValueError:
        raise DoctorInputError(f"--time {value!r}: give a UNIX epoch, 'now' or 'unset'") from None


def parse_server(value: str) -> tuple[str, int]:
    m = re.fullmatch(r"\[?([^\]]+?)\]?:(\d{1,5})", value)
    if not m or not 0 < int(m.group(2)) < 65536:
        raise DoctorInputError(f"--server {value!r}: use HOST:PORT, e.g. 127.0.0.1:4433")
    return m.group(1), int(m.group(2))


def _client_context(versions: tuple[str, str] | None = None, ciphers: str = "ALL:@SECLEVEL=0") -> ssl.SSLContext:
    """A client that accepts anything: the doctor wants to see the server, not to trust it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers(ciphers)
    if versions:
        with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated in Python, but the module speaks them
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = getattr(ssl.TLSVersion, versions[0].replace(".", "_"))
            ctx.maximum_version = getattr(ssl.TLSVersion, versions[1].replace(".", "_"))
    return ctx


class _ConnectError(OSError):
    pass


def _handshake(host: str, port: int, ctx: ssl.SSLContext, timeout: float,
               server_name: str | None) -> ssl.SSLSocket:
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise _ConnectError(exc.errno, f"connect to {host}:{port}: {exc.strerror or exc}") from None
    try:
        tls = ctx.wrap_socket(raw, server_hostname=server_name)
    except BaseException:
        raw.close()
        raise
    return tls


def _chain_via_s_client(host: str, port: int, timeout: float, server_name: str | None) -> list[x509.Certificate]:
    args = ["openssl", "s_client", "-connect", f"{host}:{port}", "-showcerts", "-cipher", "ALL:@SECLEVEL=0"]
    if server_name:
        args += ["-servername", server_name]
    r = subprocess.run(args, input=b"", capture_output=True, timeout=timeout + 5)
    return x509.load_pem_x509_certificates(r.stdout) if b"-----BEGIN CERTIFICATE" in r.stdout else []


def collect_server(host: str, port: int, fw: str, timeout: float = 5.0, server_name: str | None = None,
                   probe: bool = True) -> ServerInfo:
    """Connect, collect the presented chain, probe versions and the module's suites."""
    info = ServerInfo(host, port)
    sni = server_name if server_name and not _is_ip(server_name) else None
    try:
        with _handshake(host, port, _client_context(), timeout, sni) as tls:
            info.version = tls.version()
            info.cipher = (tls.cipher() or (None,))[0]
            get_chain = getattr(tls, "get_unverified_chain", None) or getattr(tls._sslobj, "get_unverified_chain",
                                                                              None)
            if get_chain is not None:
                info.chain = [x509.load_der_x509_certificate(c.public_bytes(ssl._ssl.ENCODING_DER))
                              for c in (get_chain() or [])]
            else:  # Python < 3.10: ask openssl
                info.chain = _chain_via_s_client(host, port, timeout, sni)
    except (OSError, ssl.SSLError) as exc:
        info.error = str(exc) if isinstance(exc, _ConnectError) else f"{type(exc).__name__}: {exc}"
        info.error_stage = "connect" if isinstance(exc, _ConnectError) else "handshake"
        return info
    info.module_cipher = _module_offer(host, port, fw, timeout, sni)
    if probe:
        for v in ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"):
            info.versions[v] = _accepts(host, port, _client_context((v, v)), timeout, sni)
        for suite in module_suites(fw):
            try:
                ctx = _client_context(("TLSv1", "TLSv1.2"), f"{suite}:@SECLEVEL=0")
            except ssl.SSLError:  # this OpenSSL build lacks the suite: cannot probe it
                continue
            info.suites[suite] = _accepts(host, port, ctx, timeout, sni)
    return info


def _module_offer(host: str, port: int, fw: str, timeout: float, sni: str | None) -> str:
    """The suite the server picks from the module's offer (TLS 1.0-1.2, P-256), as 'version suite'."""
    ctx = _client_context(("TLSv1", "TLSv1.2"), _tlsclient.cipher_string(fw))
    ctx.set_ecdh_curve(_tlsclient.ECDH_CURVE)
    try:
        with _handshake(host, port, ctx, timeout, sni) as tls:
            return f"{tls.version()} {(tls.cipher() or ('?',))[0]}"
    except (OSError, ssl.SSLError) as exc:
        return f"none: the server accepts no suite of FW {fw}'s offer ({getattr(exc, 'reason', None) or exc})"


def _accepts(host: str, port: int, ctx: ssl.SSLContext, timeout: float, sni: str | None) -> bool:
    try:
        with _handshake(host, port, ctx, timeout, sni):
            return True
    except (OSError, ssl.SSLError):
        return False


def _is_ip(s: str) -> bool:
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        return False


# ----------------------------------------------------------------------------------------------- analysis

class _Findings:
    def __init__(self) -> None:
        self.items: list[Finding] = []

    def add(self, code: str, severity: str, title: str, detail: str = "", fix: str = "") -> Finding:
        assert severity in SEVERITIES
        f = Finding(code, severity, title, detail, fix, len(self.items) + 1)
        self.items.append(f)
        return f


def choose_ca(ca: CAFile, chain: list[x509.Certificate]) -> x509.Certificate:
    """The bundle member that issued the top of the presented chain, else the first one."""
    if chain:
        for top in reversed(chain):
            for c in ca.certs:
                if issued_by(top, c) or der(top) == der(c):
                    return c
    return ca.certs[0]


def analyse(ca: CAFile, server: ServerInfo | None, name: str | None, now: int | None, fw: str) -> Report:
    f = _Findings()
    chain = server.chain if server else []
    anchor = choose_ca(ca, chain)
    _check_ca(f, ca, anchor, now, fw)
    if server is not None:
        _check_server(f, ca, anchor, server, name, now, fw)
    crl_holders = [c for c in [anchor] + chain if ext(c, x509.CRLDistributionPoints) is not None]
    if crl_holders:
        urls = sorted({n.value for c in crl_holders for dp in ext(c, x509.CRLDistributionPoints)
                       for n in (dp.full_name or []) if isinstance(n, x509.UniformResourceIdentifier)})
        f.add("crl_dp", "info", "CRL distribution point present: the module does not fetch CRLs",
              f"{', '.join(cn(c.subject) for c in crl_holders)} name(s) a CRL ({', '.join(urls) or 'no URI'}). "
              "The module never downloads CRLs, so revocation is not checked: a revoked server certificate "
              "would still be accepted, and the CRL distribution point itself causes no failure.",
              "Nothing to do for the connection; revoke by replacing the CA or the server certificate.")
    commands = at_sequence(ca, anchor, server, name, now, fw)
    errors = sum(1 for x in f.items if x.severity == "error")
    warnings_ = sum(1 for x in f.items if x.severity == "warning")
    verdict = "FAIL" if errors else "WARN" if warnings_ else "OK"
    kind, bits, curve = key_desc(anchor)
    ca_info = {"path": ca.path, "form": ca.form, "file_bytes": len(ca.data), "certificates": len(ca.certs),
               "subject": anchor.subject.rfc4514_string(), "ski": hexid(ski_of(anchor)) if ski_of(anchor) else None,
               "key_id": hexid(key_id(anchor)), "auth": hexid(auth_id(anchor)), "key": f"{kind}-{bits}",
               "not_before": fmt_time(anchor.not_valid_before_utc),
               "not_after": fmt_time(anchor.not_valid_after_utc)}
    srv_info = None
    if server is not None:
        srv_info = {"host": server.host, "port": server.port, "version": server.version, "cipher": server.cipher,
                    "module_cipher": server.module_cipher,
                    "error": server.error, "chain": [cn(c.subject) for c in chain],
                    "versions": server.versions, "suites": server.suites}
    return Report(verdict, f.items, commands, ca_info, srv_info)


def _validity(f: _Findings, cert: x509.Certificate, now: int, what: str, code_prefix: str, fix: str) -> bool:
    nb, na = int(cert.not_valid_before_utc.timestamp()), int(cert.not_valid_after_utc.timestamp())
    when = validity(cert, now)
    if when == "not_yet_valid":
        f.add(f"{code_prefix}_not_yet_valid", "error", f"{what} is not valid yet at the module clock",
              f"valid from {fmt_time(nb)}; module clock {fmt_time(now)}.",
              "Check the clock the driver sets (AT+S.TIME); otherwise " + fix)
        return False
    if when == "expired":
        f.add(f"{code_prefix}_expired", "error", f"{what} expired",
              f"expired {fmt_time(na)}; module clock {fmt_time(now)}.", fix)
        return False
    return True


def _check_ca(f: _Findings, ca: CAFile, anchor: x509.Certificate, now: int | None, fw: str) -> None:
    name = cn(anchor.subject)
    if len(ca.certs) > 1:
        f.add("ca_bundle", "error", f"CA file holds {len(ca.certs)} certificates",
              "The driver's m.tls.load_ca() takes exactly one CA (the module stores one); it refuses a bundle. "
              f"The doctor checks '{name}', the member that issued the server's chain (else the first).",
              f"Give a file with just the CA that issued the server's chain ('{name}').")
    # clock
    clock_ok = False
    if now is None or now == 0:
        f.add("clock_unset", "error", "module clock unset",
              "The module checks certificate dates against its own clock, which is not set after a reset; "
              "every validity check then fails (typically Certificate Error on SOCKON).",
              "Set the clock before loading certificates: AT+S.TIME=<UNIX epoch> (the driver does it when given "
              "the time; on the board sync time first, e.g. from the host at deploy or NTP).")
    elif not CLOCK_MIN <= now < CLOCK_MAX:
        hint = " It looks like seconds since 2000: add 946684800." if CLOCK_MIN <= now + 946684800 < CLOCK_MAX else ""
        f.add("clock_implausible", "error", "module clock implausible",
              f"{fmt_time(now)} is before 2017 or after 2099.{hint}",
              "Set the real UTC time with AT+S.TIME=<UNIX epoch>.")
    else:
        clock_ok = True
    if clock_ok and now is not None:
        if _validity(f, anchor, now, f"CA '{name}'", "ca", "use a CA that is valid now (reissue the CA and the "
                     "server certificate)."):
            f.add("ca_valid", "ok", f"CA '{name}' valid at the module clock",
                  f"{fmt_time(anchor.not_valid_before_utc)} .. {fmt_time(anchor.not_valid_after_utc)}")
    # CA flag
    if not is_ca(anchor):
        f.add("ca_not_ca", "error", f"'{name}' is not a CA certificate",
              "It has no basicConstraints CA:TRUE" + (" (it looks like a server certificate)" if
                                                      ext(anchor, x509.SubjectAlternativeName) else "") + ".",
              "Load the CA that issued the server certificate, not the server certificate itself.")
    else:
        ku = ext(anchor, x509.KeyUsage)
        if ku is not None and not ku.key_cert_sign:
            f.add("ca_key_usage", "error", f"CA '{name}' may not sign certificates",
                  "Its keyUsage lacks keyCertSign.", "Reissue the CA with keyUsage keyCertSign, cRLSign.")
        else:
            f.add("ca_flag", "ok", f"'{name}' is a CA (basicConstraints CA:TRUE)")
    # SKI / auth
    ski = ski_of(anchor)
    if ski is None:
        f.add("ca_no_ski", "warning", "CA has no Subject Key Identifier",
              "The module selects the CA by key identifier (the server certificate's AKI must equal the CA's "
              "SKI). FW 1.0 prints 'AT-S.No SubjectKeyId' and FW 1.1 has nothing to print; the driver sends the "
              f"computed RFC 5280 method-1 key identifier {hexid(key_id(anchor))} as auth. That works when the "
              "server certificate's AKI is that same identifier (OpenSSL's default).",
              "Best: reissue the CA with subjectKeyIdentifier=hash (and the server certificate with "
              "authorityKeyIdentifier=keyid).")
    else:
        same = " (= its method-1 key identifier)" if ski == key_id(anchor) else \
            " (not the method-1 hash of its key: fine, the SKI is what is compared)"
        f.add("ca_ski", "ok", "CA Subject Key Identifier present",
              f"SKI {hexid(ski)}{same}; sent as TLSCERT=auth.")
    # key and signature
    why = key_problem(anchor, fw)
    kind, bits, curve = key_desc(anchor)
    if why:
        f.add("key_unsupported", "error", f"CA key not usable on FW {fw}", f"'{name}': {why}.",
              "Reissue the CA (and the server certificate) with an RSA-2048 key"
              + (" or EC P-256" if fw == "1.1" else "") + ".")
    else:
        f.add("ca_key", "ok", f"CA key {kind}-{bits}{' ' + curve if curve else ''} usable on FW {fw}")
    # the CA's own signature is not verified by TLS clients (it is the trust anchor): only report MD5
    if anchor.signature_algorithm_oid in _WEAK_SIGS:
        f.add("sig_alg_unsupported", "warning", f"CA '{name}' is self-signed with MD5",
              "Trust anchors' own signatures are normally not checked, but some stacks refuse MD5 anywhere.",
              "Reissue the CA with SHA-256.")
    blob = _check_ca_size(f, ca, anchor, fw)
    _cross_check_driver(f, anchor, blob, now, fw)


def _check_ca_size(f: _Findings, ca: CAFile, anchor: x509.Certificate, fw: str) -> bytes:
    """The size of what the driver sends (PEM on FW 1.0, DER on FW 1.1, as tls.py's load_ca does by default)
    against the limit; returns those bytes."""
    blob, enc = driver_blob(ca, anchor, fw)
    other = "DER" if enc == "PEM" else "PEM"
    other_len = len(der(anchor)) if other == "DER" else len(driver_blob(ca, anchor, "1.0")[0])
    if len(blob) > MAX_STORED:
        f.add("ca_size", "error", f"CA as {enc} is {len(blob)} bytes, over the module's {MAX_STORED}-byte limit",
              f"The driver sends {enc} on FW {fw} and refuses more than {MAX_STORED} bytes (ST's limit for stored "
              f"certificates; whether the module applies it to TLSCERT=ca is unknown). As {other} it is "
              f"{other_len} bytes.",
              (f"Load it as {other}: m.tls.load_ca(..., encoding='{other.lower()}')"
               + " (PEM worked on FW 1.0, DER on FW 1.1; the other combinations are untested)")
              if other_len <= MAX_STORED
              else "Use a CA with a smaller certificate (RSA-2048 or EC P-256, fewer extensions, shorter names).")
    else:
        f.add("ca_size_ok", "ok", f"CA as {enc}: {len(blob)} bytes (limit {MAX_STORED})")
    return blob


_DEVICE_CODES = {"expired": "ca_expired", "not_yet_valid": "ca_not_yet_valid", "clock_unset": "clock_unset",
                 "clock_implausible": "clock_implausible", "not_ca": "ca_not_ca", "key_unsupported": "key_unsupported",
                 "too_large": "ca_size"}


def _cross_check_driver(f: _Findings, anchor: x509.Certificate, blob: bytes, now: int | None, fw: str) -> None:
    """Run the device's own loader and pre-flight check (spwf04.cert, as the driver will) on the bytes it
    sends; a refusal the host checks did not predict is reported, so the two never silently disagree."""
    device_path()
    from spwf04 import cert as devcert  # the device's pure module, same code as on the board

    try:
        (c,) = devcert.parse(blob)
        if c.der != der(anchor):
            raise devcert.CertError("the device loader read a different certificate")
        devcert.check(c, None if now == 0 else now, fw, "ca")  # 0: the doctor's spelling of an unset clock
        return
    except devcert.CertError as exc:
        code = getattr(exc, "code", "malformed")
        msg = str(exc)
    mapped = _DEVICE_CODES.get(code)
    if mapped and any(x.code == mapped and x.severity == "error" for x in f.items):
        return
    f.add("driver_refuses", "error", "the driver's pre-flight check refuses this CA",
          f"spwf04.cert.check says: {msg}", "Fix what the message names (the driver stops before any AT traffic).")


def _check_server(f: _Findings, ca: CAFile, anchor: x509.Certificate, server: ServerInfo, name: str | None,
                  now: int | None, fw: str) -> None:
    """The server's side, one concern after the other: handshake, chain to the CA, dates, name,
    keys/signatures/sizes, protocol versions and suites."""
    chain = _check_handshake(f, server)
    if chain is None:
        return
    _check_chain(f, ca, anchor, chain)
    _check_chain_dates(f, chain, now)
    _check_name(f, server, chain[0], name)
    _check_chain_algorithms(f, chain, fw)
    _check_protocols(f, server, fw)


def _check_handshake(f: _Findings, server: ServerInfo) -> list[x509.Certificate] | None:
    """Whether the chain-collecting handshake worked and gave certificates: without a connection, a TLS
    handshake and a certificate nothing else about the server can be checked (returns None then)."""
    where = f"{server.host}:{server.port}"
    if server.error:
        if server.error_stage == "connect":
            f.add("server_unreachable", "error", f"cannot connect to {where}", server.error,
                  "Check that the server runs and listens on that address and port.")
        else:
            f.add("tls_handshake_failed", "error", f"no TLS handshake with {where}", server.error,
                  "Check that the server speaks TLS on that port.")
        return None
    chain = server.chain
    if not chain:
        f.add("tls_handshake_failed", "error", f"{where} presented no certificate",
              "An anonymous or PSK TLS server cannot be verified by the module.", "Configure a certificate.")
        return None
    f.add("server_chain", "ok", f"{where} presents {len(chain)} certificate(s)",
          " <- ".join(f"'{cn(c.subject)}'" for c in chain) + f"; negotiated {server.version} {server.cipher}")
    return chain


def _chain_path(chain: list[x509.Certificate],
                anchor: x509.Certificate) -> tuple[list[x509.Certificate], x509.Certificate, bool]:
    """The path from the leaf towards the CA through what the server sends: (path, the last certificate
    reached, whether the CA signed that one). The module has only the loaded CA besides the presented chain."""
    leaf = chain[0]
    path = [leaf]
    cur = leaf
    presented = chain[1:]
    reached = False
    for _ in range(len(chain) + 1):
        if issued_by(cur, anchor):
            reached = True
            break
        nxt = next((c for c in presented if c is not cur and issued_by(cur, c)), None)
        if nxt is None:
            break
        path.append(nxt)
        cur = nxt
    return path, cur, reached


def _check_chain(f: _Findings, ca: CAFile, anchor: x509.Certificate, chain: list[x509.Certificate]) -> None:
    """Whether the presented chain leads to the loaded CA (the module rejects it otherwise), then the issuer
    link's key identifier, or why the chain does not get there; and certificates sent but not needed."""
    path, cur, reached = _chain_path(chain, anchor)
    if reached:
        a_name = cn(anchor.subject)
        f.add("chain_ok", "ok", f"server chain leads to the CA '{a_name}'",
              " -> ".join(f"'{cn(c.subject)}'" for c in path) + f" -> '{a_name}' (signatures verified)")
        _check_issuer_link(f, anchor, cur)  # cur: the certificate the CA signed directly
    else:
        _report_broken_chain(f, ca, anchor, cur)
    if len(chain) > len(path) and reached:
        extra = [cn(c.subject) for c in chain if all(c is not p for p in path)]
        f.add("chain_extra", "info", "server sends certificates not needed for the path",
              ", ".join(f"'{e}'" for e in extra), "Harmless; it only costs bytes.")


def _check_issuer_link(f: _Findings, anchor: x509.Certificate, linked: x509.Certificate) -> None:
    """The Authority Key Identifier of the certificate the CA signed directly against the auth value the
    driver sends: the module looks the CA up by that identifier."""
    a_name = cn(anchor.subject)
    aki = aki_of(linked)
    want = auth_id(anchor)
    if aki is None:
        f.add("aki_missing", "warning", f"'{cn(linked.subject)}' has no Authority Key Identifier",
              f"The module appears to select the CA by key identifier (auth {hexid(want)}); a certificate "
              "without AKI may not find its CA (reported as Certificate Error / 'CA not found').",
              "Reissue the certificate with authorityKeyIdentifier=keyid.")
    elif aki != want:
        f.add("aki_mismatch", "error", "server chain's AKI does not match the auth the driver sends",
              f"'{cn(linked.subject)}' has AKI {hexid(aki)}, the driver sends auth {hexid(want)} "
              f"({'the CA SKI' if ski_of(anchor) else 'the CA key id'}). The module looks the CA up by this "
              "identifier (Certificate Error 23 'CA not found').",
              "Reissue the server certificate with authorityKeyIdentifier=keyid from this CA.")
    else:
        f.add("aki_ok", "ok", "server chain's AKI equals the auth value",
              f"AKI {hexid(aki)} = {'SKI' if ski_of(anchor) else 'computed key id'} of '{a_name}'")


def _report_broken_chain(f: _Findings, ca: CAFile, anchor: x509.Certificate, top: x509.Certificate) -> None:
    """Why the chain stops at `top` without reaching the loaded CA: a different CA (same name, or another
    self-signed root) or a missing intermediate; each needs a different fix."""
    a_name = cn(anchor.subject)
    issuer = top.issuer
    same_name = issuer == anchor.subject
    self_signed = top.issuer == top.subject and issued_by(top, top)
    in_bundle = [c for c in ca.certs if c is not anchor and issued_by(top, c)]
    if same_name or self_signed:
        why = ("has the CA's name but was not signed by its key (a different CA with the same name)"
               if same_name else f"ends at the self-signed '{cn(top.subject)}', which is not the loaded CA")
        f.add("wrong_ca", "error", "server certificate was not issued by this CA",
              f"'{cn(top.subject)}' {why}. AKI {hexid(aki_of(top)) if aki_of(top) else 'absent'}, loaded CA "
              f"'{a_name}' SKI/auth {hexid(auth_id(anchor))}. The module rejects the chain (Certificate Error).",
              "Load the CA that issued the server certificate (or reissue the server certificate from this CA).")
    else:
        f.add("chain_incomplete", "error",
              f"chain does not reach the CA: '{cn(issuer)}' is missing (an intermediate the server does "
              "not send, or the CA is wrong)",
              f"The chain stops at '{cn(top.subject)}', issued by '{cn(issuer)}' (AKI "
              f"{hexid(aki_of(top)) if aki_of(top) else 'absent'}), which the server does not send and which "
              f"is not the loaded CA '{a_name}'."
              + (" It is in your CA file, but the module is given one CA." if in_bundle else
                 " Either '" + cn(issuer) + "' is an intermediate under the loaded CA, or the CA is wrong."),
              "Configure the server to send its intermediate(s) after its certificate (openssl s_server "
              "-cert_chain, nginx ssl_certificate fullchain.pem), or load the CA that issued "
              f"'{cn(top.subject)}'.")


def _check_chain_dates(f: _Findings, chain: list[x509.Certificate], now: int | None) -> None:
    """Validity of every presented certificate at the module clock (the module verifies them all); skipped
    when the clock is unset or implausible, which _check_ca already reports."""
    if now is not None and CLOCK_MIN <= now < CLOCK_MAX:
        for c in chain:
            _validity(f, c, now, f"server chain certificate '{cn(c.subject)}'", "cert",
                      "renew the certificate on the server.")


def _check_name(f: _Findings, server: ServerInfo, leaf: x509.Certificate, name: str | None) -> None:
    """The server name against the leaf certificate: the --name given (an error if it does not match), else
    the host if it is a DNS name (a warning only); without either the module checks no name."""
    target = name if name is not None else (server.host if not _is_ip(server.host) else None)
    if target is None:
        f.add("name_not_checked", "info", "no server name given: the driver opens the socket with kind 's'",
              "With kind 's' no name goes to the module, which (as far as known) then checks no name. Names "
              "in the certificate: " + match_name(leaf, "0.0.0.0")[1] + ".",
              "Give --name (SOCKON domain name) to have the name checked as the module might.")
        return
    how, what = match_name(leaf, target)
    sev_mismatch = "error" if name is not None else "warning"
    if how == "san":
        f.add("name_ok", "ok", f"'{target}' matches the server certificate", what)
    elif how == "cn":
        f.add("name_cn_only", "warning", f"'{target}' matches only the CN",
              f"{what} matches, but the certificate's SAN does not list it; CN matching is obsolete and the "
              "module's rules (CN vs SAN, wildcards) are unknown.",
              f"Reissue the server certificate with subjectAltName DNS:{target}.")
    else:
        f.add("name_mismatch", sev_mismatch, f"'{target}' does not match the server certificate",
              f"The certificate names {what}. The module is given '{target}' as TLS server name "
              "(SOCKON domain kind), probably sent as SNI and checked against the certificate.",
              f"Use one of the certificate's names with --name / in SOCKON, or reissue it with "
              f"subjectAltName DNS:{target}.")


def _check_chain_algorithms(f: _Findings, chain: list[x509.Certificate], fw: str) -> None:
    """Per presented certificate: key type/size and signature algorithm the firmware supports, and the size
    limit ST gives for a certificate received from the peer."""
    for c in chain:
        who = f"'{cn(c.subject)}'"
        why = key_problem(c, fw)
        if why:
            f.add("key_unsupported", "error", f"server chain key not usable on FW {fw}", f"{who}: {why}.",
                  "Reissue with an RSA-2048 key" + (" or EC P-256" if fw == "1.1" else "") + ".")
        sp = sig_problem(c, fw)
        if sp:
            f.add("sig_alg_unsupported" if sp[0] == "error" else "sig_alg_weak", sp[0],
                  f"signature algorithm of {who}", sp[1], "Reissue with sha256WithRSAEncryption"
                  + (" or ecdsa-with-SHA256" if fw == "1.1" else "") + ".")
        n = len(der(c))
        if n > MAX_PEER_CERT:
            f.add("cert_too_large", "error", f"{who} is {n} bytes", f"ST: each certificate received from the "
                  f"peer must be at most about {MAX_PEER_CERT} bytes.", "Reissue it with fewer extensions / names "
                  "or a smaller key.")


def _check_protocols(f: _Findings, server: ServerInfo, fw: str) -> None:
    """The probed TLS versions and cipher suites (when probing ran): the server must accept one version of
    TLS 1.0-1.2 and one suite of the firmware's offer, or the module's handshake fails."""
    if server.versions:
        acc = [v for v, ok in server.versions.items() if ok]
        usable = [v for v in acc if v in MODULE_TLS_VERSIONS]
        if not usable:
            f.add("tls_version_unsupported", "error", "server accepts no TLS version the module speaks",
                  f"server accepts {', '.join(acc) or 'nothing probed'}; the module speaks TLS 1.0-1.2.",
                  "Allow TLS 1.2 on the server (openssl s_server -tls1_2).")
        else:
            f.add("tls_versions", "ok", f"server accepts {', '.join(usable)}",
                  "all probed: " + ", ".join(f"{v} {'yes' if ok else 'no'}" for v, ok in server.versions.items()))
    if server.suites:
        acc = [s for s, ok in server.suites.items() if ok]
        if not acc:
            f.add("cipher_unsupported", "error", f"server accepts none of FW {fw}'s cipher suites",
                  f"probed {', '.join(server.suites)}"
                  + ("; FW 1.0 does RSA key exchange only, so ECDHE-only, TLS 1.3-only or ECDSA-certificate "
                     "servers fail" if fw == "1.0" else "") + ". (The module's exact suite list is not "
                  "documented; these are the assumed ones.)",
                  "Offer a static-RSA suite such as AES128-SHA256 at TLS 1.2 (openssl s_server -tls1_2 -cipher "
                  "AES128-SHA256 with an RSA certificate)" if fw == "1.0" else
                  "Offer AES128-SHA256 or an ECDHE suite at TLS 1.2.")
        else:
            f.add("cipher_ok", "ok", f"server accepts {len(acc)} of FW {fw}'s suites", ", ".join(acc))


def at_sequence(ca: CAFile, anchor: x509.Certificate, server: ServerInfo | None, name: str | None,
                now: int | None, fw: str) -> list[dict[str, Any]]:
    """The commands the driver sends for this CA (micropython/spwf04/tls.py), in order."""
    auth = hexid(auth_id(anchor))
    cmds: list[dict[str, Any]] = [{"command": "AT+S.TLSCERT=content,2", "note": "erase stored TLS credentials"}]
    if now is not None and now != 0:
        cmds.append({"command": f"AT+S.TIME={now}", "note": fmt_time(now)})
    else:
        cmds.append({"command": "AT+S.TIME=<epoch>", "note": "no time known: the driver needs one before TLS"})
    blob, enc = driver_blob(ca, anchor, fw)
    if enc == ca.form and (enc == "DER" or blob == ca.data):
        how = f"{Path(ca.path).name} exactly as in the file"
    elif enc == ca.form:
        how = f"the PEM block of {Path(ca.path).name} as given"
    else:
        how = f"{Path(ca.path).name} converted to {enc}"
    cmds.append({"command": f"AT+S.TLSCERT=ca,{len(blob)}", "payload_len": len(blob),
                 "note": f"then the {len(blob)} bytes of {how} ({enc} on FW {fw})"})
    cmds.append({"command": f"AT+S.TLSCERT=auth,{len(auth)}", "payload_len": len(auth), "payload": auth,
                 "note": "then " + auth + (" (CA SKI)" if ski_of(anchor) else " (computed CA key id: no SKI)")})
    if server is not None:
        kind = name if name else "s"
        cmds.append({"command": f"AT+S.SOCKON={server.host},{server.port},NULL,{kind}",
                     "note": "TLS with server name check" if name else "TLS, no server name"})
    else:
        cmds.append({"command": "AT+S.SOCKON=<host>,<port>,NULL,<s|name>", "note": "TLS socket"})
    return cmds


# -------------------------------------------------------------------------------------------------- output

_MARK = {"error": "ERROR", "warning": "WARN ", "info": "info ", "ok": "ok   "}


def render_text(r: Report) -> str:
    out: list[str] = []
    counts = {s: sum(1 for f in r.findings if f.severity == s) for s in SEVERITIES}
    out.append(f"Verdict: {r.verdict} ({counts['error']} error(s), {counts['warning']} warning(s))")
    ca = r.ca
    out.append(f"CA: {ca['path']} ({ca['form']}, {ca['file_bytes']} bytes, {ca['certificates']} certificate(s)) "
               f"{ca['subject']}, {ca['key']}, auth {ca['auth']}")
    if r.server:
        s = r.server
        out.append(f"Server: {s['host']}:{s['port']} " + (s["error"] or f"{s['version']} {s['cipher']}"))
        if s.get("module_cipher"):
            out.append(f"Module offer negotiates: {s['module_cipher']}")
    out.append("")
    for f in r.findings:
        out.append(f"{f.number:2d}. [{_MARK[f.severity]}] {f.title}")
        if f.detail:
            out.append(f"     {f.detail}")
        if f.fix and f.severity in ("error", "warning"):
            out.append(f"     fix: {f.fix}")
    out.append("")
    out.append("AT command sequence the driver will send:")
    for c in r.commands:
        out.append(f"  {c['command']:<42} # {c['note']}")
    return "\n".join(out)


# ----------------------------------------------------------------------------------------------------- CLI

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ca", required=True, metavar="FILE", help="CA certificate given to the module (PEM/DER)")
    parser.add_argument("--server", metavar="HOST:PORT", help="TLS server to inspect")
    parser.add_argument("--name", help="server name the module will be given (SOCKON domain kind)")
    parser.add_argument("--time", default="now", metavar="EPOCH|now|unset",
                        help="module clock (default: now, as the driver sets it)")
    parser.add_argument("--fw", choices=("1.0", "1.1"), default="1.1", help="module firmware profile")
    parser.add_argument("--timeout", type=float, default=5.0, help="network timeout in seconds (default 5)")
    parser.add_argument("--no-probe", action="store_true", help="skip TLS version / cipher suite probing")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def diagnose(ca_path: str | Path, server: str | None = None, name: str | None = None, time_arg: str | None = "now",
             fw: str = "1.1", timeout: float = 5.0, probe: bool = True) -> Report:
    """The whole doctor as a function (what `run` and the tests call)."""
    ca = load_ca(ca_path)
    now = parse_time(time_arg)
    info = None
    if server:
        host, port = parse_server(server)
        info = collect_server(host, port, fw, timeout, name, probe)
    return analyse(ca, info, name, now, fw)


def run(args: argparse.Namespace) -> int:
    try:
        report = diagnose(args.ca, args.server, args.name, args.time, args.fw, args.timeout, not args.no_probe)
    except DoctorInputError as exc:
        if args.json:
            print(json.dumps({"verdict": "ERROR", "error": str(exc)}))
        else:
            print(f"spwf04 doctor: {exc}")
        return 2
    print(json.dumps(report.to_json(), indent=1) if args.json else render_text(report))
    return 1 if report.verdict == "FAIL" else 0


def codes(report: Report, severities: Iterable[str] = ("error", "warning")) -> set[str]:
    """Finding codes of the given severities (a convenience for tests and scripts)."""
    sev = set(severities)
    return {f.code for f in report.findings if f.severity in sev}
