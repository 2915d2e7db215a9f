# The TLS scenario for the memory figures: what the Client_Socket app does, step by step, with the heap
# measured (gc.mem_alloc() right after gc.collect()) at each checkpoint:
#   bring-up (reset, echo off) -> join -> clock -> CA loaded -> TLS socket open -> request sent ->
#   half of the reply read (the steady state of a bulk receive) -> whole reply read -> closed.
# Run in a fresh MicroPython session (the host soft-resets or starts the board with the heap to test).
#
#   import bench.scenario as S; S.main(ssid, key, "ca.pem", "127.0.0.1", port, "localhost", 65536)
import gc
import hashlib

from bench import common as C


def main(ssid, key, ca, host, port, name, n):
    buf = C.buffer()  # the app's one receive buffer, allocated first
    marks = []
    peak = [0]

    def checkpoint(label):
        gc.collect()
        a = gc.mem_alloc()
        peak[0] = max(peak[0], a)
        marks.append([label, a, gc.mem_free()])

    checkpoint("start")
    import wifi_board

    m = wifi_board.module()
    checkpoint("driver imported")
    m.init()
    checkpoint("module up")
    m.wlan.connect(ssid, key)
    checkpoint("joined")
    m.settime()
    checkpoint("clock set")
    m.tls.load_ca(path=ca)
    checkpoint("CA loaded")
    s = m.socket(server_hostname=name)
    s.settimeout(60)
    s.connect((host, port))
    checkpoint("TLS open")
    s.write(("R %d scenario\n" % n).encode())
    checkpoint("request sent")
    h = hashlib.sha256()
    mv = memoryview(buf)
    got = 0
    half = False
    while got < n:
        k = s.readinto(buf, min(n - got, len(buf)))
        if not k:
            raise OSError(5, "peer closed after %d of %d bytes" % (got, n))
        h.update(buf if k == len(buf) else mv[:k])
        got += k
        if not half and got * 2 >= n:
            half = True
            checkpoint("receiving")
    checkpoint("reply read")
    s.close()
    checkpoint("closed")
    C.report({"bytes": got, "sha256": C.hexdigest(h), "marks": marks, "peak": peak[0],
              "heap": gc.mem_alloc() + gc.mem_free()})
