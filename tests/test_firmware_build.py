"""The real firmware, built from the MicroPython tree in $MICROPY_DIR, checked in its ELF and images.

Builds with `spwf04 firmware` (incremental: seconds when nothing changed), then reads the ELF with
arm-none-eabi-nm: USART1 wired to PA9/PA10, the WIFI_* pin names, the frozen module names, the ROMFS
partition and /flash where the linker script puts them, and flash and RAM use (printed). Also: firmware.bin
holds the two pieces at their addresses and agrees with firmware.hex byte for byte, a second build rebuilds
nothing, and the tree's submodules are not moved. Without MICROPY_DIR these tests skip.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from spwf04_tools import firmware
from spwf04_tools import flashimage as fi
from spwf04_tools.deploy import BUILD_MODULE, frozen_sources

MICROPY_DIR = os.environ.get("MICROPY_DIR")
pytestmark = pytest.mark.skipif(not MICROPY_DIR, reason="set MICROPY_DIR to a MicroPython v1.28.0 tree to build "
                                                        "and check the firmware")
KIB = 1024


def _heads(tree: Path) -> dict[str, str]:
    return {s: subprocess.run(["git", "-C", str(tree / s), "rev-parse", "HEAD"], capture_output=True,
                              text=True).stdout.strip() for s in firmware.SUBMODULES}


@pytest.fixture(scope="module")
def built() -> firmware.Firmware:
    tree = Path(MICROPY_DIR).expanduser().resolve()
    if not shutil.which("arm-none-eabi-gcc"):
        pytest.fail("MICROPY_DIR is set but arm-none-eabi-gcc is missing: apt-get install gcc-arm-none-eabi")
    before = _heads(tree)
    fw = firmware.build(tree, jobs=2)
    elf_mtime = fw.elf.stat().st_mtime_ns
    again = firmware.build(tree, jobs=2)  # nothing changed in between: make relinks nothing
    assert again.elf.stat().st_mtime_ns == elf_mtime, "the second build was not incremental"
    assert _heads(tree) == before, "the build moved the tree's submodules"
    return fw


@pytest.fixture(scope="module")
def symbols(built: firmware.Firmware) -> dict[str, tuple[int, int]]:
    out = subprocess.run(["arm-none-eabi-nm", "-S", str(built.elf)], capture_output=True, text=True, check=True)
    syms = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4:
            syms[parts[3]] = (int(parts[0], 16), int(parts[1], 16))
        elif len(parts) == 3:
            syms[parts[2]] = (int(parts[0], 16), 0)
    return syms


def _flash_bytes(built: firmware.Firmware, addr: int, size: int) -> bytes:
    image = built.bin.read_bytes()
    base = built.pieces[0].address
    return image[addr - base:addr - base + size]


def test_uart1_is_on_pa9_pa10_with_the_wifi_pin_names(built, symbols) -> None:
    # uart_init's literal pool holds the addresses of the pins it configures; the stock board's UART2
    # (PA2/PA3) and UART6 (PC6/PC7) are there too, UART1's PA9/PA10 only with our mpconfigboard_spwf04.h
    addr, size = symbols["uart_init"]
    code = _flash_bytes(built, addr & ~1, size)
    for pin in ("pin_A9_obj", "pin_A10_obj", "pin_A2_obj", "pin_C6_obj"):
        assert struct.pack("<I", symbols[pin][0]) in code, pin
    assert struct.pack("<I", symbols["pin_B6_obj"][0]) not in code  # UART1's other pin pair: not used
    image = built.bin.read_bytes()
    for name in (b"WIFI_TX", b"WIFI_RX", b"WIFI_RST", b"WIFI_WAKEUP"):  # board pin names (qstrs)
        assert name in image, name


def test_frozen_modules_are_the_driver_and_the_build_record(built, symbols) -> None:
    addr, size = symbols["mp_frozen_names"]
    names = [n.decode() for n in _flash_bytes(built, addr, size).split(b"\0") if n]
    ours = {remote for _src, remote in frozen_sources()} | {f"{BUILD_MODULE}.py", firmware.BOOT_MODULE}
    assert ours <= set(names), sorted(ours - set(names))
    assert "asyncio/core.py" in names  # the stock board's manifest is still included


def test_romfs_partition_and_flash_filesystem_are_where_the_linker_script_says(built, symbols) -> None:
    assert symbols["_micropy_hw_romfs_part0_start"][0] == 0x08010000
    assert symbols["_micropy_hw_romfs_part0_size"][0] == 64 * KIB
    assert symbols["_micropy_hw_internal_flash_storage_start"][0] == 0x08004000
    assert symbols["_micropy_hw_internal_flash_storage_end"][0] == 0x08010000
    assert "mp_vfs_rom_ioctl" in symbols and "mp_vfs_mount_romfs_protected" in symbols


def test_firmware_bin_holds_both_pieces_and_agrees_with_the_hex(built) -> None:
    assert [(p.name, p.address) for p in built.pieces] == [("firmware0.bin", 0x08000000), ("firmware1.bin", 0x08020000)]
    image = built.bin.read_bytes()
    p0, p1 = built.pieces
    assert image[:len(p0.data)] == p0.data and image[0x20000:] == p1.data
    assert set(image[len(p0.data):0x20000]) == {0xFF}  # /flash and ROMFS sectors: erased
    memory = fi.read_hex(built.hex)
    assert len(memory) == len(p0.data) + len(p1.data)
    assert all(image[a - 0x08000000] == b for a, b in memory.items())


def test_flash_and_ram_use(built, symbols, capsys) -> None:
    p0, p1 = built.pieces
    text_room = 384 * KIB
    static_ram = symbols["_ebss"][0] - 0x20000000
    heap = symbols["_heap_end"][0] - symbols["_heap_start"][0]
    with capsys.disabled():
        print(f"\nfirmware: sector 0 {len(p0.data)} B of 16 KiB; text {len(p1.data)} B of {text_room} B "
              f"({text_room - len(p1.data)} B free); RAM static {static_ram} B, heap {heap} B; "
              f"ROMFS 64 KiB at 0x08010000; /flash 48 KiB at 0x08004000")
    assert len(p0.data) <= 16 * KIB and len(p1.data) <= text_room
    assert heap >= 60_000  # the ~60 KB heap the driver is sized for (README, Memory)
