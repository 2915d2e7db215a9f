"""SOCKR answers damaged on the UART (bytes lost or added in the AT-S.Reading line, the payload or the
AT-S.OK after it): the driver must raise, never return other bytes than the peer's, never skip any.

A scripted module on CPython (exact byte control that the simulator's random faults only reach by chance);
the same driver code as on the board."""

from __future__ import annotations

import errno

import pytest

import spwf04


class ScriptedUart:
    """Answers each command line with the next scripted reply for its prefix; hands out bytes in small
    pieces like a UART with a short receive buffer."""

    def __init__(self, script: list[tuple[str, list[bytes] | bytes]]) -> None:
        self.script = script
        self.out = bytearray()
        self.sent: list[str] = []
        self._line = b""

    def any(self) -> int:
        return min(len(self.out), 7)

    def readline(self):
        if not self.out:
            return None
        j = self.out.find(b"\n", 0, 7)
        n = j + 1 if j >= 0 else min(7, len(self.out))
        r = bytes(self.out[:n])
        del self.out[:n]
        return r

    def readinto(self, buf):
        n = min(len(buf), len(self.out))
        if not n:
            return None
        buf[:n] = self.out[:n]
        del self.out[:n]
        return n

    def write(self, b) -> int:
        self._line += bytes(b)
        while b"\r" in self._line:
            line, _, self._line = self._line.partition(b"\r")
            text = line.decode("latin-1")
            self.sent.append(text)
            for prefix, reply in self.script:
                if text.startswith(prefix):
                    self.out += reply.pop(0) if isinstance(reply, list) else reply
                    break
        return len(b)


def module(sockr_replies: list[bytes], pending: int) -> tuple[spwf04.Module, ScriptedUart]:
    q = b"AT-S.Query:%d\r\nAT-S.OK\r\n" % pending
    u = ScriptedUart([
        ("AT+S.SOCKON", b"AT-S.On:127.0.0.1:0\r\nAT-S.OK\r\n"),
        ("AT+S.SOCKQ", [q] * 8),
        ("AT+S.SOCKR", sockr_replies),
        ("AT+S.SOCKC", b"AT-S.OK\r\n"),
        ("AT", b"AT-S.OK\r\n"),
    ])
    m = spwf04.Module(u, timeout=300)
    m.probe_ms = 100
    return m, u


GOOD_SECOND = b"AT-S.Reading:5:10\r\nworldAT-S.OK\r\n"
DAMAGED = {
    # the Reading line lost a byte: the payload arrives in line mode, glued to the OK
    "reading-line-byte-lost": b"AT-S.Reding:5:5\r\nhelloAT-S.OK\r\n",
    "reading-line-garbled": b"AT-S.Rea\xffding:5:5\r\nhelloAT-S.OK\r\n",
    "reading-line-lf-lost": b"AT-S.Reading:5:5\rhelloAT-S.OK\r\n",
    # the payload gained a byte / lost one
    "payload-byte-added": b"AT-S.Reading:5:5\r\nhel#loAT-S.OK\r\n",
    "payload-byte-lost": b"AT-S.Reading:5:5\r\nhelo" + b"AT-S.OK\r\n",
    # the OK after the payload is damaged
    "ok-damaged": b"AT-S.Reading:5:5\r\nhelloAT-S.Ok\r\n",
}


@pytest.mark.parametrize("name", list(DAMAGED), ids=list(DAMAGED))
def test_damaged_sockr_raises_and_never_returns_other_bytes(name):
    m, u = module([DAMAGED[name], GOOD_SECOND, GOOD_SECOND], pending=5)
    s = m.socket()
    s.connect(("127.0.0.1", 7))
    s.settimeout(1)
    try:
        got = s.read(5)
    except OSError as e:
        assert e.errno in (errno.EIO, errno.ETIMEDOUT), e
        # and the socket stays failed: nothing after the damage can be trusted
        with pytest.raises(OSError):
            s.read(5)
        return
    assert got == b"hello", f"{name}: the driver returned {got!r} instead of the peer's b'hello' (or an error)"


def test_clean_sockr_still_works():
    m, u = module([b"AT-S.Reading:5:5\r\nhelloAT-S.OK\r\n", GOOD_SECOND], pending=5)
    s = m.socket()
    s.connect(("127.0.0.1", 7))
    assert s.read(5) == b"hello"
    assert s.read(5) == b"world"
