"""The simulated module's NTP client (inferred behaviour, docs/simulator.md "NTP") against a real SNTP server on
loopback: AT+S.NTP, the server variables, +WIND:84, ip_ntp_startup/refresh; FW 1.0 has no AT+S.NTP."""

from __future__ import annotations

import datetime as dt
import time

from sim_helpers import Module

from spwf04_tools.sntp_server import SntpServer

SERVED = 1_800_000_000  # 2027-01-15 08:00:00 UTC: far from the host clock, so it can only come from the server


def _module_clock(link) -> int:
    out = link.cmd(b"AT+S.TIME").decode()
    date = out.split("AT-S.Date:")[1].split(":")[0]
    clock = out.split("AT-S.Time:")[1].split("\r")[0]
    y, mo, d = (int(x) for x in date.split("."))
    h, mi, s = (int(x) for x in clock.split("."))
    return int(dt.datetime(2000 + y, mo, d, h, mi, s, tzinfo=dt.timezone.utc).timestamp())


def _joined(make_module, fw: str = "1.1", **kw) -> Module:
    m = make_module(fw=fw, **kw)
    m.join()
    m.link.cmd(b"AT+S.SCFG=console_echo,0")
    return m


def test_ntp_sets_the_clock_from_a_real_sntp_answer(make_module) -> None:
    with SntpServer(epoch=SERVED) as srv:
        m = _joined(make_module, ntp_port=srv.port)
        link = m.link
        assert link.cmd(b"AT+S.SCFG=ip_ntp_server1,127.0.0.1") == b"AT-S.OK\r\n"
        assert link.cmd(b"AT+S.NTP") == b"AT-S.OK\r\n"  # at once; the answer comes as an indication
        assert link.read_line(timeout=5) == b"+WIND:84:NTP Server delivery\r\n"
        assert srv.requests == 1 and srv.answered == 1
        assert abs(_module_clock(link) - srv.now()) <= 2
        assert abs(m.sim.clock - srv.now()) <= 2


def test_second_server_is_asked_when_the_first_is_silent(make_module) -> None:
    # the module has one NTP port: the two servers are two loopback addresses on it
    with SntpServer(silent=True) as dead, SntpServer(host="127.0.0.2", port=dead.port, epoch=SERVED) as second:
        m = _joined(make_module, ntp_port=dead.port)
        m.link.cmd(b"AT+S.SCFG=ip_ntp_server1,127.0.0.1")
        m.link.cmd(b"AT+S.SCFG=ip_ntp_server2,127.0.0.2")
        assert m.link.cmd(b"AT+S.NTP") == b"AT-S.OK\r\n"
        assert m.link.read_line(timeout=10) == b"+WIND:84:NTP Server delivery\r\n"
        assert dead.requests == 1 and second.answered == 1
        assert abs(_module_clock(m.link) - second.now()) <= 2


def test_no_answer_no_indication_clock_unchanged(make_module) -> None:
    with SntpServer(silent=True) as srv:
        m = _joined(make_module, ntp_port=srv.port)
        m.link.cmd(b"AT+S.SCFG=ip_ntp_server1,127.0.0.1")
        assert m.link.cmd(b"AT+S.NTP") == b"AT-S.OK\r\n"
        assert b"+WIND:84" not in m.link.quiet(m.sim.config.timing.ntp_timeout + 1.0)
        assert srv.requests == 1
        assert m.sim.clock is None  # never set: still the unset clock from 2000
        assert _module_clock(m.link) < 1_000_000_000


def test_ntp_needs_the_link_and_takes_no_parameter(make_module) -> None:
    m = make_module()
    m.link.cmd(b"AT+S.SCFG=console_echo,0")
    assert m.link.cmd(b"AT+S.NTP") == b"AT-S.ERROR:44:Wait for Connection Up\r\n"
    m.join()
    assert m.link.cmd(b"AT+S.NTP=1") == b"AT-S.ERROR:6:Too many argument(s)\r\n"


def test_no_server_set_sends_nothing(make_module) -> None:
    with SntpServer(epoch=SERVED) as srv:
        m = _joined(make_module, ntp_port=srv.port)
        assert m.link.cmd(b"AT+S.GCFG=ip_ntp_server1") == b"AT-S.Var:ip_ntp_server1=0.0.0.0\r\nAT-S.OK\r\n"
        assert m.link.cmd(b"AT+S.NTP") == b"AT-S.OK\r\n"
        assert b"+WIND:84" not in m.link.quiet(0.5)
        assert srv.requests == 0


