"""The parser vectors on the MicroPython unix port (the board's interpreter), with the F401RE-like heap."""
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MPY = ROOT / ".venv" / "bin" / "micropython"


def run_device(script: Path, *args: str, heap: str = "60wK", timeout: float = 120) -> str:
    env_path = f"{ROOT / 'micropython'}:{script.parent}:{ROOT / 'tests' / 'driver'}"
    code = f"import sys; sys.path[:0] = {env_path.split(':')!r}; sys.argv[1:] = {list(args)!r}; exec(open({str(script)!r}).read())"
    r = subprocess.run([str(MPY), "-X", f"heapsize={heap}", "-c", code], capture_output=True, text=True,
                       timeout=timeout, cwd=str(script.parent))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout


@pytest.mark.timeout(180)
def test_parser_on_unix_port():
    # the harness keeps whole event lists for comparison: give it room (driver tests run at 60wK)
    out = run_device(Path(__file__).with_name("device_check.py"), heap="4M")
    assert out.strip().splitlines()[-1].startswith("PASS ")
    assert int(out.split()[-2]) > 1000
