# Frozen into the 32-bit virtual board's firmware and run by its boot glue (qemu_spwf04.c) before boot.py:
# mounts /flash like the stm32 port does (FAT; a blank partition is formatted, as a new board's is), makes
# it the working directory and puts it on sys.path after /rom.
import os
import sys
import vfs

import qemu_spwf04

try:
    vfs.mount(vfs.VfsFat(qemu_spwf04.flash), "/flash")
except OSError:
    vfs.VfsFat.mkfs(qemu_spwf04.flash)
    vfs.mount(vfs.VfsFat(qemu_spwf04.flash), "/flash")
os.chdir("/flash")
sys.path.append("/flash")
sys.path.append("/flash/lib")
del os, sys, vfs, qemu_spwf04
