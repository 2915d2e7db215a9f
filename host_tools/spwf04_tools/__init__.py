"""Host tools for the SPWF04SA MicroPython driver: virtual board, simulator, deploy, doctor, log decoder."""

from __future__ import annotations

import sys
from pathlib import Path

__version__ = "0.1.0"

REPO_ROOT = Path(__file__).resolve().parents[2]
DEVICE_DIR = REPO_ROOT / "micropython"
BOARDS_DIR = REPO_ROOT / "boards"


def device_path() -> Path:
    """Make the device package importable on CPython (host and device share the pure modules)."""
    p = str(DEVICE_DIR)
    if p not in sys.path:
        sys.path.insert(0, p)
    return DEVICE_DIR
