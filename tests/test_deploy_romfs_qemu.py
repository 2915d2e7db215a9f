"""`spwf04 deploy` into a real ROMFS partition: the 32-bit qemu board's `vfs.rom_ioctl` (needs MICROPY_DIR).

The qemu board freezes the driver as the NUCLEO firmware does, from the sources it was built from, so
deploy would rightly choose "frozen". A firmware whose frozen driver is not this one is emulated the way
tests/test_deploy_frozen.py does it: deploy looks for frozen modules on an empty sys.path entry. The
NUCLEO firmware's boot step (spwf04_boot.py, frozen there) runs here as /flash/boot.py, which the qemu
board runs at every reset like the stm32 port: /rom is searched before .frozen. Everything else - the
ROMFS query, mpremote's romfs deploy through rom_ioctl, the SHA-256 of the partition, the imports from /rom,
and emptying a ROMFS that would shadow a matching frozen driver - runs on the board as on a NUCLEO.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest

from spwf04_tools import BOARDS_DIR, romfs
from spwf04_tools import deploy as D
from spwf04_tools.repl_link import DeviceLink

MICROPY_DIR = os.environ.get("MICROPY_DIR")
pytestmark = [
    pytest.mark.virtual_only,
    pytest.mark.skipif(not MICROPY_DIR or not shutil.which("qemu-system-arm"),
                       reason="set MICROPY_DIR (and install qemu-system-arm) for the 32-bit board's ROMFS"),
]
NOT_THIS_DRIVER = "frozen-elsewhere"  # an empty sys.path entry: "the firmware froze no driver of ours"


@pytest.fixture(scope="module")
def qemu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from spwf04_tools.qemu_board import QemuBoard, build_firmware

    firmware = build_firmware(Path(MICROPY_DIR).expanduser().resolve())
    board = QemuBoard(firmware, tmp_path_factory.mktemp("qemu-romfs"))
    board.start()
    try:
        with DeviceLink(board.device) as dev:
            dev.put_bytes((BOARDS_DIR / "NUCLEO_F401RE_SPWF04" / "spwf04_boot.py").read_bytes(), "boot.py")
            dev.soft_reset()
            assert romfs.query_partition(dev) == romfs.RomPartition(True, 1, 65536, True)
        yield board
    finally:
        board.stop()


def test_deploy_writes_the_driver_to_romfs_and_it_runs_from_rom(qemu) -> None:
    lines: list[str] = []
    D.deploy(qemu.device, out=lines.append, frozen_path=NOT_THIS_DRIVER)
    text = "\n".join(lines)
    assert "driver placement: romfs (partition 0 has 65536 bytes, the image needs" in text, text
    assert "ROMFS: image verified by SHA-256 on the board" in text
    with DeviceLink(qemu.device) as dev:
        files = romfs.imported_from(dev, D.TOP_NAMES + ["spwf04.module"])
        assert all(f.startswith("/rom/") for f in files.values()), files
        flash = dev.exec("import os\nprint(' '.join(os.listdir('/flash')))").split()
    assert not {"spwf04", "spwf04compat", "wifi_board.mpy"} & set(flash), flash  # nothing of it on /flash


def test_with_the_driver_frozen_a_shadowing_romfs_is_emptied(qemu) -> None:
    with DeviceLink(qemu.device) as dev:
        if not romfs.holds(dev, ["spwf04"]):  # this test alone: put a driver in /rom first
            dev.close()
            D.deploy(qemu.device, out=lambda *a: None, frozen_path=NOT_THIS_DRIVER)
    lines: list[str] = []
    D.deploy(qemu.device, out=lines.append)  # the firmware froze these very sources
    text = "\n".join(lines)
    assert "driver placement: frozen" in text, text
    assert "which would shadow the frozen driver: partition 0 emptied" in text
    with DeviceLink(qemu.device) as dev:
        assert romfs.holds(dev, D.TOP_NAMES) == []
        files = romfs.imported_from(dev, ["spwf04", "wifi_board"])
        flash = dev.exec("import os\nprint(' '.join(os.listdir('/flash')))").split()
    # frozen modules keep their .py names and no path; /flash holds no copy that could have answered
    assert files == {"spwf04": "spwf04/__init__.py", "wifi_board": "wifi_board.py"}, files
    assert not {"spwf04", "wifi_board.py", "wifi_board.mpy"} & set(flash), flash
