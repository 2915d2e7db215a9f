"""`spwf04 flash`: what it writes where, its read-back check, and its messages without pyOCD or without a probe.

No ST-LINK is attached here: programming itself is exercised through a stand-in for pyOCD's session and
programmer that keeps a flash image in memory (so the verify step can be made to see a bad write); the
real pyOCD is used for the "no probe" case.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from spwf04_tools import flash as F

SPWF04 = str(Path(sys.executable).with_name("spwf04"))


def _build(tmp_path: Path) -> Path:
    board = tmp_path / "NUCLEO_F401RE_SPWF04"
    build = board / "build"
    build.mkdir(parents=True)
    (board / "mpconfigboard.mk").write_text("TEXT0_ADDR = 0x08000000\nTEXT1_ADDR = 0x08020000\n")
    (build / "firmware0.bin").write_bytes(os.urandom(1088))
    (build / "firmware1.bin").write_bytes(os.urandom(5000))
    return build


class _Memory:
    """Flash as pyOCD's target sees it: erased sectors read 0xFF; `corrupt` flips a byte as it is written."""

    def __init__(self, corrupt: int | None = None) -> None:
        self.cells: dict[int, int] = {}
        self.corrupt = corrupt
        self.resets = 0

    def read_memory_block8(self, addr: int, size: int) -> list[int]:
        return [self.cells.get(a, 0xFF) for a in range(addr, addr + size)]

    def reset_and_halt(self) -> None:
        self.resets += 1

    def reset(self) -> None:
        self.resets += 1


class _Session:
    def __init__(self, memory: _Memory) -> None:
        self.target = memory


def _programmer(log: list):
    class Programmer:
        def __init__(self, session: _Session, chip_erase: str | None = None) -> None:
            self.session = session
            log.append(chip_erase)

        def program(self, path: str, file_format: str, base_address: int) -> None:
            assert file_format == "bin"
            mem = self.session.target
            for i, b in enumerate(Path(path).read_bytes()):
                a = base_address + i
                mem.cells[a] = b ^ 0xFF if a == mem.corrupt else b
    return Programmer


def test_default_writes_the_two_pieces_only_and_verifies_them(tmp_path: Path) -> None:
    build = _build(tmp_path)
    pieces = F.images(build, whole=False)
    assert [(p.name, p.address) for p in pieces] == [("firmware0.bin", 0x08000000), ("firmware1.bin", 0x08020000)]
    mem, log, lines = _Memory(), [], []
    F.program_and_verify(_Session(mem), pieces, _programmer(log), lines.append)
    assert log == ["sector", "sector"]  # sector erase: /flash (0x08004000..) and /rom (0x08010000..) untouched
    assert not any(0x08004000 <= a < 0x08020000 for a in mem.cells)
    assert "flash: firmware1.bin verified (5000 bytes read back)" in lines and mem.resets == 2


def test_whole_writes_one_image_with_the_gap_erased(tmp_path: Path) -> None:
    build = _build(tmp_path)
    (whole,) = F.images(build, whole=True)
    assert whole.address == 0x08000000 and len(whole.data) == 0x20000 + 5000
    mem = _Memory()
    F.program_and_verify(_Session(mem), [whole], _programmer([]), lambda *_: None)
    assert all(mem.cells[a] == 0xFF for a in range(0x08004000, 0x08020000, 997))


def test_a_bad_write_is_caught_by_the_read_back(tmp_path: Path) -> None:
    pieces = F.images(_build(tmp_path), whole=False)
    mem = _Memory(corrupt=0x08020000 + 1234)
    with pytest.raises(F.FlashError, match=r"verify failed: firmware1.bin differs at 0x080204d2"):
        F.program_and_verify(_Session(mem), pieces, _programmer([]), lambda *_: None)


def test_without_pyocd_the_message_names_the_extra(tmp_path: Path) -> None:
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "pyocd.py").write_text("raise ImportError('No module named pyocd')\n")  # as if not installed
    env = dict(os.environ, PYTHONPATH=str(hide))
    r = subprocess.run([SPWF04, "flash", "--build-dir", str(_build(tmp_path))], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 1, r.stderr
    assert "pyOCD is not installed" in r.stderr and "spwf04-tools[flash]" in r.stderr and "NODE_F401RE" in r.stderr


def test_without_a_build_the_message_says_to_build(tmp_path: Path) -> None:
    r = subprocess.run([SPWF04, "flash", "--build-dir", str(tmp_path / "nothing")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "firmware0.bin missing" in r.stderr and "make firmware" in r.stderr


def test_without_a_probe_the_message_says_what_to_check(tmp_path: Path) -> None:
    pytest.importorskip("pyocd", reason="pyOCD not installed (optional extra 'flash')")
    r = subprocess.run([SPWF04, "flash", "--build-dir", str(_build(tmp_path))], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1, r.stderr
    assert "no ST-LINK probe found" in r.stderr and "pyocd list" in r.stderr


def test_a_target_pyocd_does_not_know_names_the_pack_to_install(tmp_path: Path, monkeypatch) -> None:
    class TargetSupportError(Exception):  # pyOCD's exception, by name (pyocd.core.exceptions)
        pass

    class Session:
        probe = type("Probe", (), {"unique_id": "0670FF"})()

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self.closed = True

        def open(self) -> None:
            raise TargetSupportError("Target type stm32f401retx not recognized")

    session = Session()
    helper = type("Helper", (), {"session_with_chosen_probe": staticmethod(lambda **kw: session)})
    monkeypatch.setattr(F, "load_pyocd", lambda: (helper, _programmer([])))
    with pytest.raises(F.FlashError, match=r"install its CMSIS pack once \(network\): .*pyocd pack install stm32f401retx"):
        F.flash(_build(tmp_path), out=lambda *_: None)
    assert session.closed  # the probe is released
