"""The driver's .mpy files in a board's ROMFS partition: query it, build the image, write it, verify it.

Any board whose `vfs` has the standard `rom_ioctl` (stm32 with MICROPY_HW_ROMFS_ENABLE_*, the qemu port,
...) works: the image is built with mpremote's ROMFS writer from the .mpy files deploy compiled for the
board, written by mpremote's `romfs deploy` code over the same serial link, then checked on the board
(SHA-256 of the partition's bytes, and every top-level module imported from /rom). Bytecode in ROMFS
runs in place from flash: it costs no RAM and changes without reflashing the firmware.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mpremote import commands as mpremote_commands
from mpremote.romfs import VfsRomWriter
from mpremote.transport import TransportError

from .repl_link import DeviceLink

log = logging.getLogger(__name__)

MOUNT = "/rom"
FROZEN_ENTRY = ".frozen"


class RomfsError(Exception):
    pass


@dataclass(frozen=True)
class RomPartition:
    ioctl: bool  # the board's vfs has rom_ioctl
    segments: int  # ROMFS partitions it reports (rom_ioctl(1))
    size: int  # bytes in partition 0 (0 when there is none)
    before_frozen: bool  # /rom is searched before the firmware's frozen modules (sys.path order)


# Runs on the board. /rom is in sys.path only while a valid image is mounted; MicroPython appends it
# after '.frozen' (py/runtime.c), so when it is absent it counts as after.
_QUERY = """\
import sys
try:
 import vfs
 _f = vfs.rom_ioctl
except (ImportError, AttributeError):
 _f = None
_n = _s = 0
if _f:
 _n = _f(1)
 if _n > 0:
  _d = _f(2, 0)
  if isinstance(_d, int):
   _s = 0
  elif hasattr(_d, 'ioctl'):
   _s = _d.ioctl(4, 0) * _d.ioctl(5, 0)
  else:
   _s = len(_d)
_p = sys.path
_b = '/rom' in _p and ('.frozen' not in _p or _p.index('/rom') < _p.index('.frozen'))
print('ROM', int(_f is not None), _n, _s, int(_b))
del _f, _n, _s, _p, _b
"""


def query_partition(dev: DeviceLink) -> RomPartition:
    out = dev.exec(_QUERY).split()
    if len(out) != 5 or out[0] != "ROM":
        raise RomfsError(f"unexpected answer to the ROMFS query: {' '.join(out)[:200]!r}")
    ioctl, segments, size, before = (int(x) for x in out[1:])
    return RomPartition(bool(ioctl), segments, max(size, 0), bool(before))


def build_image(files: list[tuple[str, bytes]]) -> bytes:
    """A ROMFS image holding `files` ("pkg/mod.mpy" -> bytes), directories as their paths say."""
    tree: dict = {}
    for path, data in files:
        *dirs, name = path.split("/")
        node = tree
        for d in dirs:
            node = node.setdefault(d, {})
        node[name] = data
    writer = VfsRomWriter()

    def add(node: dict) -> None:
        for name in sorted(node):
            if isinstance(node[name], dict):
                writer.opendir(name)
                add(node[name])
                writer.closedir()
            else:
                writer.mkfile(name, node[name])

    add(tree)
    return writer.finalise()


class _MpremoteState:
    """The part of mpremote's command state its `romfs deploy` uses: a transport already in raw REPL."""

    def __init__(self, transport) -> None:
        self.transport = transport

    def ensure_raw_repl(self, soft_reset: bool | None = None) -> None:
        pass

    def did_action(self) -> None:
        pass


def write_image(dev: DeviceLink, image: bytes, partition: int = 0) -> None:
    """Write `image` to ROMFS partition `partition` with mpremote's `romfs deploy` (erase, chunked writes);
    its progress lines go to the debug log."""
    # A fresh heap first: mpremote sends each 4 KiB chunk as a ~6 KB compressed literal, and on a 60 KB heap
    # already fragmented by deploy's queries a chunk's allocation failed midway (seen on the qemu board).
    dev.soft_reset()
    transport = dev.mpremote_transport()
    with tempfile.TemporaryDirectory(prefix="spwf04-romfs-") as tmp:
        path = Path(tmp) / "spwf04.romfs"  # mpremote takes a prebuilt image by its extension
        path.write_bytes(image)
        args = argparse.Namespace(path=str(path), partition=partition, mpy=False)
        said = io.StringIO()
        try:
            with contextlib.redirect_stdout(said):
                mpremote_commands._do_romfs_deploy(_MpremoteState(transport), args)
        except (mpremote_commands.CommandError, TransportError, SystemExit) as e:
            # the partition may now be erased or half-written: /rom does not mount until a deploy completes
            raise RomfsError(f"writing the ROMFS image failed ({type(e).__name__}: {e}); deploy again. "
                             f"mpremote said: {said.getvalue().strip()[-300:]}") from None
        finally:
            log.debug("mpremote romfs deploy: %s", said.getvalue())


def holds(dev: DeviceLink, names: list[str]) -> list[str]:
    """Which of these top-level modules (name.mpy, name.py) or packages (name/) the mounted /rom holds."""
    out = dev.exec(
        "import os\n"
        "try:\n"
        f" _l = os.listdir({MOUNT!r})\n"
        "except OSError:\n"
        " _l = []\n"
        "print(' '.join(_l))\n")
    present = set(out.split())
    return [n for n in names if {n, n + ".mpy", n + ".py"} & present]


def partition_digest(dev: DeviceLink, length: int, partition: int = 0) -> str:
    """SHA-256 of the partition's first `length` bytes, computed on the board from flash (no copy in RAM)."""
    return dev.exec(
        "import vfs, hashlib, binascii\n"
        f"_d = vfs.rom_ioctl(2, {partition})\n"
        f"print(binascii.hexlify(hashlib.sha256(memoryview(_d)[:{length}]).digest()).decode())\n"
        "del _d\n").strip()


def imported_from(dev: DeviceLink, names: list[str]) -> dict[str, str]:
    """Import each module on the board; name -> the file it came from ('-' when it cannot be imported)."""
    out = dev.exec(
        f"for _n in {names!r}:\n"
        " try:\n"
        "  print(_n, getattr(__import__(_n), '__file__', '?'))\n"
        " except ImportError:\n"
        "  print(_n, '-')\n")
    return dict(line.split(" ", 1) for line in out.splitlines() if line.strip())


def verify(dev: DeviceLink, image: bytes, modules: list[str], partition: int = 0) -> None:
    """After a soft reset (which mounts the new image): the partition holds the image byte for byte and
    each module imports from /rom."""
    got = partition_digest(dev, len(image), partition)
    if got != hashlib.sha256(image).hexdigest():
        raise RomfsError(f"ROMFS partition {partition} does not hold the image written (SHA-256 {got[:12]}): "
                         "deploy again; if it persists the partition's flash is failing")
    wrong = {n: f for n, f in imported_from(dev, modules).items() if not f.startswith(MOUNT + "/")}
    if wrong:
        raise RomfsError("not imported from /rom: " + ", ".join(f"{n} ({f})" for n, f in sorted(wrong.items()))
                         + "; a copy earlier on sys.path shadows it, or /rom did not mount")
