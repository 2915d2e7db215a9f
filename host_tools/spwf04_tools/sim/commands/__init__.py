"""AT command handlers, one module per concern. Each module exports COMMANDS: name -> Command."""

from __future__ import annotations

from ..engine import Command


def build_registry() -> dict[str, Command]:
    from . import basic, files, http, ntp, sockets, tls, unsupported, wifi

    registry: dict[str, Command] = {}
    for mod in (unsupported, basic, wifi, sockets, tls, files, http, ntp):
        registry.update(mod.COMMANDS)
    return registry
