# CPU cost of the AT parser alone on a bulk receive, for callgrind (spwf04_tools/bench/cpu.py). No I/O: the
# stream is what the driver's bulk receive gets from the simulator for plain TCP - per 4096-byte SOCKR an
# AT-S.Reading line, the payload and AT-S.OK, and one +WIND:55 per 730-byte TCP segment in between - fed
# the way the driver feeds it: each line with feed() (as UART.readline() returns it), the payload straight
# into the armed buffer (payload_buf/payload_filled, as the driver's UART.readinto() does).
#
#   micropython -c "import bench.parser_feed as B; B.main(65536)"
from micropython import const

from bench import common as C
from spwf04 import parser as P

_SEG = const(730)  # the module's TCP segment: one +WIND:55 per segment received


def _frames(n, k):
    # (lines before the frame, reading line, payload length) for n payload bytes in SOCKRs of k bytes
    frames = []
    pending = 0
    announced = 0
    done = 0
    while done < n:
        winds = []
        while announced < min(n, done + k):
            r = min(_SEG, n - announced)
            announced += r
            pending += r
            winds.append(b"+WIND:55:Pending Data::0:%d:%d\r\n" % (r, pending))
        a = min(k, n - done)
        frames.append((winds, b"AT-S.Reading:%d:%d\r\n" % (a, pending), a))
        pending -= a
        done += a
    return frames


class _Sink:
    def __init__(self):
        self.events = 0

    def __call__(self, ev):
        self.events += 1


def main(n, k=4096, period=65536):
    """Feed n payload bytes (a multiple of k): the frames of one period (64 KiB) are built before the
    measured region and fed again and again, so the live heap - and the garbage collector's work - is the
    same whatever n is."""
    if n % k:
        raise ValueError("n must be a multiple of %d" % k)
    buf = C.buffer()
    payload = memoryview(bytes(buf))
    frames = _frames(min(n, period), k)
    ok = b"AT-S.OK\r\n"
    sink = _Sink()
    p = P.Parser(sink)
    got = 0
    fed = 0
    C.mark()
    while got < n:
        for winds, reading, a in frames:
            for w in winds:
                p.feed(w)
            p.expect_payload(buf, a)
            p.feed(reading)
            dst = p.payload_buf
            dst[0:a] = payload[0:a]
            p.payload_filled(a)
            p.feed(ok)
            got += a
            fed += 1
            if got >= n:
                break
    C.mark()
    C.report({"bytes": got, "events": sink.events, "frames": fed})
