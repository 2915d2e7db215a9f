"""Fixtures for the spwf04compat tests: the test PKI with its CA on the board, a real mosquitto broker with a
TLS listener on loopback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compat_helpers import Mosquitto  # noqa: E402
from spwf04_tools.pki import PKI, build_pki  # noqa: E402


@pytest.fixture
def pki(tmp_path: Path) -> PKI:
    return build_pki(tmp_path / "pki")


@pytest.fixture
def cboard(board, driver, sim, pki: PKI):
    """The board with the device code deployed, the simulator at factory state and the test CA as ca.pem."""
    board.put_bytes(pki.ca_pem.read_bytes(), "ca.pem")
    return board


@pytest.fixture
def mosquitto(tmp_path: Path, pki: PKI) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path, pki)
    try:
        yield broker
    finally:
        broker.stop()
