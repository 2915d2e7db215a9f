# Freeze manifest for NUCLEO_F401RE_SPWF04: the stock board's modules plus the SPWF04 driver and the
# Client_Socket replacement, so they cost no RAM for bytecode on the F401RE's 96 KB.
# Relative base paths resolve against this file's directory.
include("$(PORT_DIR)/boards/manifest.py")
package("spwf04", base_path="../../micropython")
package("spwf04compat", base_path="../../micropython/compat")  # socket/ssl/tls provider
module("spwf04_pins.py", base_path="../../micropython")
module("wifi_board.py", base_path="../../micropython")
module("client_socket.py", base_path="../../micropython")
