"""Firmware profiles: what differs between SPWF04SA firmware 1.0.0 and 1.1.0 (spec sections 0, 5.3, 7)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import at_tables as at


@dataclass(frozen=True)
class Profile:
    fw: str
    fw_version: str  # STS fw_version
    build: str  # STS build
    poweron: str  # +WIND:1:Poweron:<this>
    boot_winds: tuple[int, ...]  # boot order after the optional 7 (config failure) and 2 (reset)
    verbose_default: int  # factory console_verbose
    max_tls_sockets: int  # concurrent TLS client sockets
    tls_ecc: bool  # ECDH/ECDSA support
    extracts_ski: bool  # TLSCERT=ca prints AT-S.SubjectKeyId:<hex>
    tls_stack: str
    base_heap: int  # free_heap after boot (invented figure)


PROFILES: dict[str, Profile] = {
    "1.0": Profile(
        fw="1.0", fw_version="1.0.0", build="170216-fd39c59", poweron="170216-fd39c59-SPWF04S",
        # Seen over SPI: 7 (config problem only), 1, 13, 65 (after factory reset only), 0, 3, 32.
        boot_winds=(at.WIND_POWERON, at.WIND_COPYRIGHT, at.WIND_FACTORY_RESET, at.WIND_CONSOLE_ACTIVE,
                    at.WIND_WATCHDOG_RUNNING, at.WIND_HW_STARTED),
        verbose_default=0, max_tls_sockets=1, tls_ecc=False, extracts_ski=False,
        tls_stack="SEVENSTAX V9.4.0", base_heap=78504),
    "1.1": Profile(
        fw="1.1", fw_version="1.1.0", build="171117-0328fe3", poweron="171117-0328fe3-SPWF04S",
        # FW 1.1 beta over SPI: 7, 1, 13, 3, 0, 32 (65 placed as in 1.0: the simulator's choice).
        boot_winds=(at.WIND_POWERON, at.WIND_COPYRIGHT, at.WIND_FACTORY_RESET, at.WIND_WATCHDOG_RUNNING,
                    at.WIND_CONSOLE_ACTIVE, at.WIND_HW_STARTED),
        verbose_default=1, max_tls_sockets=2, tls_ecc=True, extracts_ski=True,
        tls_stack="SEVENSTAX V9.6.0", base_heap=74216),
}

COPYRIGHT_PRODUCT = "SPWF04SA"
WATCHDOG_SECONDS = 20
CONFIG_FAILURE_CODE = 10
FACTORY_RESET_CODE = 1


def profile(fw: str) -> Profile:
    return PROFILES[fw]
