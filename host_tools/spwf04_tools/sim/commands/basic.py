"""AT, HELP, GCFG/SCFG/WCFG/FCFG, STS, RESET, TIME, PEERS, PING (spec 6.1, 6.2, 6.6, 6.7)."""

from __future__ import annotations

import datetime as _dt
import time

from ... import at_tables as at
from ..engine import RESET_SOFTWARE, Async, Cmd, Command, Engine
from ..variables import (CONFIG_BY_NAME, CONFIG_VARS, PSK_VAR, STATUS_VARS, ValueRejected, format_value,
                         parse_number, parse_value)
from . import netpolicy


def cmd_at(eng: Engine, cmd: Cmd) -> None:
    eng.ok()  # always succeeds; the liveness probe


def cmd_help(eng: Engine, cmd: Cmd) -> None:
    # Output format unknown (spec 6.1): "AT+S.<NAME> -- <description>" is the simulator's invention.
    want = cmd.params[0].strip().upper() if cmd.params else None
    names = sorted(n for n in eng.registry if n != "AT")
    if want:
        names = [n for n in names if n == want]
        if not names:
            eng.error(at.ERR_COMMAND_NOT_FOUND)
            return
    for name in names:
        eng.reply(f"AT+S.{name} -- {eng.registry[name].help or name}")
    eng.ok()


def _var_line(eng: Engine, name: str) -> str:
    var = CONFIG_BY_NAME[name]
    value = eng.psk_display() if name == PSK_VAR else format_value(var, eng.cfg[name])
    return f"AT-S.Var:{name}={value}"


def cmd_gcfg(eng: Engine, cmd: Cmd) -> None:
    if not cmd.params or not cmd.params[0].strip():
        for var in CONFIG_VARS:
            eng.reply(_var_line(eng, var.name))
        eng.ok()
        return
    name = cmd.params[0].strip().lower()
    if name not in CONFIG_BY_NAME:
        eng.error(at.ERR_VAR_NOT_FOUND)
        return
    eng.reply(_var_line(eng, name))
    eng.ok()


def cmd_scfg(eng: Engine, cmd: Cmd) -> None:
    name = cmd.params[0].strip().lower()
    var = CONFIG_BY_NAME.get(name)
    if var is None:
        eng.error(at.ERR_VAR_NOT_FOUND)
        return
    if var.kind == "s":
        text = cmd.raw_params.split(",", 1)[1] if cmd.raw_params else ""  # strings may contain commas
    elif len(cmd.params) > 2:
        eng.error(at.ERR_TOO_MANY_ARGS)
        return
    else:
        text = cmd.params[1]
    try:
        value = parse_value(var, text)
    except ValueRejected:
        eng.error(at.ERR_INVALID_VALUE)
        return
    eng.cfg[name] = value
    if name == "wifi_ssid":
        eng.cfg["wifi_ssid_len"] = len(value)
    if name.startswith("console_wind_off"):
        eng.release_deferred_winds()
    eng.ok()


def cmd_wcfg(eng: Engine, cmd: Cmd) -> None:
    eng.save_flash(config=True)
    eng.ok()


def cmd_fcfg(eng: Engine, cmd: Cmd) -> None:
    # Factory values in RAM and flash (stored Wi-Fi credentials wiped); no reboot [inferred].
    eng.cfg.clear()
    eng.cfg.update(eng.factory)
    eng.save_flash(factory=True)
    eng.ok()


def status_value(eng: Engine, name: str) -> str:
    ap = eng.joined_ap
    up = eng.link == "up"
    values = {
        "fw_version": eng.profile.fw_version,
        "build": eng.profile.build,
        "boot_version": "1.0.0",
        "free_heap": eng.free_heap,
        "min_heap": eng.min_heap,
        "system_time": eng.clock_epoch(),
        "system_uptime": int(time.monotonic() - eng.boot_time),
        "reset_reason": eng.reset_reason,
        "wifi_state": eng.wifi_state,
        "wifi_own_macaddr": eng.cfg["nv_wifi_macaddr"],
        "wifi_bssid": ap.bssid if ap and up else "00:00:00:00:00:00",
        "wifi_channelnum": ap.channel if ap and up else eng.cfg["wifi_channelnum"],
        "ip_ipaddr": eng.ip if up and eng.ip else "0.0.0.0",
        "ip_gw": _net(eng, "gateway", "ip_gw") if up else "0.0.0.0",
        "ip_netmask": _net(eng, "netmask", "ip_netmask") if up else "0.0.0.0",
        "ip_dns": _net(eng, "gateway", "ip_dns1") if up else "0.0.0.0",
    }
    return str(values[name])


