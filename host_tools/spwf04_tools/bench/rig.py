"""The bench rig: test PKI, the SPWF04SA simulator, loopback peers (plain and TLS), a virtual board with the
driver deployed as `spwf04 deploy` does it, plus the device-side benchmark scripts (micropython/bench/).

    with Rig(work_dir) as rig:
        rig.board_exec("import bench.tput as T ...")   # -> list of RESULT dicts printed by the board
"""

from __future__ import annotations

import json
import logging
import ssl
import tempfile
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any

from .. import DEVICE_DIR
from ..board import VirtualBoard
from ..deploy import compile_module, deploy, mpy_cross_binary, query_board
from ..pki import PKI, build_pki
from ..repl_link import DeviceLink
from ..sim import SimConfig, Simulator
from ..sim.config import DEFAULT_AP
from .peer import BulkPeer

log = logging.getLogger(__name__)

BENCH_DEVICE_DIR = DEVICE_DIR / "bench"
SERVER_NAME = "localhost"  # in the test PKI's server certificate
CA_REMOTE = "ca.pem"


def tls_context(pki: PKI) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # the module speaks TLS <= 1.2 (spec 7)
    ctx.load_cert_chain(str(pki.fullchain_pem), str(pki.server.key_pem))
    return ctx


def device_results(output: str) -> list[dict[str, Any]]:
    """The `RESULT {json}` lines a device benchmark printed."""
    out = []
    for line in output.splitlines():
        if line.startswith("RESULT "):
            out.append(json.loads(line[7:]))
    return out


def put_bench_scripts(dev: DeviceLink) -> list[str]:
    """Compile micropython/bench/*.py for the board's .mpy format and copy them to bench/ on its flash."""
    info = query_board(dev)
    mpc = mpy_cross_binary(info)
    dev.mkdir("bench")
    written = []
    with tempfile.TemporaryDirectory(prefix="spwf04-bench-mpy-") as tmp:
        for src in sorted(BENCH_DEVICE_DIR.glob("*.py")):
            data = compile_module(src, mpc, Path(tmp))
            remote = f"bench/{src.stem}.mpy"
            if dev.sha256(remote) != _sha256(data):
                dev.put_bytes(data, remote)
                written.append(remote)
    return written


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


class Rig:
    """Everything a device benchmark needs, started in order and always stopped."""

    def __init__(self, work: Path, fw: str = "1.1", heap: str = "60wK") -> None:
        self.work = Path(work)
        self.fw = fw
        self.heap = heap
        self._stack = ExitStack()
        self.pki: PKI | None = None
        self.sim: Simulator | None = None
        self.plain: BulkPeer | None = None
        self.tls: BulkPeer | None = None
        self.board: VirtualBoard | None = None
        self.dev: DeviceLink | None = None

    @property
    def flash_dir(self) -> Path:
        return self.work / "flash"

    @property
    def module_address(self) -> str:
        assert self.sim and self.sim.uart_address
        host, port = self.sim.uart_address
        return f"{host}:{port}"

    def __enter__(self) -> "Rig":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        self.pki = build_pki(self.work / "pki")
        self.sim = Simulator(SimConfig(fw=self.fw))
        self.sim.start_tcp("127.0.0.1", 0)
        self._stack.callback(self.sim.stop)
        self.plain = self._stack.enter_context(BulkPeer())
        self.tls = self._stack.enter_context(BulkPeer(tls_context(self.pki)))
        self.start_board(self.heap)
        assert self.dev is not None
        self.dev.close()  # deploy opens the port itself
        deploy(self.board.device, out=lambda *a: log.info("deploy: %s", " ".join(map(str, a))))
        self.dev = DeviceLink(self.board.device)
        put_bench_scripts(self.dev)
        self.dev.put_bytes(self.pki.ca_pem.read_bytes(), CA_REMOTE)

    def start_board(self, heap: str) -> None:
        """(Re)start the virtual board with this heap on the same flash directory."""
        self.stop_board()
        self.board = VirtualBoard(self.flash_dir, heap=heap, module=self.module_address)
        self.board.start()
        self.dev = DeviceLink(self.board.device)

    def stop_board(self) -> None:
        if self.dev is not None:
            self.dev.close()
            self.dev = None
        if self.board is not None:
            self.board.stop()
            self.board = None

    def close(self) -> None:
        self.stop_board()
        self._stack.close()

    # --- running code on the board ---------------------------------------------------------------------

    def exec(self, code: str, timeout: float) -> str:
        assert self.dev is not None
        return self.dev.exec(code, timeout=timeout)

    def results(self, code: str, timeout: float) -> list[dict[str, Any]]:
        return device_results(self.exec(code, timeout))

    def bring_up_code(self, ca: bool = True) -> str:
        return ("from bench import common as C\n"
                f"m = C.bring_up({DEFAULT_AP.ssid!r}, {DEFAULT_AP.passphrase!r}, {CA_REMOTE!r} if {ca} else None)\n")
