"""Flash the firmware built by `spwf04 firmware` through the NUCLEO's ST-LINK with pyOCD, then verify it.

    spwf04 flash                 # firmware0.bin and firmware1.bin at their addresses: /flash and /rom kept
    spwf04 flash --whole         # firmware.bin from 0x08000000: also erases /flash and /rom (recreated at boot)

pyOCD is an optional extra (pip install 'spwf04-tools[flash]'); without it, copy firmware.bin to the
NUCLEO's USB drive instead (boards/NUCLEO_F401RE_SPWF04/README.md).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from . import flashimage as fi

log = logging.getLogger(__name__)

BOARD = "NUCLEO_F401RE_SPWF04"
# pyOCD names pack targets by the full part number (STM32F401RETx); its board table gives the NUCLEO-F401RE
# (ST-LINK board id 0720) this one. "stm32f401re" would be "not recognized" even with the pack installed.
TARGET = "stm32f401retx"
DEFAULT_BUILD = Path(__file__).resolve().parents[2] / "build" / "boards" / BOARD / "build"
STOCK_TEXT = (0x08000000, 0x08020000)  # the F401 split, when the board folder is not beside the build folder


class FlashError(Exception):
    pass


def load_pyocd():
    """pyOCD's session helper and file programmer, imported only when flashing (an optional extra)."""
    try:
        from pyocd.core.helpers import ConnectHelper
        from pyocd.flash.file_programmer import FileProgrammer
    except ImportError:
        raise FlashError("pyOCD is not installed: .venv/bin/pip install 'spwf04-tools[flash]' (or pip install pyocd); "
                         "or copy firmware.bin to the NUCLEO's USB drive (NODE_F401RE)") from None
    return ConnectHelper, FileProgrammer


def images(build_dir: Path, whole: bool) -> list[fi.Piece]:
    """What to write: the split pieces (the sectors between them, /flash and /rom, are not touched) or the
    one assembled firmware.bin (everything from TEXT0_ADDR, the gap erased)."""
    mk = build_dir.parent / "mpconfigboard.mk"
    text0, text1 = fi.text_addresses(mk.read_text()) if mk.is_file() else STOCK_TEXT
    pieces = fi.build_pieces(build_dir, text0, text1)
    if whole and len(pieces) > 1:
        base, data = fi.assemble(pieces)
        return [fi.Piece(base, data, "firmware.bin")]
    return pieces


def open_session(probe: str | None, target: str, connect_helper):
    # auto_open=False: the session is opened by the caller, which explains a target pyOCD does not know
    session = connect_helper.session_with_chosen_probe(blocking=False, return_first=probe is None, unique_id=probe,
                                                       auto_open=False, target_override=target)
    if session is None:
        which = f"probe {probe}" if probe else "ST-LINK probe"
        raise FlashError(f"no {which} found: plug the NUCLEO's ST-LINK USB (CN1) in, close other debuggers "
                         "(STM32CubeProgrammer, openocd), check USB permissions (pyocd list shows the probes)")
    return session


def program_and_verify(session, pieces: list[fi.Piece], file_programmer, out=print) -> None:
    """Write each piece at its address (sector erase: only the sectors it covers), reset, read back, compare."""
    with tempfile.TemporaryDirectory(prefix="spwf04-flash-") as tmp:
        for p in pieces:
            path = Path(tmp) / p.name
            path.write_bytes(p.data)
            out(f"flash: writing {p.name} ({len(p.data)} bytes) at 0x{p.address:08x}")
            file_programmer(session, chip_erase="sector").program(str(path), file_format="bin",
                                                                   base_address=p.address)
    target = session.target
    target.reset_and_halt()
    for p in pieces:
        got = bytes(target.read_memory_block8(p.address, len(p.data)))
        if got != p.data:
            bad = next(i for i, (a, b) in enumerate(zip(got, p.data)) if a != b)
            raise FlashError(f"verify failed: {p.name} differs at 0x{p.address + bad:08x}; flash again "
                             "(--whole erases everything), or check the board's power and the ST-LINK cable")
        out(f"flash: {p.name} verified ({len(p.data)} bytes read back)")
    target.reset()


def flash(build_dir: Path, whole: bool = False, probe: str | None = None, target: str = TARGET,
          out=print) -> None:
    pieces = images(build_dir, whole)
    connect_helper, file_programmer = load_pyocd()
    with open_session(probe, target, connect_helper) as session:  # closes the probe whatever happens
        try:
            session.open()
        except Exception as e:  # pyOCD knows the F401 only from ST's CMSIS pack, not built in
            if type(e).__name__ == "TargetSupportError":
                raise FlashError(f"pyOCD does not know target {target!r}: install its CMSIS pack once (network): "
                                 f".venv/bin/pyocd pack install {target}") from None
            raise
        out(f"flash: probe {session.probe.unique_id}, target {target}")
        program_and_verify(session, pieces, file_programmer, out)
    out("flash: done; the board was reset" + (" (/flash and /rom erased: recreated at boot)" if whole else ""))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD,
                   help="the firmware build folder (default: where `spwf04 firmware` builds)")
    p.add_argument("--whole", action="store_true",
                   help="write the one firmware.bin from 0x08000000: also erases /flash and /rom (first flash "
                        "after the stock firmware, whose /flash layout differs)")
    p.add_argument("--probe", help="unique id of the ST-LINK to use (pyocd list); default: the only one")
    p.add_argument("--target", default=TARGET, help=f"pyOCD target type (default {TARGET})")


def run(args: argparse.Namespace) -> int:
    try:
        flash(args.build_dir, args.whole, args.probe, args.target)
    except (FlashError, fi.ImageError) as e:
        print(f"flash: {e}", file=sys.stderr)
        return 2 if isinstance(e, fi.ImageError) else 1
    except Exception as e:  # pyOCD's own errors (transfer faults, locked chips): say which, not a traceback
        if type(e).__module__.startswith("pyocd"):
            print(f"flash: pyOCD: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        raise
    return 0
