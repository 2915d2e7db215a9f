"""The `spwf04` entry point: every subcommand exists, imports and documents its options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from spwf04_tools.cli import SUBCOMMANDS

SPWF04 = str(Path(sys.executable).with_name("spwf04"))


def test_help_lists_every_subcommand() -> None:
    out = subprocess.run([SPWF04, "--help"], capture_output=True, text=True, timeout=60, check=True).stdout
    for name in SUBCOMMANDS:
        assert name in out


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_each_subcommand_has_help(name: str) -> None:
    r = subprocess.run([SPWF04, name, "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert f"usage: spwf04 {name}" in r.stdout
