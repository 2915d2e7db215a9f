"""Helpers for the spwf04compat tests (imported by the tests and by conftest.py)."""

from __future__ import annotations

import getpass
import hashlib
import http.server
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from spwf04_tools.deploy import mpy_cross_binary, query_board
from spwf04_tools.pki import PKI
from spwf04_tools.repl_link import DeviceError
from spwf04_tools.sim.config import DEFAULT_AP
from spwf04_tools.tls_server import free_port, wait_port

# Device code run before each scenario: bring the module up the documented way, then hand it to the provider.
# The collections between the steps keep the heap from fragmenting: on the virtual board all driver bytecode
# lives in the 60 KB (120 KB on 64 bits) heap, and without them no 1 KB block is left for the application.
BRING_UP = """\
import gc, wifi_board, spwf04compat
gc.collect()
m = wifi_board.module()
m.init()
gc.collect()
m.wlan.connect({ssid!r}, {key!r})
gc.collect()
m.settime()
{load_ca}spwf04compat.install(m)
"""


def bring_up(load_ca: bool = True) -> str:
    """The device code that brings the module up and installs the provider (ca.pem on the board: the test CA)."""
    return BRING_UP.format(ssid=DEFAULT_AP.ssid, key=DEFAULT_AP.passphrase,
                           load_ca="m.tls.load_ca(path='ca.pem')\ngc.collect()\n" if load_ca else "")


def run(board, code: str, timeout: float = 120) -> str:
    """Run device code on the board as a compiled module (scenario.mpy, imported), return its output.

    Not board.exec(code): the raw REPL collects the whole source in one contiguous buffer and compiles it on
    the board, which the heap left after the driver's bring-up (~28 KB free, fragmented) cannot afford for a
    scenario of some size. Bytecode from mpy-cross loads in small pieces."""
    with tempfile.TemporaryDirectory(prefix="spwf04-scenario-") as tmp:
        src, out = Path(tmp) / "scenario.py", Path(tmp) / "scenario.mpy"
        src.write_text(code)
        # -O0 (not deploy's -O1): the scenarios' assert statements must stay in
        subprocess.run([mpy_cross_binary(query_board(board)), "-O0", "-s", "scenario.py", "-o", str(out), str(src)],
                       check=True, capture_output=True, text=True)
        mpy = out.read_bytes()
    board.put_bytes(mpy, "scenario.mpy")
    try:
        out = board.exec("import scenario", timeout=timeout)
    except DeviceError as e:  # show what the scenario printed before it failed, too
        raise DeviceError(f"{e.traceback}\n--- output before the failure ---\n{e.output}", e.output) from None
    assert DEFAULT_AP.passphrase not in out  # the Wi-Fi key never reaches the console
    return out


class Mosquitto:
    """A mosquitto broker on 127.0.0.1 with one TLS listener (server certificate from the test PKI)."""

    def __init__(self, workdir: Path, pki: PKI) -> None:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(exe).exists():
            raise RuntimeError("mosquitto not installed: run scripts/system-deps.sh (apt-get install mosquitto)")
        self.host = "127.0.0.1"
        self.port = free_port()
        conf = workdir / "mosquitto.conf"
        conf.write_text(
            f"per_listener_settings false\n"
            f"allow_anonymous true\n"
            f"persistence false\n"
            f"user {getpass.getuser()}\n"  # as root it would switch to user mosquitto, who cannot read the key
            f"log_dest stderr\n"
            f"log_type all\n"
            f"listener {self.port} {self.host}\n"
            f"cafile {pki.ca_pem}\n"
            f"certfile {pki.server.pem}\n"
            f"keyfile {pki.server.key_pem}\n"
            f"tls_version tlsv1.2\n"
        )
        self.log = workdir / "mosquitto.log"
        self._logf = open(self.log, "wb")
        self.proc = subprocess.Popen([exe, "-c", str(conf)], stdout=self._logf, stderr=subprocess.STDOUT)
        try:
            wait_port(self.host, self.port, timeout=10)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"mosquitto did not start: {self.output()}") from None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._logf.close()


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


class TCPEcho:
    """A plain TCP echo server on 127.0.0.1: echoes every byte, closes the connection after a line b"quit\\n"."""

    def __init__(self) -> None:
        import socketserver

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.connection.settimeout(30)
                for line in self.rfile:
                    if line == b"quit\n":
                        return
                    self.wfile.write(line)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"tcp-echo:{self.port}", daemon=True)

    def __enter__(self) -> "TCPEcho":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

