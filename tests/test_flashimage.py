"""firmware.bin from the two pieces of an F401 build, on synthetic pieces (the real build: test_firmware_build.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from spwf04_tools import flashimage as fi
from spwf04_tools import firmware

TEXT0, TEXT1 = 0x08000000, 0x08020000


def _hex_records(base: int, data: bytes) -> str:
    """Intel HEX as objcopy writes it: a type-04 upper address, 16-byte data records, an end record."""
    def rec(kind: int, addr: int, payload: bytes) -> str:
        body = bytes([len(payload), addr >> 8, addr & 0xFF, kind]) + payload
        return ":" + (body + bytes([-sum(body) & 0xFF])).hex().upper()
    lines, upper = [], None
    for off in range(0, len(data), 16):
        addr = base + off
        if addr >> 16 != upper:
            upper = addr >> 16
            lines.append(rec(4, 0, upper.to_bytes(2, "big")))
        lines.append(rec(0, addr & 0xFFFF, data[off:off + 16]))
    return "\n".join(lines + [rec(1, 0, b"")]) + "\n"


def test_pieces_land_at_their_addresses_and_the_gap_is_erased() -> None:
    p0 = fi.Piece(TEXT0, bytes(range(256)) * 4 + b"\x01\x02\x03", "firmware0.bin")  # 1027 B, odd length
    p1 = fi.Piece(TEXT1, b"\xA5\x00" * 5000, "firmware1.bin")
    base, image = fi.assemble([p1, p0])  # order given does not matter
    assert base == TEXT0 and len(image) == (TEXT1 - TEXT0) + len(p1.data)
    assert image[:len(p0.data)] == p0.data
    assert image[len(p0.data):TEXT1 - TEXT0] == b"\xFF" * (TEXT1 - TEXT0 - len(p0.data))
    assert image[TEXT1 - TEXT0:] == p1.data


def test_overlapping_pieces_are_refused_with_both_named() -> None:
    p0 = fi.Piece(TEXT0, b"\0" * 0x20001, "firmware0.bin")  # one byte into firmware1's first address
    p1 = fi.Piece(TEXT1, b"\1", "firmware1.bin")
    with pytest.raises(fi.ImageError, match=r"firmware0.bin .* overlaps firmware1.bin at 0x08020000"):
        fi.assemble([p0, p1])
    with pytest.raises(fi.ImageError, match="no pieces"):
        fi.assemble([])


def test_text_addresses_follow_make_last_assignment() -> None:
    mk = "MCU_SERIES = f4\nTEXT0_ADDR = 0x08000000\nTEXT1_ADDR = 0x08020000\n# later board file\nTEXT1_ADDR ?= 0x08040000\n"
    assert fi.text_addresses(mk) == (TEXT0, 0x08040000)
    assert fi.text_addresses("TEXT0_ADDR = 0x08000000\n") == (TEXT0, None)
    with pytest.raises(fi.ImageError, match="no TEXT0_ADDR"):
        fi.text_addresses("MCU_SERIES = f4\n")


def test_assemble_bin_writes_firmware_bin_from_the_build_folder(tmp_path: Path) -> None:
    board = tmp_path / "NUCLEO_F401RE_SPWF04"
    build = board / "build"
    build.mkdir(parents=True)
    (board / "mpconfigboard.mk").write_text(f"TEXT0_ADDR = 0x{TEXT0:08x}\nTEXT1_ADDR = 0x{TEXT1:08x}\n")
    (build / "firmware0.bin").write_bytes(b"\x10" * 1088)
    (build / "firmware1.bin").write_bytes(b"\x20" * 3000)
    path, pieces = firmware.assemble_bin(board, build)
    assert path == build / "firmware.bin" and [p.name for p in pieces] == ["firmware0.bin", "firmware1.bin"]
    data = path.read_bytes()
    assert data[:1088] == b"\x10" * 1088 and data[0x20000:] == b"\x20" * 3000 and data[1088:0x20000].count(0xFF) == 0x20000 - 1088
    old = 1_000_000_000
    os.utime(path, (old, old))
    firmware.assemble_bin(board, build)  # same pieces: not rewritten (a programmer's cache, make, stay valid)
    assert path.stat().st_mtime == old
    (build / "firmware1.bin").write_bytes(b"\x30" * 10)
    firmware.assemble_bin(board, build)
    assert path.read_bytes()[0x20000:] == b"\x30" * 10 and len(path.read_bytes()) == 0x20000 + 10
    (build / "firmware0.bin").unlink()
    with pytest.raises(fi.ImageError, match=r"firmware0.bin missing: the firmware build did not finish"):
        firmware.assemble_bin(board, build)


def test_read_hex_matches_the_assembled_image(tmp_path: Path) -> None:
    p0 = fi.Piece(TEXT0, os.urandom(1000), "firmware0.bin")
    p1 = fi.Piece(TEXT1, os.urandom(70000), "firmware1.bin")  # crosses a 64 KiB boundary: a second type-04 record
    hexfile = tmp_path / "firmware.hex"
    # one file holding both parts: the first part's end record dropped, as objcopy writes it
    text = (_hex_records(p0.address, p0.data) + _hex_records(p1.address, p1.data)).replace(":00000001FF\n", "", 1)
    hexfile.write_text(text)
    memory = fi.read_hex(hexfile)
    base, image = fi.assemble([p0, p1])
    assert len(memory) == len(p0.data) + len(p1.data)
    assert all(image[a - base] == b for a, b in memory.items())
    hexfile.write_text(text.replace(text[1:3], "FF", 1))  # a damaged record
    with pytest.raises(fi.ImageError, match="checksum error|length"):
        fi.read_hex(hexfile)
