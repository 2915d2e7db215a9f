"""The device code a firmware freezes and `spwf04 deploy` copies: which files, and one digest over them.

Standard library only: `spwf04 firmware` imports this (for the build record) and must run with a plain
python3, without the project's venv (make firmware needs only the tree, the compiler and mpy-cross).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from . import DEVICE_DIR

# Top-level device modules.
TOP_MODULES = ["spwf04_pins.py", "wifi_board.py", "client_socket.py"]
# Device packages: (source directory under micropython/, package name on the board).
PACKAGES = [("spwf04", "spwf04"), ("compat/spwf04compat", "spwf04compat")]
# The module `spwf04 firmware` freezes beside the device code: SOURCES = source_digest() of what it froze.
BUILD_MODULE = "spwf04_build"


def frozen_sources(device_dir: Path = DEVICE_DIR) -> list[tuple[Path, str]]:
    """(source, path on the board) of the device code a firmware freezes (boards/*/manifest.py)."""
    files = [(device_dir / n, n) for n in TOP_MODULES]
    for src_dir, pkg in PACKAGES:
        files += [(p, f"{pkg}/{p.name}") for p in sorted((device_dir / src_dir).glob("*.py"))]
    return files


def source_digest(device_dir: Path = DEVICE_DIR) -> str:
    """SHA-256 over the frozen set's paths and bytes: equal digests, the same device code."""
    h = hashlib.sha256()
    for src, remote in frozen_sources(device_dir):
        data = src.read_bytes()
        h.update(b"%s\0%d\0" % (remote.encode(), len(data)))
        h.update(data)
    return h.hexdigest()
