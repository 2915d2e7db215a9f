# Freeze manifest of the 32-bit board's "stock firmware" variant: what a stock NUCLEO_F401RE firmware freezes
# that matters here (asyncio) and the board's own parts (its UART and boot), but not the driver, which the
# user copies to /flash as .mpy files (spwf04 deploy on a stock firmware): the route whose RAM cost
# `spwf04 bench` measures.
include("$(MPY_DIR)/extmod/asyncio")
module("qemu_usart.py", base_path="../../micropython")
module("vboard_io.py", base_path="../../micropython")
module("_qemu_boot.py")
module("spwf04_boot.py", base_path="../NUCLEO_F401RE_SPWF04")
