"""The module's TLS client over a real TCP socket: Python's ssl through memory BIOs.

The handshake runs with OpenSSL's own verification off and security level 0 (so 1024-bit RSA and static-RSA
suites work whatever the host's policy); FW 1.0 offers RSA key exchange only, both profiles TLS <= 1.2. When
the server's Certificate message has arrived, and before the client's next flight leaves, the chain is
checked by certverify at the module's clock; on failure a fatal alert goes to the server instead (a real
`s_server` logs "alert bad certificate"), as the module does.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Callable

from .certverify import CertFailure
from .profiles import Profile
from .tlsstore import load_certificates, load_private_key_pem

log = logging.getLogger(__name__)

_DER = 2  # _ssl.ENCODING_DER
# The module's offer, explicit (no public suite list exists). FW 1.0: RSA key exchange only (release notes),
# AES-CBC with SHA-1 / SHA-256 MACs; FW 1.1 adds ECDHE with RSA and ECDSA certificates (change log), again
# AES-CBC. No source shows GCM, ChaCha20-Poly1305 or Camellia in SEVENSTAX: none is offered (inference).
FW10_SUITES: tuple[str, ...] = ("AES128-SHA256", "AES256-SHA256", "AES128-SHA", "AES256-SHA")
FW11_EXTRA_SUITES: tuple[str, ...] = (
    "ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA",
    "ECDHE-RSA-AES128-SHA256", "ECDHE-RSA-AES256-SHA384", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA")
# Curves: P-256/P-384 only (no x25519/x448). Python's ssl sets a single group, so P-256 alone is offered:
# stricter than the module (a P-384-only server fails here), never kinder.
ECDH_CURVE = "prime256v1"
# OpenSSL options the module's stack is not known to have: no extended master secret, no encrypt-then-MAC,
# no session tickets (inference; a server requiring one of them fails, as it would against the module).
_OP_NO_EMS = 0x00000001  # SSL_OP_NO_EXTENDED_MASTER_SECRET (OpenSSL 3; not exposed by Python 3.11's ssl)
_OP_NO_ETM = 0x00080000  # SSL_OP_NO_ENCRYPT_THEN_MAC


def module_suites(fw: str) -> tuple[str, ...]:
    """The suites the module offers on this firmware profile ("1.0" or "1.1"), in its order of preference."""
    return FW10_SUITES if fw == "1.0" else FW11_EXTRA_SUITES + FW10_SUITES


def cipher_string(fw: str) -> str:
    return ":".join(module_suites(fw)) + ":@SECLEVEL=0"


class TlsHandshakeError(Exception):
    def __init__(self, message: str, cert_failure: CertFailure | None = None, chain: list[bytes] | None = None,
                 no_common_suite: bool = False):
        super().__init__(message)
        self.cert_failure = cert_failure
        self.chain = chain or []
        self.no_common_suite = no_common_suite


def make_context(profile: Profile, client_cert: bytes | None, client_key: bytes | None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(cipher_string(profile.fw))
    ctx.set_ecdh_curve(ECDH_CURVE)
    ctx.options |= ssl.OP_NO_TICKET | _OP_NO_EMS | _OP_NO_ETM
    # TLS 1.0 and 1.1 need security level 0 in OpenSSL 3; the ciphers string above sets it.
    with _quiet_deprecation():
        ctx.minimum_version = ssl.TLSVersion.TLSv1
    if client_cert and client_key:
        _load_client_credentials(ctx, client_cert, client_key)
    return ctx


class _quiet_deprecation:
    def __enter__(self) -> None:
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", DeprecationWarning)

    def __exit__(self, *exc: object) -> None:
        self._w.__exit__(*exc)


def _load_client_credentials(ctx: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    """Python's ssl loads credentials from files only: a private 0700 directory, removed at once."""
    try:
        certs = load_certificates(cert)
        key_pem = load_private_key_pem(key)
    except ValueError as exc:
        log.warning("TLSCERT cert/key unusable (%s): connecting without a client certificate", exc)
        return
    from cryptography.hazmat.primitives import serialization
    cert_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
    d = tempfile.mkdtemp(prefix="spwf04-sim-tls-")
    try:
        os.chmod(d, 0o700)
        cpath, kpath = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        with open(cpath, "wb") as fh:
            fh.write(cert_pem)
        fd = os.open(kpath, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key_pem)
        try:
            ctx.load_cert_chain(cpath, kpath)
        except ssl.SSLError as exc:
            log.warning("TLSCERT cert and key do not belong together (%s): no client certificate", exc.reason)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@dataclass
class HandshakeInfo:
    chain: list[bytes]
    version: str | None
    cipher: str | None


