"""Simulator configuration: the simulated world (access points, hosts), fault injection, inferred behaviours.

Every field that settles something the spec calls [inferred] or unknown is listed in docs/simulator.md.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from ..at_tables import FW_PROFILES

SECURITIES = ("open", "wep", "wpa", "wpa2")
_MAC_RE = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")


@dataclass
class AccessPoint:
    """One simulated access point. The passphrase never shows in repr."""

    ssid: str
    passphrase: str = field(default="", repr=False)
    security: str = "wpa2"  # open | wep | wpa | wpa2
    rssi: int = -45
    channel: int = 6
    bssid: str = "02:53:50:57:46:01"
    station_ip: str = "192.168.1.100"  # address the DHCP server of this network hands out
    netmask: str = "255.255.255.0"
    gateway: str = "192.168.1.1"

    def __post_init__(self) -> None:
        if not 0 < len(self.ssid.encode()) <= 32:
            raise ValueError(f"access point SSID {self.ssid!r} must be 1..32 bytes")
        if self.security not in SECURITIES:
            raise ValueError(f"access point security {self.security!r}: use one of {', '.join(SECURITIES)}")
        if self.security in ("wpa", "wpa2") and not 8 <= len(self.passphrase) <= 64:
            raise ValueError(f"access point {self.ssid!r}: a WPA passphrase must have 8..64 characters")
        self.bssid = self.bssid.upper()
        if not _MAC_RE.match(self.bssid):
            raise ValueError(f"access point BSSID {self.bssid!r} must look like 02:53:50:57:46:01")
        if not 1 <= self.channel <= 14:
            raise ValueError(f"access point channel {self.channel} must be 1..14")


# The documented default network: a person at a terminal and the demo join it without configuring the
# simulator (docs/simulator.md). Not a secret: it only exists inside the simulator.
DEFAULT_AP = AccessPoint(ssid="SPWF04-SIM", passphrase="simulated-wifi", security="wpa2", rssi=-45,
                         channel=6, bssid="02:53:50:57:46:01")

# Harmless indications for random injection: none of them changes connection state.
DEFAULT_INJECT_WINDS: tuple[str, ...] = (
    "+WIND:15:WiFi Signal Low",
    "+WIND:16:WiFi Signal Ok",
    "+WIND:14:WiFi BSS Regained",
)

RESET_PHASES = ("before", "mid_response", "after")


@dataclass
class Faults:
    """Fault injection. Every random choice comes from `seed` (one RNG stream per fault kind)."""

    seed: int = 0
    # Module -> host stream
    wind_inject: float = 0.0  # probability per line boundary of inserting one of inject_winds
    inject_winds: tuple[str, ...] = DEFAULT_INJECT_WINDS
    wind_in_sockr: float = 0.0  # probability per SOCKR of an injected WIND inside the binary data
    fragment: float = 0.0  # probability per output unit of splitting it into random fragments
    fragment_max: int = 4  # at most this many fragments per unit
    fragment_gap: float = 0.002  # seconds between fragments
    drop: float = 0.0  # probability per output unit of losing 1..3 bytes
    garbage: float = 0.0  # probability per output unit of inserting 1..3 random bytes
    noise_input: bool = False  # also apply drop/garbage to host -> module bytes (per received chunk)
    # Indications
    wind55_loss: float = 0.0  # probability of losing a +WIND:55
    wind55_stale: float = 0.0  # probability of a +WIND:55 carrying stale lengths
    # Module reset at a chosen moment: the n-th command matching the regex (case-insensitive)
    reset_on: str | None = None
    reset_on_nth: int = 1
    reset_phase: str = "before"  # before (no response) | mid_response | after
    # Peer closing mid-transfer (per socket): after this many bytes received from / sent to the peer
    peer_close_after_rx: int | None = None
    peer_close_after_tx: int | None = None
    # Slow responses: delay per command (+ uniform jitter), optionally only for commands matching a regex
    command_delay: float = 0.0
    command_delay_jitter: float = 0.0
    command_delay_on: str | None = None

    def __post_init__(self) -> None:
        for name in ("wind_inject", "wind_in_sockr", "fragment", "drop", "garbage", "wind55_loss", "wind55_stale"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"fault {name}={v}: a probability must be within 0..1")
        if self.reset_phase not in RESET_PHASES:
            raise ValueError(f"reset_phase {self.reset_phase!r}: use one of {', '.join(RESET_PHASES)}")
        if self.fragment_max < 2:
            raise ValueError("fragment_max must be at least 2")
        for name in ("reset_on", "command_delay_on"):
            pattern = getattr(self, name)
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"fault {name}={pattern!r} is not a valid regular expression: {exc}") from None


@dataclass
class Behaviour:
    """Choices for behaviours the spec marks [inferred] or unknown (section 10 rule 2: configurable)."""

    echo_default: int = 1  # factory console_echo
    char_echo: bool = False  # echo each byte as typed (terminal use) instead of the line at its CR
    reset_ok: bool = False  # AT+S.RESET answers AT-S.OK before rebooting
    wind2_on_reset: bool = False  # +WIND:2:Reset before the boot indications of a reset
    leading_crlf: bool = False  # an empty CR LF before every line
    sockr_crlf: bool = False  # CR LF between SOCKR data and AT-S.OK
    verbose_ok_levels: tuple[int, ...] = (2,)  # console_verbose values that give AT-S.OK:<heap>:<state>
    startup_wifi_up_blank: bool = False  # `+WIND:24:WiFi Up::` after WIND 32 at every boot
    wifi_up_v6: bool = True  # after a join, `+WIND:24:WiFi Up::<fe80::...>` after the IPv4 one (real log)
    masked_winds: str = "drop"  # drop | defer (deferred ones come out when unmasked)
    tls_no_ca: str = "fail"  # SOCKON s/domain without a CA: fail (Certificate Error 23) | skip (no check)
    httpget_no_ca: str = "skip"  # HTTPGET over TLS without a CA: skip (AT-S.Skip CA) | fail
    # SOCKON over TLS: progress lines before AT-S.On (ST's code expects a Loading header; exact texts unknown):
    # httpget (the lines HTTPGET prints: Skip CA, Loading:<i>:2 per certificate) | loading (Loading only) | none
    sockon_tls_progress: str = "httpget"
    skip_ca_line: str = "always"  # always (real log: even with a CA and a 200 answer) | no_ca (only without a CA)
    # FW 1.0 TLSCERT=ca: never (a real log: `No SubjectKeyId` for a CA with the extension) | extract (the FW 1.0
    # image also has `SubjectKeyId:`; when it prints it is unknown): prints and uses the SKI like FW 1.1
    fw10_ski: str = "never"
    tls_store_persistent: bool = True  # TLSCERT contents survive reset and power cycle
    gcfg_shows_psk: bool = False  # GCFG/AT&V print wifi_wpa_psk_text (default: masked as ********)
    cert_max_len: int = 1475  # TLSCERT=cert and file tls.cert
    ca_max_len: int | None = None  # TLSCERT=ca (unknown; a 1425-byte PEM loaded fine)
    peer_cert_max_len: int = 2560  # each certificate the peer sends
    max_rsa_bits: int = 2048  # RSA keys larger than this in the peer's chain are unsupported
    auth_accept_colons: bool = False  # TLSCERT=auth with colon-separated hex matches
    sockw_max_len: int | None = None  # larger SOCKW lengths: error 32 (after taking the payload)
    socket_rx_cap: int = 16384  # per-socket receive buffer (size unknown: choice)
    # beyond it: hold (TCP flow control holds the peer) | drop (the excess is lost, +WIND:63:Socket Dropping Data)
    rx_overflow: str = "hold"
    payload_cap: int | None = None  # 730: SOCKW/SOCKR larger than this fail (Mbed's workaround suggests a limit)
    payload_cap_style: str = "error"  # SOCKR above the cap: error (32) | short (AT-S.Reading:<cap>:..., cap bytes)
    # AT+S.NTP (behaviour unknown): async (AT-S.OK at once, +WIND:84 when the answer comes) | sync (busy until the
    # query ends: +WIND:84, then AT-S.OK; no answer: AT-S.OK alone)
    ntp_reply: str = "async"
    max_line: int = 512  # command line limit (bytes before the CR)
    join_retries: int = 2  # join attempts after a failed one
    wifi_mode_default: int = 1  # factory wifi_mode

    def __post_init__(self) -> None:
        for name in BEHAVIOUR_CHOICES:
            check_choice(name, getattr(self, name))


# Behaviour fields that take one of a few words (checked here and by `spwf04 sim --set`)
BEHAVIOUR_CHOICES: dict[str, tuple[str, ...]] = {
    "masked_winds": ("drop", "defer"),
    "tls_no_ca": ("fail", "skip"),
    "httpget_no_ca": ("skip", "fail"),
    "sockon_tls_progress": ("httpget", "loading", "none"),
    "skip_ca_line": ("always", "no_ca"),
    "fw10_ski": ("never", "extract"),
    "rx_overflow": ("hold", "drop"),
    "payload_cap_style": ("error", "short"),
}


def check_choice(name: str, value: object) -> None:
    allowed = BEHAVIOUR_CHOICES.get(name)
    if allowed is not None and value not in allowed:
        raise ValueError(f"{name}={value!r}: use one of {', '.join(allowed)}")


@dataclass
class Timing:
    """Delays in seconds (multiplied by `scale`). Defaults are short so tests stay fast."""

    scale: float = 1.0
    boot_step: float = 0.01  # between boot indications
    radio_start: float = 0.05  # WIFI=1 / boot: until +WIND:32
    radio_stop: float = 0.02  # WIFI=0: until +WIND:38
    join_step: float = 0.05  # between join indications
    join_retry: float = 1.0  # after a failed join
    scan: float = 0.05  # SCAN command
    command_latency: float = 0.0  # every command's answer (not its echo) comes this much later
    tcp_open: float = 0.0  # SOCKON: added to the real TCP connect
    tls_handshake: float = 0.0  # SOCKON/HTTPGET over TLS: added to the real handshake (the module's RSA/ECC work)
    connect_timeout: float = 5.0  # real TCP connect (not scaled)
    tls_timeout: float = 20.0  # real TLS handshake (not scaled)
    http_timeout: float = 20.0  # real HTTP exchange (not scaled)
    ntp_timeout: float = 3.0  # the NTP client's wait for each server's answer (not scaled; inference)

    def __call__(self, name: str) -> float:
        return float(getattr(self, name)) * self.scale

    @classmethod
    def realistic(cls) -> "Timing":
        """Estimates of the order ST's and Mbed's host code allow for (boot 8 s, join 60 s, open 5-20 s) and ST
        support's "no reset within ~1 s of boot"; no measured figures exist: every value is an estimate."""
        return cls(boot_step=0.15, radio_start=0.6, radio_stop=0.2, join_step=0.8, join_retry=3.0, scan=2.5,
                   command_latency=0.004, tcp_open=0.15, tls_handshake=1.5)


