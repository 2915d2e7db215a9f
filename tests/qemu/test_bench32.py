"""`spwf04 bench --only board32`: the 32-bit board's memory and CPU figures in the bench table and results.json
(needs MICROPY_DIR; without it the part says it was skipped and why)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SPWF04 = str(Path(sys.executable).with_name("spwf04"))


def test_without_a_tree_the_part_says_it_was_skipped(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.pop("MICROPY_DIR", None)
    r = subprocess.run([SPWF04, "bench", "--only", "board32", "--out", str(tmp_path)], capture_output=True,
                       text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "== 32-bit board: skipped: the 32-bit board needs a MicroPython source tree: set MICROPY_DIR=" in r.stdout
    assert json.loads((tmp_path / "results.json").read_text())["meta"].get("board32") is None


@pytest.mark.virtual_only
@pytest.mark.slow
def test_memory_figures_from_the_32_bit_board(qemu_firmware: Path, tmp_path: Path) -> None:
    r = subprocess.run([SPWF04, "bench", "--only", "board32", "--no-bisect", "--size", "8192", "--out",
                        str(tmp_path)], capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    b = json.loads((tmp_path / "results.json").read_text())["meta"]["board32"]
    assert b["heap"] == 60_352 and b["error"] is None
    assert b["tls"]["ok"] and b["compat"]["ok"], b
    # each lowest free is the smallest of its checkpoints, all below the heap
    for run in (b["tls"], b["compat"]):
        assert run["lowest_free"] == min(free for _, _, free in run["marks"]) < b["heap"]
    assert [m[0] for m in b["compat"]["marks"]][3] == "asyncio: two TLS sockets open"
    assert b["stock"]["ok"] or "ENOMEM" in b["stock"]["error"] or "MemoryError" in b["stock"]["error"], b["stock"]
    assert "Memory on the 32-bit board" in r.stdout and "32-bit: TLS scenario" in r.stdout
    # CPU: instructions per payload byte of the bulk receive under -icount shift=0. Every run counts more for the
    # larger size, and the slope is what a Cortex-M can do per byte through an interrupt, the parser and a SOCKR
    # (tens to hundreds); thousands would mean waits counted as work (a spinning wait, not WFI).
    cpu = b["cpu"]
    assert cpu["error"] is None, cpu
    small, large = (cpu["samples"][k] for k in sorted(cpu["samples"], key=int))
    assert len(small) == len(large) == 3 and min(large) > max(small), cpu
    assert 20 < cpu["per_byte"] < 1000, cpu
    assert "CPU on the 32-bit board" in r.stdout and "32-bit: CPU share, bulk receive @921600" in r.stdout
