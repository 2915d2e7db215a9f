# Shared by the device-side benchmarks: the test byte stream (the same as the host's
# spwf04_tools/bench/stream.py), a module brought up for sockets, and result printing.
#
# Not deployed by default: `spwf04 bench` copies micropython/bench/ to the board itself.
import binascii
import hashlib
import json
import struct
import time

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


BLOCK = const(4096)

# The one 4 KiB buffer of all benchmarks, allocated when this module is imported: import bench.common before
# the driver, as an application allocates its big buffers first, while the heap is still in one piece.
_BUF = bytearray(BLOCK)


def buffer():
    return _BUF


def base_block(b=None):
    """The stream's fixed 4 KiB block (128 SHA-256 digests of b'spwf04-bench-<k>'), written into b (default:
    the shared buffer)."""
    if b is None:
        b = _BUF
    for k in range(BLOCK // 32):
        b[k * 32 : k * 32 + 32] = hashlib.sha256(b"spwf04-bench-%d" % k).digest()
    return b


def number(buf, i):
    """Make buf (a copy of the base block) block i of the stream: i big-endian in its first 4 bytes."""
    struct.pack_into(">I", buf, 0, i)


def send_stream(write, n, tag):
    """Ask the peer to take n bytes ('W <n> <tag>'), then write n bytes of the stream with write(b), 4 KiB at a
    time. Returns (bytes sent, microseconds from the first block to the return of the last write)."""
    buf = base_block()
    mv = memoryview(buf)
    write(("W %d %s\n" % (n, tag)).encode())
    t0 = time.ticks_us()
    sent = 0
    i = 0
    while sent < n:
        number(buf, i)
        k = min(BLOCK, n - sent)
        write(buf if k == BLOCK else mv[:k])
        sent += k
        i += 1
    return sent, time.ticks_diff(time.ticks_us(), t0)


def hexdigest(h):
    return binascii.hexlify(h.digest()).decode()


def bring_up(ssid, key, ca=None, **kw):
    """A module on this board's UART: reset, joined, clock set, CA loaded (when ca is a path)."""
    import wifi_board

    m = wifi_board.module(**kw)
    m.init()
    m.wlan.connect(ssid, key)
    m.settime()
    if ca:
        m.tls.load_ca(path=ca)
    return m


class WindCounter:
    """m.on_wind hook counting +WIND lines (all, and WIND:55), so runs report how many crossed the UART."""

    def __init__(self):
        self.all = 0
        self.pending = 0

    def __call__(self, ev):
        self.all += 1
        if ev.number == 55:
            self.pending += 1


def mark():
    """A boundary for callgrind: `valgrind --tool=callgrind --dump-before=mp_micropython_heap_lock` starts a
    new profile part here, so a run's parts are [start-up, region, rest]. A few hundred instructions."""
    import micropython

    micropython.heap_lock()
    micropython.heap_unlock()


def cpu_now():
    """(cycles, idle cycles, cycles per second) on the 32-bit qemu board (qemu_spwf04.cpu(): time since power-up
    and the part of it slept in WFI), None elsewhere. Under qemu -icount shift=0 busy time is instructions."""
    try:
        import qemu_spwf04
    except ImportError:
        return None
    return qemu_spwf04.cpu()


def busy(c0, c1):
    """The busy (non-WFI) cycles between two cpu_now() readings, and the cycle rate: {} off the qemu board."""
    if c0 is None:
        return {}
    return {"busy_cycles": (c1[0] - c0[0]) - (c1[1] - c0[1]), "cycles_per_s": c1[2]}


def report(d):
    print("RESULT " + json.dumps(d))
