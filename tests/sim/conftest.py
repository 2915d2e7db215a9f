"""Fixtures for the simulator's own tests: each test gets fresh simulators on free loopback ports."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sim_helpers import AtLink, Module, TcpPeer, fast_config  # noqa: E402

from spwf04_tools.sim import SimConfig, Simulator  # noqa: E402

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
