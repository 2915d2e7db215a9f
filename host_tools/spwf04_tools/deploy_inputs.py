"""`spwf04 deploy`'s inputs checked on the host before the board is touched.

A missing port, configuration or CA file, or a CA the driver or the module
would refuse (cacheck) stops deploy with one line per problem, before any connection: nothing half-copied,
and a private key given as the CA never reaches the board's flash.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from . import cacheck


class InputError(Exception):
    """One or more unusable inputs; the message holds one line per problem, each with its fix."""


def check_inputs(port: str, config: Path | None, ca: Path | None, fw: str | None,
                 now: int | None = None) -> list[str]:
    """Raise InputError for unusable inputs; return notes worth printing (problems of one firmware only)."""
    errors: list[str] = []
    notes: list[str] = []
    if "/" in port and not os.path.exists(port):  # a path (not an mpremote shortcut such as a0 or COM3)
        errors.append(f"serial port {port} does not exist: give the board's port with --port (e.g. /dev/ttyACM0; "
                      "the virtual board prints its pty path)")
    if config is not None:
        errors += _config_problems(Path(config))
    if ca is not None:
        try:
            ca_errors, notes = cacheck.deploy_check(ca, int(time.time()) if now is None else now, fw)
        except cacheck.CAInputError as exc:
            ca_errors = [str(exc)]
        errors += ca_errors
    if errors:
        raise InputError("\n".join(errors))
    return notes


def _config_problems(path: Path) -> list[str]:
    """Only whether it can be read: its content is checked by deploy.load_config (after the board answers)."""
    try:
        with open(path, "rb"):
            return []
    except OSError as exc:
        return [f"cannot read the configuration {path}: {exc.strerror or exc}: give the path of the client "
                "configuration (a JSON object, see README)"]
