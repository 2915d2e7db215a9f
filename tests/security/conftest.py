"""Security tests: secrets that must never show, TLS verification that cannot be turned off silently, and
a simulator that reaches nothing but loopback unless told otherwise."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT / "micropython", Path(__file__).resolve().parent):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from spwf04_tools.sim.config import AccessPoint, Behaviour, Faults  # noqa: E402

from seckit import SECRET_KEY, SECRET_SSID  # noqa: E402,F401


@pytest.fixture
def secret_sim(sim):
    """The simulator with one access point whose passphrase is SECRET_KEY."""
    sim.reconfigure(access_points=[AccessPoint(ssid=SECRET_SSID, passphrase=SECRET_KEY)])
    sim.factory_reset()
    yield sim
    sim.reconfigure(fw="1.1", faults=Faults(), behaviour=Behaviour(), access_points=[AccessPoint(
        ssid="SPWF04-SIM", passphrase="simulated-wifi")], allow_remote=False)
    sim.factory_reset()
