# spwf04compat: unmodified MicroPython network clients (requests, asyncio streams, MQTT clients) over the
# SPWF04SA's sockets and TLS. install(m) makes `socket`, `ssl` and `tls` (and the old names `usocket`, `ussl`)
# resolve to this package's modules, whose sockets are the module's sockets:
#
#   m = wifi_board.module(); m.init(); m.wlan.connect(ssid, key); m.settime(); m.tls.load_ca(path="ca.pem")
#   import spwf04compat
#   spwf04compat.install(m)       # before importing the clients: they bind `socket` when imported
#   import requests
#   print(requests.get("https://example.com/").text)
#
# Why sys.modules and not files named socket.py / ssl.py / tls.py on sys.path: MicroPython >= 1.21 lets a file
# shadow only some built-ins (socket and ssl can be, tls cannot: the built-in always wins), and on the unix
# port a socket.py on sys.path would also capture code that needs the real network (the virtual board's
# UART). An import looks in sys.modules before anything else, on every port.
import sys

_NAMES = ("socket", "usocket", "ssl", "ussl", "tls")
# Clients known to bind `socket` at import time: imported before install(), they keep the built-in one.
_CLIENTS = ("requests", "urequests", "umqtt.simple", "umqtt.robust")
_saved = None


def install(module):
    """Route `import socket` / `ssl` / `tls` to the SPWF04SA `module` (an spwf04.Module, brought up, joined,
    clock set, CA loaded). Idempotent; uninstall() undoes it."""
    global _saved
    import gc

    gc.collect()  # the bring-up's garbage first: our code then fills holes instead of splitting free space
    from . import socket as s
    from . import ssl as t

    s._m = module
    if _saved is None:
        _saved = [(n, sys.modules.get(n)) for n in _NAMES]
    for n in _NAMES:
        sys.modules[n] = s if n.endswith("socket") else t
    for n in _CLIENTS:
        c = sys.modules.get(n)
        if c is not None and getattr(c, "socket", s) is not s:
            module.warn("%s was imported before spwf04compat.install() and keeps the built-in socket; restart "
                        "(soft reset) and import it after install()" % n)


def uninstall():
    """Give `socket` / `ssl` / `tls` back to the firmware's own modules (or none, on boards without)."""
    global _saved
    if _saved is None:
        return
    for n, mod in _saved:
        if mod is None:
            sys.modules.pop(n, None)
        else:
            sys.modules[n] = mod
    _saved = None
    from . import socket as s

    s._m = None
