# NUCLEO_F401RE_SPWF04's frozen boot step (MICROPY_BOARD_FROZEN_BOOT_FILE), run at every reset before
# boot.py: /rom and /rom/lib go before the frozen modules on sys.path (MicroPython appends them after
# '.frozen', and only while an image is mounted). So a driver `spwf04 deploy` writes to the ROMFS
# partition replaces the one frozen into this firmware without reflashing, and deploy can tell that it
# will (it reads sys.path), even before the first image is written.
import sys

_i = sys.path.index(".frozen") if ".frozen" in sys.path else len(sys.path)
for _p in ("/rom/lib", "/rom"):
    if _p in sys.path:
        sys.path.remove(_p)
    sys.path.insert(_i, _p)
del _i, _p, sys