TIMING_PROFILES = ("fast", "realistic")


def timing_profile(name: str) -> Timing:
    if name not in TIMING_PROFILES:
        raise ValueError(f"timing profile {name!r}: use one of {', '.join(TIMING_PROFILES)}")
    return Timing.realistic() if name == "realistic" else Timing()


# Simulator's own Certificate Error numbers for each failure cause (docs/simulator.md). Only 23 has a
# user-reported meaning (CA not found); every other mapping is the simulator's choice.
DEFAULT_CERT_ERRORS: dict[str, int] = {
    "ca_not_found": 23,
    "not_valid_at_clock": 3,
    "bad_signature": 19,
    "name_mismatch": 5,
    "unsupported_key": 22,
    "cert_too_large": 21,
}


@dataclass
class SimConfig:
    fw: str = "1.1"
    baud: int | None = None  # pace both directions at this rate (10 bits per byte); None: unpaced
    access_points: list[AccessPoint] = field(default_factory=lambda: [copy.copy(DEFAULT_AP)])
    faults: Faults = field(default_factory=Faults)
    behaviour: Behaviour = field(default_factory=Behaviour)
    timing: Timing = field(default_factory=Timing)
    state_file: Path | None = None  # the module's flash; None: kept in memory for this Simulator only
    allow_remote: bool = False  # allow non-loopback destinations (and real DNS for unknown names)
    hosts: dict[str, str] = field(default_factory=dict)  # name -> IPv4, besides localhost
    log_file: Path | None = None  # byte log of both directions
    log_secrets: bool = False  # keep wifi_wpa_psk_text and TLSCERT=key payloads in the byte log
    cert_errors: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CERT_ERRORS))
    mac_address: str = "00:80:E1:B7:C8:2A"  # nv_wifi_macaddr (ST OUI)
    # A mode: model the board's UART receive buffer of this size (2048 on our board); output the board has not
    # drained by then is lost, as on a UART without flow control (sim/uartmodel.py; TCP transport, use a baud)
    uart_rxbuf: int | None = None
    ntp_port: int = 123  # UDP port the module's NTP client sends to (123 on the real module; tests use another)

    def __post_init__(self) -> None:
        self.fw = normalise_fw(self.fw)
        if self.baud is not None and self.baud <= 0:
            raise ValueError(f"baud {self.baud} must be positive")
        if self.state_file is not None:
            self.state_file = Path(self.state_file)
        if self.log_file is not None:
            self.log_file = Path(self.log_file)
        missing = set(DEFAULT_CERT_ERRORS) - set(self.cert_errors)
        if missing:
            raise ValueError(f"cert_errors lacks {', '.join(sorted(missing))}")

    def copy(self, **changes: object) -> "SimConfig":
        return replace(copy.deepcopy(self), **changes)  # type: ignore[arg-type]


def normalise_fw(fw: str) -> str:
    key = str(fw).strip()
    if key.count(".") == 2:
        key = key.rsplit(".", 1)[0]
    if key not in FW_PROFILES:
        raise ValueError(f"unknown firmware profile {fw!r}; use one of {', '.join(FW_PROFILES)}")
    return key


def field_names(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]
