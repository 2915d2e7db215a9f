"""Fault injection: each fault does what it says and is deterministic from its seed."""

from __future__ import annotations

import re
import time

import pytest
from sim_helpers import Module, TcpPeer

from spwf04_tools.sim import Faults
from spwf04_tools.sim.faults import FaultInjector
from spwf04_tools.sim.framing import Unit, line_unit

pytestmark = pytest.mark.timeout(60)

SCRIPT = [b"AT", b"AT+S.STS=fw_version", b"AT+S.GCFG=console_errs", b"AT+S.NOSUCH", b"AT+S.TIME"]
WIND_LINE = re.compile(rb"\+WIND:(14|15|16):[A-Za-z ]+\r\n")


def _units() -> list[Unit]:
    return [line_unit(f"AT-S.Var:x={i}") for i in range(20)] + [line_unit("AT-S.OK")]


def test_transform_is_deterministic_and_lossless_when_only_fragmenting() -> None:
    f = Faults(seed=7, fragment=1.0, fragment_max=4, wind_inject=0.5)
    a = FaultInjector(f).transform(_units())
    b = FaultInjector(f).transform(_units())
    assert a == b
    c = FaultInjector(Faults(seed=8, fragment=1.0, wind_inject=0.5)).transform(_units())
    assert c != a
    stream = b"".join(p for p, _ in a)
    clean = b"".join(u.data for u in _units())
    assert WIND_LINE.sub(b"", stream) == clean  # injected lines sit at line boundaries only
    assert len(a) > len(_units()) * 2  # fragmented
    assert all(gap > 0 for _, gap in a if not WIND_LINE.fullmatch(_))


def test_noise_is_deterministic() -> None:
    f = Faults(seed=3, drop=0.5, garbage=0.5)
    a = FaultInjector(f).transform(_units())
    assert a == FaultInjector(f).transform(_units())
    assert b"".join(p for p, _ in a) != b"".join(u.data for u in _units())


def _run_script(m: Module) -> bytes:
    out = b""
    for line in SCRIPT:
        m.link.send(line + b"\r")
        out += m.link.read_until(b"AT-S.OK\r\n" if line != b"AT+S.NOSUCH" else b"found\r\n")
    return out


def test_wind_injection_on_the_wire(make_module) -> None:
    clean = _run_script(make_module())
    m1 = make_module(faults=Faults(seed=11, wind_inject=0.5, fragment=0.5))
    m2 = make_module(faults=Faults(seed=11, wind_inject=0.5, fragment=0.5))
    noisy1, noisy2 = _run_script(m1), _run_script(m2)
    assert noisy1 == noisy2  # same seed, same bytes
    assert WIND_LINE.search(noisy1)
    # Strip only the injected lines: a WIND may also have preceded a response's terminator.
    tail = m1.link.quiet(0.1)
    assert WIND_LINE.sub(b"", noisy1 + tail).startswith(clean[:-9])


def test_wind55_lost_and_stale(make_module, peer: TcpPeer) -> None:
    m = make_module(faults=Faults(seed=1, wind55_loss=1.0))
    m.join()
    m.link.cmd(b"AT+S.SCFG=console_echo,0")
    m.link.cmd(b"AT+S.SOCKON=127.0.0.1,%d,NULL,t" % peer.port)
    peer.wait_connections()
    peer.send(b"12345")
    m.sim.wait_for(lambda: m.sim.engine.sockets[0].pending, 5, "data")
    assert m.link.quiet(0.2) == b""  # the indication was lost
    assert m.link.cmd(b"AT+S.SOCKQ=0") == b"AT-S.Query:5\r\nAT-S.OK\r\n"  # SOCKQ is the truth

    peer2 = TcpPeer()
    try:
        m2 = make_module(faults=Faults(seed=1, wind55_stale=1.0))
        m2.join()
        m2.link.cmd(b"AT+S.SOCKON=127.0.0.1,%d,NULL,t" % peer2.port)
        peer2.wait_connections()
        peer2.send(b"12345")
        line = m2.link.read_line()
        assert line.startswith(b"+WIND:55:Pending Data::0:") and line != b"+WIND:55:Pending Data::0:5:5\r\n"
    finally:
        peer2.stop()