def _net(eng: Engine, ap_field: str, var: str) -> str:
    if eng.cfg["ip_use_dhcpc"] and eng.joined_ap is not None:
        return str(getattr(eng.joined_ap, ap_field))
    return str(eng.cfg[var])


def cmd_sts(eng: Engine, cmd: Cmd) -> None:
    if not cmd.params or not cmd.params[0].strip():
        for name in STATUS_VARS:
            eng.reply(f"AT-S.Var:{name}={status_value(eng, name)}")
        eng.ok()
        return
    name = cmd.params[0].strip().lower()
    if name not in STATUS_VARS:
        eng.error(at.ERR_VAR_NOT_FOUND)
        return
    eng.reply(f"AT-S.Var:{name}={status_value(eng, name)}")
    eng.ok()


def cmd_reset(eng: Engine, cmd: Cmd) -> None:
    if eng.config.behaviour.reset_ok:
        eng.ok()
    eng.busy = True  # nothing else runs until the reboot
    eng.schedule(0.0, lambda: eng.reset(RESET_SOFTWARE))


def cmd_time(eng: Engine, cmd: Cmd) -> None:
    if cmd.params and cmd.params[0].strip():
        try:
            epoch = parse_number(cmd.params[0])
        except ValueError:
            eng.error(at.ERR_DATETIME)
            return
        if not 0 <= epoch <= 0xFFFFFFFF:
            eng.error(at.ERR_DATETIME)
            return
        eng.clock_base = (epoch, time.monotonic())
        eng.ok()
        return
    t = _dt.datetime.fromtimestamp(eng.clock_epoch(), _dt.timezone.utc)
    # Firmware formats %02u.%02u.%02u:%02u and %02u.%02u.%02u; the trailing field is printed as 00.
    eng.reply(f"AT-S.Date:{t.year % 100:02d}.{t.month:02d}.{t.day:02d}:00")
    eng.reply(f"AT-S.Time:{t.hour:02d}.{t.minute:02d}.{t.second:02d}")
    eng.ok()


def cmd_peers(eng: Engine, cmd: Cmd) -> None:
    peer, var = cmd.params[0].strip(), cmd.params[1].strip().lower()
    ap = eng.joined_ap if eng.link == "up" else None
    if peer != "0" or ap is None:
        eng.error(at.ERR_INVALID_VALUE)
        return
    values = {"rx_rssi": ap.rssi, "link_id": 0, "addr": ap.bssid, "channelnum": ap.channel}
    if var not in values:
        eng.error(at.ERR_VAR_NOT_FOUND)
        return
    eng.reply(f"AT-S.Var:0.{var}={values[var]}")
    eng.ok()


def cmd_ping(eng: Engine, cmd: Cmd) -> Async | None:
    # Output unknown (spec 6.7): `AT-S.Reply:<n>:<ms>` / `AT-S.Timeout:<n>` lines are invented; no ICMP is sent.
    try:
        count, size = parse_number(cmd.params[0]), parse_number(cmd.params[1])
    except ValueError:
        eng.error(at.ERR_INVALID_VALUE)
        return None
    if not 1 <= count <= 100 or not 0 <= size <= 1472:
        eng.error(at.ERR_INVALID_VALUE)
        return None
    if eng.link != "up":
        eng.error(at.ERR_WAIT_CONNECTION_UP)
        return None
    try:
        ip = netpolicy.resolve(eng, cmd.params[2].strip())
        reachable = True
    except netpolicy.Refused:
        reachable = False
    for i in range(1, count + 1):
        eng.reply(f"AT-S.Reply:{i}:1" if reachable else f"AT-S.Timeout:{i}")
    eng.ok()
    return None


COMMANDS: dict[str, Command] = {
    "AT": Command(cmd_at, help="liveness probe"),
    "HELP": Command(cmd_help, help="list commands"),
    "GCFG": Command(cmd_gcfg, max_args=1, help="get a configuration variable"),
    "SCFG": Command(cmd_scfg, min_args=2, help="set a configuration variable"),
    "WCFG": Command(cmd_wcfg, help="save the configuration to flash"),
    "FCFG": Command(cmd_fcfg, help="restore factory configuration"),
    "STS": Command(cmd_sts, max_args=1, help="get a status variable"),
    "RESET": Command(cmd_reset, help="reboot the module"),
    "TIME": Command(cmd_time, max_args=1, help="set or get the date and time"),
    "PEERS": Command(cmd_peers, min_args=2, max_args=2, help="get a peer variable"),
    "PING": Command(cmd_ping, min_args=3, help="ping a host"),
}
