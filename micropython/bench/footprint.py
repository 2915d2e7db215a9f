# The driver's import footprint: heap bytes each module keeps after import (gc.mem_alloc() after gc.collect()
# before and after), in a fresh session, in dependency order. Run with nothing else imported:
#
#   import bench.footprint as F; F.main()
import gc
import sys

# board modules first (the app imports them anyway), then the driver package in the order it loads
BOARD = ("spwf04_pins", "tcp_uart", "wifi_board")
DRIVER = ("spwf04", "spwf04.socket", "spwf04.tls", "spwf04.wlan", "spwf04.cert", "spwf04.diag")


def main():
    out = []
    for name in BOARD + DRIVER:
        if name == "tcp_uart" and sys.platform != "linux":
            continue  # the virtual board's UART only
        gc.collect()
        a = gc.mem_alloc()
        __import__(name)
        gc.collect()
        out.append([name, gc.mem_alloc() - a, name in DRIVER])
    import json  # built in: after the measurements anyway

    print("RESULT " + json.dumps({"modules": out, "heap": gc.mem_alloc() + gc.mem_free()}))
