"""WIFI, SSIDTXT, SCAN and the station join flow with its indications (spec 5.3, 6.3, 6.4, 6.5)."""

from __future__ import annotations

import ipaddress
import logging

from ... import at_tables as at
from ..config import AccessPoint
from ..engine import (WS_IDLE, WS_JOINING, WS_RADIO_OFF, WS_READY, WS_SCAN_DONE, WS_SCANNING, Async, Cmd,
                      Command, Engine)
from ..variables import PSK_VAR
from . import ntp, sockets

log = logging.getLogger("spwf04_tools.sim")

SCAN_MAX = 10  # UART scans are capped at 10 results [confirmed]
WIFI_UP_FIRST_FIELD = 0  # +WIND:24:WiFi Up:<n>:<ip>, <n> unknown; SPI showed 0
SCAN_COMPLETE_FIELD = "00"  # +WIND:35:WiFi Scan Complete:<x>; SPI payload 00
DISASSOC_REASON = 2  # +WIND:41 after a failed join; SPI payload 2


def link_local(mac: str) -> str:
    """fe80:: + the EUI-64 of the MAC, lowercase and compressed. The log shows `WiFi Up::fe80:...`; the rest of
    the address's spelling is inference."""
    b = bytearray(int(x, 16) for x in mac.split(":"))
    b[0] ^= 0x02
    eui = bytes(b[:3]) + b"\xff\xfe" + bytes(b[3:])
    return str(ipaddress.IPv6Address(b"\xfe\x80" + bytes(6) + eui))


def _wifi_up_v6(eng: Engine) -> None:
    eng.ip6 = link_local(eng.config.mac_address)
    eng.wind(at.WIND_WIFI_UP, "", eng.ip6)


def radio_started(eng: Engine) -> None:
    """+WIND:32 went out: the radio is up; a station with stored credentials starts joining."""
    eng.radio = "on"
    eng.wifi_state = WS_IDLE
    maybe_join(eng)


def maybe_join(eng: Engine) -> None:
    if (eng.radio == "on" and eng.cfg["wifi_mode"] == 1 and eng.cfg["wifi_ssid_len"] > 0
            and eng.network_available and eng.link == "down"):
        start_join(eng, 0)


def configured_ssid(eng: Engine) -> bytes:
    return bytes(eng.cfg["wifi_ssid"][: eng.cfg["wifi_ssid_len"]])


def find_ap(eng: Engine, ssid: bytes) -> AccessPoint | None:
    for ap in eng.config.access_points:
        if ap.ssid.encode() == ssid:
            return ap
    return None


def _credentials_ok(eng: Engine, ap: AccessPoint) -> bool:
    mode, psk = eng.cfg["wifi_priv_mode"], eng.cfg[PSK_VAR]
    if ap.security == "open":
        return mode == 0
    if ap.security == "wep":
        return mode == 1 and psk == ap.passphrase
    return mode == 2 and psk == ap.passphrase


def start_join(eng: Engine, attempt: int) -> None:
    eng.join_id += 1
    jid = eng.join_id
    eng.link = "joining"
    eng.join_attempt = attempt
    step = eng.config.timing("join_step")
    ssid = configured_ssid(eng)
    ap = find_ap(eng, ssid) if eng.network_available else None

    def at_step(k: int, fn) -> None:  # type: ignore[no-untyped-def]
        eng.schedule(step * k, lambda: fn() if jid == eng.join_id else None)

    def scanning() -> None:
        eng.scanning = True
        eng.wifi_state = WS_SCANNING
        eng.wind(at.WIND_SCANNING)

    def scan_done() -> None:
        eng.scanning = False
        eng.wifi_state = WS_SCAN_DONE
        eng.wind(at.WIND_SCAN_COMPLETE, SCAN_COMPLETE_FIELD)
        if ap is None:
            log.info("join: no access point with SSID %r in range", ssid)
            _retry_later(eng, jid)

    at_step(1, scanning)
    at_step(2, scan_done)
    if ap is None:
        return
    ok = _credentials_ok(eng, ap)

    def join() -> None:
        eng.wifi_state = WS_JOINING
        eng.wind(at.WIND_JOIN, ap.bssid)

    def associated() -> None:
        eng.wind(at.WIND_ASSOCIATED, ap.ssid)

    def up() -> None:
        eng.link = "up"
        eng.joined_ap = ap
        eng.ip = ap.station_ip if eng.cfg["ip_use_dhcpc"] else eng.cfg["ip_ipaddr"]
        eng.wifi_state = WS_READY
        eng.wind(at.WIND_WIFI_UP, WIFI_UP_FIRST_FIELD, eng.ip)
        ntp.link_up(eng)  # the module's NTP client (ip_ntp_startup) starts with the link
        if eng.config.behaviour.wifi_up_v6 and eng.cfg["ip_use_v6"]:
            # A second 24 with the link-local IPv6 address follows (real FW 1.0 log; ST's host code waits
            # for it, Mbed's skips `WiFi Up::`). One join step later: inference.
            at_step(6, lambda: _wifi_up_v6(eng))
        else:
            eng.ip6 = ""

    def failed() -> None:
        log.info("join: %s refused the credentials (security %s, wifi_priv_mode %s)", ap.ssid, ap.security,
                 eng.cfg["wifi_priv_mode"])
        eng.wifi_state = WS_IDLE
        eng.wind(at.WIND_DISASSOCIATION, DISASSOC_REASON)
        _retry_later(eng, jid)

    at_step(3, join)
    at_step(4, associated)
    at_step(5, up if ok else failed)


