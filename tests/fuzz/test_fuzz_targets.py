"""The coverage-guided fuzz targets (spwf04_tools.fuzz): every crash input found so far replays clean
(tests/fuzz/regressions/<target>/), the seeds pass, the harness really finds and reports a planted bug,
and a short bounded atheris run of every target - the CI form of `make fuzz`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from spwf04_tools import fuzz

REG = Path(__file__).resolve().parent / "regressions"


def _regressions() -> list[tuple[str, Path]]:
    return [(t, f) for t in fuzz.TARGETS for f in sorted((REG / t).glob("*")) if f.is_file()]


@pytest.mark.parametrize("target,path", _regressions(), ids=[f"{t}/{p.name}" for t, p in _regressions()])
def test_regression_inputs_replay_clean(target, path):
    fails = fuzz.replay(target, [path])
    assert not fails, f"{target}: {path.name}: {type(fails[0][1]).__name__}: {fails[0][1]}"


@pytest.mark.parametrize("target", fuzz.TARGETS)
def test_seed_inputs_pass(target):
    fuzz.device_path()
    for s in fuzz.seed_inputs(target):
        fuzz.FUNCTIONS[target](s)


@pytest.mark.timeout(120)
def test_harness_finds_and_reports_a_planted_bug(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "spwf04_tools.fuzz", "--target", "selftest", "--seconds", "30",
                           "--work", str(tmp_path)], capture_output=True, text=True, timeout=110)
    assert proc.returncode == 1, proc.stderr[-2000:]
    crashes = list((tmp_path / "selftest" / "artifacts").glob("crash-*"))
    assert crashes, proc.stderr[-2000:]
    assert "crash input saved as" in proc.stderr
    assert fuzz.replay("selftest", crashes), "the saved crash input does not reproduce"


@pytest.mark.timeout(180)
def test_short_fuzz_run_of_every_target(tmp_path):
    """`python -m spwf04_tools.fuzz --seconds 9`: 3 s per target, no crash (make fuzz runs 300 s)."""
    proc = subprocess.run([sys.executable, "-m", "spwf04_tools.fuzz", "--seconds", "9", "--work", str(tmp_path)],
                          capture_output=True, text=True, timeout=170)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for t in fuzz.TARGETS:
        assert f"{t}: stat::number_of_executed_units" in proc.stderr, proc.stderr[-3000:]
