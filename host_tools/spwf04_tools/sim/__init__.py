"""SPWF04SA simulator: the module's AT interface over TCP (virtual board) or a pty, with real TCP/TLS
connections to peers on loopback and deterministic fault injection. See docs/simulator.md.

    from spwf04_tools.sim import Simulator, SimConfig, AccessPoint, Faults
    with Simulator(SimConfig(fw="1.0")) as sim:
        host, port = sim.start_tcp()          # UART at port, pins at port + 1
        sim.wait_ready()
"""

from __future__ import annotations

from .config import DEFAULT_AP, AccessPoint, Behaviour, Faults, SimConfig, Timing
from .engine import CommandRecord
from .simulator import Simulator, SocketInfo, TlsStoreInfo

__all__ = ["Simulator", "SimConfig", "AccessPoint", "Faults", "Behaviour", "Timing", "DEFAULT_AP",
           "CommandRecord", "SocketInfo", "TlsStoreInfo"]
