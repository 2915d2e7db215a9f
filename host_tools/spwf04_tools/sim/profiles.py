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
    first_boot_winds: tuple[int, ...]  # also printed (at their place in boot_winds) on a fresh flash's first boot
    verbose_default: int  # factory console_verbose
    max_tls_sockets: int  # concurrent TLS client sockets
    tls_ecc: bool  # ECDH/ECDSA support
    extracts_ski: bool  # TLSCERT=ca prints AT-S.SubjectKeyId:<hex>
    tls_stack: str
    base_heap: int  # free_heap after boot (invented figure)


PROFILES: dict[str, Profile] = {
    "1.0": Profile(
        fw="1.0", fw_version="1.0.0", build="170216-fd39c59", poweron="170216-fd39c59-SPWF04S",
        # A real FW 1.0 UART log: 1, 13, 65, 73, 0, 3, 32 (65 and 73 read as a first boot after a firmware
        # update: printed on a fresh flash's first boot and, 65, after AT+S.FCFG - inference).
        boot_winds=(at.WIND_POWERON, at.WIND_COPYRIGHT, at.WIND_FACTORY_RESET, at.WIND_CONFIG_UPDATED,
                    at.WIND_CONSOLE_ACTIVE, at.WIND_WATCHDOG_RUNNING, at.WIND_HW_STARTED),
        first_boot_winds=(at.WIND_FACTORY_RESET, at.WIND_CONFIG_UPDATED),
        verbose_default=0, max_tls_sockets=1, tls_ecc=False, extracts_ski=False,
        tls_stack="SEVENSTAX V9.4.0", base_heap=78504),
    "1.1": Profile(
        fw="1.1", fw_version="1.1.0", build="171117-0328fe3", poweron="171117-0328fe3-SPWF04S",
        # A real FW 1.1 UART log: 1, 13, 0, 3, then 32 (the SPI beta order 1, 13, 3, 0 is not the UART's).
        # 65 after AT+S.FCFG placed as in FW 1.0 (inference).
        boot_winds=(at.WIND_POWERON, at.WIND_COPYRIGHT, at.WIND_FACTORY_RESET, at.WIND_CONSOLE_ACTIVE,
                    at.WIND_WATCHDOG_RUNNING, at.WIND_HW_STARTED),
        first_boot_winds=(),
        verbose_default=1, max_tls_sockets=2, tls_ecc=True, extracts_ski=True,
        tls_stack="SEVENSTAX V9.6.0", base_heap=74216),
}

COPYRIGHT_PRODUCT = "SPWF04SA"
WATCHDOG_SECONDS = 20
CONFIG_FAILURE_CODE = 10
FACTORY_RESET_CODE = 1


def profile(fw: str) -> Profile:
    return PROFILES[fw]
