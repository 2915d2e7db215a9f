# Runs on the MicroPython unix port (spawned by test_parser_unix.py): the parser vectors of the CPython
# tests, asserted on MicroPython's own str/bytes/memoryview semantics. Prints "PASS <count>" at the end.
import sys

import vectors as V
from spwf04 import parser as P

n = 0
for raw, want in V.LINES:
    evs = P.parse(raw + b"\r\n")
    assert len(evs) == 1, raw
    e = evs[0]
    assert (e.kind, e.text, e.number, e.code, list(e.params)) == want, (raw, e.key())
    n += 1

data = V.stream()
want, p = V.run([data])
assert [e[0] for e in want].count("payload") == 2
assert [e for e in want if e[0] == "payload"][0][2] == V.PAYLOAD
for a in range(len(data) + 1):
    assert V.run(V.splits(data, [a]))[0] == want, a
    n += 1
s = 12345
for _ in range(300):
    s = (s * 1103515245 + 12345) & 0x7FFFFFFF
    a = (s >> 8) % (len(data) + 1)
    s = (s * 1103515245 + 12345) & 0x7FFFFFFF
    b = a + (s >> 8) % (len(data) + 1 - a)
    assert V.run(V.splits(data, [a, b]))[0] == want, (a, b)
    n += 1
big = data * 3
sizes = V.SIZES * 3
wbig, _ = V.run([big], sizes=sizes)
for seed in range(10):
    assert V.run(V.lcg_chunks(big, seed, 1 + seed * 13), sizes=sizes)[0] == wbig, seed
    n += 1
unb, _ = V.run(V.lcg_chunks(data, 5, 9), buffered=False)
assert [e[1] for e in unb if e[0] == "data"] == [V.PAYLOAD, b"abcde"]

# small inputs: every fragmentation
small = b"+WIND:55:Pending Data::0:5:5\r\nAT-S.Reading:3:3\r\n\r\n\nAT-S.OK\r\n"
w, _ = V.run([small], sizes=[3])
for c1 in range(len(small) + 1):
    for c2 in range(c1, len(small) + 1):
        assert V.run(V.splits(small, [c1, c2]), sizes=[3])[0] == w, (c1, c2)
        n += 1

# bounded memory on noise
evs = []
p = P.Parser(evs.append, 64)
s = 99
for _ in range(2000):
    s = (s * 1103515245 + 12345) & 0x7FFFFFFF
    p.feed(bytes([(s >> 8) & 0xFF]) * (1 + (s >> 16) % 7))
assert len(p._buf) == 64 and p.held <= 64
p.feed(b"\r\nAT-S.OK\r\n")
assert evs[-1].kind == P.OK

# the driver's zero-copy payload path
evs = []
p = P.Parser(evs.append)
buf = bytearray(10)
p.expect_payload(memoryview(buf), 10)
p.feed(b"AT-S.Reading:10:10\r\n")
p.payload_buf[0:4] = b"0123"
p.payload_filled(4)
p.feed(b"456")
p.payload_buf[p.payload_pos:10] = b"789"
p.payload_filled(3)
p.feed(b"AT-S.OK\r\n")
assert buf == b"0123456789" and [e.kind for e in evs] == [P.INFO, P.PAYLOAD, P.OK]

# a Reading line ended by a lone CR: the CR LF after the payload's first byte is payload too
cr = b"AT-S.Reading:3:3\rc\r\nAT-S.OK\r\n"
for c in range(len(cr) + 1):
    evs, _ = V.run(V.splits(cr, [c]), sizes=[3])
    assert evs[1] == ("payload", 3, b"c\r\n") and evs[2][0] == P.OK, (c, evs)
    n += 1
try:
    P.Parser(evs.append).expect_payload(bytearray(4), -1)
    raise AssertionError("a negative payload size was taken")
except ValueError as e:
    assert "must be >= 0" in str(e)
n += 1
print("PASS", n, sys.implementation.name)
