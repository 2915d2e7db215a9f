"""UTC from the network (spwf04.ntp) on the virtual board over its REPL, against a real SNTP server on loopback:
the module's NTP client on FW 1.1 (AT+S.NTP, +WIND:84, AT+S.TIME read back), SNTP over a module UDP socket on
FW 1.0, no answer -> OSError(ETIMEDOUT) naming the fix within the bound, and Client_Socket with an unset board
clock (emulated on the unix port by its board_clock hook: the unix port's clock is the host's and cannot be
unset; a real cold start needs a board without RTC)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from client_config import configure as _configure

from spwf04_tools import device_path
from spwf04_tools.pki import build_pki
from spwf04_tools.sim.config import DEFAULT_AP, Behaviour
from spwf04_tools.sntp_server import SntpServer, build_reply, build_request
from spwf04_tools.tls_server import FW10_CIPHERS, OpenSSLServer

SERVED = 1_800_000_000  # 2027-01-15 08:00:00 UTC: far from the host clock, so it can only come from the server
COLD = 1_420_070_400  # 2015-01-01 00:00:00 UTC: an F401RE's RTC after power-up
VIA_MODULE = "the module's NTP client"
VIA_UDP = "SNTP over a module UDP socket"

SETUP = f"""
import wifi_board, time, errno
ERRNAME = {{errno.ETIMEDOUT: 'ETIMEDOUT', errno.EHOSTUNREACH: 'EHOSTUNREACH', errno.EIO: 'EIO'}}
m = wifi_board.module()
m.init()
m.wlan.connect({DEFAULT_AP.ssid!r}, {DEFAULT_AP.passphrase!r})
from spwf04 import ntp
"""


def _sync(board, server: str, timeout_ms: int = 10000) -> dict:
    out = board.exec(SETUP + f"""
t = time.ticks_ms()
try:
    e, via, rtc = ntp.sync(m, {server!r}, {timeout_ms})
    print('R', e, '|', via, '|', rtc, '|', m.time(), '|', m.clock())
except OSError as x:
    print('E', ERRNAME.get(x.args[0], x.args[0]), '|', x.args[1], '|', time.ticks_diff(time.ticks_ms(), t))
print('AT', m.at('AT')[-1])
""", timeout=60 + timeout_ms / 1000)
    line = next(ln for ln in out.splitlines() if ln.startswith(("R ", "E ")))
    f = [x.strip() for x in line[2:].split("|")]
    assert "AT AT-S.OK" in out  # the module still answers afterwards
    if line.startswith("R "):
        return {"epoch": int(f[0]), "via": f[1], "rtc": f[2], "time": int(f[3]), "clock": int(f[4])}
    return {"errno": f[0], "message": f[1], "ms": int(f[2])}  # errno by name: numbers differ between ports


def _has_rtc(board) -> bool:
    """The unix port has no settable RTC; the F401RE and the qemu board have one (machine.RTC)."""
    return board.exec("import sys\nprint(sys.platform)").strip() != "linux"


def _set_board_clock(board) -> None:
    """Where the board has an RTC, set it to the host's UTC (an earlier test may have set it elsewhere)."""
    if _has_rtc(board):
        t = time.gmtime()
        board.exec(f"import machine\nmachine.RTC().datetime(({t.tm_year}, {t.tm_mon}, {t.tm_mday}, 0, "
                   f"{t.tm_hour}, {t.tm_min}, {t.tm_sec}, 0))")


def _lines(sim, prefix: str) -> list[str]:
    return [c.line for c in sim.commands if c.line.upper().startswith(prefix.upper())]


@pytest.mark.virtual_only
@pytest.mark.parametrize("reply", ["async", "sync"])
def test_fw11_uses_the_module_ntp_client(board, driver, sim, reply: str) -> None:
    # both guesses at AT+S.NTP's answer: OK then +WIND:84 (async), or busy, +WIND:84, OK (sync)
    with SntpServer(epoch=SERVED) as srv:
        # the module's client asks port 123; the simulator maps it here
        sim.reconfigure(ntp_port=srv.port, behaviour=Behaviour(ntp_reply=reply))
        r = _sync(board, "127.0.0.1")
        now = srv.now()
    assert r["via"] == VIA_MODULE
    assert abs(r["epoch"] - now) <= 3 and abs(r["time"] - now) <= 3 and abs(r["clock"] - now) <= 3
    assert r["rtc"] == str(_has_rtc(board))  # the unix port has no settable RTC: said, not faked
    assert abs(sim.module_time - now) <= 3
    assert srv.requests == 1
    assert _lines(sim, "AT+S.SCFG=ip_ntp_server1") == ["AT+S.SCFG=ip_ntp_server1,127.0.0.1"]
    assert _lines(sim, "AT+S.NTP") == ["AT+S.NTP"]
    assert not _lines(sim, "AT+S.SOCKON")
    assert _lines(sim, "AT+S.TIME=") == [f"AT+S.TIME={r['epoch']}"]


