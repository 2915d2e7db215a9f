"""Interactive REPL: on the virtual board (with the SPWF04SA simulator wired to its UART) or a real board.

Ctrl-] or Ctrl-X leaves mpremote's REPL; whatever this command started is stopped then.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

from .board import DEFAULT_HEAP, VirtualBoard


def mpremote_executable() -> str:
    return str(Path(sys.executable).with_name("mpremote"))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", help="a real board's serial port (default: start the virtual board)")
    p.add_argument("--flash", type=Path, help="virtual board: flash directory (default: a temporary one)")
    p.add_argument("--heap", default=DEFAULT_HEAP, help="virtual board: heap size (default %(default)s)")
    p.add_argument("--fw", choices=["1.0", "1.1"], default="1.1", help="simulated module firmware")


def start_virtual(stack: ExitStack, flash: Path | None, heap: str, fw: str = "1.1") -> VirtualBoard:
    """Start the simulator and a virtual board wired to it; both are stopped when `stack` closes."""
    from .sim import SimConfig, Simulator

    sim = Simulator(SimConfig(fw=fw))
    sim.start_tcp("127.0.0.1", 0)
    stack.callback(sim.stop)
    host, port = sim.uart_address
    board = VirtualBoard(flash, heap=heap, module=f"{host}:{port}")
    board.start()
    stack.callback(board.stop)
    return board


def run(args: argparse.Namespace) -> int:
    with ExitStack() as stack:
        port = args.port
        if not port:
            board = start_virtual(stack, args.flash, args.heap, args.fw)
            port = board.device
            print(f"virtual board on {port} (flash: {board.flash_dir}), SPWF04SA simulator on its UART")
            print("try:  import wifi_board; m = wifi_board.module(); m.init()")
        print("Ctrl-] or Ctrl-X leaves the REPL.")
        return subprocess.call([mpremote_executable(), "connect", port, "resume", "repl"])
