"""Fixtures for the fault matrix, integrity and soak tests (helpers in faultkit.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT / "micropython", Path(__file__).resolve().parent):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from faultkit import EchoPeer  # noqa: E402
from spwf04_tools.sim.config import Behaviour, Faults  # noqa: E402


@pytest.fixture
def peer():
    with EchoPeer() as p:
        yield p


@pytest.fixture
def fsim(sim):
    """The simulator at factory state; faults and behaviour back to defaults afterwards."""
    yield sim
    sim.reconfigure(fw="1.1", faults=Faults(), behaviour=Behaviour(), baud=None)
    sim.factory_reset()
