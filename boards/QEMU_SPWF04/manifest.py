# Freeze manifest of the 32-bit virtual board: what the NUCLEO_F401RE_SPWF04 firmware freezes (asyncio as
# in the stm32 port's manifest, the driver set from the top-level manifest.py) plus `requests` (frozen in
# both: on the F401RE it would not fit the heap as .mpy files) and the qemu board's own parts.
include("$(MPY_DIR)/extmod/asyncio")
require("requests")
include("../../manifest.py")
module("qemu_usart.py", base_path="../../micropython")
module("vboard_io.py", base_path="../../micropython")
module("_qemu_boot.py")
# The NUCLEO firmware's boot step: /rom before .frozen on sys.path, so a ROMFS driver replaces a frozen one.
module("spwf04_boot.py", base_path="../NUCLEO_F401RE_SPWF04")
