"""Shared helpers of the security tests: the secret network and process-wide audit hooks."""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

# A Wi-Fi key that appears nowhere else, so a leak cannot hide behind the simulator's default passphrase.
SECRET_SSID = "SecNet"
SECRET_KEY = "Zq7-wifi-SECRET-k3y-90210"


# ---------------------------------------------------------------------------------------- audit hooks
# Python's audit hooks see every file open/removal, socket connect and name lookup of this process (the
# session simulator runs in it). A hook cannot be removed, so one is installed once and forwards to the
# recorder active at the moment (if any).
_recorder: list[Callable[[str, tuple], None]] = []
_lock = threading.Lock()
_installed = False
_WATCHED = {"open", "os.remove", "os.rename", "shutil.rmtree", "socket.connect", "socket.getaddrinfo",
            "socket.gethostbyname", "subprocess.Popen"}


def _hook(event: str, args: tuple) -> None:
    if event in _WATCHED and _recorder:
        _recorder[0](event, args)


@contextmanager
def audit(fn: Callable[[str, tuple], None]) -> Iterator[None]:
    global _installed
    with _lock:
        if not _installed:
            sys.addaudithook(_hook)
            _installed = True
        _recorder[:] = [fn]
    try:
        yield
    finally:
        _recorder[:] = []