def test_reset_before_response(make_module, peer: TcpPeer) -> None:
    m = make_module(faults=Faults(reset_on=r"^AT\+S\.SOCKW", reset_phase="before"))
    m.join()
    link = m.link
    link.cmd(b"AT+S.SOCKON=127.0.0.1,%d,NULL,t" % peer.port)
    link.send(b"AT+S.SOCKW=0,3\rabc")
    out = link.read_until(b"+WIND:32:WiFi Hardware Started\r\n")
    assert out.startswith(b"AT+S.SOCKW=0,3\r\n+WIND:1:Poweron:")
    assert b"AT-S.OK" not in out
    assert m.sim.sockets == {}
    assert peer.received == b""


def test_reset_mid_response(make_module) -> None:
    m = make_module(faults=Faults(reset_on="STS", reset_on_nth=2, reset_phase="mid_response"))
    link = m.link
    full = link.cmd(b"AT+S.STS=fw_version")  # first match: untouched
    link.send(b"AT+S.STS=fw_version\r")
    out = link.read_until(b"+WIND:32:WiFi Hardware Started\r\n")
    echo = b"AT+S.STS=fw_version\r\n"
    response = full[len(echo):]
    assert out.startswith(echo + response[: len(response) // 2] + b"+WIND:1:Poweron:")


def test_peer_closes_mid_transfer(make_module, peer: TcpPeer) -> None:
    m = make_module(faults=Faults(peer_close_after_rx=4))
    m.join()
    link = m.link
    link.cmd(b"AT+S.SCFG=console_echo,0")
    link.cmd(b"AT+S.SOCKON=127.0.0.1,%d,NULL,t" % peer.port)
    peer.wait_connections()
    peer.send(b"0123456789")
    assert link.read_until(b"+WIND:58:Socket Closed:0:1\r\n") == (
        b"+WIND:55:Pending Data::0:4:4\r\n+WIND:58:Socket Closed:0:1\r\n")
    assert link.cmd(b"AT+S.SOCKR=0,4") == b"AT-S.Reading:4:4\r\n0123AT-S.OK\r\n"


def test_slow_responses(make_module) -> None:
    m = make_module(faults=Faults(command_delay=0.4, command_delay_on=r"^AT$"))
    link = m.link
    t0 = time.monotonic()
    assert link.cmd(b"AT") == b"AT\r\nAT-S.OK\r\n"
    assert time.monotonic() - t0 >= 0.4
    m.sim.reconfigure(faults=Faults())
    assert link.cmd(b"AT+S.STS=fw_version").endswith(b"AT-S.OK\r\n")


def test_wind_inside_sockr_data(make_module, peer: TcpPeer) -> None:
    m = make_module(faults=Faults(seed=5, wind_in_sockr=1.0))
    m.join()
    link = m.link
    link.cmd(b"AT+S.SCFG=console_echo,0")
    link.cmd(b"AT+S.SOCKON=127.0.0.1,%d,NULL,t" % peer.port)
    peer.wait_connections()
    peer.send(b"A" * 100)
    link.read_line()
    link.send(b"AT+S.SOCKR=0,100\r")
    assert link.read_line() == b"AT-S.Reading:100:100\r\n"
    rest = link.read_until(b"AT-S.OK\r\n")
    assert WIND_LINE.search(rest) and WIND_LINE.sub(b"", rest) == b"A" * 100 + b"AT-S.OK\r\n"


def test_garbage_on_input_breaks_commands(make_module) -> None:
    m = make_module(faults=Faults(seed=2, garbage=1.0, noise_input=True))
    m.sim.reconfigure(faults=Faults(seed=2, garbage=1.0, noise_input=True))
    m.link.send(b"AT\r")
    out = m.link.quiet(0.5)
    assert out and out != b"AT\r\nAT-S.OK\r\n"
