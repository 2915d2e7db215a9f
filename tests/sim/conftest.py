"""Fixtures for the simulator's own tests: each test gets fresh simulators on free loopback ports."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sim_helpers import AtLink, TcpPeer  # noqa: E402

from spwf04_tools.sim import SimConfig, Simulator, Timing  # noqa: E402

DEFAULT_SSID = b"SPWF04-SIM"
DEFAULT_PASS = b"simulated-wifi"
STATION_IP = b"192.168.1.100"


@dataclass
class Module:
    sim: Simulator
    link: AtLink

    def join(self, passphrase: bytes = DEFAULT_PASS, ssid: bytes = DEFAULT_SSID) -> bytes:
        """The join sequence of spec 6.4 (echo on); returns everything from the RESET echo to +WIND:24."""
        link = self.link
        link.cmd(b"AT+S.SCFG=wifi_wpa_psk_text," + passphrase)
        link.cmd(b"AT+S.SSIDTXT=" + ssid)
        link.cmd(b"AT+S.SCFG=wifi_priv_mode,2")
        link.cmd(b"AT+S.SCFG=wifi_mode,1")
        link.cmd(b"AT+S.WCFG")
        link.send(b"AT+S.RESET\r")
        return link.read_until(b"+WIND:24:WiFi Up:0:" + STATION_IP + b"\r\n", timeout=10)

    def reconnect(self) -> AtLink:
        self.link.close()
        host, port = self.sim.uart_address
        self.link = AtLink(f"socket://{host}:{port}")
        return self.link


def fast_config(**kwargs: Any) -> SimConfig:
    kwargs.setdefault("timing", Timing(scale=0.2))
    return SimConfig(**kwargs)


@pytest.fixture
def make_module() -> Iterator[Callable[..., Module]]:
    made: list[Module] = []

    def make(config: SimConfig | None = None, **kwargs: Any) -> Module:
        sim = Simulator(config or fast_config(**kwargs))
        try:
            host, port = sim.start_tcp()
            sim.wait_ready()
            sim.drain_output()
            link = AtLink(f"socket://{host}:{port}")
        except BaseException:
            sim.stop()
            raise
        m = Module(sim, link)
        made.append(m)
        return m

    yield make
    for m in made:
        m.link.close()
        m.sim.stop()


@pytest.fixture
def module(make_module: Callable[..., Module]) -> Module:
    """FW 1.1 module, booted, pyserial link connected."""
    return make_module()


@pytest.fixture
def module10(make_module: Callable[..., Module]) -> Module:
    """FW 1.0 module, booted, pyserial link connected."""
    return make_module(fw="1.0")


@pytest.fixture
def peer() -> Iterator[TcpPeer]:
    p = TcpPeer()
    yield p
    p.stop()