class TlsSession:
    """An established TLS session over a connected socket; thread-safe send/receive."""

    def __init__(self, sock: socket.socket, obj: ssl.SSLObject, inc: ssl.MemoryBIO, out: ssl.MemoryBIO,
                 info: HandshakeInfo) -> None:
        self.sock = sock
        self._obj, self._inc, self._out = obj, inc, out
        self._lock = threading.Lock()
        self.info = info
        self.closed_by_peer = False

    def send(self, data: bytes) -> None:
        with self._lock:
            self._obj.write(data)
            pending = self._out.read()
        if pending:
            self.sock.sendall(pending)

    def receive(self, raw: bytes) -> bytes:
        """Feed bytes from the socket (b'' = EOF); return the plaintext they complete."""
        chunks: list[bytes] = []
        with self._lock:
            if raw:
                self._inc.write(raw)
            else:
                self._inc.write_eof()
            while True:
                try:
                    data = self._obj.read(16384)
                except ssl.SSLWantReadError:
                    break
                except ssl.SSLZeroReturnError:
                    self.closed_by_peer = True
                    break
                except ssl.SSLError as exc:
                    if not raw:  # EOF without close_notify: the peer closed anyway
                        self.closed_by_peer = True
                        break
                    raise OSError(f"TLS error: {exc.reason or exc}") from None
                if not data:
                    self.closed_by_peer = True
                    break
                chunks.append(data)
            pending = self._out.read()
        if pending:
            try:
                self.sock.sendall(pending)
            except OSError:
                pass
        return b"".join(chunks)

    def close_notify(self) -> None:
        with self._lock:
            try:
                self._obj.unwrap()
            except (ssl.SSLError, ssl.SSLWantReadError, ValueError):
                pass
            pending = self._out.read()
        if pending:
            try:
                self.sock.sendall(pending)
            except OSError:
                pass


def handshake(sock: socket.socket, ctx: ssl.SSLContext, server_name: str | None,
              verify: Callable[[list[bytes]], CertFailure | None], timeout: float,
              on_chain: Callable[[list[bytes]], None] | None = None,
              cancelled: Callable[[], bool] = lambda: False) -> TlsSession:
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_side=False, server_hostname=server_name)
    deadline = time.monotonic() + timeout
    record_version = b"\x03\x03"
    first_record = True
    checked = False
    chain: list[bytes] = []
    while True:
        try:
            obj.do_handshake()
            done = True
        except ssl.SSLWantReadError:
            done = False
        except ssl.SSLError as exc:
            _flush(sock, out)
            raise _handshake_failure(exc, obj) from None
        if not checked:
            peer = obj._sslobj.get_unverified_chain()  # type: ignore[attr-defined]
            if peer:
                checked = True
                chain = [c.public_bytes(_DER) for c in peer]
                if on_chain:
                    on_chain(chain)
                failure = verify(chain)
                if failure is not None:
                    # A fatal alert in the clear instead of the client's next flight.
                    try:
                        sock.sendall(b"\x15" + record_version + b"\x00\x02\x02" + bytes((failure.alert,)))
                    except OSError:
                        pass
                    raise TlsHandshakeError(f"certificate rejected: {failure.detail}", failure, chain)
        _flush(sock, out)
        if done:
            break
        if cancelled():
            raise TlsHandshakeError("cancelled (module reset)")
        left = deadline - time.monotonic()
        if left <= 0:
            raise TlsHandshakeError(f"TLS handshake timed out after {timeout:.0f} s")
        sock.settimeout(min(left, 1.0))
        try:
            data = sock.recv(16384)
        except (TimeoutError, socket.timeout):
            continue
        except OSError as exc:
            raise TlsHandshakeError(f"connection failed during the handshake: {exc}") from None
        if not data:
            raise TlsHandshakeError("the server closed the connection during the handshake")
        if first_record and len(data) >= 3:
            record_version = data[1:3]
            first_record = False
        inc.write(data)
    cipher = obj.cipher()
    info = HandshakeInfo(chain, obj.version(), cipher[0] if cipher else None)
    return TlsSession(sock, obj, inc, out, info)


def _handshake_failure(exc: ssl.SSLError, obj: ssl.SSLObject) -> TlsHandshakeError:
    """A failed handshake; a handshake_failure alert before any server certificate most likely means the
    server accepts none of the suites (or curves) the module offers: said so, with the offer."""
    reason = exc.reason or str(exc)
    early = not obj._sslobj.get_unverified_chain()  # type: ignore[attr-defined]
    if early and reason in ("SSLV3_ALERT_HANDSHAKE_FAILURE", "NO_CIPHERS_AVAILABLE", "WRONG_VERSION_NUMBER",
                            "TLSV1_ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL", "NO_SHARED_CIPHER"):
        offer = [c["name"] for c in obj.context.get_ciphers() if c["protocol"] != "TLSv1.3"]
        return TlsHandshakeError(
            f"TLS handshake failed ({reason}): the server accepts none of the module's suites at TLS 1.0-1.2 "
            f"(offered: {', '.join(offer)}; curve P-256)", no_common_suite=True)
    return TlsHandshakeError(f"TLS handshake failed: {reason}")


def _flush(sock: socket.socket, out: ssl.MemoryBIO) -> None:
    data = out.read()
    if data:
        try:
            sock.sendall(data)
        except OSError as exc:
            raise TlsHandshakeError(f"connection failed during the handshake: {exc}") from None
