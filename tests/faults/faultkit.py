"""Shared helpers of the fault tests: a loopback echo peer and the device-side code run over the REPL."""

from __future__ import annotations

import hashlib
import socket

from spwf04_tools.loopback import LoopbackServer
from spwf04_tools.sim.config import DEFAULT_AP, Faults

SSID, KEY = DEFAULT_AP.ssid, DEFAULT_AP.passphrase  # the simulator's documented default network (not a secret)


class EchoPeer(LoopbackServer):
    """Loopback TCP echo server: every connection echoes everything; counts connections and bytes, and
    can be told to answer one request line with a fixed reply and close (soak 'requests')."""

    def __init__(self, reply: bytes | None = None) -> None:
        super().__init__()
        self.reply = reply
        self.rx_bytes = 0
        self.start()

    def serve(self, c: socket.socket) -> None:
        if self.reply is not None:
            got = b""
            while not got.endswith(b"\n"):
                d = c.recv(4096)
                if not d:
                    return
                got += d
            c.sendall(self.reply)
            return
        while not self.stopping:
            d = c.recv(65536)
            if not d:
                return
            with self._lock:
                self.rx_bytes += len(d)
            c.sendall(d)


def pattern(i: int) -> bytes:
    """1 KiB block i of the deterministic test stream; the board computes the same one."""
    return hashlib.sha256(b"%d" % i).digest() * 32


def stream_sha256(n_blocks: int) -> str:
    h = hashlib.sha256()
    for i in range(n_blocks):
        h.update(pattern(i))
    return h.hexdigest()


# Device code. `result(fn)` runs fn and prints one line the host parses:
#   RESULT ok <value> <ms>     or     RESULT exc <ExceptionClass> <errno name> <ms> <message>
# (errno by name: the numbers differ between ports, e.g. ETIMEDOUT is 110 on the unix port, 116 on stm32)
UP = f"""
import wifi_board, spwf04, errno, hashlib, gc, time, binascii
TIMEOUT_S = 20
from spwf04 import ModuleError, ModuleReset, CertError
m = wifi_board.module()
m.init()
OP = [time.ticks_ms()]  # start of the socket operation in progress (bounded-time checks)
S = []  # sockets opened by echo(), closed by cleanup()
def result(fn, *a):
    t = time.ticks_ms()
    try:
        v = fn(*a)
    except Exception as e:
        ms = time.ticks_diff(time.ticks_ms(), OP[0])
        eno = errno.errorcode.get(e.args[0], e.args[0]) if e.args and isinstance(e.args[0], int) else None
        print('RESULT exc', type(e).__name__, eno, ms, str(e).replace('\\n', ' '))
        return None
    print('RESULT ok', v, time.ticks_diff(time.ticks_ms(), t))
    return v
def block(i):
    return hashlib.sha256(b'%d' % i).digest() * 32
def echo(port, n, sock=None):
    # n KiB through an echo peer, 1 KiB at a time; returns the SHA-256 of what came back
    s = sock or m.socket()
    s.settimeout(TIMEOUT_S)  # (before connect: the documented bound covers the connect too)
    if sock is None:
        S.append(s)
        OP[0] = time.ticks_ms()
        s.connect(('127.0.0.1', port))
    h = hashlib.sha256()
    buf = bytearray(1024)
    mv = memoryview(buf)
    for i in range(n):
        OP[0] = time.ticks_ms()
        s.write(block(i))
        got = 0
        while got < 1024:
            OP[0] = time.ticks_ms()
            k = s.readinto(mv[got:])
            if not k:
                raise OSError(errno.EIO, 'peer closed after %d of block %d' % (got, i))
            got += k
        h.update(buf)
    if sock is None:
        s.close()
    return binascii.hexlify(h.digest()).decode()
def cleanup():
    # close every socket (a failed one too): the module must not keep any open
    errs = []
    for s in S:
        try:
            s.close()
        except Exception as e:
            errs.append(type(e).__name__)
    S.clear()
    return errs
def sockl():
    return [l for l in m.at('AT+S.SOCKL') if l.startswith('AT-S.Socket')]
"""
JOIN = UP + f"m.wlan.connect({SSID!r}, {KEY!r})\n"

# After any fault: a fresh init, a join and a clean echo prove the driver works again.
RECOVER = f"""
m.init()
m.wlan.connect({SSID!r}, {KEY!r})
print('RECOVERED', echo(PORT, 8) == EIGHT, sockl(), len(m.sockets()))
"""


def parse_result(out: str) -> dict:
    for line in out.splitlines():
        if line.startswith("RESULT "):
            parts = line.split(" ", 5)
            if parts[1] == "ok":
                return {"ok": True, "value": parts[2], "ms": int(parts[3])}
            return {"ok": False, "type": parts[2], "errno": None if parts[3] == "None" else parts[3],
                    "ms": int(parts[4]), "msg": parts[5] if len(parts) > 5 else ""}
    raise AssertionError(f"no RESULT line in device output:\n{out}")


def recover(board, sim, port: int) -> None:
    """Faults off, then re-initialise and work again (the second half of every matrix row)."""
    sim.reconfigure(faults=Faults(), baud=None)
    out = board.exec(f"PORT = {port}\nEIGHT = {stream_sha256(8)!r}\n" + RECOVER, timeout=90)
    assert "RECOVERED True [] 0" in out, out
    assert not sim.sockets, sim.sockets