@pytest.mark.virtual_only
def test_fw11_server_name_is_resolved_by_the_module(board, driver, sim) -> None:
    # ip_ntp_server1 takes an address (simulator: an ip variable): the module's DNS resolves the name through a
    # UDP SOCKON, whose AT-S.On line gives the address; that socket is closed again
    with SntpServer(epoch=SERVED) as srv:
        sim.reconfigure(ntp_port=srv.port, hosts={"ntp.test": "127.0.0.1"})
        r = _sync(board, "ntp.test")
        now = srv.now()
    assert r["via"] == VIA_MODULE and abs(r["epoch"] - now) <= 3
    assert _lines(sim, "AT+S.SOCKON") == ["AT+S.SOCKON=ntp.test,123,NULL,u"]
    assert _lines(sim, "AT+S.SCFG=ip_ntp_server1") == ["AT+S.SCFG=ip_ntp_server1,127.0.0.1"]
    assert not sim.sockets


@pytest.mark.virtual_only
def test_fw10_uses_sntp_over_a_udp_socket(board, driver, sim) -> None:
    sim.reconfigure(fw="1.0")
    with SntpServer(epoch=SERVED) as srv:
        r = _sync(board, f"127.0.0.1:{srv.port}")
        now = srv.now()
    assert r["via"] == VIA_UDP
    assert abs(r["epoch"] - now) <= 3 and abs(sim.module_time - now) <= 3
    assert srv.answered >= 1
    assert not _lines(sim, "AT+S.NTP")
    assert _lines(sim, "AT+S.SOCKON") == [f"AT+S.SOCKON=127.0.0.1,{srv.port},NULL,u"]
    assert _lines(sim, "AT+S.SOCKC")  # closed again
    assert not sim.sockets


@pytest.mark.virtual_only
def test_fw11_with_another_port_asks_over_udp(board, driver, sim) -> None:
    # the module's NTP client has no port setting: a server on another port can only be asked over UDP
    with SntpServer(epoch=SERVED) as srv:
        r = _sync(board, f"127.0.0.1:{srv.port}")
        now = srv.now()
    assert r["via"] == VIA_UDP and abs(r["epoch"] - now) <= 3
    assert not _lines(sim, "AT+S.NTP")
    assert not sim.sockets


@pytest.mark.virtual_only
@pytest.mark.parametrize("fw", ["1.1", "1.1-sync", "1.0"])
def test_no_answer_is_a_clear_timeout_within_the_bound(board, driver, sim, fw: str) -> None:
    reply = "sync" if fw.endswith("-sync") else "async"
    fw = fw[:3]
    sim.reconfigure(fw=fw)
    with SntpServer(silent=True) as srv:
        sim.reconfigure(ntp_port=srv.port, behaviour=Behaviour(ntp_reply=reply))
        server = "127.0.0.1" if fw == "1.1" else f"127.0.0.1:{srv.port}"
        r = _sync(board, server, timeout_ms=4000)
    assert r["errno"] == "ETIMEDOUT"
    port = 123 if fw == "1.1" else srv.port
    via = VIA_MODULE if fw == "1.1" else VIA_UDP
    assert r["message"].startswith(f"no NTP answer from 127.0.0.1:{port} within 4 s ({via})"), r
    assert "m.settime(<UNIX epoch>)" in r["message"]
    # bounded: the wait itself, plus at most the commands around it (each within the module's 5 s timeout)
    assert 4000 <= r["ms"] < 4000 + 10000, r
    assert srv.requests >= 1
    assert not sim.sockets
    assert sim.clock is None  # nothing set the module clock


@pytest.mark.virtual_only
def test_nobody_listening_on_udp_fails_the_same_way(board, driver, sim) -> None:
    sim.reconfigure(fw="1.0")
    srv = SntpServer()
    port = srv.port
    srv.stop()  # the port is free now: the datagram goes nowhere
    r = _sync(board, f"127.0.0.1:{port}", timeout_ms=3000)
    assert r["errno"] == "ETIMEDOUT"
    assert r["message"].startswith(f"no NTP answer from 127.0.0.1:{port} within 3 s ({VIA_UDP})")
    assert 3000 <= r["ms"] < 3000 + 10000  # the module closes nothing for an ICMP error: the whole wait
    assert not sim.sockets


