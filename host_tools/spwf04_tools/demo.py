"""The Client_Socket demo end to end: TLS from the (virtual) NUCLEO-F401RE through the SPWF04SA.

Virtual (default): makes a CA and server certificate laid out like ST's one-way TLS example, starts
`openssl s_server -tls1_2 -www` on loopback, the SPWF04SA simulator and the virtual board, deploys the
driver and the app with its configuration and CA, runs the app and prints the page the server sent.

Real board: `spwf04 demo --port /dev/ttyACM0 --server HOST:PORT --ca ca.pem --ssid NET [--name NAME]`
with the Wi-Fi key in the environment variable SPWF04_WIFI_KEY (or typed at the prompt), never on the
command line.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from .board import DEFAULT_HEAP, VirtualBoard
from .deploy import DeployError, deploy
from .pki import PKI, PKIOptions, build_pki
from .repl_link import DeviceError, DeviceLink
from .sim import SimConfig, Simulator
from .sim.config import DEFAULT_AP, Timing
from .tls_server import FW10_CIPHERS, OpenSSLServer

REQUEST = "GET / HTTP/1.0\r\n\r\n"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def run_app(port: str, timeout: float) -> bool:
    """Run client_socket.main() on the board, streaming its console; True if it reported success."""
    with DeviceLink(port) as dev:
        out = dev.exec("import client_socket\nprint('RESULT', client_socket.main())", timeout=timeout, echo=True)
    return "RESULT True" in out


@dataclass
class VirtualRig:
    """What `make demo` and `make repl` run on this machine: the demo PKI, a TLS peer, the simulator and the
    virtual board wired to it, and the client configuration for them (the Wi-Fi key in a private file)."""

    work: Path
    pki: PKI
    server: OpenSSLServer
    sim: Simulator
    board: VirtualBoard
    config: Path


def start_virtual_rig(stack: ExitStack, work: Path, fw: str, timeout: float, *, flash: Path | None = None,
                      heap: str = DEFAULT_HEAP, peer_port: int | None = None, wrong_ca: bool = False,
                      qemu: Path | None = None, say=print) -> VirtualRig:
    """Start everything (stopped when `stack` closes). peer_port: the s_server's port (None: any free one);
    wrong_ca: also make a CA with the server CA's name but another key (pki.wrong_ca), for the README's
    example of a failing TLS open; qemu: the 32-bit board's firmware.elf, to run that board instead of the
    unix-port one."""
    say(f"== test PKI (CA with SKI, AKI, CRL distribution point; server certificate) in {work}")
    pki = build_pki(work / "pki", PKIOptions(wrong_ca=wrong_ca))
    server = stack.enter_context(OpenSSLServer(pki.server.pem, pki.server.key_pem, chain=pki.chain_pem,
                                               www=True, tls1_2=True, port=peer_port,
                                               ciphers=FW10_CIPHERS if fw == "1.0" else None))
    say(f"== openssl s_server -tls1_2 -www on {server.host}:{server.port}")
    sim = Simulator(SimConfig(fw=fw))
    sim.start_tcp("127.0.0.1", 0)
    stack.callback(sim.stop)
    host, port = sim.uart_address
    say(f"== SPWF04SA simulator (FW {fw}) on {host}:{port}, access point '{DEFAULT_AP.ssid}'")
    if qemu:
        from .qemu_board import QemuBoard

        board: VirtualBoard = QemuBoard(qemu, state_dir=flash or work / "qemu", module=f"{host}:{port}")
        kind = "32-bit virtual NUCLEO-F401RE (qemu)"
    else:
        board = VirtualBoard(flash or work / "flash", heap=heap, module=f"{host}:{port}")
        kind = "virtual NUCLEO-F401RE"
    board.start()
    stack.callback(board.stop)
    say(f"== {kind} on {board.device}")
    cfg = {"ssid": DEFAULT_AP.ssid, "key": DEFAULT_AP.passphrase, "host": server.host, "port": server.port,
           "server_name": "localhost", "request": REQUEST, "security": "tls", "timeout": timeout}
    cfg_path = work / "client_config.json"
    _write_private(cfg_path, json.dumps(cfg).encode())
    return VirtualRig(work, pki, server, sim, board, cfg_path)


def demo_virtual(fw: str, timeout: float, keep: Path | None, qemu: Path | None = None) -> bool:
    with ExitStack() as stack:
        work = keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="spwf04-demo-")))
        rig = start_virtual_rig(stack, work, fw, timeout, qemu=qemu)
        print("== deploy")
        deploy(rig.board.device, rig.config, rig.pki.ca_pem)
        # From here the simulated module takes as long as a real one is estimated to (boot, join, TLS, commands)
        rig.sim.reconfigure(timing=Timing.realistic())
        print("== run client_socket on the board (simulator timing: realistic estimates)")
        ok = run_app(rig.board.device, timeout * 6)
        for peer, version, suite in rig.sim.engine.tls_sessions:
            print(f"== TLS with {peer}: {version} {suite} (negotiated from the FW {fw} offer)")
        for why in rig.sim.engine.tls_failures:
            print(f"== TLS failed: {why}")
        return ok


def demo_real(args: argparse.Namespace) -> bool:
    if not (args.server and args.ca and args.ssid):
        raise DeployError("a real board needs --server HOST:PORT, --ca FILE and --ssid NAME")
    key = os.environ.get("SPWF04_WIFI_KEY")
    if key is None:
        key = getpass.getpass(f"Wi-Fi key for '{args.ssid}' (not echoed): ")
    host, _, port = args.server.rpartition(":")
    cfg = {"ssid": args.ssid, "key": key, "host": host, "port": int(port), "server_name": args.name,
           "request": REQUEST, "security": "tls", "timeout": args.timeout}
    with tempfile.TemporaryDirectory(prefix="spwf04-demo-") as tmp:
        cfg_path = Path(tmp) / "client_config.json"
        _write_private(cfg_path, json.dumps(cfg).encode())
        deploy(args.port, cfg_path, args.ca)
    return run_app(args.port, args.timeout * 6)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", help="a real board's serial port (default: virtual board + simulator + s_server)")
    p.add_argument("--fw", choices=["1.0", "1.1"], default="1.1", help="virtual: simulated firmware profile")
    p.add_argument("--server", metavar="HOST:PORT", help="real board: the TLS server")
    p.add_argument("--name", help="real board: the server name to check (default: none)")
    p.add_argument("--ca", type=Path, help="real board: the CA that issued the server certificate")
    p.add_argument("--ssid", help="real board: the Wi-Fi network (key: $SPWF04_WIFI_KEY or prompt)")
    p.add_argument("--timeout", type=int, default=20, help="seconds per network step (default %(default)s)")
    p.add_argument("--keep", type=Path, help="virtual: keep the PKI, flash and config in this directory")
    p.add_argument("--qemu", action="store_true", help="virtual: on the 32-bit board (needs $MICROPY_DIR or "
                   "--micropython-dir; see docs/virtual-boards.md)")
    p.add_argument("--micropython-dir", type=Path, help="with --qemu: the MicroPython source tree")


def _qemu_firmware(args: argparse.Namespace) -> Path | None:
    if not args.qemu:
        return None
    from . import qemu_board

    tree = qemu_board.micropython_dir(args.micropython_dir)
    if tree is None:
        raise qemu_board.QemuBoardError(qemu_board.NO_TREE)
    return qemu_board.build_firmware(tree)


def run(args: argparse.Namespace) -> int:
    from .qemu_board import QemuBoardError

    try:
        ok = demo_real(args) if args.port else demo_virtual(args.fw, args.timeout, args.keep, _qemu_firmware(args))
    except (DeployError, DeviceError, QemuBoardError) as e:
        print(f"demo failed: {e}", file=sys.stderr)
        return 1
    print("== demo " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1
