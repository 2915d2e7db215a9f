"""`make demo` (`spwf04 demo`): the main job, end to end, as a new user runs it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from spwf04_tools.sim.tlsclient import module_suites

SPWF04 = str(Path(sys.executable).with_name("spwf04"))
pytestmark = pytest.mark.virtual_only


@pytest.mark.parametrize("fw", ["1.1", "1.0"])
def test_demo_prints_the_servers_page(fw: str, tmp_path: Path) -> None:
    r = subprocess.run([SPWF04, "demo", "--fw", fw, "--keep", str(tmp_path)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = r.stdout
    assert "openssl s_server -tls1_2 -www" in out
    assert f"SPWF04SA firmware {fw}.0" in out
    assert "<HTML>" in out and "s_server" in out  # the page the server sent, printed by the board
    assert "== demo passed" in out
    # the negotiated suite, from the module's offer: static RSA on FW 1.0, ECDHE on FW 1.1, AES-CBC either way
    suite = re.search(r"== TLS with 127\.0\.0\.1:\d+: TLSv1\.2 (\S+) \(negotiated from the FW", out)
    assert suite, out[-2000:]
    assert suite.group(1) in module_suites(fw) and "GCM" not in suite.group(1)
    assert suite.group(1).startswith("ECDHE-") == (fw == "1.1")
    # the Wi-Fi key never reaches the console, and the kept config file is private to the user
    assert "simulated-wifi" not in out + r.stderr
    assert (tmp_path / "client_config.json").stat().st_mode & 0o077 == 0


def test_virtual_board_keeps_a_stable_link(tmp_path: Path) -> None:
    link = tmp_path / "board-tty"
    proc = subprocess.Popen([SPWF04, "board", "--flash", str(tmp_path / "flash"), "--link", str(link)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        device = proc.stdout.readline().strip()
        assert device.startswith("/dev/pts/")
        assert link.is_symlink() and str(link.resolve()) == device
        out = subprocess.run([str(Path(sys.executable).with_name("mpremote")), "connect", str(link), "resume",
                              "exec", "print(6*7)"], capture_output=True, text=True, timeout=30)
        assert out.stdout.strip() == "42"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert not link.exists()  # removed when the board stops