@pytest.mark.virtual_only
@pytest.mark.parametrize("fw", ["1.1", "1.0"])
def test_unknown_server_name_is_named(board, driver, sim, fw: str) -> None:
    # the simulator resolves only its hosts map (and with --allow-remote real DNS): the name fails to open
    sim.reconfigure(fw=fw)
    out = board.exec(SETUP + """
try:
    ntp.sync(m, 'ntp.invalid', 3000)
except OSError as x:
    print('E', ERRNAME.get(x.args[0], x.args[0]), '|', x.args[1])
print('AT', m.at('AT')[-1])
""", timeout=60)
    assert "E EHOSTUNREACH | NTP server ntp.invalid: the module cannot open a UDP socket to it (AT-S.ERROR:74:" in out, out
    assert "m.settime(<UNIX epoch>)" in out and "AT AT-S.OK" in out
    assert _lines(sim, "AT+S.SOCKON") == ["AT+S.SOCKON=ntp.invalid,123,NULL,u"]
    assert not _lines(sim, "AT+S.NTP") and not sim.sockets


def test_answer_checks_on_cpython() -> None:
    """The reply checks of spwf04.ntp, run on CPython against replies built by the test server's codec."""
    device_path()
    from spwf04 import ntp

    req = ntp._request()
    good = build_reply(bytes(req), SERVED + 0.25, SERVED)
    assert ntp._answer(good, req) == SERVED
    assert ntp._answer(build_reply(bytes(req), SERVED + 0.75, SERVED), req) == SERVED + 1  # rounded
    other = build_request(time.time())
    assert ntp._answer(build_reply(other, SERVED, SERVED), req) is None  # not an answer to this request
    bad = bytearray(good)
    bad[0] = (bad[0] & ~7) | 3  # a client packet
    assert ntp._answer(bad, req) is None
    bad = bytearray(good)
    bad[1] = 0  # stratum 0: kiss-o'-death
    assert ntp._answer(bad, req) is None
    bad = bytearray(good)
    bad[0] |= 0xC0  # leap indicator 3: server not synchronised
    assert ntp._answer(bad, req) is None
    assert ntp._split("pool.ntp.org") == ("pool.ntp.org", 123)
    assert ntp._split("127.0.0.1:12300") == ("127.0.0.1", 12300)
    for bad in ("pool.ntp.org:", ":123", "host:x", "host:0", "host:70000"):
        with pytest.raises(ValueError, match="give host or host:port"):
            ntp._split(bad)


def test_set_rtc_on_cpython_with_a_stand_in_rtc(monkeypatch) -> None:
    """set_rtc's tuple (stm32 order and weekday numbering) and its honesty: True only when the board clock
    then reads the time. The stand-in RTC records the tuple; CPython's clock (the board clock here) is not
    changed by it, so only a time equal to the host's 'takes'."""
    import datetime as dt
    import sys
    import types

    device_path()
    from spwf04 import ntp

    seen: list[tuple] = []

    class RTC:
        def datetime(self, t: tuple) -> None:
            seen.append(t)

    monkeypatch.setitem(sys.modules, "machine", types.SimpleNamespace(RTC=RTC))
    assert ntp.set_rtc(SERVED) is False  # recorded, but the board clock does not read it
    d = dt.datetime.fromtimestamp(SERVED, dt.timezone.utc)
    assert seen[-1] == (d.year, d.month, d.day, d.isoweekday(), d.hour, d.minute, d.second, 0)
    now = int(time.time())
    assert ntp.set_rtc(now) is True
    d = dt.datetime.fromtimestamp(now, dt.timezone.utc)
    assert seen[-1][:4] == (d.year, d.month, d.day, d.isoweekday())
    monkeypatch.setitem(sys.modules, "machine", types.SimpleNamespace())  # a port without RTC
    assert ntp.set_rtc(now) is False


# --- Client_Socket with an unset board clock -------------------------------------------------------------------


COLD_MAIN = f"import client_socket\nprint('RESULT', client_socket.main(board_clock=lambda: {COLD}))"


@pytest.mark.virtual_only
@pytest.mark.parametrize("fw", ["1.1", "1.0"])
def test_app_with_unset_board_clock_gets_utc_from_ntp(board, driver, sim, tmp_path: Path, fw: str) -> None:
    sim.reconfigure(fw=fw)
    pki = build_pki(tmp_path)
    served = time.time() + 30 * 86400  # inside the certificates' validity, a month from the host clock
    ciphers = FW10_CIPHERS if fw == "1.0" else None
    with SntpServer(epoch=served) as ntp, \
            OpenSSLServer(pki.server.pem, pki.server.key_pem, www=True, ciphers=ciphers) as srv:
        sim.reconfigure(ntp_port=ntp.port)
        _configure(board, srv, pki.ca_pem, ntp_server="127.0.0.1" if fw == "1.1" else f"127.0.0.1:{ntp.port}")
        out = board.exec(COLD_MAIN, timeout=120)
        now = ntp.now()
    assert "RESULT True" in out, out
    assert "[3/9] set the module clock" in out
    assert "board clock not set (reads 2015-01-01 00:00:00" in out
    assert f"from {VIA_MODULE if fw == '1.1' else VIA_UDP}" in out
    if _has_rtc(board):
        assert "board clock set" in out
    else:
        assert "board clock not settable on this port, left as is" in out
    assert "<HTML>" in out  # the TLS page: the certificates were checked at the network's time
    assert abs(sim.module_time - now) <= 5
    month = time.strftime("%Y-%m-%d", time.gmtime(served))
    assert re.search(r"module clock %s \d\d:\d\d:\d\d" % month, out), out


