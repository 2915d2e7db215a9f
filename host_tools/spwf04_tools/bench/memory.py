"""Memory, size and round trips on the virtual board.

- import footprint: heap bytes each driver module keeps after import (micropython/bench/footprint.py);
- the TLS scenario (micropython/bench/scenario.py) at the board's heap (60wK = the F401RE's ~60 KB in
  32-bit words): heap at each checkpoint after gc.collect(), its peak, and whether it completes;
- margin: the smallest heap (in 1wK steps) at which the same scenario still completes, found by bisection
  on fresh boards; margin = 60wK - that heap;
- round trips: AT commands (each one waits for its final line) from the module reset to the first SOCKR
  that brought TLS payload, from the simulator's command record of the scenario at 60wK;
- size: bytes of the driver's .mpy files as `spwf04 deploy` put them on the board's flash.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..repl_link import DeviceError
from ..sim.config import DEFAULT_AP
from .rig import CA_REMOTE, SERVER_NAME, Rig, device_results
from .stream import digest

log = logging.getLogger(__name__)

HEAP_UNIT = "wK"  # heap sizes are given to the unix port in kilo 32-bit words (scaled to its word size)


def heap_arg(kwords: int) -> str:
    return f"{kwords}{HEAP_UNIT}"


def heap_kwords(arg: str) -> int:
    m = re.fullmatch(r"(\d+)wK", arg)
    if not m:
        raise ValueError(f"heap {arg!r}: give it as <n>wK (kilo 32-bit words, e.g. 60wK)")
    return int(m.group(1))


@dataclass
class ScenarioRun:
    heap: str
    ok: bool
    error: str | None = None
    marks: list[tuple[str, int, int]] = field(default_factory=list)  # (checkpoint, alloc, free) in bytes
    peak: int = 0  # largest gc.mem_alloc() at the checkpoints
    heap_bytes: int = 0  # the GC heap's size on this board (alloc + free)
    round_trips: int = 0  # AT commands from reset to the first TLS payload byte
    round_trip_commands: dict[str, int] = field(default_factory=dict)


@dataclass
class Memory:
    footprint: list[tuple[str, int, bool]] = field(default_factory=list)  # (module, bytes, is driver)
    driver_import: int = 0
    scenario: ScenarioRun | None = None
    min_heap: str | None = None  # smallest heap at which the scenario completed
    margin_kwords: int | None = None
    probes: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Size:
    files: dict[str, int] = field(default_factory=dict)  # spwf04/<name>.mpy -> bytes
    total: int = 0
    board_files: dict[str, int] = field(default_factory=dict)  # wifi_board.mpy, spwf04_pins.mpy

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _short(exc: BaseException) -> str:
    lines = [x for x in str(exc).strip().splitlines() if x.strip()]
    return lines[-1].strip() if lines else type(exc).__name__


def footprint(rig: Rig) -> list[tuple[str, int, bool]]:
    assert rig.dev
    rig.dev.soft_reset()
    res = device_results(rig.exec("import bench.footprint as F\nF.main()\n", timeout=60))
    if not res:
        raise DeviceError("footprint: the board printed no RESULT line")
    return [(str(n), int(b), bool(d)) for n, b, d in res[-1]["modules"]]


def _round_trips(rig: Rig) -> tuple[int, dict[str, int]]:
    assert rig.sim
    names = [c.line.split("=", 1)[0].upper().removeprefix("AT+S.") if c.line.upper() != "AT" else "AT"
             for c in rig.sim.commands]
    lines = [c.line for c in rig.sim.commands]
    tls_open = next((i for i, ln in enumerate(lines) if ln.upper().startswith("AT+S.SOCKON=")
                     and not ln.rstrip().lower().endswith(",t")), None)
    if tls_open is None:
        raise RuntimeError("the scenario sent no TLS SOCKON")
    first_read = next((i for i in range(tls_open + 1, len(names)) if names[i] == "SOCKR"), None)
    if first_read is None:
        raise RuntimeError("the scenario read no TLS payload (no SOCKR after SOCKON)")
    used = names[: first_read + 1]
    return len(used), dict(sorted(Counter(used).items()))


def scenario(rig: Rig, heap: str, n: int, count_round_trips: bool = False) -> ScenarioRun:
    """The TLS scenario on a fresh board with this heap (the simulator unpaced, at factory state)."""
    assert rig.sim and rig.tls
    run = ScenarioRun(heap, False)
    try:
        rig.sim.reconfigure(baud=None)
        rig.sim.factory_reset()
        rig.start_board(heap)
        rig.sim.clear_commands()
        code = (f"import bench.scenario as S\n"
                f"S.main({DEFAULT_AP.ssid!r}, {DEFAULT_AP.passphrase!r}, {CA_REMOTE!r}, '127.0.0.1', "
                f"{rig.tls.port}, {SERVER_NAME!r}, {n})\n")
        res = device_results(rig.exec(code, timeout=120))
        if not res:
            raise DeviceError("the board printed no RESULT line")
        r = res[-1]
        if r["bytes"] != n or r["sha256"] != digest(n):
            raise DeviceError(f"data mismatch: {r['bytes']} of {n} bytes")
        run.marks = [(str(a), int(b), int(c)) for a, b, c in r["marks"]]
        run.peak = int(r["peak"])
        run.heap_bytes = int(r["heap"])
        if count_round_trips:
            run.round_trips, run.round_trip_commands = _round_trips(rig)
        run.ok = True
    except Exception as exc:  # noqa: BLE001 - a board too small to start fails in many ways; all are recorded
        run.error = _short(exc)
    return run


def measure(rig: Rig, n: int, heap: str = "60wK", bisect: bool = True, progress=print) -> Memory:
    mem = Memory()
    try:
        rig.start_board(heap)
        mem.footprint = footprint(rig)
        mem.driver_import = sum(b for _, b, d in mem.footprint if d)
        progress(f"  driver import footprint: {mem.driver_import} bytes of heap")
        mem.scenario = scenario(rig, heap, n, count_round_trips=True)
        progress(f"  TLS scenario at {heap}: " + ("completed" if mem.scenario.ok else f"FAILED: {mem.scenario.error}"))
        if bisect and mem.scenario.ok:
            top = heap_kwords(heap)
            lo, hi = 0, top  # invariant: the scenario does not complete at lo, completes at hi
            while hi - lo > 1:
                mid = (lo + hi) // 2
                probe = scenario(rig, heap_arg(mid), n)
                mem.probes.append({"heap": probe.heap, "ok": probe.ok, "error": probe.error})
                progress(f"  heap {probe.heap}: " + ("completes" if probe.ok else "does not complete"))
                if probe.ok:
                    hi = mid
                else:
                    lo = mid
            mem.min_heap = heap_arg(hi)
            mem.margin_kwords = top - hi
    except (DeviceError, RuntimeError, OSError) as exc:
        mem.error = _short(exc)
        log.warning("memory: %s", exc)
    finally:
        rig.start_board(rig.heap)
    return mem


def sizes(flash_dir: Path) -> Size:
    s = Size()
    for f in sorted((flash_dir / "spwf04").glob("*.mpy")):
        s.files[f.name] = f.stat().st_size
    s.total = sum(s.files.values())
    for name in ("wifi_board.mpy", "spwf04_pins.mpy"):
        f = flash_dir / name
        if f.exists():
            s.board_files[name] = f.stat().st_size
    if not s.files:
        raise FileNotFoundError(f"no driver .mpy files in {flash_dir / 'spwf04'}: deploy failed?")
    return s
