"""The 32-bit virtual board: MicroPython's qemu port on qemu-system-arm (netduinoplus2, Cortex-M4), built
from boards/QEMU_SPWF04 with the NUCLEO-F401RE's heap, the driver frozen and a ROMFS partition.

It is the memory and cold-boot truth the unix-port board cannot be (docs/virtual-boards.md): bytecode,
buffers and objects take the bytes they take on the F401RE. From the host it looks like the unix-port board
(a pty that mpremote, pyserial and the tests open); its wires:

    console  USART1  qemu -serial #0  <-> this process <-> the host's pty
    module   USART2  qemu -serial #1  <-> the simulator's UART port (TCP)
    pins     USART3  qemu -serial #2  <-> the simulator's pin port (UART port + 1), "RESET 0" lines

Storage (/flash, ROMFS) lives in flash.img and romfs.img in the state directory and survives a power cycle.
`machine.reset()` ends qemu (the port exits through semihosting) and the board starts again, like a reset.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from . import BOARDS_DIR, REPO_ROOT
from .board import CTRL_A, VirtualBoard

log = logging.getLogger(__name__)

BOARD_DIR = BOARDS_DIR / "QEMU_SPWF04"
BUILD_DIR = REPO_ROOT / "build" / "qemu-board"
MACHINE = "netduinoplus2"
NO_TREE = ("the 32-bit board needs a MicroPython source tree: set MICROPY_DIR=<micropython checkout, v1.28.0, "
           "with lib/micropython-lib> (see docs/virtual-boards.md)")
BOOT_TIMEOUT = 20  # s until the firmware's first output (a main.py may print first, after its own work)


class QemuBoardError(Exception):
    pass


def micropython_dir(given: str | Path | None = None) -> Path | None:
    """The MicroPython tree from the argument or MICROPY_DIR, or None when neither names one."""
    value = given or os.environ.get("MICROPY_DIR")
    return Path(value).expanduser().resolve() if value else None


def _write_if_changed(path: Path, text: str) -> None:
    # Rewriting an unchanged file would touch its time stamp and make rebuild the frozen code.
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _check_tree(tree: Path) -> None:
    if not (tree / "ports" / "qemu" / "Makefile").is_file():
        raise QemuBoardError(f"{tree} is not a MicroPython source tree (ports/qemu/Makefile missing): " + NO_TREE)
    if not (tree / "lib" / "micropython-lib" / "python-stdlib").is_dir():
        raise QemuBoardError(f"{tree}/lib/micropython-lib is empty: the firmware freezes `requests` from it; "
                             "clone micropython-lib there at the commit the tree pins (git submodule status)")
    for tool in ("arm-none-eabi-gcc", "qemu-system-arm"):
        if not shutil.which(tool):
            raise QemuBoardError(f"{tool} not found: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi "
                                 "qemu-system-arm")


def build_firmware(tree: Path, jobs: int = 2, quiet: bool = True, stock: bool = False) -> Path:
    """Build (incrementally) the qemu firmware; returns firmware.elf.

    stock: the variant without the driver frozen and with a /flash big enough for its .mpy files, which
    `spwf04 bench` uses to measure what the driver costs in RAM on a stock firmware."""
    from .deploy import BUILD_MODULE, source_digest

    _check_tree(tree)
    build = BUILD_DIR.with_name(BUILD_DIR.name + "-stock") if stock else BUILD_DIR
    build.mkdir(parents=True, exist_ok=True)
    if stock:
        manifest = BOARD_DIR / "manifest_stock.py"
        extra = [f"LDSCRIPT={BOARD_DIR / 'qemu_spwf04_stock.ld'}"]
    else:
        # As `spwf04 firmware` does for the F401RE: which device sources are frozen, so deploy copies none.
        _write_if_changed(build / f"{BUILD_MODULE}.py",
                          "# Written by the qemu board build: SHA-256 of the device sources frozen into it.\n"
                          f'SOURCES = "{source_digest()}"\n')
        manifest = build / "manifest_build.py"
        _write_if_changed(manifest, f'include("{BOARD_DIR / "manifest.py"}")\n'
                                    f'module("{BUILD_MODULE}.py", base_path="{build}")\n')
        extra = []
    out = subprocess.DEVNULL if quiet else None
    steps = [["make", "-C", str(tree / "mpy-cross"), f"-j{jobs}"],
             ["make", "-C", str(tree / "ports" / "qemu"), f"-j{jobs}", f"BOARD_DIR={BOARD_DIR}",
              f"BUILD={build}", f"FROZEN_MANIFEST={manifest}", *extra]]
    for cmd in steps:
        r = subprocess.run(cmd, stdout=out, stderr=subprocess.PIPE, text=True)
        if r.returncode:
            tail = "\n".join(r.stderr.strip().splitlines()[-15:])
            raise QemuBoardError(f"build step failed: {' '.join(cmd)}\n{tail}")
    return build / "firmware.elf"


class QemuBoard(VirtualBoard):
    """A qemu-system-arm process behind a stable pty; restarted when it exits (machine.reset())."""

    def __init__(self, firmware: Path | str, state_dir: Path | str | None = None, module: str | None = None,
                 link: Path | str | None = None, icount: int | None = None) -> None:
        super().__init__(flash_dir=None, module=module, link=link)
        # icount=0: qemu's -icount shift=0, one instruction per ns of guest time; with qemu_spwf04.cpu()'s idle
        # count, busy guest time is then executed instructions (the bench's Cortex-M CPU figure)
        self.icount = icount
        self.firmware = Path(firmware)
        self._state_tmp = None
        if state_dir is None:
            self._state_tmp = tempfile.TemporaryDirectory(prefix="spwf04-qemu-")
            state_dir = self._state_tmp.name
        self.state_dir = Path(state_dir).resolve()
        self.qemu_log = self.state_dir / "qemu.log"
        self._listeners: dict[str, socket.socket] = {}
        self._conns: dict[str, socket.socket] = {}

    def start(self) -> str:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._listeners = {"console": self._listen("console")}
        return super().start()

    def _listen(self, name: str) -> socket.socket:
        # qemu connects to these as a client (-serial unix:PATH): no race with a socket qemu would create.
        path = self.state_dir / f"{name}.sock"
        path.unlink(missing_ok=True)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(str(path))
        s.listen(1)
        s.settimeout(10)
        return s

    def _qemu_args(self) -> list[str]:
        wires = ["null", "null"]
        if self.module:
            host, _, port = self.module.rpartition(":")
            host = host or "127.0.0.1"
            wires = [f"tcp:{host}:{int(port)},nodelay=on", f"tcp:{host}:{int(port) + 1},nodelay=on"]
        # The console is a socket, not stdio: qemu's stdio backend turns on the terminal's output processing
        # and a board's CR LF would reach the host as CR CR LF.
        args = ["qemu-system-arm", "-machine", MACHINE, "-display", "none", "-monitor", "none", "-semihosting",
                "-serial", f"unix:{self.state_dir / 'console.sock'}", "-serial", wires[0], "-serial", wires[1],
                "-kernel", str(self.firmware)]
        if self.icount is not None:
            args += ["-icount", f"shift={self.icount}"]
        return args

    def _spawn(self, run_main: bool) -> None:
        with open(self.qemu_log, "ab") as errors:
            self._proc = subprocess.Popen(self._qemu_args(), stdin=subprocess.DEVNULL, stdout=errors,
                                          stderr=errors, cwd=self.state_dir, start_new_session=True)
        try:
            old = self._conns.pop("console", None)
            if old:
                old.close()
            self._conns["console"], _ = self._listeners["console"].accept()
        except OSError as e:
            raise QemuBoardError(f"qemu did not start: {e}; see {self.qemu_log}") from e
        self._mp_master = self._conns["console"].fileno()
        self._await_first_output()
        self._conns["console"].setblocking(False)

    def _await_first_output(self) -> None:
        # qemu's USART drops what arrives before the firmware enables it, so a host that types at once (mpremote
        # sends Ctrl-C, Ctrl-A) could lose its first bytes. The firmware prints (main.py's output or the banner)
        # right after enabling it: wait for that, and pass it on.
        console = self._conns["console"]
        console.settimeout(BOOT_TIMEOUT)
        try:
            first = console.recv(4096)
        except OSError:
            raise QemuBoardError(f"the firmware printed nothing within {BOOT_TIMEOUT} s; see {self.qemu_log}")
        self._write(self._host_master, first)

    def _respawn(self) -> None:
        """qemu exited (machine.reset(), a crash): power the board up again, as its reset button would."""
        self.restarts += 1
        raw = self._raw_mode
        self._spawn(run_main=True)
        if raw:
            os.write(self._mp_master, b"\r" + CTRL_A)

    def power_cycle(self) -> None:
        """Cut the power: qemu is killed and started again (RAM and the RTC lost, flash kept)."""
        with self._lock:
            if self._proc and self._proc.poll() is None:
                self._proc.kill()
        # The relay thread sees the exit and starts qemu again (_respawn).

    def stop(self) -> None:
        self._mp_master = -1  # the console socket is closed below, not as a pty fd
        super().stop()
        for s in (*self._conns.values(), *self._listeners.values()):
            s.close()
        if self._state_tmp:
            self._state_tmp.cleanup()
