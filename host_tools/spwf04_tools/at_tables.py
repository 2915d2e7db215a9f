"""SPWF04SA AT tables: AT-S.ERROR codes and texts per firmware profile, +WIND numbers and texts.

Plain data plus small lookups, shared by the simulator and the UART-log decoder. The source is
docs/at-protocol.md (sections 4 and 5; tests/sim/test_sim_framing.py checks these tables against it); texts
are exact and case-sensitive. Codes missing from
ERROR_TEXTS have no text in the firmware: never invent one.
"""

from __future__ import annotations

import re
from typing import NamedTuple

FW_PROFILES: tuple[str, ...] = ("1.0", "1.1")
DEFAULT_FW = "1.1"

# --- AT-S.ERROR:<code>:<text> (spec section 4, firmware table [confirmed]) --------------------------------

_ERRORS_COMMON: dict[int, str] = {
    1: "Command not found",
    2: "Missing argument(s)",
    4: "Variable not found",
    6: "Too many argument(s)",
    7: "Invalid argument(s)",
    8: "Invalid value",
    16: "Cannot switch to Python shell",
    17: "Radio enabled",
    18: "Radio not running",
    19: "Direction must be 'in' or 'out'",
    20: "Invalid GPIO Num (0-15)",
    21: "Cannot use GPIO6 when sleep_enabled",
    22: "Cannot use interrupt. Reserved for WPS feature",
    23: "Cannot use GPIO10 when blink_led",
    24: "Cannot use when SPI",
    25: "Interrupt line already set",
    26: "Output voltage not allowed",
    27: "Frequency not supported",
    28: "Duty cycle not supported",
    29: "PWM not running",
    32: "Argument exceeds allowed size",
    33: "Argument evaluated to zero",
    39: "PIN needs to be 7 digits",
    40: "Scan in Progress",
    41: "Scan Failed",
    42: "Wait for Hardware Busy",
    43: "Wait for Hardware Starting",
    44: "Wait for Connection Up",
    45: "Unable to complete PWM setting",
    46: "ADC conversion failed",
    50: "Unable to access filesystem",
    51: "Unable to open file",
    52: "Unable to seek file",
    53: "Unable to read file",
    54: "Unable to close file",
    55: "Unable to rename file",
    56: "Unable to delete file",
    57: "Unable to open directory",
    58: "Unable to read directory",
    60: "IP not ready to send",
    61: "Cannot renew IP address",
    62: "Failed to renew IP address",
    63: "DNS busy",
    64: "DNS start failed",
    65: "DNS address failure",
    66: "Cannot update DateTime",
    67: "WPS only allowed on STA mode",
    72: "Closed socket",
    73: "Port already opened",
    74: "Failed to open socket",
    75: "Too many sockets",
    76: "Illegal Socket ID",
    77: "Pending data",
    78: "Socket not connected",
    79: "Write failed",
    80: "No valid HTTP Client Instance ID",
    81: "HTTP Client busy",
    82: "Failed to release HTTP Client Instance",
    91: "Low Memory",
    99: "Scan Aborted",
    100: "Failed to read flash",
    101: "Failed to write flash",
    111: "Request failed",
}

# FW 1.0 and 1.1 differ only in codes 59 and 71.
ERROR_TEXTS: dict[str, dict[int, str]] = {
    "1.0": {**_ERRORS_COMMON, 59: "Unable to unmount volume"},
    "1.1": {**_ERRORS_COMMON, 59: "Unable to (un)mount volume", 71: "Closing socket"},
}

# Names for the codes the simulator and the driver use (readability only; the numbers are the protocol).
ERR_COMMAND_NOT_FOUND = 1
ERR_MISSING_ARGS = 2
ERR_VAR_NOT_FOUND = 4
ERR_TOO_MANY_ARGS = 6
ERR_INVALID_ARGS = 7
ERR_INVALID_VALUE = 8
ERR_RADIO_ENABLED = 17
ERR_RADIO_NOT_RUNNING = 18
ERR_ARG_TOO_LARGE = 32
ERR_SCAN_IN_PROGRESS = 40
ERR_HW_STARTING = 43
ERR_WAIT_CONNECTION_UP = 44
ERR_FS_ACCESS = 50
ERR_FILE_OPEN = 51
ERR_FILE_SEEK = 52
ERR_FILE_RENAME = 55
ERR_FILE_DELETE = 56
ERR_DATETIME = 66
ERR_OPEN_SOCKET = 74
ERR_TOO_MANY_SOCKETS = 75
ERR_ILLEGAL_SOCKET_ID = 76
ERR_PENDING_DATA = 77
ERR_SOCKET_NOT_CONNECTED = 78
ERR_WRITE_FAILED = 79
ERR_REQUEST_FAILED = 111


def error_text(code: int, fw: str = DEFAULT_FW) -> str | None:
    """The firmware's text for an AT-S.ERROR code, or None when the firmware has none for that code."""
    return ERROR_TEXTS[_fw(fw)].get(code)


