"""Build MicroPython for NUCLEO_F401RE_SPWF04: the stock NUCLEO_F401RE plus USART1, pin names, frozen driver.

    spwf04 firmware --micropython-dir ~/src/micropython   (or: make firmware MICROPY_DIR=...)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from . import BOARDS_DIR, REPO_ROOT
from .deploy import BUILD_MODULE, source_digest

BOARD = "NUCLEO_F401RE_SPWF04"
STOCK = "NUCLEO_F401RE"
OVERLAY = BOARDS_DIR / BOARD
BUILD_MANIFEST = "manifest_build.py"  # the overlay's manifest plus the BUILD_MODULE (written per build)


class FirmwareError(Exception):
    pass


def prepare_board_dir(micropython_dir: Path, out: Path) -> Path:
    """Copy the stock board, apply our overlay, write the build manifest; returns the BOARD_DIR to build."""
    stock = micropython_dir / "ports" / "stm32" / "boards" / STOCK
    if not (stock / "mpconfigboard.h").is_file():
        raise FirmwareError(f"{micropython_dir} is not a MicroPython source tree ({stock}/mpconfigboard.h "
                            "missing): pass --micropython-dir / MICROPY_DIR=<path to a micropython checkout>")
    board_dir = out / BOARD
    if board_dir.exists():
        shutil.rmtree(board_dir)
    shutil.copytree(stock, board_dir)
    shutil.copy(OVERLAY / "mpconfigboard_spwf04.h", board_dir)
    with open(board_dir / "mpconfigboard.h", "a") as f:
        f.write('\n#include "mpconfigboard_spwf04.h"\n')
    pins = board_dir / "pins.csv"
    text = pins.read_text()
    if not text.endswith("\n"):
        text += "\n"
    pins.write_text(text + (OVERLAY / "pins_spwf04.csv").read_text())
    # Frozen beside the device code: which sources this firmware holds, so that `spwf04 deploy` copies none
    # of it when the host has the same (a copy on the filesystem would shadow the frozen modules).
    (board_dir / f"{BUILD_MODULE}.py").write_text(
        "# Written by `spwf04 firmware`: SHA-256 of the device sources frozen into this firmware.\n"
        f'SOURCES = "{source_digest()}"\n')
    (board_dir / BUILD_MANIFEST).write_text(
        f'include("{OVERLAY / "manifest.py"}")\nmodule("{BUILD_MODULE}.py", base_path="{board_dir}")\n')
    return board_dir


def build(micropython_dir: Path, jobs: int = 2) -> Path:
    if not shutil.which("arm-none-eabi-gcc"):
        raise FirmwareError("arm-none-eabi-gcc not found: install it (Debian: apt-get install gcc-arm-none-eabi "
                            "libnewlib-arm-none-eabi) or use the stock firmware with UART(6) (boards/"
                            f"{BOARD}/README.md, 'No rebuild')")
    board_dir = prepare_board_dir(micropython_dir, REPO_ROOT / "build" / "boards")
    subprocess.run(["make", "-C", str(micropython_dir / "mpy-cross"), f"-j{jobs}"], check=True)
    subprocess.run(["make", "-C", str(micropython_dir / "ports" / "stm32"), "submodules",
                    f"BOARD_DIR={board_dir}"], check=True)
    subprocess.run(["make", "-C", str(micropython_dir / "ports" / "stm32"), f"-j{jobs}",
                    f"BOARD_DIR={board_dir}", f"BUILD={board_dir / 'build'}",
                    f"FROZEN_MANIFEST={board_dir / BUILD_MANIFEST}"], check=True)
    return board_dir / "build" / "firmware.bin"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--micropython-dir", type=Path, help="a MicroPython source tree (git checkout)")
    p.add_argument("-j", "--jobs", type=int, default=2)


def run(args: argparse.Namespace) -> int:
    if not args.micropython_dir:
        print("firmware: no MicroPython source tree given. Run: make firmware MICROPY_DIR=<micropython checkout>\n"
              "  (git clone of micropython, any v1.20+; needs arm-none-eabi-gcc).\n"
              f"  Without rebuilding: stock NUCLEO_F401RE firmware + UART(6) wiring, see boards/{BOARD}/README.md",
              file=sys.stderr)
        return 2
    try:
        fw = build(args.micropython_dir.expanduser(), args.jobs)
    except FirmwareError as e:
        print(f"firmware: {e}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as e:
        print(f"firmware: build step failed: {' '.join(map(str, e.cmd))}", file=sys.stderr)
        return 1
    print(f"firmware: {fw}")
    return 0