def _retry_later(eng: Engine, jid: int) -> None:
    if eng.join_attempt >= eng.config.behaviour.join_retries:
        eng.link = "down"
        eng.wifi_state = WS_IDLE
        return
    attempt = eng.join_attempt + 1

    def again() -> None:
        if jid == eng.join_id and eng.radio == "on" and eng.network_available:
            start_join(eng, attempt)

    eng.link = "down"
    eng.schedule(eng.config.timing("join_retry"), again)


def link_down(eng: Engine, reason: int) -> None:
    """The network went away (loss, radio off): sockets die with +WIND:58 and stay allocated."""
    eng.join_id += 1
    eng.link = "down"
    eng.joined_ap = None
    eng.ip = None
    eng.ip6 = None
    eng.scanning = False
    sockets.network_gone(eng, reason)


def lose_network(eng: Engine) -> None:
    was_up = eng.link in ("up", "joining")
    eng.network_available = False
    if was_up:
        eng.wind(at.WIND_NETWORK_LOST)
        eng.wifi_state = WS_IDLE
    link_down(eng, sockets.CLOSE_NETWORK)


def restore_network(eng: Engine) -> None:
    eng.network_available = True
    maybe_join(eng)


def cmd_wifi(eng: Engine, cmd: Cmd) -> None:
    if not cmd.params or not cmd.params[0].strip():
        eng.error(at.ERR_MISSING_ARGS)
        return
    if len(cmd.params) > 1:
        eng.error(at.ERR_TOO_MANY_ARGS)
        return
    arg = cmd.params[0].strip()
    if arg == "0":
        if eng.radio in ("off", "stopping"):
            eng.error(at.ERR_RADIO_NOT_RUNNING)
            return
        eng.ok()  # the indication follows the OK
        eng.radio = "stopping"
        link_down(eng, sockets.CLOSE_NETWORK)
        miniap = eng.cfg["wifi_mode"] == 3

        def stopped() -> None:
            if miniap:
                eng.wind(49, 0)  # WPA Terminated:0 before 38 in miniAP [observed]
            eng.radio = "off"
            eng.wifi_state = WS_RADIO_OFF
            eng.wind(at.WIND_POWERED_DOWN)

        eng.schedule(eng.config.timing("radio_stop"), stopped)
    elif arg == "1":
        if eng.radio in ("on", "starting"):
            eng.error(at.ERR_RADIO_ENABLED)
            return
        eng.ok()
        eng.radio = "starting"

        def started() -> None:
            eng.wind(at.WIND_HW_STARTED)
            radio_started(eng)

        eng.schedule(eng.config.timing("radio_start"), started)
    else:
        eng.error(at.ERR_INVALID_VALUE)


def cmd_ssidtxt(eng: Engine, cmd: Cmd) -> None:
    if cmd.raw_params is None or cmd.raw_params == "":
        # Read form: output unknown; `AT-S.SSID:<ssid>` is the simulator's invention.
        eng.reply(b"AT-S.SSID:" + configured_ssid(eng))
        eng.ok()
        return
    ssid = cmd.raw_params.encode("utf-8", "surrogateescape")  # commas belong to the SSID (choice)
    if len(ssid) > 32:
        eng.error(at.ERR_ARG_TOO_LARGE)
        return
    eng.cfg["wifi_ssid"] = ssid
    eng.cfg["wifi_ssid_len"] = len(ssid)
    eng.ok()


def scan_line(i: int, ap: AccessPoint) -> str:
    # Firmware format: %u:\t%s%s %m CHAN: %02d RSSI: %03d SSID: '%s' CAPS: %04x %s%s%s
    caps = 0x0421 if ap.security == "open" else 0x0431
    flags = {"open": "", "wep": "WEP ", "wpa": "WPA ", "wpa2": "WPA2 "}[ap.security]
    return (f"{i}:\t BSS {ap.bssid} CHAN: {ap.channel:02d} RSSI: {ap.rssi:03d} SSID: '{ap.ssid}' "
            f"CAPS: {caps:04x} {flags}")


def cmd_scan(eng: Engine, cmd: Cmd) -> Async | None:
    mode = cmd.params[0].strip().lower() if cmd.params else "d"
    if mode not in ("d", "s", "m", ""):
        eng.error(at.ERR_INVALID_VALUE)
        return None
    filename = cmd.params[1].strip() if len(cmd.params) > 1 else ""
    if eng.radio == "starting":
        eng.error(at.ERR_HW_STARTING)
        return None
    if eng.radio != "on":
        eng.error(at.ERR_RADIO_NOT_RUNNING)
        return None
    if eng.scanning:
        eng.error(at.ERR_SCAN_IN_PROGRESS)
        return None
    aps = sorted(eng.config.access_points if eng.network_available else [], key=lambda a: -a.rssi)[:SCAN_MAX]

    def done() -> None:
        eng.scanning = False
        lines = [scan_line(i, ap) for i, ap in enumerate(aps, 1)]
        if filename:  # the listing goes to a file instead (simulator's reading of <filename>)
            eng.fs.append(filename, "".join(line + "\r\n" for line in lines).encode())
        else:
            eng.reply(f"AT-S.Parsing Networks:{len(aps)}")
            for line in lines:
                eng.reply(line)
        eng.ok()

    eng.scanning = True
    return eng.later(eng.config.timing("scan"), done)


COMMANDS: dict[str, Command] = {
    "WIFI": Command(cmd_wifi, help="radio on (1) or off (0)"),
    "SSIDTXT": Command(cmd_ssidtxt, help="set the SSID as text"),
    "SCAN": Command(cmd_scan, max_args=2, help="scan for networks"),
}
