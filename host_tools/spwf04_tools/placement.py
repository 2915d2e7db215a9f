"""Where `spwf04 deploy` puts the driver: frozen in the firmware > a ROMFS partition > the filesystem.

Frozen code and ROMFS bytecode run in place from flash (no RAM for bytecode); files on the filesystem are
loaded into RAM. The filesystem is the fallback, and a copy that cannot fit is refused before any file is
written: a half-written driver would not import, and the user's files are not to be half-replaced.
"""

from __future__ import annotations

from dataclasses import dataclass

from .repl_link import DeviceLink
from .romfs import RomPartition

FROZEN, ROMFS, FILESYSTEM = "frozen", "romfs", "filesystem"


class NoSpace(Exception):
    pass


@dataclass(frozen=True)
class Choice:
    kind: str  # FROZEN, ROMFS or FILESYSTEM
    reason: str

    def describe(self) -> str:
        return f"driver placement: {self.kind} ({self.reason})"


def choose(frozen_sources: str | None, frozen_driver: bool, digest: str, rom: RomPartition,
           image_len: int | None) -> Choice:
    """frozen_sources/frozen_driver: what the firmware froze (deploy.query_frozen); image_len: the ROMFS
    image's size, None when there is no image (sources deployed as .py)."""
    if frozen_sources == digest:
        return Choice(FROZEN, f"the firmware holds these sources frozen ({digest[:12]})")
    why_not = _romfs_obstacle(frozen_driver, rom, image_len)
    if why_not:
        return Choice(FILESYSTEM, why_not)
    return Choice(ROMFS, f"partition 0 has {rom.size} bytes, the image needs {image_len}")


def _romfs_obstacle(frozen_driver: bool, rom: RomPartition, image_len: int | None) -> str | None:
    """Why the driver cannot go to ROMFS on this board, or None when it can."""
    if image_len is None:
        return "--source: .py files are compiled in RAM at import, ROMFS only pays off for .mpy"
    if not rom.ioctl:
        return "the firmware has no ROMFS (no vfs.rom_ioctl)"
    if rom.segments < 1 or rom.size <= 0:
        return "the firmware reports no ROMFS partition"
    if image_len > rom.size:
        return f"the ROMFS image needs {image_len} bytes, partition 0 has {rom.size}"
    if frozen_driver and not rom.before_frozen:
        return ("the firmware's frozen spwf04 (other sources) comes before /rom on sys.path and would shadow "
                "a ROMFS copy; the filesystem comes before both")
    return None


# Runs on the board: free blocks of the filesystem holding the current directory, and the size of every
# path deploy would write (-1: absent; -2: a directory).
_SPACE = """\
import os
_c = os.getcwd() or '/'
_v = os.statvfs(_c)
print('FS', _v[0], _v[4])
for _p in %r:
 try:
  _s = os.stat(_p)
  print(-2 if _s[0] & 0x4000 else _s[6])
 except OSError:
  print(-1)
del _c, _v
"""


def blocks(size: int, block: int) -> int:
    return -(-max(size, 0) // block)


def check_fits(dev: DeviceLink, files: list[tuple[str, int]]) -> None:
    """Raise NoSpace unless `files` (path on the board, new size) fit in the free space, counting the blocks
    each file replaces and one block per directory to create (FAT: one cluster each). Space that removals
    after the copy would free is not counted, so a deploy that passes this never runs out midway."""
    dirs = sorted({p.rsplit("/", 1)[0] for p, _ in files if "/" in p})
    out = dev.exec(_SPACE % ([p for p, _ in files] + dirs)).split()
    if len(out) != 3 + len(files) + len(dirs) or out[0] != "FS":
        raise NoSpace(f"unexpected answer to the free-space query: {' '.join(out)[:200]!r}")
    block, free = int(out[1]), int(out[2])
    old = [int(x) for x in out[3:3 + len(files)]]
    need = sum(blocks(new, block) - blocks(was, block) for (_, new), was in zip(files, old))
    need += sum(1 for d in out[3 + len(files):] if int(d) == -1)
    if need > free:
        total = sum(n for _, n in files)
        raise NoSpace(f"the board's filesystem has {free} blocks of {block} bytes free and these {len(files)} files "
                      f"({total} bytes) need {need}: nothing was copied. Flash the firmware with the driver frozen "
                      "or a ROMFS partition (make firmware; spwf04 flash), or free space on the board")
