"""Packaging: package.json for `mpremote mip install`, manifest.py for freezing, one version everywhere, and a
real `mpremote mip install ./package.json` onto a fresh virtual board that then fetches a page over TLS."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from compat_helpers import HTTPSServer, bring_up
from spwf04_tools import BOARDS_DIR, DEVICE_DIR, REPO_ROOT, __version__
from spwf04_tools.board import VirtualBoard
from spwf04_tools.sim import SimConfig, Simulator
from spwf04_tools.deploy import PACKAGES, TOP_MODULES, VIRTUAL_ONLY
from spwf04_tools.repl_link import DeviceLink
from spwf04_tools.sim.config import DEFAULT_AP

PACKAGE_JSON = REPO_ROOT / "package.json"
# mip installs .py sources, which the board compiles at import: that needs a bigger heap than the F401RE's
# 60 KB (where the driver is frozen into the firmware, or deployed precompiled by `spwf04 deploy`).
HEAP = "128wK"  # e.g. a 128 KB-RAM STM32F411


def _package() -> dict:
    return json.loads(PACKAGE_JSON.read_text())


def _device_code() -> dict[str, Path]:
    """What `spwf04 deploy` puts on a virtual board (board path -> source), the reference for the others."""
    files = {name: DEVICE_DIR / name for name in TOP_MODULES + VIRTUAL_ONLY}
    for src_dir, pkg in PACKAGES:
        files.update({f"{pkg}/{p.name}": p for p in (DEVICE_DIR / src_dir).glob("*.py")})
    return files


def _manifest(path: Path) -> tuple[dict, list[Path]]:
    """Run a MicroPython manifest with recording stand-ins: (metadata, the frozen .py files)."""
    meta: dict = {}
    frozen: list[Path] = []

    def package(name: str, base_path: str = ".", **kw: object) -> None:
        frozen.extend(sorted((path.parent / base_path / name).resolve().glob("*.py")))

    def module(name: str, base_path: str = ".", **kw: object) -> None:
        frozen.append((path.parent / base_path / name).resolve())

    env = {"metadata": lambda **kw: meta.update(kw), "package": package, "module": module,
           "include": lambda *a, **kw: None, "require": lambda *a, **kw: None}
    exec(compile(path.read_text(), str(path), "exec"), env)
    return meta, frozen


def test_package_json_installs_the_device_code() -> None:
    pkg = _package()
    targets = {target: REPO_ROOT / url for target, url in pkg["urls"]}
    assert targets == _device_code()
    assert all(p.is_file() for p in targets.values())
    assert pkg["deps"] == []


def test_one_version_everywhere() -> None:
    init = (DEVICE_DIR / "spwf04" / "__init__.py").read_text()
    device = re.search(r'^__version__ = "([^"]+)"', init, re.M).group(1)
    meta, _ = _manifest(REPO_ROOT / "manifest.py")
    assert _package()["version"] == device == __version__ == meta["version"]


def test_manifests_freeze_the_provider() -> None:
    _, frozen = _manifest(REPO_ROOT / "manifest.py")
    want = {p.resolve() for name, p in _device_code().items() if name not in VIRTUAL_ONLY}
    assert set(frozen) == want and all(p.is_file() for p in frozen)
    _, board = _manifest(BOARDS_DIR / "NUCLEO_F401RE_SPWF04" / "manifest.py")
    assert want <= set(board)


@pytest.mark.virtual_only
@pytest.mark.slow
def test_mpremote_mip_install_of_the_local_package(sim, pki, tmp_path: Path) -> None:
    # A simulator of its own: this unix-port board must not take the session board's UART (a module has one).
    own = Simulator(SimConfig())
    own.start_tcp("127.0.0.1", 0)
    host, port = own.uart_address
    flash = tmp_path / "flash"
    vb = VirtualBoard(flash, module=f"{host}:{port}", heap=HEAP)
    try:
        vb.start()
        mpremote = str(Path(sys.executable).with_name("mpremote"))
        r = subprocess.run([mpremote, "connect", vb.device, "resume", "mip", "install", str(PACKAGE_JSON)],
                           capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        installed = {str(p.relative_to(flash / "lib")) for p in (flash / "lib").rglob("*.py")}
        assert installed == set(_device_code())
        (flash / "ca.pem").write_bytes(pki.ca_pem.read_bytes())
        with HTTPSServer(pki) as srv, DeviceLink(vb.device) as dev:
            # Only what mip installed is on the board (as .py sources, compiled at import).
            out = dev.exec(bring_up() +
                           "import spwf04, requests\n"
                           "print('FROM', spwf04.__file__, spwf04.__version__)\n"
                           f"print(requests.get('https://localhost:{srv.port}/page').text)\n", timeout=120)
    finally:
        vb.stop()
        own.stop()
    assert f"FROM {flash}/lib/spwf04/__init__.py {__version__}" in out
    assert HTTPSServer.PAGE.decode() in out
    assert DEFAULT_AP.passphrase not in out
