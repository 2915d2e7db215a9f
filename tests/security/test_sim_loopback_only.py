"""The simulator reaches loopback only unless told otherwise: SOCKON, PING and HTTPGET to a non-loopback
address or an unknown name fail with the module's error, and no connection attempt or name lookup leaves
the process (audit hooks watch every socket.connect and getaddrinfo of the process the simulator runs in).
With allow_remote the same requests do try the outside - blocked here by the hook, so nothing leaves."""

from __future__ import annotations

import ipaddress

import pytest

from seckit import SECRET_KEY, SECRET_SSID, audit
from spwf04_tools.sim import SimConfig

pytestmark = [pytest.mark.virtual_only, pytest.mark.timeout(180)]

REMOTE = ["203.0.113.7", "8.8.8.8", "192.168.1.1", "example.com"]
TRY = f"""
import wifi_board, spwf04
m = wifi_board.module()
m.init()
m.wlan.connect({SECRET_SSID!r}, {SECRET_KEY!r})
for host in {REMOTE!r}:
    try:
        s = m.socket()
        s.connect((host, 80))
        print('CONNECTED', host)
        s.close()
    except spwf04.ModuleError as e:
        print('REFUSED', host, e.code)
for cmd in ('AT+S.HTTPGET=203.0.113.7,/,80,0,,,,', 'AT+S.PING=1,56,8.8.8.8'):
    try:
        print('RAW', m.at(cmd))
    except spwf04.ModuleError as e:
        print('RAW-ERROR', e.code)
"""


def _outside(event: str, args: tuple) -> str | None:
    if event == "socket.connect":
        addr = args[1]
        if isinstance(addr, tuple) and addr and isinstance(addr[0], str):
            try:
                if not ipaddress.ip_address(addr[0]).is_loopback:
                    return f"connect {addr}"
            except ValueError:
                return f"connect {addr}"
    elif event == "socket.getaddrinfo":
        host = args[0]
        if isinstance(host, bytes):
            host = host.decode()
        if isinstance(host, str) and host not in ("127.0.0.1", "localhost", "::1", "") and not host.startswith("127."):
            return f"getaddrinfo {host}"
    elif event == "socket.gethostbyname":
        if args[0] not in ("localhost", "127.0.0.1"):
            return f"gethostbyname {args[0]}"
    return None


def _try_outside(board) -> tuple[str, list[str]]:
    """Run TRY on the board with every non-loopback connect/lookup in this process blocked and recorded."""
    attempts: list[str] = []

    def on(event: str, args: tuple) -> None:
        what = _outside(event, args)
        if what:
            attempts.append(what)
            raise PermissionError("test: non-loopback traffic blocked")

    with audit(on):
        out = board.exec(TRY, timeout=120)
    return out, attempts


def test_default_refuses_non_loopback_and_nothing_leaves(driver, board, secret_sim):
    assert SimConfig().allow_remote is False
    out, attempts = _try_outside(board)
    for host in REMOTE:
        assert f"REFUSED {host} 74" in out, out
    assert "CONNECTED" not in out
    assert not attempts, f"the simulator tried to reach the outside: {attempts}"


def test_allow_remote_is_the_only_way_out(driver, board, secret_sim):
    secret_sim.reconfigure(allow_remote=True)
    out, attempts = _try_outside(board)
    assert "CONNECTED" not in out  # blocked by the hook: the module reports the failure
    tried = " ".join(attempts)
    assert "203.0.113.7" in tried and "8.8.8.8" in tried, attempts
