"""Configuration (GCFG/SCFG) and status (STS) variables: names, types, factory values, wire formats.

Names come from the firmware tables (spec section 8); the value format per type (decimal, signed, string,
lowercase `0x%08x` hex) follows the firmware's format strings, the type of each variable is [inferred].
Factory values the spec does not give are the simulator's choice (docs/simulator.md).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

PSK_VAR = "wifi_wpa_psk_text"
PSK_MASK = "********"
_MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
CONSOLE_SPEEDS = (4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)


class ValueRejected(ValueError):
    """SCFG value not acceptable for the variable's type or range."""


@dataclass(frozen=True)
class Var:
    name: str
    kind: str  # u (unsigned) | i (signed) | s (string) | x2/x4/x8 (hex) | ip | mac | ssid (bytes)
    default: Any
    lo: int | None = None
    hi: int | None = None
    max_len: int | None = None
    choices: tuple[int, ...] | None = None


def _u(name: str, default: int, lo: int = 0, hi: int = 0xFFFFFFFF, choices: tuple[int, ...] | None = None) -> Var:
    return Var(name, "u", default, lo, hi, choices=choices)


CONFIG_VARS: tuple[Var, ...] = (
    _u("nv_manuf", 0),
    Var("nv_model", "s", "SPWF04SA", max_len=32),
    Var("nv_serial", "s", "1723A0B7C82A", max_len=32),
    Var("nv_wifi_macaddr", "mac", None),  # set from SimConfig.mac_address
    _u("blink_led", 1, 0, 1),
    _u("console_enabled", 1, 0, 3),
    _u("console_speed", 115200, choices=CONSOLE_SPEEDS),
    _u("console_hwfc", 0, 0, 1),
    _u("console_echo", 1, 0, 1),  # factory value from Behaviour.echo_default
    _u("console_delimiter", 44, 0, 255),
    _u("console_errs", 2, 0, 2),
    _u("console_verbose", 0, 0, 2),  # factory value from the profile
    _u("console_winds", 0, 0, 1),
    Var("console_wind_off_low", "x8", 0, 0, 0xFFFFFFFF),
    Var("console_wind_off_medium", "x8", 0, 0, 0xFFFFFFFF),
    Var("console_wind_off_high", "x8", 0, 0, 0xFFFFFFFF),
    _u("sleep_enabled", 0, 0, 1),
    _u("standby_enabled", 0, 0, 1),
    _u("standby_time", 10, 1, 0xFFFF),
    _u("wifi_powersave", 1, 0, 2),
    _u("wifi_operational_mode", 0x11, 0, 0xFF),
    _u("wifi_listen_interval", 0, 0, 0xFF),
    _u("wifi_beacon_wakeup", 1, 0, 0xFF),
    _u("wifi_region", 0, 0, 2),
    _u("wifi_tx_power", 18, 0, 18),  # accepted on FW 1.1 (observed in a user log); range and default: choice
    _u("wifi_ht_mode", 0, 0, 1),
    Var("wifi_opr_rate_mask", "x8", 0x003FFFCF, 0, 0xFFFFFFFF),
    Var("wifi_bas_rate_mask", "x8", 0x0000000F, 0, 0xFFFFFFFF),
    _u("wifi_mode", 1, 0, 3),  # factory value from Behaviour.wifi_mode_default
    _u("wifi_priv_mode", 2, 0, 2),
    _u("wifi_auth_type", 0, 0, 1),
    _u("wifi_channelnum", 6, 1, 14),
    Var("wifi_ssid", "ssid", b""),
    _u("wifi_ssid_len", 0, 0, 32),
    Var("wifi_wpa_psk_text", "s", "", max_len=64),
    _u("wifi_wep_default_key", 0, 0, 3),
    _u("wifi_wep_key_lens", 0, 0, 0xFF),
    _u("ip_use_dhcpc", 1, 0, 2),
    _u("ip_use_dhcpd", 1, 0, 1),  # in the firmware's variable table (both images)
    _u("ip_use_httpd", 1, 0, 1),
    _u("ip_use_v6", 1, 0, 1),  # accepted on FW 1.1 (observed); default 1: the observed join printed an IPv6 WIND 24
    _u("ip_use_tftpd", 0, 0, 1),  # accepted on FW 1.1 (observed); default: choice
    Var("ip_hostname", "s", "iwm-B7-C8-2A", max_len=32),
    Var("ip_ipaddr", "ip", "192.168.0.50"),
    Var("ip_netmask", "ip", "255.255.255.0"),
    Var("ip_gw", "ip", "192.168.0.1"),
    Var("ip_dns1", "ip", "192.168.0.1"),
    Var("ip_dns2", "ip", "0.0.0.0"),
    _u("ip_dhcp_timeout", 20, 0, 0xFFFF),
    _u("ip_dhcp_lease_time", 120, 0, 0xFFFF),
    Var("ip_ntp_server1", "ip", "0.0.0.0"),
    Var("ip_ntp_server2", "ip", "0.0.0.0"),
    _u("ip_ntp_refresh", 3600, 0, 0xFFFFFFFF),
    _u("ip_ntp_startup", 0, 0, 1),
    Var("user_desc", "s", "anonymous", max_len=32),
)