@pytest.mark.virtual_only
def test_app_no_ntp_answer_names_the_fix(board, driver, sim, tmp_path: Path) -> None:
    pki = build_pki(tmp_path)
    with SntpServer(silent=True) as ntp, OpenSSLServer(pki.server.pem, pki.server.key_pem, www=True) as srv:
        _configure(board, srv, pki.ca_pem, ntp_server=f"127.0.0.1:{ntp.port}", ntp_timeout=3)
        out = board.exec(COLD_MAIN, timeout=120)
    assert "RESULT False" in out
    assert (f"FAILED: set the module clock failed: no NTP answer from 127.0.0.1:{ntp.port} within 3 s "
            f"({VIA_UDP})") in out, out
    assert ": check ntp_server in client_config.json or set the board clock (machine.RTC().datetime(...))" in out
    assert not _lines(sim, "AT+S.TLSCERT") and not _lines(sim, "AT+S.TIME=")


@pytest.mark.virtual_only
def test_app_unset_clock_without_ntp_server(board, driver, sim, tmp_path: Path) -> None:
    pki = build_pki(tmp_path)
    with OpenSSLServer(pki.server.pem, pki.server.key_pem, www=True) as srv:
        _configure(board, srv, pki.ca_pem, ntp_server=None)
        out = board.exec(COLD_MAIN, timeout=120)
    assert "RESULT False" in out
    assert "FAILED: set the module clock failed: the board clock is not set (reads 2015-01-01" in out
    assert "has no ntp_server: add one" in out
    assert not _lines(sim, "AT+S.NTP") and not _lines(sim, "AT+S.SOCKON")


@pytest.mark.virtual_only
def test_app_with_a_set_clock_asks_no_server(board, driver, sim, tmp_path: Path) -> None:
    pki = build_pki(tmp_path)
    with SntpServer(epoch=SERVED) as ntp, OpenSSLServer(pki.server.pem, pki.server.key_pem, www=True) as srv:
        _configure(board, srv, pki.ca_pem, ntp_server=f"127.0.0.1:{ntp.port}")
        _set_board_clock(board)
        out = board.exec("import client_socket\nprint('RESULT', client_socket.main())", timeout=120)
    assert "RESULT True" in out, out
    assert ntp.requests == 0 and "NTP" not in out
    assert abs(sim.module_time - time.time()) <= 5  # the board clock (the host's on the unix port, set above on others)


def test_deploy_accepts_the_ntp_keys(tmp_path: Path) -> None:
    """`spwf04 deploy --config` refuses unknown keys: the app's NTP keys are known ones."""
    from spwf04_tools.deploy import DeployError, load_config

    cfg = tmp_path / "client.json"
    cfg.write_text(json.dumps({"ssid": "net", "host": "h", "ntp_server": "pool.ntp.org", "ntp_timeout": 10}))
    assert load_config(cfg, None)["ntp_server"] == "pool.ntp.org"
    cfg.write_text(json.dumps({"ssid": "net", "host": "h", "ntp_srever": "x"}))
    with pytest.raises(DeployError, match="unknown keys"):
        load_config(cfg, None)


@pytest.mark.virtual_only
def test_app_default_server_unreachable_names_the_fix(board, driver, sim, tmp_path: Path) -> None:
    # no ntp_server in the configuration: the default, pool.ntp.org, which the simulator cannot resolve (loopback
    # only, as a module on a network without DNS)
    pki = build_pki(tmp_path)
    with OpenSSLServer(pki.server.pem, pki.server.key_pem, www=True) as srv:
        _configure(board, srv, pki.ca_pem)
        out = board.exec(COLD_MAIN, timeout=120)
    assert "RESULT False" in out
    assert "board clock not set (reads 2015-01-01 00:00:00 UTC): asking NTP server pool.ntp.org" in out, out
    assert ("FAILED: set the module clock failed: NTP server pool.ntp.org: the module cannot open a UDP socket to "
            "it (AT-S.ERROR:74:") in out
    assert ": check ntp_server in client_config.json or set the board clock (machine.RTC().datetime(...))" in out
    assert not _lines(sim, "AT+S.TLSCERT")
