"""One flashable image from the pieces an stm32 build writes, and Intel HEX reading to check it.

An F401 build splits the firmware: firmware0.bin (the isr vector, sector 0 at 0x08000000) and
firmware1.bin (the text, sectors 5-7 at 0x08020000); what lies between is /flash and the ROMFS. The
NUCLEO's ST-LINK drive and most tools take one file, so `firmware.bin` holds both pieces at their
addresses with the gap filled with 0xFF (erased flash).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ERASED = 0xFF


class ImageError(Exception):
    pass


@dataclass(frozen=True)
class Piece:
    address: int
    data: bytes
    name: str

    @property
    def end(self) -> int:
        return self.address + len(self.data)


def assemble(pieces: list[Piece], fill: int = ERASED) -> tuple[int, bytes]:
    """(base address, image): every piece at its address, the gaps filled; overlapping pieces are refused."""
    if not pieces:
        raise ImageError("no pieces to assemble")
    ordered = sorted(pieces, key=lambda p: p.address)
    for a, b in zip(ordered, ordered[1:]):
        if a.end > b.address:
            raise ImageError(f"{a.name} (0x{a.address:08x}..0x{a.end:08x}) overlaps {b.name} at 0x{b.address:08x}: "
                             "the board's TEXT0_ADDR/TEXT1_ADDR or linker script disagree")
    base = ordered[0].address
    image = bytearray([fill]) * (ordered[-1].end - base)
    for p in ordered:
        image[p.address - base:p.end - base] = p.data
    return base, bytes(image)


def text_addresses(mk_text: str) -> tuple[int, int | None]:
    """TEXT0_ADDR and TEXT1_ADDR from a board's mpconfigboard.mk (the last assignment wins, as in make)."""
    found: dict[str, int] = {}
    for name, value in re.findall(r"^\s*(TEXT[01]_ADDR)\s*[:?]?=\s*(0x[0-9A-Fa-f]+)\s*$", mk_text, re.M):
        found[name] = int(value, 16)
    if "TEXT0_ADDR" not in found:
        raise ImageError("no TEXT0_ADDR in the board's mpconfigboard.mk: cannot place firmware0.bin")
    return found["TEXT0_ADDR"], found.get("TEXT1_ADDR")


def build_pieces(build_dir: Path, text0: int, text1: int | None) -> list[Piece]:
    """The pieces the stm32 Makefile wrote: firmware0/1.bin when split, else firmware.bin at TEXT0_ADDR."""
    names = [("firmware0.bin", text0), ("firmware1.bin", text1)] if text1 is not None else [("firmware.bin", text0)]
    pieces = []
    for name, addr in names:
        path = build_dir / name
        if not path.is_file():
            raise ImageError(f"{path} missing: the firmware build did not finish (run make firmware again)")
        pieces.append(Piece(addr, path.read_bytes(), name))
    return pieces


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write only when the content differs, so make's timestamps (and flashing tools' caches) stay valid."""
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return True


def read_hex(path: Path) -> dict[int, int]:
    """Intel HEX -> {address: byte} (types 00 data, 01 end, 02/04 segment/linear base; 03/05 start ignored)."""
    memory: dict[int, int] = {}
    base = 0
    for n, line in enumerate(path.read_text().split(), 1):
        if not line.startswith(":"):
            raise ImageError(f"{path}:{n}: not an Intel HEX record")
        rec = bytes.fromhex(line[1:])
        if sum(rec) & 0xFF:
            raise ImageError(f"{path}:{n}: checksum error")
        count, addr, kind, payload = rec[0], int.from_bytes(rec[1:3], "big"), rec[3], rec[4:-1]
        if len(payload) != count:
            raise ImageError(f"{path}:{n}: length {count} but {len(payload)} data bytes")
        if kind == 0:
            for i, b in enumerate(payload):
                memory[base + addr + i] = b
        elif kind == 1:
            break
        elif kind == 2:
            base = int.from_bytes(payload, "big") << 4
        elif kind == 4:
            base = int.from_bytes(payload, "big") << 16
    return memory
