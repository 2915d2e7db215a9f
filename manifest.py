# Freeze manifest of the device code (MicroPython manifest format): the driver, the socket/ssl/tls provider,
# the board module and the Client_Socket app, compiled into a firmware so that their bytecode stays in flash
# instead of the heap. Use it from a board's manifest:
#     include("/path/to/this/repo/manifest.py")
# or build with FROZEN_MANIFEST=/path/to/this/repo/manifest.py. boards/NUCLEO_F401RE_SPWF04/manifest.py is
# the F401RE firmware's (make firmware). package.json lists the same files for `mpremote mip install`.
# Relative base paths resolve against this file's directory.
metadata(description="SPWF04SA Wi-Fi module driver with socket/ssl/tls provider", version="0.1.0")
package("spwf04", base_path="micropython")
package("spwf04compat", base_path="micropython/compat")
module("spwf04_pins.py", base_path="micropython")
module("wifi_board.py", base_path="micropython")
module("client_socket.py", base_path="micropython")
