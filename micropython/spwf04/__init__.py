# spwf04: MicroPython driver for the ST SPWF04SA Wi-Fi module (X-NUCLEO-IDW04A1) over its UART AT console.
#
#   import spwf04
#   m = spwf04.Module(uart, reset_pin=rst, wakeup_pin=wake)   # the driver never creates UART/Pin objects
#   m.init()                                                  # reset, boot, echo off -> "1.1.0"
#   m.wlan.connect("ssid", "passphrase"); m.settime(); m.tls.load_ca(path="ca.pem")
#   s = m.socket(server_hostname="example.com"); s.connect(("example.com", 443))
#
# Only the command engine is imported here; Wi-Fi, TLS store, sockets, X.509 and diagnosis load on first use.
from .errors import CertError, ModuleError, ModuleReset
from .module import Module

__version__ = "0.1.0"
