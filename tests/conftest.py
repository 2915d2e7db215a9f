"""Shared fixtures: the board (virtual by default, real with --port), the simulator, the device code.

- `board`: a DeviceLink to the board's raw REPL, soft-reset before each test (fresh heap, clean
  sys.modules); `board.exec(code, timeout=...)` returns stdout or raises DeviceError with the
  device traceback.
- `sim`: the session's SPWF04SA simulator (virtual board only), reset to factory state per test.
- `driver`: the device package copied onto the board once per session.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parents[1]
DEVICE = REPO / "micropython"
sys.path.insert(0, str(REPO / "tests"))

from spwf04_tools.board import VirtualBoard  # noqa: E402
from spwf04_tools.repl_link import DeviceLink  # noqa: E402

try:  # the simulator is a separate part of the project; the board works without it
    from spwf04_tools.sim import SimConfig, Simulator
except ImportError:  # pragma: no cover - only while the simulator is not in the tree
    Simulator = None  # type: ignore[assignment]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--port", default=os.environ.get("SPWF04_PORT"),
                     help="serial port of a real board (default: a fresh virtual board)")
    parser.addoption("--soak", action="store_true", help="run the long soak tests")
    parser.addoption("--qemu", action="store_true", default=bool(os.environ.get("SPWF04_QEMU")),
                     help="run the board-level tests on the 32-bit qemu board (needs MICROPY_DIR; make test-qemu)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    real = bool(config.getoption("--port"))
    soak = config.getoption("--soak")
    for item in items:
        if real and "virtual_only" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="needs the virtual board and simulator; running on a real board"))
        if not real and "hardware_only" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="needs a real board (pytest --port /dev/ttyACM0)"))
        if not soak and "soak" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="soak test: run `make soak`"))


@pytest.fixture(scope="session")
def on_hardware(pytestconfig: pytest.Config) -> bool:
    return bool(pytestconfig.getoption("--port"))


@pytest.fixture(scope="session")
def simulator(on_hardware: bool) -> Iterator[object | None]:
    """The session's simulator, wired to the virtual board's UART (None on a real board)."""
    if on_hardware or Simulator is None:
        yield None
        return
    # SPWF04_SIM_LOG=<file>: the simulator's byte log of the whole session (to decode a failure with spwf04 log)
    sim = Simulator(SimConfig(log_file=os.environ.get("SPWF04_SIM_LOG") or None))
    sim.start_tcp("127.0.0.1", 0)
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture(scope="session")
def on_qemu(pytestconfig: pytest.Config) -> bool:
    return bool(pytestconfig.getoption("--qemu"))


@pytest.fixture(scope="session")
def qemu_firmware() -> Path:
    """The 32-bit board's firmware, built (incrementally) from MICROPY_DIR; skips naming MICROPY_DIR without it."""
    from spwf04_tools import qemu_board

    tree = qemu_board.micropython_dir()
    if tree is None:
        pytest.skip(qemu_board.NO_TREE)
    return qemu_board.build_firmware(tree)


@pytest.fixture(scope="session")
def virtual_board(on_hardware: bool, on_qemu: bool, simulator, request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualBoard | None]:
    if on_hardware:
        yield None
        return
    module = None
    if simulator is not None:
        host, port = simulator.uart_address
        module = f"{host}:{port}"
    if on_qemu:
        from spwf04_tools.qemu_board import QemuBoard

        vb: VirtualBoard = QemuBoard(request.getfixturevalue("qemu_firmware"), tmp_path_factory.mktemp("qemu"),
                                     module=module)
    else:
        vb = VirtualBoard(tmp_path_factory.mktemp("flash"), module=module)
    vb.start()
    try:
        yield vb
    finally:
        vb.stop()


@pytest.fixture(scope="session")
def board_port(pytestconfig: pytest.Config, virtual_board: VirtualBoard | None) -> str:
    return pytestconfig.getoption("--port") or virtual_board.device


class Board(DeviceLink):
    """DeviceLink plus test conveniences."""

    @contextlib.contextmanager
    def released(self) -> Iterator[str]:
        """Give the serial port to another program (mpremote, deploy) and take it back afterwards."""
        self.close()
        try:
            yield self.port
        finally:
            self.__init__(self.port)  # type: ignore[misc]


@pytest.fixture(scope="session")
def board_link(board_port: str) -> Iterator[Board]:
    link = Board(board_port)
    try:
        yield link
    finally:
        link.close()


@pytest.fixture
def board(board_link: Board) -> Board:
    """The board, soft-reset: a fresh heap and no modules left over from the previous test."""
    board_link.soft_reset()
    return board_link


@pytest.fixture
def flash_dir(virtual_board: VirtualBoard | None, on_qemu: bool) -> Path:
    if virtual_board is None or on_qemu:
        pytest.skip("the flash directory is only visible on the unix-port virtual board")
    return virtual_board.flash_dir


@pytest.fixture
def sim(simulator):
    """The simulator at factory state for this test (virtual board only)."""
    if simulator is None:
        pytest.skip("needs the SPWF04SA simulator (virtual board)")
    defaults = SimConfig()
    keep = {"state_file", "log_file", "log_secrets"}
    simulator.reconfigure(**{f.name: getattr(defaults, f.name) for f in dataclasses.fields(SimConfig)
                             if f.name not in keep})
    simulator.factory_reset()
    return simulator


@pytest.fixture
def sim_clean(sim):
    """The simulator at factory state, and its behaviour/faults back to defaults afterwards."""
    from spwf04_tools.sim.config import Behaviour, Faults

    sim.factory_reset()
    yield sim
    sim.reconfigure(fw="1.1", faults=Faults(), behaviour=Behaviour())
    sim.factory_reset()


DRIVER_FILES = ["spwf04_pins.py", "wifi_board.py", "tcp_uart.py", "vboard_io.py"]


def device_files() -> list[tuple[Path, str]]:
    """(local, remote) for the device code: top-level modules and the spwf04 package."""
    files = [(DEVICE / name, name) for name in DRIVER_FILES if (DEVICE / name).exists()]
    for p in sorted((DEVICE / "spwf04").glob("*.py")):
        files.append((p, f"spwf04/{p.name}"))
    return files


@pytest.fixture(scope="session")
def driver(board_link: Board) -> Board:
    """The device code on the board's flash: compiled and copied by `spwf04 deploy` (once per session,
    unchanged files skipped, every file verified by SHA-256 on the board)."""
    from spwf04_tools.deploy import deploy

    with board_link.released() as port:
        deploy(port, out=lambda *a: None)
    return board_link


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()
