"""`spwf04 bench` at a tiny size, so the benchmark code cannot rot: every part runs end to end (its own
simulator, peers and virtual board), moves verified data and writes its files. No figure is compared with
a limit here: performance is judged by the bench itself (`make bench`), never by wall-clock assertions.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.virtual_only, pytest.mark.slow, pytest.mark.timeout(600)]

SIZE = 8192


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, int]:
    if not shutil.which("valgrind"):  # a missing tool is a failure, never a skip (scripts/system-deps.sh)
        pytest.fail("valgrind is not installed: run scripts/system-deps.sh (or apt-get install valgrind)")
    out = tmp_path_factory.mktemp("bench-out")
    rc = cli_main(["bench", "--size", str(SIZE), "--baud", "921600", "--cpu-sizes", "4096,8192", "--out", str(out)])
    return json.loads((out / "results.json").read_text()), out, rc


def cli_main(argv: list[str]) -> int:
    from spwf04_tools.cli import main

    return main(argv)


def test_every_measurement_completed(results) -> None:
    doc, out, rc = results
    assert rc == 0, (out / "results.txt").read_text()
    assert set(doc) == {"meta", "throughput", "cpu", "memory", "size", "targets"}
    assert doc["meta"]["machine"]["host"] and doc["meta"]["date"] and doc["meta"]["micropython"]


def test_throughput_matrix_moved_verified_data(results) -> None:
    doc, _, _ = results
    runs = doc["throughput"]
    keys = {(t["strategy"], t["security"], t["direction"], t["baud"]) for t in runs}
    assert keys == {(s, sec, d, 921600) for s in ("driver", "driver730", "mbed") for sec in ("plain", "tls")
                    for d in ("recv", "send")}
    for t in runs:
        assert t["error"] is None, t
        assert t["verified"] and t["bytes"] == SIZE, t
        assert t["us"] > 0 and t["ratio"] > 0 and t["line_rate"] == 92160


def test_baseline_really_is_st_s_strategy(results) -> None:
    """The baseline must keep doing what ST's driver does, or the comparison means nothing."""
    doc, _, _ = results
    for t in doc["throughput"]:
        c = t["commands"]
        if t["strategy"] == "mbed" and t["direction"] == "recv":
            reads = c["SOCKR"]
            assert reads >= SIZE // 730
            assert c["SCFG"] == 6 * reads  # winds off (3) and on (3) around every read
            assert c["SOCKQ"] >= reads  # a query before every read
        if t["strategy"] == "driver730" and t["direction"] == "recv":
            assert c["SOCKR"] >= SIZE // 730  # the 730-byte rows really read at most 730 bytes per SOCKR
        if t["strategy"].startswith("driver"):
            # WIND 55 may be masked for a bulk receive (one SCFG on, one off), never switched per read
            assert c.get("SCFG", 0) <= 2, "the driver switched indications per read"
        if t["direction"] == "send":
            assert c["SOCKW"] >= SIZE // 730  # no SOCKW longer than the module's 730-byte segment


def test_cpu_regions_were_counted(results) -> None:
    doc, _, _ = results
    figs = {f["name"]: f for f in doc["cpu"]}
    assert set(figs) == {"driver_recv", "parser"}
    for f in figs.values():
        assert f["error"] is None, f
        assert [r["n"] for r in f["regions"]] == [4096, 8192]
        assert all(r["instructions"] > 0 for r in f["regions"])
        assert f["per_byte"] > 0 and f["profile"]
    assert figs["driver_recv"]["regions"][-1]["commands"]["SOCKR"] >= 2
    # the driver's figure is the slope between median counts of 3 runs per size, its spread beside it
    drv = figs["driver_recv"]
    for r in drv["regions"]:
        assert len(r["samples"]) == 3 and sorted(r["samples"])[1] == r["instructions"], r
    assert len(drv["spread"]) == 3 and drv["spread"] == sorted(drv["spread"])
    assert figs["parser"]["spread"] == []  # (exactly repeatable: one run per size)


def test_memory_scenario_footprint_and_margin(results) -> None:
    doc, _, _ = results
    mem = doc["memory"]
    assert mem["error"] is None
    names = [n for n, _, driver in mem["footprint"] if driver]
    assert names[0] == "spwf04" and "spwf04.socket" in names and "spwf04.cert" in names
    assert mem["driver_import"] == sum(b for _, b, d in mem["footprint"] if d) > 0
    sc = mem["scenario"]
    assert sc["ok"] and sc["heap"] == "60wK", sc
    assert [m[0] for m in sc["marks"]][:2] == ["start", "driver imported"]
    assert sc["peak"] == max(m[1] for m in sc["marks"]) <= sc["heap_bytes"]
    assert sc["round_trips"] == sum(sc["round_trip_commands"].values())
    assert sc["round_trip_commands"]["SOCKON"] == 1 and sc["round_trip_commands"]["SOCKR"] == 1
    # the bisection ended next to a failing probe (or at the bottom) and below the board's heap
    kw = int(mem["min_heap"].removesuffix("wK"))
    assert 0 < kw <= 60 and mem["margin_kwords"] == 60 - kw
    failing = [int(p["heap"].removesuffix("wK")) for p in mem["probes"] if not p["ok"]]
    assert kw == 1 or kw - 1 in failing


def test_size_and_outputs(results) -> None:
    doc, out, _ = results
    size = doc["size"]
    assert "module.mpy" in size["files"] and size["total"] == sum(size["files"].values())
    assert (out / "throughput.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (out / "results.txt").read_text()
    assert "Throughput" in text and "Targets" in text
    names = {t["name"] for t in doc["targets"]}
    assert "CPU, bulk receive" in names and "driver .mpy size" not in names  # (a size target no more: retired)
    assert "Size: driver .mpy as deployed" in text
