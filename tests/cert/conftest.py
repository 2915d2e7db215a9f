"""The device package (micropython/) and this directory's helpers (certexpect) on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

from spwf04_tools import device_path

device_path()
sys.path.insert(0, str(Path(__file__).resolve().parent))