def test_fw10_has_no_ntp_command(make_module) -> None:
    with SntpServer(epoch=SERVED) as srv:
        m = _joined(make_module, fw="1.0", ntp_port=srv.port)
        m.link.cmd(b"AT+S.SCFG=ip_ntp_server1,127.0.0.1")
        assert m.link.cmd(b"AT+S.NTP") == b"AT-S.ERROR:1:Command not found\r\n"
        assert srv.requests == 0


def test_startup_and_refresh(make_module) -> None:
    with SntpServer(epoch=SERVED) as srv:
        m = make_module(ntp_port=srv.port)
        link = m.link
        link.cmd(b"AT+S.SCFG=ip_ntp_server1,127.0.0.1")
        link.cmd(b"AT+S.SCFG=ip_ntp_startup,1")
        link.cmd(b"AT+S.SCFG=ip_ntp_refresh,1")
        out = m.join()  # WCFG + RESET inside: the variables are stored and in force after the reboot
        out += link.read_until(b"+WIND:84:NTP Server delivery\r\n", timeout=5)
        assert out.index(b"+WIND:24:WiFi Up:0:") < out.index(b"+WIND:84:")
        link.read_until(b"+WIND:84:NTP Server delivery\r\n", timeout=5)  # refreshed a second later
        assert srv.requests >= 2
        assert abs(m.sim.clock - srv.now()) <= 2


def test_masked_wind84_is_not_printed(make_module) -> None:
    # ST's Mbed driver's usual mask console_wind_off_high=0x00100000 hides WIND 84 (bit 20 of _high)
    with SntpServer(epoch=SERVED) as srv:
        m = _joined(make_module, ntp_port=srv.port)
        m.link.cmd(b"AT+S.SCFG=ip_ntp_server1,127.0.0.1")
        m.link.cmd(b"AT+S.SCFG=console_wind_off_high,0x00100000")
        m.link.cmd(b"AT+S.NTP")
        deadline = time.monotonic() + 5
        while srv.answered < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert srv.answered == 1
        assert b"+WIND:84" not in m.link.quiet(0.5)
        assert abs(_module_clock(m.link) - srv.now()) <= 2  # the clock is set all the same


def test_udp_socket_ignores_icmp_port_unreachable(make_module) -> None:
    # a datagram to a port nobody listens on: the host gets ICMP port unreachable; the module's UDP socket
    # stays open and silent (no +WIND:58), so a driver waiting for an answer waits its whole bound
    srv = SntpServer()
    port = srv.port
    srv.stop()
    m = _joined(make_module, fw="1.0")
    link = m.link
    assert link.cmd(b"AT+S.SOCKON=127.0.0.1,%d,NULL,u" % port) == b"AT-S.On:127.0.0.1:0\r\nAT-S.OK\r\n"
    assert link.cmd(b"AT+S.SOCKW=0,4", b"ping") == b"AT-S.OK\r\n"
    assert b"+WIND:58" not in link.quiet(1.5)
    assert link.cmd(b"AT+S.SOCKW=0,4", b"ping") == b"AT-S.OK\r\n"  # the next datagram goes out as well
    assert b"+WIND:58" not in link.quiet(1.5)
    assert link.cmd(b"AT+S.SOCKQ=0") == b"AT-S.Query:0\r\nAT-S.OK\r\n"
    assert link.cmd(b"AT+S.SOCKC=0") == b"AT-S.OK\r\n"


def test_sync_reply_variant(make_module) -> None:
    # Behaviour.ntp_reply="sync": the module is busy while it asks, the indication comes before the OK
    from spwf04_tools.sim import Behaviour

    with SntpServer(epoch=SERVED) as srv:
        m = _joined(make_module, ntp_port=srv.port, behaviour=Behaviour(ntp_reply="sync"))
        m.link.cmd(b"AT+S.SCFG=ip_ntp_server1,127.0.0.1")
        assert m.link.cmd(b"AT+S.NTP") == b"+WIND:84:NTP Server delivery\r\nAT-S.OK\r\n"
        assert abs(_module_clock(m.link) - srv.now()) <= 2
    with SntpServer(silent=True) as srv:
        m.sim.reconfigure(ntp_port=srv.port)
        assert m.link.cmd(b"AT+S.NTP", timeout=10) == b"AT-S.OK\r\n"  # after the whole wait, no indication
        assert srv.requests == 1
