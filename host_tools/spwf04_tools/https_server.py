"""A real HTTPS server on loopback for the unmodified clients (`requests` through spwf04compat): the compat tests
and the 32-bit board's memory benchmark. Python's http.server over TLS 1.2 with the test PKI's server certificate."""

from __future__ import annotations

import hashlib
import http.server
import ssl
import threading

from .pki import PKI


class HTTPSServer:
    """A real HTTPS server on 127.0.0.1 (Python's http.server over TLS with the test PKI's server certificate).

    GET /page -> PAGE (text/html); GET /big -> BIG (binary, several SOCKR reads); POST /echo -> the body back
    with its SHA-256 in a header. Records (method, path, headers, body) of every request."""

    PAGE = b"<html><body><h1>spwf04compat</h1><p>fetched through the SPWF04SA</p></body></html>\n"
    BIG = bytes(range(256)) * 40  # 10240 bytes: many TCP segments and SOCKRs; more than the board can hold at once

    def __init__(self, pki: PKI) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def _record(self, body: bytes = b"") -> None:
                outer.requests.append((self.command, self.path, dict(self.headers.items()), body))

            def _send(self, code: int, ctype: str, body: bytes, extra: dict[str, str] | None = None) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._record()
                if self.path == "/page":
                    self._send(200, "text/html", outer.PAGE)
                elif self.path == "/big":
                    self._send(200, "application/octet-stream", outer.BIG)
                else:
                    self._send(404, "text/plain", b"not found\n")

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self._record(body)
                self._send(200, "application/octet-stream", body,
                           {"X-Body-SHA256": hashlib.sha256(body).hexdigest()})

            def log_message(self, fmt: str, *args: object) -> None:
                pass

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(pki.server.pem), str(pki.server.key_pem))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"https:{self.port}", daemon=True)

    def __enter__(self) -> "HTTPSServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)
