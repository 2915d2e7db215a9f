"""Loopback TLS servers for tests and demos: `openssl s_server` runner and a Python TLS echo server.

Usage:
    from spwf04_tools.tls_server import OpenSSLServer, EchoTLSServer, FW10_CIPHERS
    with OpenSSLServer(pki.server.pem, pki.server.key_pem, chain=pki.chain_pem,
                       ciphers=FW10_CIPHERS, tls1_2=True) as srv:      # static-RSA AES128-SHA256 (FW 1.0)
        connect_to("127.0.0.1", srv.port); srv.wait_for("hello", timeout=5)   # what the client sent
        srv.send(b"reply\\n")                                          # s_server stdin -> client
    OpenSSLServer(..., www=True)      # answers GET / with a status page; naccept=1 to exit after one client
    with EchoTLSServer(pki.fullchain_pem, pki.server.key_pem) as echo:  # echoes bytes back, records them
        ...; echo.received  # bytes received over all connections
Both bind 127.0.0.1 on a free port, wait until accepting, and are always stopped on exit (timeouts everywhere).
"""

from __future__ import annotations

import logging
import os
import re
import socket
import ssl
import subprocess
import threading
import time
from types import TracebackType
from typing import Sequence

log = logging.getLogger(__name__)

# FW 1.0 (SEVENSTAX 9.4) does RSA key exchange only: a server must offer a static-RSA suite at TLS <= 1.2.
FW10_CIPHERS = "AES128-SHA256:AES128-SHA:AES256-SHA256:AES256-SHA:@SECLEVEL=0"
# FW 1.1 adds ECDH/ECDSA.
FW11_CIPHERS = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA256:" \
               "ECDHE-RSA-AES128-SHA256:" + FW10_CIPHERS

