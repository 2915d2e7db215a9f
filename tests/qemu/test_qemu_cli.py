"""The 32-bit board from the command line: `spwf04 board --qemu` and `spwf04 demo --qemu` (make test-qemu,
make qemu-firmware). The demo needs a MicroPython tree (MICROPY_DIR); the missing-tree message does not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SPWF04 = str(Path(sys.executable).with_name("spwf04"))


def _env_without_tree() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MICROPY_DIR", None)
    return env


@pytest.mark.parametrize("cmd", [["board", "--qemu"], ["board", "--qemu", "--build-only"], ["demo", "--qemu"]])
def test_no_tree_is_one_line_naming_micropy_dir(cmd: list[str]) -> None:
    r = subprocess.run([SPWF04, *cmd], capture_output=True, text=True, timeout=60, env=_env_without_tree())
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "MICROPY_DIR=" in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_not_a_tree_says_so(tmp_path: Path) -> None:
    r = subprocess.run([SPWF04, "board", "--qemu", "--build-only", "--micropython-dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=60, env=_env_without_tree())
    assert r.returncode == 2
    assert f"{tmp_path} is not a MicroPython source tree (ports/qemu/Makefile missing)" in r.stderr


@pytest.mark.virtual_only
@pytest.mark.slow
def test_demo_on_the_32_bit_board(qemu_firmware: Path) -> None:
    r = subprocess.run([SPWF04, "demo", "--qemu"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "== 32-bit virtual NUCLEO-F401RE (qemu) on " in r.stdout
    assert "driver placement: frozen" in r.stdout  # nothing of the driver copied into RAM
    assert "HTTP/1.0 200 ok" in r.stdout and "== demo passed" in r.stdout
