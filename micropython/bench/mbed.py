# Baseline: the data path of ST's Mbed SPWFSA04 driver (ARMmbed/wifi-x-nucleo-idw01m1, SPWFSAxx.cpp),
# replayed on the same module through this driver's raw AT passthrough (Module.at) only. Kept apart from the
# driver on purpose: it shows what the driver's own data path gains over ST's, measured in the same run.
#
# What ST's driver does, and so what this does:
# - send: AT+S.SOCKW in pieces of at most 730 bytes (SPWFXX_SEND_RECV_PKTSIZE), one AT-S.OK each;
# - receive: AT+S.SOCKQ before every read; reads of at most 730 bytes; around every AT+S.SOCKR all
#   indications switched off (_winds_off: the three console_wind_off_* masks to 0xFFFFFFFF) and back on
#   afterwards (_winds_on: high 0x00100000, medium 0x80000000, low 0x00000000 - its normal masks);
# - waiting: when SOCKQ says 0, wait for a +WIND:55 for the socket (ST's driver is woken by it).
import errno
import hashlib
import time

from bench import common as C

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


_PKT = const(730)
_RECHECK_MS = const(200)  # SOCKQ again after this long without a WIND:55 (a masked one is dropped)
_WINDS_OFF = ("AT+S.SCFG=console_wind_off_low,0xFFFFFFFF", "AT+S.SCFG=console_wind_off_medium,0xFFFFFFFF",
              "AT+S.SCFG=console_wind_off_high,0xFFFFFFFF")
_WINDS_ON = ("AT+S.SCFG=console_wind_off_high,0x00100000", "AT+S.SCFG=console_wind_off_medium,0x80000000",
             "AT+S.SCFG=console_wind_off_low,0x00000000")


class MbedSocket:
    def __init__(self, m):
        self.m = m
        self.id = None
        self.signalled = False
        self.winds = C.WindCounter()

    def _on_wind(self, ev):
        self.winds(ev)
        if ev.number == 55 and len(ev.params) > 1 and ev.params[1] == str(self.id):
            self.signalled = True

    def connect(self, host, port, kind, timeout=30000):
        """kind: 't' (TCP), or for TLS the server name (as ST's example: SOCKON ...,<name>)."""
        self.m.on_wind = self._on_wind
        for line in self.m.at("AT+S.SOCKON=%s,%d,NULL,%s" % (host, port, kind), None, timeout):
            if line.startswith("AT-S.On:"):
                self.id = int(line.rsplit(":", 1)[1])
        if self.id is None:
            raise OSError(errno.EIO, "SOCKON answered without AT-S.On")

    def write(self, data):
        mv = memoryview(data)
        o = 0
        while o < len(mv):
            k = min(_PKT, len(mv) - o)
            self.m.at("AT+S.SOCKW=%d" % self.id, mv[o : o + k])
            o += k

    def query(self):
        for line in self.m.at("AT+S.SOCKQ=%d" % self.id):
            if line.startswith("AT-S.Query:"):
                return int(line[11:])
        raise OSError(errno.EIO, "SOCKQ answered without AT-S.Query")

    def read_in(self, k):
        m = self.m
        for c in _WINDS_OFF:
            m.at(c)
        try:
            r = m.at("AT+S.SOCKR=%d,%d" % (self.id, k))
        finally:
            for c in _WINDS_ON:
                m.at(c)
        return r[-1]

    def wait(self, deadline_ms, t0):
        # ST's driver sleeps until a +WIND:55 wakes it; re-check with SOCKQ now and then.
        t = time.ticks_ms()
        self.signalled = False
        while not self.signalled:
            if time.ticks_diff(time.ticks_ms(), t0) > deadline_ms:
                raise OSError(errno.ETIMEDOUT, "no data within %d ms" % deadline_ms)
            if time.ticks_diff(time.ticks_ms(), t) > _RECHECK_MS:
                return
            self.m.pump()
            time.sleep_ms(1)

    def close(self):
        try:
            while True:  # ST's close() drains first (SOCKC refuses with pending data)
                q = self.query()
                if not q:
                    break
                self.read_in(min(q, _PKT))
            self.m.at("AT+S.SOCKC=%d" % self.id)
        finally:
            self.m.on_wind = None


def _open(m, host, port, tls, name):
    s = MbedSocket(m)
    s.connect(host, port, (name or "s") if tls else "t")
    return s


def recv(m, host, port, n, tls=False, name=None, tag="r", timeout_ms=120000):
    s = _open(m, host, port, tls, name)
    h = hashlib.sha256()
    try:
        s.write(("R %d %s\n" % (n, tag)).encode())
        t0 = time.ticks_us()
        t0ms = time.ticks_ms()
        got = 0
        while got < n:
            q = s.query()
            if not q:
                s.wait(timeout_ms, t0ms)
                continue
            d = s.read_in(min(q, _PKT, n - got))
            h.update(d)
            got += len(d)
        us = time.ticks_diff(time.ticks_us(), t0)
    finally:
        s.close()
    return {"bytes": got, "us": us, "sha256": C.hexdigest(h), "winds": s.winds.all, "wind55": s.winds.pending}


def send(m, host, port, n, tls=False, name=None, tag="w"):
    s = _open(m, host, port, tls, name)
    try:
        sent, us = C.send_stream(s.write, n, tag)
    finally:
        s.close()
    return {"bytes": sent, "us": us, "winds": s.winds.all, "wind55": s.winds.pending}
