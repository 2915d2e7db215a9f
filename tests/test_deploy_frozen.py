"""`spwf04 deploy` on a board whose firmware has the device code frozen (`spwf04 firmware`).

The unix port cannot be rebuilt here, so the firmware is emulated: a directory on the virtual board's flash
holds what the firmware would freeze (the device sources and `spwf04_build`), and deploy is pointed at it
instead of `.frozen`; the board then searches it where `.frozen` sits on sys.path (second). Everything else,
the queries, the copies, the removals and the final version check, runs over the REPL as on a real board.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from spwf04_tools import deploy as D
from spwf04_tools.board import VirtualBoard
from spwf04_tools.repl_link import DeviceLink

pytestmark = pytest.mark.virtual_only

FIRMWARE = "fwfrozen"  # the emulated firmware's frozen modules (a sys.path entry, like ".frozen")


@pytest.fixture
def fresh_board(tmp_path: Path) -> Iterator[VirtualBoard]:
    """A virtual board of its own: these tests remove the driver from its flash."""
    vb = VirtualBoard(tmp_path / "flash")
    vb.start()
    try:
        yield vb
    finally:
        vb.stop()


def _firmware(board: VirtualBoard, sources: str | None) -> None:
    """Freeze the host's device code into the emulated firmware (precompiled, as frozen code is: compiling
    the driver on the board does not fit in 60wK), with spwf04_build saying `sources`."""
    fw = board.flash_dir / FIRMWARE
    with DeviceLink(board.device) as dev:
        info = D.query_board(dev)
    with tempfile.TemporaryDirectory() as tmp:
        items = D.code_items(info, False, Path(tmp), False)
    frozen = {r[:-3] + ".mpy" for _s, r in D.frozen_sources()}
    assert frozen <= {it.remote for it in items}
    for it in items:
        if it.remote in frozen:
            (fw / it.remote).parent.mkdir(parents=True, exist_ok=True)
            (fw / it.remote).write_bytes(it.data)
    if sources is not None:
        (fw / f"{D.BUILD_MODULE}.py").write_text(f'SOURCES = "{sources}"\n')


def _imported_from(port: str, *names: str) -> list[str]:
    with DeviceLink(port) as dev:
        out = dev.exec(f"import sys\nsys.path.insert(1, {FIRMWARE!r})\n"
                       + "".join(f"import {n}\nprint({n}.__file__)\n" for n in names))
    return out.split()


def test_deploy_leaves_frozen_code_alone_and_removes_copies_that_would_shadow_it(fresh_board: VirtualBoard) -> None:
    flash = fresh_board.flash_dir
    D.deploy(fresh_board.device, out=lambda *a: None)  # an earlier deploy, before the firmware was flashed
    assert (flash / "spwf04" / "module.mpy").is_file() and (flash / "wifi_board.mpy").is_file()
    _firmware(fresh_board, D.source_digest())
    lines: list[str] = []
    written = D.deploy(fresh_board.device, out=lines.append, frozen_path=FIRMWARE)
    text = "\n".join(lines)
    assert "frozen in it, from these sources" in text and "not copied" in text, text
    assert not (flash / "spwf04").exists() and not (flash / "spwf04compat").exists()
    for name in D.TOP_MODULES:
        assert not (flash / name).exists() and not (flash / (name[:-3] + ".mpy")).exists(), name
    assert (flash / "tcp_uart.mpy").is_file()  # the virtual board's UART is never frozen: still deployed
    assert not any(w.startswith(("spwf04/", "spwf04compat/")) for w in written)
    # deploy's own check imported spwf04 (from the firmware); so does the application now
    files = _imported_from(fresh_board.device, "spwf04", "wifi_board", "spwf04compat")
    assert all(f.startswith(FIRMWARE + "/") for f in files), files


def test_deploy_over_a_firmware_frozen_from_other_sources_copies_and_warns(fresh_board: VirtualBoard) -> None:
    flash = fresh_board.flash_dir
    _firmware(fresh_board, "0" * 64)
    lines: list[str] = []
    D.deploy(fresh_board.device, out=lines.append, frozen_path=FIRMWARE)
    text = "\n".join(lines)
    assert "warning: the firmware has a frozen spwf04 from other sources (000000000000" in text, text
    assert "shadow it" in text and "make firmware" in text
    assert (flash / "spwf04" / "module.mpy").is_file()
    files = _imported_from(fresh_board.device, "spwf04")
    assert not files[0].startswith(FIRMWARE), files  # the filesystem comes first: the copy is what runs


def test_deploy_over_a_frozen_driver_without_build_record_copies_and_warns(fresh_board: VirtualBoard) -> None:
    # e.g. a firmware frozen with the top-level manifest.py: which sources it holds is unknown
    _firmware(fresh_board, None)
    lines: list[str] = []
    D.deploy(fresh_board.device, out=lines.append, frozen_path=FIRMWARE)
    assert any("frozen spwf04 from other sources (unknown" in line for line in lines), lines
    assert (fresh_board.flash_dir / "spwf04" / "module.mpy").is_file()


def test_deploy_names_user_files_that_keep_a_package_directory_shadowing_the_firmware(fresh_board: VirtualBoard) -> None:
    flash = fresh_board.flash_dir
    D.deploy(fresh_board.device, out=lambda *a: None)
    (flash / "spwf04" / "notes.txt").write_text("mine\n")
    _firmware(fresh_board, D.source_digest())
    with pytest.raises(D.DeployError, match=r"spwf04/ on the board holds files besides .*\(notes.txt\).*move them"):
        D.deploy(fresh_board.device, out=lambda *a: None, frozen_path=FIRMWARE)
    assert (flash / "spwf04" / "notes.txt").read_text() == "mine\n"  # nothing of the user's is deleted
    assert not (flash / "spwf04" / "module.mpy").exists()


def test_source_digest_follows_every_byte_and_path(tmp_path: Path) -> None:
    dev = tmp_path / "micropython"
    shutil.copytree(D.DEVICE_DIR, dev, ignore=shutil.ignore_patterns("__pycache__"))
    assert D.source_digest(dev) == D.source_digest()
    p = dev / "spwf04" / "parser.py"
    p.write_bytes(p.read_bytes() + b"\n")
    assert D.source_digest(dev) != D.source_digest()
    p.write_bytes(p.read_bytes()[:-1])
    (dev / "spwf04" / "parser.py").rename(dev / "spwf04" / "parser2.py")  # same bytes, other module
    assert D.source_digest(dev) != D.source_digest()