CONFIG_BY_NAME: dict[str, Var] = {v.name: v for v in CONFIG_VARS}

STATUS_VARS: tuple[str, ...] = (
    "fw_version", "build", "boot_version", "free_heap", "min_heap", "system_time", "system_uptime",
    "reset_reason", "wifi_state", "wifi_own_macaddr", "wifi_bssid", "wifi_channelnum", "ip_ipaddr", "ip_gw",
    "ip_netmask", "ip_dns",
)


def factory_values(mac: str, echo_default: int, verbose_default: int, wifi_mode_default: int) -> dict[str, Any]:
    values = {v.name: v.default for v in CONFIG_VARS}
    values["nv_wifi_macaddr"] = mac.upper()
    suffix = "-".join(mac.upper().split(":")[3:])
    values["ip_hostname"] = f"iwm-{suffix}"
    values["console_echo"] = echo_default
    values["console_verbose"] = verbose_default
    values["wifi_mode"] = wifi_mode_default
    return values


def format_value(var: Var, value: Any) -> str:
    k = var.kind
    if k in ("u", "i", "s", "ip", "mac"):
        return str(value)
    if k == "x2":
        return f"0x{value:02x}"
    if k == "x4":
        return f"0x{value:04x}"
    if k == "x8":
        return f"0x{value:08x}"
    if k == "ssid":
        return ":".join(f"{b:02X}" for b in value)
    raise AssertionError(k)


def parse_number(text: str) -> int:
    """Decimal or 0x hex, as SCFG takes them [confirmed]."""
    t = text.strip()
    try:
        if t.lower().startswith(("0x", "-0x")):
            return int(t, 16)
        return int(t, 10)
    except ValueError:
        raise ValueRejected(f"{text!r} is not a number") from None


def parse_value(var: Var, text: str) -> Any:
    k = var.kind
    if k in ("u", "i", "x2", "x4", "x8"):
        n = parse_number(text)
        if k == "u" and n < 0:
            raise ValueRejected(f"{var.name} takes an unsigned number")
        if var.choices is not None and n not in var.choices:
            raise ValueRejected(f"{var.name}={n} not one of {var.choices}")
        if var.lo is not None and n < var.lo or var.hi is not None and n > var.hi:
            raise ValueRejected(f"{var.name}={n} outside {var.lo}..{var.hi}")
        return n
    if k == "s":
        if var.max_len is not None and len(text.encode("utf-8", "surrogateescape")) > var.max_len:
            raise ValueRejected(f"{var.name} takes at most {var.max_len} bytes")
        return text
    if k == "ip":
        try:
            return str(ipaddress.IPv4Address(text.strip()))
        except ValueError:
            raise ValueRejected(f"{var.name}: {text!r} is not an IPv4 address") from None
    if k == "mac":
        if not _MAC_RE.match(text.strip()):
            raise ValueRejected(f"{var.name}: {text!r} is not a MAC address")
        return text.strip().upper()
    if k == "ssid":
        parts = [p for p in text.strip().split(":") if p]
        try:
            data = bytes(int(p, 16) for p in parts)
        except ValueError:
            raise ValueRejected(f"{var.name}: {text!r} is not colon-separated hex bytes") from None
        if len(data) > 32:
            raise ValueRejected(f"{var.name} takes at most 32 bytes")
        return data
    raise AssertionError(k)
