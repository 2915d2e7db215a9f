"""Where the simulated module may connect: loopback only unless --allow-remote; names through a hosts map.

Names resolve through SimConfig.hosts plus `localhost`; with allow_remote also through the host's resolver
(call from a worker thread: it may block). Anything else fails like a DNS or connect failure (error 74).
"""

from __future__ import annotations

import ipaddress
import socket

from ..engine import Engine


class Refused(Exception):
    """Destination not resolvable or not allowed; the message says which and how to allow it."""


def resolve(eng: Engine, host: str, use_dns: bool = False) -> str:
    cfg = eng.config
    name = host.strip()
    if not name:
        raise Refused("empty host")
    try:
        ip = str(ipaddress.IPv4Address(name))
    except ValueError:
        ip = None
    if ip is None:
        mapped = {k.lower(): v for k, v in cfg.hosts.items()}
        if name.lower() in mapped:
            ip = mapped[name.lower()]
        elif name.lower() == "localhost":
            ip = "127.0.0.1"
        elif cfg.allow_remote and use_dns:
            try:
                ip = socket.gethostbyname(name)
            except OSError as exc:
                raise Refused(f"cannot resolve {name!r}: {exc}") from None
        else:
            raise Refused(f"unknown host name {name!r}: add it to the simulator's hosts map "
                          f"(--host {name}=127.0.0.1){'' if cfg.allow_remote else ' or use --allow-remote'}")
    if not cfg.allow_remote and not ipaddress.IPv4Address(ip).is_loopback:
        raise Refused(f"destination {ip} is not loopback; the simulator refuses it unless started with "
                      f"--allow-remote (SimConfig.allow_remote)")
    return ip
