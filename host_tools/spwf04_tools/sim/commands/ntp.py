"""The module's NTP client: AT+S.NTP, ip_ntp_server1/2, ip_ntp_startup, ip_ntp_refresh, +WIND:84.

What is known (spec 5.2, 6.15, 8): FW 1.1 has `AT+S.NTP` ("Force an NTP Query"), the variables
`ip_ntp_server1`, `ip_ntp_server2`, `ip_ntp_startup`, `ip_ntp_refresh` and `+WIND:84:NTP Server delivery`;
their behaviour is unknown. Everything this file does beyond those names is inference, listed in
docs/simulator.md ("NTP"):

- `AT+S.NTP` takes no parameter (any -> 6), needs the link up (else 44), answers `AT-S.OK` at once and
  queries in the background (`Behaviour.ntp_reply="sync"`: busy until the query ends, +WIND:84 before the
  OK); a query already running is not started twice.
- The query is a real SNTP request over UDP (RFC 4330, VN 4) to `ip_ntp_server1`, then `ip_ntp_server2` if
  the first gives no valid answer within `Timing.ntp_timeout` (0.0.0.0 = not set; none set: nothing is
  sent). The port is `SimConfig.ntp_port` (the real module's is 123, which needs root on the test host).
- A valid answer sets the module clock to the server's transmit time and prints `+WIND:84:NTP Server
  delivery` (no parameters). No valid answer: no indication, the clock is unchanged.
- `ip_ntp_startup` 1: a query whenever the link comes up (+WIND:24 with an IPv4 address), then every
  `ip_ntp_refresh` seconds (0: never again) while the link stays up.
- FW 1.0: `AT+S.NTP` answers like any unknown command (error 1) and the variables do nothing.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Callable

from ... import at_tables as at
from ...sntp_server import SntpError, build_request, parse_reply
from ..engine import Async, AsyncOp, Cmd, Command, Engine
from . import netpolicy

log = logging.getLogger("spwf04_tools.sim")

NTP_PROFILES = ("1.1",)  # firmware profiles with an NTP client (the issue and FW 1.1's command list)
WIND_NTP_DELIVERY = 84
SERVER_VARS = ("ip_ntp_server1", "ip_ntp_server2")
UNSET = "0.0.0.0"


def cmd_ntp(eng: Engine, cmd: Cmd) -> Async | None:
    if eng.config.fw not in NTP_PROFILES:
        eng.error(at.ERR_COMMAND_NOT_FOUND)  # FW 1.0: no such command (as the module answers any unknown one)
        return None
    if cmd.raw_params is not None:
        eng.error(at.ERR_TOO_MANY_ARGS)
        return None
    if eng.link != "up":
        eng.error(at.ERR_WAIT_CONNECTION_UP)
        return None
    servers = _servers(eng)
    if eng.config.behaviour.ntp_reply == "sync" and servers and getattr(eng, "_ntp_gen", None) != eng.gen:
        return eng.run_async(SyncQuery(eng, servers))
    eng.ok()
    start_query(eng, "AT+S.NTP")
    return None


class SyncQuery(AsyncOp):
    """AT+S.NTP with ntp_reply="sync": the module is busy while it asks; +WIND:84 (if any), then AT-S.OK."""

    name = "ntp"

    def __init__(self, eng: Engine, servers: list[str]) -> None:
        self.eng, self.servers = eng, servers
        self.port, self.timeout = eng.config.ntp_port, eng.config.timing.ntp_timeout
        eng._ntp_gen = eng.gen  # type: ignore[attr-defined]

    def work(self, cancelled: Callable[[], bool]) -> tuple[float, float, str] | None:
        return _ask_servers(self.eng, self.servers, self.port, self.timeout)

    def done(self, result: tuple[float, float, str] | None) -> None:
        _finished(self.eng, result, "AT+S.NTP", periodic=False)
        self.eng.ok()


def _servers(eng: Engine) -> list[str]:
    return [str(eng.cfg[v]) for v in SERVER_VARS if str(eng.cfg[v]) != UNSET]


def link_up(eng: Engine) -> None:
    """The link came up (+WIND:24 with an address): the client starts if ip_ntp_startup is 1."""
    if eng.config.fw in NTP_PROFILES and eng.cfg["ip_ntp_startup"]:
        start_query(eng, "ip_ntp_startup", periodic=True)


def start_query(eng: Engine, why: str, periodic: bool = False) -> None:
    """Query the configured servers in a worker thread; the result comes back as an engine event."""
    servers = _servers(eng)
    if not servers:
        log.info("NTP (%s): no server set (ip_ntp_server1/2 are %s): nothing sent", why, UNSET)
        return
    if getattr(eng, "_ntp_gen", None) == eng.gen:
        log.info("NTP (%s): a query is already running", why)
        return
    eng._ntp_gen = eng.gen  # type: ignore[attr-defined]
    gen, port, timeout = eng.gen, eng.config.ntp_port, eng.config.timing.ntp_timeout

    def work() -> None:
        result = _ask_servers(eng, servers, port, timeout)
        eng.post_socket_event(gen, lambda: _finished(eng, result, why, periodic))

    threading.Thread(target=work, name="sim-ntp", daemon=True).start()


def _ask_servers(eng: Engine, servers: list[str], port: int, timeout: float) -> tuple[float, float, str] | None:
    """(server epoch, time.monotonic() at arrival, server) of the first valid answer, or None."""
    for server in servers:
        try:
            ip = netpolicy.resolve(eng, server)
        except netpolicy.Refused as exc:
            log.info("NTP: %s not asked: %s", server, exc)
            continue
        got = _ask(ip, port, timeout)
        if got is not None:
            return got[0], got[1], ip
    return None


def _ask(ip: str, port: int, timeout: float) -> tuple[float, float] | None:
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = build_request(time.time())
        try:
            s.sendto(request, (ip, port))
        except OSError as exc:
            log.info("NTP: request to %s:%d failed: %s", ip, port, exc)
            return None
        while (left := deadline - time.monotonic()) > 0:
            s.settimeout(left)
            try:
                data, addr = s.recvfrom(512)
            except OSError:  # timeout (or an error): no answer
                break
            arrived = time.monotonic()
            if addr[0] != ip or addr[1] != port:
                continue
            try:
                return parse_reply(data, request).epoch, arrived
            except SntpError as exc:
                log.info("NTP: unusable answer from %s:%d: %s", ip, port, exc)
    log.info("NTP: no valid answer from %s:%d within %.1f s", ip, port, timeout)
    return None


def _finished(eng: Engine, result: tuple[float, float, str] | None, why: str,
              periodic: bool) -> None:
    eng._ntp_gen = None  # type: ignore[attr-defined]
    if result is not None:
        epoch, arrived, server = result
        whole = int(epoch)
        eng.clock_base = (whole, arrived - (epoch - whole))  # the clock ticks on from the server's time
        log.info("NTP (%s): clock set to %d from %s", why, whole, server)
        eng.wind(WIND_NTP_DELIVERY)
    refresh = int(eng.cfg["ip_ntp_refresh"])
    if periodic and refresh > 0 and eng.cfg["ip_ntp_startup"]:
        link_id = eng.join_id
        eng.schedule(refresh, _again(eng, link_id))


def _again(eng: Engine, link_id: int) -> Callable[[], None]:
    def fire() -> None:
        if eng.link == "up" and eng.join_id == link_id and eng.cfg["ip_ntp_startup"]:
            start_query(eng, "ip_ntp_refresh", periodic=True)

    return fire


COMMANDS: dict[str, Command] = {
    "NTP": Command(cmd_ntp, help="Force an NTP Query"),
}