PathLike = str | os.PathLike[str]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_port(host: str, port: int, timeout: float) -> None:
    """Wait until a TCP connect succeeds (do not use on servers with a limited accept count)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing accepts connections on {host}:{port} after {timeout} s") from None
            time.sleep(0.05)


class ServerError(RuntimeError):
    """The server could not be started; the message carries its output."""


class OpenSSLServer:
    """`openssl s_server` on 127.0.0.1:<free port>, as a context manager."""

    def __init__(self, cert: PathLike, key: PathLike, *, chain: PathLike | None = None,
                 ciphers: str | None = None, tls1_2: bool = True, www: bool = False, rev: bool = False,
                 naccept: int | None = None, verify_ca: PathLike | None = None, serverpref: bool = True,
                 extra_args: Sequence[str] = (), host: str = "127.0.0.1", port: int | None = None,
                 startup_timeout: float = 10.0, openssl: str = "openssl") -> None:
        self.host = host
        self.port = port or 0
        self._fixed_port = port is not None
        self._startup_timeout = startup_timeout
        args = [openssl, "s_server", "-cert", str(cert), "-key", str(key)]
        if chain:
            args += ["-cert_chain", str(chain)]
        if tls1_2:
            args.append("-tls1_2")
        if ciphers:
            args += ["-cipher", ciphers]
        if serverpref:
            args.append("-serverpref")  # the server's cipher order wins, so FW10_CIPHERS' first suite is used
        if www:
            args.append("-www")
        if rev:
            args.append("-rev")
        if naccept is not None:
            args += ["-naccept", str(naccept)]
        if verify_ca:
            args += ["-Verify", "2", "-CAfile", str(verify_ca)]
        self._base_args = args + list(extra_args)
        self.proc: subprocess.Popen[bytes] | None = None
        self._out = bytearray()
        self._cond = threading.Condition()
        self._reader: threading.Thread | None = None

    @property
    def args(self) -> list[str]:
        return self._base_args + ["-accept", f"{self.host}:{self.port}"]

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def __enter__(self) -> "OpenSSLServer":
        self.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        last = ""
        for _attempt in range(5):
            if not self._fixed_port:
                self.port = free_port(self.host)
            self._out.clear()
            log.debug("starting %s", " ".join(self.args))
            self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT)
            self._reader = threading.Thread(target=self._read, name=f"s_server:{self.port}", daemon=True)
            self._reader.start()
            if self._wait_ready():
                return
            last = self.output
            self.stop()
            if "in use" not in last or self._fixed_port:
                break
        raise ServerError(f"openssl s_server did not start: {last.strip() or 'no output'}")

    def _read(self) -> None:
        assert self.proc and self.proc.stdout
        fd = self.proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            with self._cond:
                if chunk:
                    self._out += chunk
                self._cond.notify_all()
            if not chunk:
                return

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self._startup_timeout
        with self._cond:
            while b"ACCEPT" not in self._out:
                if self.proc is None or self.proc.poll() is not None:
                    return False
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.2))
        return True

    @property
    def output(self) -> str:
        """Everything s_server printed so far (handshake info and the data clients sent)."""
        with self._cond:
            return self._out.decode("latin-1")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float = 10.0) -> re.Match[str]:
        """Wait until the output matches pattern (a regex or literal text); raise TimeoutError otherwise."""
        rx = pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(pattern))
        shown = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = rx.search(self._out.decode("latin-1"))
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"s_server output did not show {shown!r} within {timeout} s; "
                                       f"output so far: {self._out[-2000:].decode('latin-1')!r}")
                self._cond.wait(min(left, 0.2))

    def send(self, data: bytes) -> None:
        """Feed s_server's stdin: in plain mode it sends these bytes to the connected client."""
        if not self.proc or not self.proc.stdin:
            raise ServerError("s_server is not running")
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def stop(self, timeout: float = 5.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass
        if self._reader is not None:
            self._reader.join(timeout)
        self.proc = None
        self._stopped_proc = proc

    @property
    def returncode(self) -> int | None:
        p = self.proc or getattr(self, "_stopped_proc", None)
        return None if p is None else p.poll()


class EchoTLSServer:
    """A Python TLS server on 127.0.0.1 that echoes every byte back and records what it received.

    For integrity tests with binary data (s_server's -rev works on lines only)."""

    def __init__(self, certfile: PathLike, keyfile: PathLike, *, ciphers: str | None = FW10_CIPHERS,
                 max_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
                 min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2, host: str = "127.0.0.1",
                 io_timeout: float = 30.0) -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if ciphers:
            ctx.set_ciphers(ciphers)
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
        ctx.minimum_version = min_version
        ctx.maximum_version = max_version
        ctx.load_cert_chain(str(certfile), str(keyfile))  # certfile may carry intermediates after the leaf
        self._ctx = ctx
        self.host = host
        self.port = 0
        self._io_timeout = io_timeout
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._received = bytearray()
        self.connections = 0
        self.errors: list[str] = []

    @property
    def received(self) -> bytes:
        with self._lock:
            return bytes(self._received)

    def __enter__(self) -> "EchoTLSServer":
        self.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.host, 0))
        s.listen(8)
        s.settimeout(0.2)
        self._sock = s
        self.port = int(s.getsockname()[1])
        t = threading.Thread(target=self._accept_loop, name=f"echo-tls:{self.port}", daemon=True)
        t.start()
        self._threads.append(t)

    def _accept_loop(self) -> None:
        assert self._sock
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(self._io_timeout)
        try:
            with self._ctx.wrap_socket(raw, server_side=True) as conn:
                with self._lock:
                    self.connections += 1
                conn.settimeout(0.2)
                idle_deadline = time.monotonic() + self._io_timeout
                while not self._stop.is_set():
                    try:
                        data = conn.recv(4096)
                    except (socket.timeout, TimeoutError):
                        if time.monotonic() > idle_deadline:
                            return
                        continue
                    if not data:
                        return
                    idle_deadline = time.monotonic() + self._io_timeout
                    with self._lock:
                        self._received += data
                    conn.settimeout(self._io_timeout)
                    conn.sendall(data)
                    conn.settimeout(0.2)
        except (OSError, ssl.SSLError) as exc:
            with self._lock:
                self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            raw.close()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()
