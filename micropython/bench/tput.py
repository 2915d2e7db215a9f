# Throughput through the driver (spwf04.socket): one request to the bench peer, then a bulk receive or send
# of n bytes, timed on the board. The peer is the host's spwf04_tools/bench/peer.py.
#
#   from bench import common as C          # first: allocates the 4 KiB buffer while the heap is whole
#   import bench.tput as T
#   T.recv(m, "127.0.0.1", 4443, 65536, tls=True, name="localhost")  -> dict (bytes, us, sha256, winds)
import hashlib
import time

from bench import common as C


def _socket(m, host, port, tls, name):
    s = m.socket(tls=tls, server_hostname=name if tls else None)
    s.settimeout(60)
    s.connect((host, port))
    return s


def recv(m, host, port, n, tls=False, name=None, tag="r", bufsize=C.BLOCK):
    """Ask the peer for n bytes and read them with readinto into the preallocated buffer (bufsize bytes of
    it per call). The clock starts once the request is written (the peer starts sending when it has it) and
    stops at the last byte."""
    mv = memoryview(C.buffer())
    if not 0 < bufsize <= len(mv):
        raise ValueError("bufsize: 1..%d" % len(mv))
    full = mv[:bufsize]
    h = hashlib.sha256()
    w = C.WindCounter()
    s = _socket(m, host, port, tls, name)
    m.on_wind = w
    try:
        s.write(("R %d %s\n" % (n, tag)).encode())
        t0 = time.ticks_us()
        got = 0
        while got < n:
            k = s.readinto(full) if n - got >= bufsize else s.readinto(mv[: n - got])
            if not k:
                raise OSError(5, "peer closed after %d of %d bytes" % (got, n))
            h.update(full if k == bufsize else mv[:k])
            got += k
        us = time.ticks_diff(time.ticks_us(), t0)
    finally:
        m.on_wind = None
        s.close()
    return {"bytes": got, "us": us, "sha256": C.hexdigest(h), "winds": w.all, "wind55": w.pending}


def send(m, host, port, n, tls=False, name=None, tag="w"):
    """Write n bytes of the stream in 4 KiB writes (the driver splits them into SOCKW segments). The clock
    runs from the first write to the last write's AT-S.OK."""
    w = C.WindCounter()
    s = _socket(m, host, port, tls, name)
    m.on_wind = w
    try:
        sent, us = C.send_stream(s.write, n, tag)
    finally:
        m.on_wind = None
        s.close()
    return {"bytes": sent, "us": us, "winds": w.all, "wind55": w.pending}
