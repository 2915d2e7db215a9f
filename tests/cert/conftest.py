from __future__ import annotations

import sys

from spwf04_tools import device_path

device_path()
sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
