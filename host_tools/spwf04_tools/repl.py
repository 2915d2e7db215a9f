"""Interactive REPL: on the virtual board (with the SPWF04SA simulator wired to its UART) or a real board.

On the virtual board everything the README's REPL examples need is there, as `make demo` sets it up: the
driver and the app deployed, client_config.json for the simulator's access point and the TLS peer, the
demo PKI's CA as ca.pem (and wrong_ca.pem: the same name, another key), and `openssl s_server -www` on
127.0.0.1:4433 (another free port if 4433 is taken; the banner says which). `--bare` starts the board and
the simulator only, with nothing deployed.

Ctrl-] or Ctrl-X leaves mpremote's REPL; whatever this command started is stopped then.
"""

from __future__ import annotations

import argparse
import logging
import socket
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from .board import DEFAULT_HEAP, VirtualBoard

log = logging.getLogger(__name__)

PEER_PORT = 4433  # the port of the README's examples


def mpremote_executable() -> str:
    return str(Path(sys.executable).with_name("mpremote"))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", help="a real board's serial port (default: start the virtual board)")
    p.add_argument("--flash", type=Path, help="virtual board: flash directory (default: a temporary one)")
    p.add_argument("--heap", default=DEFAULT_HEAP, help="virtual board: heap size (default %(default)s)")
    p.add_argument("--fw", choices=["1.0", "1.1"], default="1.1", help="simulated module firmware")
    p.add_argument("--peer-port", type=int, default=PEER_PORT,
                   help="virtual board: port of the TLS peer (default %(default)s; 0: any free port)")
    p.add_argument("--bare", action="store_true",
                   help="virtual board: board and simulator only (no deploy, no TLS peer)")


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


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start_ready(stack: ExitStack, args: argparse.Namespace) -> VirtualBoard:
    """The virtual board as `make demo` leaves it, ready for the README's REPL examples."""
    from .demo import start_virtual_rig
    from .deploy import deploy
    from .repl_link import DeviceLink

    port = args.peer_port or None
    if port is not None and not _port_free(port):
        print(f"note: 127.0.0.1:{port} is taken: the TLS peer gets another port (use it in place of {port})")
        port = None
    work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="spwf04-repl-")))
    rig = start_virtual_rig(stack, work, args.fw, 20, flash=args.flash, heap=args.heap, peer_port=port,
                            wrong_ca=True)
    print("== deploy: driver, app, client_config.json, ca.pem")
    deploy(rig.board.device, rig.config, rig.pki.ca_pem, out=lambda *a: log.info(" ".join(map(str, a))))
    with DeviceLink(rig.board.device) as dev:
        dev.put_bytes(rig.pki.wrong_ca.pem.read_bytes(), "wrong_ca.pem")
    print(f"ready: the README's examples run as printed; TLS peer on {rig.server.host}:{rig.server.port}, "
          f"network 'SPWF04-SIM' / 'simulated-wifi', wrong_ca.pem: the CA's name with another key")
    return rig.board


def run(args: argparse.Namespace) -> int:
    from .deploy import DeployError
    from .repl_link import DeviceError

    with ExitStack() as stack:
        port = args.port
        if not port:
            try:
                board = start_virtual(stack, args.flash, args.heap, args.fw) if args.bare else start_ready(stack, args)
            except (DeployError, DeviceError, OSError) as e:
                print(f"repl: the virtual board could not be prepared: {e}", file=sys.stderr)
                return 1
            port = board.device
            print(f"virtual board on {port} (flash: {board.flash_dir}), SPWF04SA simulator on its UART")
            print("try:  import client_socket; c = client_socket.Client()   (README: 'At the REPL')")
        print("Ctrl-] or Ctrl-X leaves the REPL.")
        return subprocess.call([mpremote_executable(), "connect", port, "resume", "repl"])