def error_line(code: int, fw: str = DEFAULT_FW) -> str:
    """`AT-S.ERROR:<code>:<text>` (no CR LF). KeyError for a code without firmware text."""
    text = error_text(code, fw)
    if text is None:
        raise KeyError(f"AT-S.ERROR code {code} has no text in firmware {fw}")
    return f"AT-S.ERROR:{code}:{text}"


_ERROR_RE = re.compile(r"^AT-S\.ERROR(?::(\d+)(?::(.*))?)?$")


def parse_error(line: str) -> tuple[int | None, str | None] | None:
    """Split `AT-S.ERROR[:<code>[:<text>]]` into (code, text); None if the line is not an error line.

    The text is everything after the second colon (no known text contains a colon)."""
    m = _ERROR_RE.match(line)
    if not m:
        return None
    return (int(m.group(1)) if m.group(1) else None, m.group(2))


# --- +WIND:<n>:<text>[:<params>] (spec section 5) ---------------------------------------------------------


class Wind(NamedTuple):
    text: str  # exact wire text (for uncertain ones: the text the simulator uses)
    params: tuple[str, ...] = ()  # names of the ':'-separated fields that follow the text
    uncertain: bool = False  # the spec says the wire wording may differ


WINDS: dict[int, Wind] = {
    # 5.1, indications the driver must handle
    0: Wind("Console active"),
    1: Wind("Poweron", ("build",)),
    2: Wind("Reset"),
    3: Wind("Watchdog Running", ("n",)),
    5: Wind("WiFi Hardware Failure", ("n",)),
    7: Wind("Configuration Failure", ("n",)),
    8: Wind("Hard Fault", ("rest",)),  # prefix only; the rest follows without a colon
    # (two spaces, no full stop: a real FW 1.0 UART log)
    13: Wind("Copyright (c) 2012-2017 STMicroelectronics, Inc.  All rights Reserved", ("product",), True),
    19: Wind("WiFi Join", ("bssid",)),
    24: Wind("WiFi Up", ("n", "ip")),
    25: Wind("WiFi Association successful", ("ssid",)),
    29: Wind("DHCP Reply", ("ip", "mac")),
    32: Wind("WiFi Hardware Started"),
    33: Wind("WiFi Network Lost"),
    35: Wind("WiFi Scan Complete", ("x",)),
    38: Wind("WiFi Powered Down"),
    40: Wind("WiFi Deauthentication", ("reason",)),
    41: Wind("WiFi Disassociation", ("reason",)),
    49: Wind("WPA Terminated", ("n",)),
    55: Wind("Pending Data", ("server_id", "id", "received", "cumulated")),
    58: Wind("Socket Closed", ("id", "reason")),
    61: Wind("Incoming Socket Client", ("ip", "port", "sid", "cid")),
    62: Wind("Socket Client Gone", ("ip", "port", "sid", "cid", "reason")),
    63: Wind("Socket Dropping Data"),
    65: Wind("Factory Reset", ("n",)),
    73: Wind("System Configuration Updated"),
    85: Wind("DHCP Failed to get a lease"),
    # 5.2, other indications
    4: Wind("Low Memory"),
    6: Wind("Watchdog Terminating"),
    9: Wind("StackOverflow"),
    10: Wind("Malloc Failed", (), True),
    11: Wind("Radio Startup Failure"),
    12: Wind("WiFi PS Mode Failure"),
    14: Wind("WiFi BSS Regained"),
    15: Wind("WiFi Signal Low"),
    16: Wind("WiFi Signal Ok"),
    17: Wind("Boot Messages", (), True),
    18: Wind("Keytype Not implemented"),
    20: Wind("WiFi Join Failed"),
    21: Wind("WiFi Scanning"),
    22: Wind("Scan Blew Up", (), True),
    23: Wind("Scan Failed"),
    26: Wind("Started AP", ("ssid",)),
    27: Wind("AP Start Failed"),
    28: Wind("Station Associated", ("mac",)),
    30: Wind("WiFi BSS Lost"),
    31: Wind("WiFi Exception"),
    34: Wind("WiFi Unhandled Event"),
    36: Wind("WiFi Unhandled Indication"),
    39: Wind("HW in miniAP mode"),
    42: Wind("WiFi Unhandled Management"),
    43: Wind("WiFi Unhandled Data"),
    44: Wind("WiFi Unknown Frame"),
    45: Wind("Dot11 AuthIllegal"),
    46: Wind("WPA Crunching PSK"),
    50: Wind("WPA Start Failed"),
    51: Wind("WPA Handshake Complete"),
    52: Wind("GPIO Interrupt"),
    53: Wind("Wakeup"),
    54: Wind("ETF", ("nnnn",)),
    56: Wind("Input to remote"),
    57: Wind(" Output from remote", ("n", "s")),  # leading space as in ST's docs
    64: Wind(" Remote configuration", ("s1", "s2")),
    66: Wind("Low Power mode"),
    67: Wind("Going into Standby"),
    68: Wind("Resuming from Standby"),
    69: Wind("Going into DeepSleep"),
    70: Wind("Resuming from DeepSleep"),
    72: Wind("Station Disassociated"),
    74: Wind("Rejected Found Network"),
    75: Wind("Rejected Association"),
    76: Wind("WiFi Authentication Timed Out"),
    77: Wind("WiFi Association Timed Out"),
    78: Wind("MIC Failure"),
    80: Wind("UDP Broadcast Received"),
    81: Wind("WPS Generating DH keyset"),
    82: Wind("WPS Enrollment Attempt Timed Out"),
    83: Wind("Sockd Dropping Client"),
    84: Wind("NTP Server delivery"),
    86: Wind("MQTT Published"),
    87: Wind("MQTT Closed"),
    88: Wind("WebSocket Data"),
    89: Wind("WebSocket Closed"),
    90: Wind("File Received", (), True),
}

