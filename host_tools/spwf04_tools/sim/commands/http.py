"""HTTPGET over plain TCP (`0`) or TLS (`1`/`2`) to a real server (spec 6.12).

Output on success: [TLS progress lines] `AT-S.Http Server Status Code:<code>`, then the raw body as received
(chunk-size lines included), a CR LF if the body does not end with one, `AT-S.OK`. Status >= 400:
`AT-S.Http Server Error:<code>` and `AT-S.ERROR:111:Request failed`. Failures: `AT-S.Http Client Error:<n>`
(1 connect/DNS/refused [observed meaning], 2 TLS [observed with a certificate error], 3 timeout or malformed
answer [invented]) and `AT-S.ERROR:111:Request failed`.
"""

from __future__ import annotations

import base64
import logging
import re
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable

from ... import at_tables as at
from ..engine import Async, AsyncOp, Cmd, Command, Engine
from ..files import FsError
from ..netsock import abort, open_connection
from ..tlsclient import TlsHandshakeError, TlsSession
from . import netpolicy
from .sockets import TlsConnector, cert_error_code

log = logging.getLogger("spwf04_tools.sim")

CLIENT_ERR_CONNECT = 1
CLIENT_ERR_TLS = 2
CLIENT_ERR_PROTOCOL = 3
BODY_MAX = 1 << 20
_STATUS_RE = re.compile(rb"^HTTP/\d\.\d (\d{3})")


class HttpClientError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class _Response:
    status: int
    body: bytes


class HttpGetOp(AsyncOp):
    name = "httpget"

    def __init__(self, eng: Engine, host: str, path: str, port: int, use_tls: bool, user: str, password: str,
                 down_file: str) -> None:
        self.eng = eng
        self.host, self.path, self.port = host, path or "/", port
        self.user, self.password, self.down_file = user, password, down_file
        self.tls = TlsConnector(eng, None, eng.config.behaviour.httpget_no_ca) if use_tls else None
        self.timing = eng.config.timing

    def work(self, cancelled: Callable[[], bool]) -> Any:
        try:
            ip = netpolicy.resolve(self.eng, self.host, use_dns=True)
            sock = open_connection("t", ip, self.port, self.timing.connect_timeout)
        except (netpolicy.Refused, OSError) as exc:
            raise HttpClientError(CLIENT_ERR_CONNECT, str(exc)) from None
        try:
            session: TlsSession | None = None
            time.sleep(self.timing("tcp_open"))  # (realistic timing profile; 0 by default)
            if self.tls is not None:
                session = self.tls.connect(sock, self.timing.tls_timeout, cancelled)
                time.sleep(self.timing("tls_handshake"))
            return self._exchange(sock, session, cancelled)
        finally:
            abort(sock)

    def _exchange(self, sock: socket.socket, session: TlsSession | None, cancelled: Callable[[], bool]) -> _Response:
        host_header = self.host if self.port in (80, 443) else f"{self.host}:{self.port}"
        req = [f"GET {self.path} HTTP/1.1", f"Host: {host_header}", "User-Agent: SPWF04SA", "Connection: close"]
        if self.user:
            cred = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            req.append(f"Authorization: Basic {cred}")
        request = ("\r\n".join(req) + "\r\n\r\n").encode()
        if session is not None:
            session.send(request)
        else:
            sock.sendall(request)
        deadline = time.monotonic() + self.timing.http_timeout
        buf = bytearray()
        while True:
            if cancelled():
                raise HttpClientError(CLIENT_ERR_PROTOCOL, "cancelled")
            left = deadline - time.monotonic()
            if left <= 0:
                raise HttpClientError(CLIENT_ERR_PROTOCOL, "no complete answer within the timeout")
            sock.settimeout(min(left, 1.0))
            try:
                raw = sock.recv(16384)
            except (TimeoutError, socket.timeout):
                continue
            except OSError as exc:
                raise HttpClientError(CLIENT_ERR_PROTOCOL, f"connection failed: {exc}") from None
            data = session.receive(raw) if session is not None else raw
            buf += data
            if len(buf) > BODY_MAX:
                raise HttpClientError(CLIENT_ERR_PROTOCOL, "answer larger than the simulator's limit")
            if not raw or (session is not None and session.closed_by_peer) or _complete(buf):
                break
        head, sep, body = bytes(buf).partition(b"\r\n\r\n")
        m = _STATUS_RE.match(head)
        if not sep or not m:
            raise HttpClientError(CLIENT_ERR_PROTOCOL, "not an HTTP answer")
        return _Response(int(m.group(1)), body)

    def done(self, result: Any) -> None:
        eng = self.eng
        if isinstance(result, BaseException):
            if isinstance(result, TlsHandshakeError):
                if result.cert_failure is not None:
                    code = cert_error_code(eng, result.cert_failure)
                    log.info("HTTPGET %s: certificate rejected (%s)", self.host, result.cert_failure.detail)
                    eng.reply(f"AT-S.Certificate Error:{code}")
                else:
                    log.info("HTTPGET %s: %s", self.host, result)
                client_code = CLIENT_ERR_TLS
            elif isinstance(result, HttpClientError):
                log.info("HTTPGET %s: %s", self.host, result)
                client_code = result.code
            else:
                log.info("HTTPGET %s: %s", self.host, result)
                client_code = CLIENT_ERR_PROTOCOL
            eng.reply(f"AT-S.Http Client Error:{client_code}")
            eng.error(at.ERR_REQUEST_FAILED)
            return
        if self.tls is not None:
            for line in self.tls.progress_lines():
                eng.reply(line)
        eng.reply(f"AT-S.Http Server Status Code:{result.status}")
        if result.status >= 400:
            eng.reply(f"AT-S.Http Server Error:{result.status}")
            eng.error(at.ERR_REQUEST_FAILED)
            return
        if self.down_file:
            try:
                eng.fs.append(self.down_file, result.body)
            except FsError as exc:
                eng.error(exc.code)
                return
        elif result.body:
            eng.data(result.body if result.body.endswith(b"\r\n") else result.body + b"\r\n")
        eng.ok()


def _complete(buf: bytearray) -> bool:
    head, sep, body = bytes(buf).partition(b"\r\n\r\n")
    if not sep:
        return False
    low = head.lower()
    m = re.search(rb"\r\ncontent-length:\s*(\d+)", low)
    if m:
        return len(body) >= int(m.group(1))
    if b"transfer-encoding: chunked" in low:
        return body.endswith(b"0\r\n\r\n")
    return False


def cmd_httpget(eng: Engine, cmd: Cmd) -> Async | None:
    p = [x.strip() for x in cmd.params]
    if not p or not p[0]:
        eng.error(at.ERR_MISSING_ARGS)
        return None
    if len(p) > 8:
        eng.error(at.ERR_TOO_MANY_ARGS)
        return None
    p += [""] * (8 - len(p))
    host, path, port_text, tls_text, user, password, down_file, _up_file = p
    if tls_text not in ("", "0", "1", "2"):
        eng.error(at.ERR_INVALID_VALUE)
        return None
    use_tls = tls_text in ("1", "2")
    try:
        port = int(port_text) if port_text else (443 if use_tls else 80)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        eng.error(at.ERR_INVALID_VALUE)
        return None
    if eng.link != "up":
        eng.error(at.ERR_WAIT_CONNECTION_UP)
        return None
    return eng.run_async(HttpGetOp(eng, host, path, port, use_tls, user, password, down_file))


COMMANDS: dict[str, Command] = {
    "HTTPGET": Command(cmd_httpget, help="<host>,<path>,<port>,<TLS>,<usn>,<pwd>,<DownFile>,<UpFile>"),
}
