# NUCLEO_F401RE_SPWF04's frozen boot step (MICROPY_BOARD_FROZEN_BOOT_FILE), run at every reset before
# boot.py: /rom and /rom/lib go before the frozen modules on sys.path (MicroPython appends them after
# '.frozen', and only while an image is mounted). So a driver `spwf04 deploy` writes to the ROMFS
# partition replaces the one frozen into this firmware without reflashing, and deploy can tell that it
# will (it reads sys.path), even before the first image is written.
import sys

for _p in ("/rom", "/rom/lib"):
    if _p in sys.path:
        sys.path.remove(_p)
# (the index after the removals: run twice, e.g. also as a boot.py, it gives the same order)
_i = sys.path.index(".frozen") if ".frozen" in sys.path else len(sys.path)
sys.path[_i:_i] = ["/rom", "/rom/lib"]
del _i, _p, sys
