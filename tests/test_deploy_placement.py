"""Where `spwf04 deploy` puts the driver: frozen > ROMFS > filesystem, and a filesystem copy that cannot fit is
refused before anything is copied.

What runs where, honestly:
- the choice itself is a pure function of the board's answers (`choose`), tested for every case here;
- over the virtual board's REPL: its answers to the ROMFS query (the unix port's `vfs` has `VfsRom` but no
  `rom_ioctl`, so deploy must choose the filesystem and say why), the free-space check on a FAT filesystem
  the size of this board's /flash (a RAM block device on the board, as MicroPython's docs build one), the
  ROMFS image deploy builds (mounted with the board's own `vfs.VfsRom` and imported from /rom), and the
  firmware's boot step that puts /rom before .frozen;
- writing the image through `vfs.rom_ioctl` (mpremote's romfs deploy) and `romfs.verify` need a firmware
  with a ROMFS partition, not emulated here: tests/test_deploy_romfs_qemu.py runs them on the 32-bit qemu
  board (MICROPY_DIR), and the NUCLEO with this firmware runs the same code.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from spwf04_tools import BOARDS_DIR, placement, romfs
from spwf04_tools import deploy as D
from spwf04_tools.board import VirtualBoard
from spwf04_tools.repl_link import DeviceLink

DIGEST = "ab" * 32
NO_ROM = romfs.RomPartition(ioctl=False, segments=0, size=0, before_frozen=False)
ROM_64K = romfs.RomPartition(ioctl=True, segments=1, size=65536, before_frozen=False)

# -- the choice ------------------------------------------------------------------------------------------


def test_frozen_from_these_sources_wins_over_everything() -> None:
    c = placement.choose(DIGEST, True, DIGEST, ROM_64K, 40000)
    assert c.kind == placement.FROZEN and DIGEST[:12] in c.reason


def test_romfs_when_the_partition_holds_the_image() -> None:
    c = placement.choose(None, False, DIGEST, ROM_64K, 48000)
    assert c.kind == placement.ROMFS and "65536" in c.reason and "48000" in c.reason
    assert placement.choose(None, False, DIGEST, ROM_64K, 65536).kind == placement.ROMFS  # exactly full


@pytest.mark.parametrize("sources, driver, rom, image, why", [
    (None, False, NO_ROM, 48000, "no ROMFS (no vfs.rom_ioctl)"),
    (None, False, romfs.RomPartition(True, 0, 0, False), 48000, "no ROMFS partition"),
    (None, False, ROM_64K, 65537, "needs 65537 bytes, partition 0 has 65536"),
    (None, False, ROM_64K, None, "--source"),
    ("cd" * 32, True, ROM_64K, 48000, "comes before /rom on sys.path"),  # stock order: .frozen first
    (None, True, ROM_64K, 48000, "comes before /rom on sys.path"),  # frozen without a build record
])
def test_filesystem_otherwise_with_the_reason(sources, driver, rom, image, why) -> None:
    c = placement.choose(sources, driver, DIGEST, rom, image)
    assert c.kind == placement.FILESYSTEM and why in c.reason, c.reason


def test_a_frozen_driver_from_other_sources_does_not_stop_romfs_when_rom_comes_first() -> None:
    rom_first = romfs.RomPartition(True, 1, 65536, before_frozen=True)  # this board's spwf04_boot.py
    assert placement.choose("cd" * 32, True, DIGEST, rom_first, 48000).kind == placement.ROMFS


# -- on the virtual board ----------------------------------------------------------------------------------


@pytest.fixture
def fresh_board(tmp_path: Path) -> Iterator[VirtualBoard]:
    vb = VirtualBoard(tmp_path / "flash")
    vb.start()
    try:
        yield vb
    finally:
        vb.stop()


# A RAM block device (docs: "Filesystems and storage") formatted FAT with this board's /flash size.
_RAMDISK = """\
import vfs, os
class _RAMDisk:
    def __init__(self, blocks):
        self.data = bytearray(512 * blocks)
    def readblocks(self, n, buf, off=0):
        a = n * 512 + off
        buf[:] = self.data[a:a + len(buf)]
    def writeblocks(self, n, buf, off=0):
        a = n * 512 + off
        self.data[a:a + len(buf)] = buf
    def ioctl(self, op, arg):
        return {4: len(self.data) // 512, 5: 512, 6: 0}.get(op)
_disk = _RAMDisk(%d)
vfs.VfsFat.mkfs(_disk)
vfs.mount(vfs.VfsFat(_disk), '/fl')
os.chdir('/fl')
print(os.statvfs('/fl')[0], os.statvfs('/fl')[4])
"""
FLASH_BLOCKS = 48 * 1024 // 512  # sectors 1-3 (stm32f401xe_spwf04.ld)


def _compiled(port: str) -> list[D.Item]:
    with DeviceLink(port) as dev:
        info = D.query_board(dev)
    with tempfile.TemporaryDirectory() as tmp:
        return D.code_items(info, False, Path(tmp), False)


@pytest.mark.virtual_only
def test_virtual_board_has_no_rom_ioctl_so_deploy_says_filesystem(fresh_board: VirtualBoard) -> None:
    with DeviceLink(fresh_board.device) as dev:
        assert romfs.query_partition(dev) == NO_ROM  # the unix port's answer, not assumed
    lines: list[str] = []
    D.deploy(fresh_board.device, out=lines.append)
    assert "driver placement: filesystem (the firmware has no ROMFS (no vfs.rom_ioctl))" in lines, lines
    assert (fresh_board.flash_dir / "spwf04" / "module.mpy").is_file()


@pytest.mark.virtual_only
def test_a_deploy_that_cannot_fit_is_refused_before_any_file_is_copied(fresh_board: VirtualBoard) -> None:
    with DeviceLink(fresh_board.device) as dev:
        block, free = map(int, dev.exec(_RAMDISK % FLASH_BLOCKS).split())
    assert block == 512 and 0 < free < FLASH_BLOCKS
    with pytest.raises(placement.NoSpace) as e:
        D.deploy(fresh_board.device, out=lambda *a: None)
    msg = str(e.value)
    assert f"has {free} blocks of 512 bytes free" in msg and "nothing was copied" in msg and "make firmware" in msg
    with DeviceLink(fresh_board.device) as dev:
        assert dev.exec("import os\nprint(os.getcwd(), os.listdir())").split() == ["/fl", "[]"]  # untouched


@pytest.mark.virtual_only
def test_free_space_check_counts_blocks_replaced_and_directories(fresh_board: VirtualBoard) -> None:
    with DeviceLink(fresh_board.device) as dev:
        _block, free = map(int, dev.exec(_RAMDISK % FLASH_BLOCKS).split())
        placement.check_fits(dev, [("a/x.bin", 512 * (free - 1))])  # one block for a/, the rest for the file
        with pytest.raises(placement.NoSpace):
            placement.check_fits(dev, [("a/x.bin", 512 * (free - 1) + 1)])
        dev.exec(f"with open('big.bin', 'wb') as f:\n f.write(bytes({512 * (free - 2)}))")
        placement.check_fits(dev, [("big.bin", 512 * (free - 2) + 1024)])  # replaces its own blocks: fits
        placement.check_fits(dev, [("big.bin", 512 * (free - 2)), ("c.bin", 1024)])  # unchanged + 2 blocks
        with pytest.raises(placement.NoSpace):
            placement.check_fits(dev, [("big.bin", 512 * (free - 2)), ("c.bin", 1025)])  # 3 blocks, 2 free


@pytest.mark.virtual_only
def test_the_romfs_image_deploy_builds_imports_from_rom(fresh_board: VirtualBoard) -> None:
    items = _compiled(fresh_board.device)
    driver = [(it.remote, it.data) for it in items if it.remote in D.driver_paths()]
    assert {r for r, _ in driver} == {r[:-3] + ".mpy" for _s, r in D.frozen_sources()}
    image = romfs.build_image(driver)
    assert image.startswith(b"\xd2\xcd\x31") and len(image) < 64 * 1024  # fits this board's partition
    with DeviceLink(fresh_board.device) as dev:
        dev.put_bytes(image, "driver.romfs")
        dev.soft_reset()  # a fresh heap: the image takes one 45 KB block of the board's 60wK
        # what the firmware does at boot with partition 0 (vfs.c: mp_vfs_mount_romfs_protected)
        dev.exec(f"import vfs, sys\n_img = bytearray({len(image)})\n"
                 "with open('driver.romfs', 'rb') as f:\n f.readinto(_img)\n"
                 "vfs.mount(vfs.VfsRom(_img), '/rom')\nsys.path.append('/rom')\n")
        assert romfs.holds(dev, D.TOP_NAMES) == D.TOP_NAMES
        files = romfs.imported_from(dev, D.TOP_NAMES + ["spwf04.module", "spwf04compat.ssl"])
        assert all(f.startswith("/rom/") for f in files.values()), files
        assert dev.exec("import spwf04\nprint(spwf04.__version__)").strip() == D.__version__


@pytest.mark.virtual_only
def test_boot_step_puts_rom_before_frozen_whether_mounted_or_not(fresh_board: VirtualBoard) -> None:
    boot = (BOARDS_DIR / "NUCLEO_F401RE_SPWF04" / "spwf04_boot.py").read_text()
    with DeviceLink(fresh_board.device) as dev:
        for mounted in (False, True):
            setup = "import sys\n_saved = sys.path[:]\n" + ("sys.path.extend(['/rom', '/rom/lib'])\n" if mounted else "")
            dev.exec(setup)
            dev.exec(boot)
            path = dev.exec("import sys\nprint(' '.join(repr(p) for p in sys.path))\nsys.path[:] = _saved").split()
            assert path[:4] == ["''", "'/rom'", "'/rom/lib'", "'.frozen'"], (mounted, path)
            assert path.count("'/rom'") == 1
            rom = romfs.query_partition(dev)
        assert rom.before_frozen is False  # restored: the unix port's own order again