# Names for the indications the simulator emits.
WIND_CONSOLE_ACTIVE = 0
WIND_POWERON = 1
WIND_RESET = 2
WIND_WATCHDOG_RUNNING = 3
WIND_CONFIG_FAILURE = 7
WIND_COPYRIGHT = 13
WIND_SIGNAL_LOW = 15
WIND_SIGNAL_OK = 16
WIND_JOIN = 19
WIND_JOIN_FAILED = 20
WIND_SCANNING = 21
WIND_WIFI_UP = 24
WIND_ASSOCIATED = 25
WIND_HW_STARTED = 32
WIND_NETWORK_LOST = 33
WIND_SCAN_COMPLETE = 35
WIND_POWERED_DOWN = 38
WIND_DEAUTH = 40
WIND_DISASSOCIATION = 41
WIND_PENDING_DATA = 55
WIND_SOCKET_CLOSED = 58
WIND_DROPPING_DATA = 63
WIND_FACTORY_RESET = 65
WIND_CONFIG_UPDATED = 73

# Indications that mean the module (re)booted: a driver seeing one unexpectedly has lost all sockets.
BOOT_WINDS: frozenset[int] = frozenset({0, 1, 2, 3, 7, 13, 65})

# Observed AT-S.Certificate Error numbers (spec 7.1); only 23 has a user-reported meaning.
CERTIFICATE_ERRORS_OBSERVED: dict[int, str] = {
    3: "unknown (FW 1.0 SOCKON s, server certificate signed by the loaded CA, client sent 'bad certificate')",
    5: "unknown (FW 1.1, SOCKON with a domain name)",
    19: "unknown (FW 1.0, ST example application, 'X509 Error 19')",
    22: "unknown (FW 1.1 HTTPGET, chain with an RSA-4096 intermediate)",
    23: "the CA could not be found (user reports)",
}


def wind_text(n: int) -> str | None:
    """The text of +WIND:<n>, or None for numbers the firmware does not name."""
    w = WINDS.get(n)
    return w.text if w else None


def wind_line(n: int, *params: object) -> str:
    """`+WIND:<n>:<text>[:<p1>[:<p2>...]]` (no CR LF). WIND 8 appends its rest without a colon."""
    w = WINDS.get(n)
    if w is None:
        raise KeyError(f"+WIND:{n} has no known text")
    if n == 8:
        return f"+WIND:8:{w.text}" + "".join(str(p) for p in params)
    tail = "".join(f":{p}" for p in params)
    return f"+WIND:{n}:{w.text}{tail}"


_WIND_RE = re.compile(r"^\+WIND:(\d+):(.*)$")


class ParsedWind(NamedTuple):
    n: int
    text: str
    params: tuple[str, ...]


def parse_wind(line: str) -> ParsedWind | None:
    """Split a +WIND line per its number: known text first, then the fields (which may contain colons).

    Returns None for lines that are not indications. Unknown numbers: text up to the first colon."""
    m = _WIND_RE.match(line)
    if not m:
        return None
    n, rest = int(m.group(1)), m.group(2)
    w = WINDS.get(n)
    if w is not None and rest.startswith(w.text):
        text, tail = w.text, rest[len(w.text):]
        if n == 8:
            return ParsedWind(n, text, (tail,) if tail else ())
        if not tail:
            return ParsedWind(n, text, ())
        fields = tail[1:] if tail.startswith(":") else tail
        return ParsedWind(n, text, _split_fields(n, fields, len(w.params)))
    text, _, tail = rest.partition(":")
    return ParsedWind(n, text, tuple(tail.split(":")) if tail else ())


def _split_fields(n: int, fields: str, count: int) -> tuple[str, ...]:
    # MAC addresses and BSSIDs contain colons: keep them whole.
    if n == 19 or n == 28:
        return (fields,)
    if n == 29:
        ip, _, mac = fields.partition(":")
        return (ip, mac) if mac else (ip,)
    if count <= 1:
        return (fields,)
    parts = fields.split(":")
    if len(parts) > count:  # the last field absorbed colons (e.g. an SSID)
        parts = parts[: count - 1] + [":".join(parts[count - 1:])]
    return tuple(parts)


def _fw(fw: str) -> str:
    key = fw.strip()
    if key.count(".") == 2:  # "1.1.0" -> "1.1"
        key = key.rsplit(".", 1)[0]
    if key not in ERROR_TEXTS:
        raise ValueError(f"unknown firmware profile {fw!r}; use one of {', '.join(FW_PROFILES)}")
    return key
