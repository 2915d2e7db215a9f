# CPU cost of a bulk receive through the driver, for callgrind (spwf04_tools/bench/cpu.py). Run by the unix
# port directly (not over the REPL), with SPWF04_MODULE pointing at an unpaced simulator:
#
#   micropython -c "import bench.cpu_recv as B; B.main('127.0.0.1', <peer port>, 65536, <ssid>, <key>)"
#
# Set-up (reset, join, connect, request) happens before the first mark(), the bulk receive between the two
# marks, the close after the second: callgrind's part 2 is the receive alone.
#
# On the 32-bit qemu board (spwf04_tools/bench/board32.py) the same main() runs over the REPL under
# qemu -icount shift=0; its RESULT adds the busy cycles of the receive counted by the firmware (bench.common.busy).
import gc
import time

from bench import common as C


def main(host, port, n, ssid, key, settle_ms=500, read_max=4096):
    buf = C.buffer()
    m = C.bring_up(ssid, key)
    m.read_max = read_max  # (the figure is kept at 4096-byte reads, comparable with earlier runs)
    s = m.socket()
    s.settimeout(60)
    s.connect((host, port))
    s.write(("R %d cpu\n" % n).encode())
    time.sleep_ms(settle_ms)  # the simulator fills its socket buffer meanwhile: the receive never waits long
    gc.collect()  # every run starts the region with the same heap: only the receive's own garbage is collected in it
    C.mark()
    c0 = C.cpu_now()  # (the 32-bit board: busy time counted by the firmware instead of callgrind)
    got = 0
    while got < n:
        k = s.readinto(buf, min(n - got, len(buf)))
        if not k:
            break
        got += k
    c1 = C.cpu_now()
    C.mark()
    s.close()
    r = {"bytes": got}
    r.update(C.busy(c0, c1))
    C.report(r)
