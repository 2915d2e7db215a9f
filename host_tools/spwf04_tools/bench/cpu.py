"""CPU per payload byte, counted in machine instructions with valgrind's callgrind (repeatable, unlike seconds).

The unix port (`micropython`, a CPython process hosting MicroPython in-process) runs a device script from the
deployed flash directory under `valgrind --tool=callgrind --dump-before=mp_micropython_heap_lock`; the script
calls micropython.heap_lock()/heap_unlock() around the measured region (bench.common.mark), so callgrind
writes the region as a profile part of its own. Two transfer sizes N1 < N2 are run and the figure is

    (I_region(N2) - I_region(N1)) / (N2 - N1)

so everything that does not grow with the payload cancels out: CPython and MicroPython start-up, bring-up,
connect, the first read's wait. The simulator runs unpaced in this (host) process, not under valgrind.

The parser alone is exactly repeatable. The driver's count is not quite: how often it waits for the simulator,
and how many SOCKQs and +WIND:55 lines come before the mask, depend on timing (runs of the same code gave
17.3 to 21.7 instructions/B). So each driver size is run `repeats` times; the figure is the slope between the
median counts, and the slopes of the individual repetitions are reported beside it as its spread.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..board import micropython_executable
from ..sim import SimConfig, Simulator
from ..sim.config import DEFAULT_AP
from .peer import BulkPeer
from .rig import device_results

log = logging.getLogger(__name__)

MARK_FUNCTION = "mp_micropython_heap_lock"  # entered by bench.common.mark()
SIZES = (65536, 196608)
RUN_TIMEOUT = 600.0
_TOTALS_RE = re.compile(r"^(?:totals|summary):\s+(\d+)", re.MULTILINE)


class CallgrindError(RuntimeError):
    pass


@dataclass
class Region:
    n: int
    instructions: int  # in the marked region (the median of `samples`)
    commands: dict[str, int] = field(default_factory=dict)  # of the median run
    samples: list[int] = field(default_factory=list)  # every repetition's count

    @property
    def per_byte(self) -> float:
        return self.instructions / self.n


@dataclass
class CpuFigure:
    name: str
    what: str
    regions: list[Region] = field(default_factory=list)
    per_byte: float = 0.0  # (I(N2) - I(N1)) / (N2 - N1), I: the median over the repetitions
    spread: list[float] = field(default_factory=list)  # the slope of each repetition (driver: timing varies)
    profile: list[tuple[str, float]] = field(default_factory=list)  # largest run: C functions by self cost
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["regions"] = [dict(asdict(r), per_byte=r.per_byte) for r in self.regions]
        return d


def valgrind() -> str:
    exe = shutil.which("valgrind")
    if not exe:
        raise CallgrindError("valgrind not found: install it (apt-get install valgrind; `make setup` does)")
    return exe


def self_costs(text: str, top: int = 8) -> list[tuple[str, float]]:
    """Share of the part's instructions executed in each C function itself (callgrind file written with
    --compress-strings=no), largest first: where a region's instructions go."""
    costs: Counter[str] = Counter()
    fn = None
    after_call = False
    for line in text.splitlines():
        if line.startswith("fn="):
            fn = line[3:]
        elif line.startswith("calls="):
            after_call = True  # the next cost line is the call's inclusive cost, not fn's own
        elif line[:1].isdigit() or line[:1] in "+-*":
            if after_call:
                after_call = False
            elif fn is not None:
                parts = line.split()
                if len(parts) > 1:
                    costs[fn] += int(parts[1])
    total = sum(costs.values()) or 1
    merged: Counter[str] = Counter()
    for name, n in costs.items():  # 'f'2 (recursion depth) and f@@GLIBC_x are the same function
        merged[name.split("'")[0].split("@@")[0]] += n
    return [(name, n / total) for name, n in merged.most_common(top)]


def callgrind_region(flash_dir: Path, code: str, env: dict[str, str], heap: str = "60wK",
                     timeout: float = RUN_TIMEOUT) -> tuple[int, str, list[tuple[str, float]]]:
    """Run `code` on the unix port under callgrind; return (instructions between the two marks, stdout,
    the region's profile by C function)."""
    with tempfile.TemporaryDirectory(prefix="spwf04-callgrind-") as tmp:
        out = Path(tmp)
        args = [valgrind(), "--tool=callgrind", f"--callgrind-out-file={out}/cg.%p",
                f"--dump-before={MARK_FUNCTION}", "--compress-strings=no", "--compress-pos=no",
                micropython_executable(), "-X", f"heapsize={heap}", "-c", code]
        full_env = dict(os.environ)
        full_env.update(env)
        full_env["MICROPYPATH"] = ":" + str(flash_dir / "lib")
        try:
            p = subprocess.run(args, cwd=flash_dir, env=full_env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise CallgrindError(f"callgrind run did not finish within {timeout:.0f} s") from None
        if p.returncode != 0 or "Traceback" in p.stdout:
            raise CallgrindError(f"device script failed under callgrind (exit {p.returncode}):\n"
                                 f"{p.stdout[-2000:]}{p.stderr[-1000:]}")
        parts = sorted(out.glob("cg.*.*"), key=lambda f: int(f.name.rsplit(".", 1)[1]))
        if len(parts) != 2:
            raise CallgrindError(f"expected 2 marked parts, callgrind wrote {len(parts)}: the script must call "
                                 f"bench.common.mark() exactly twice")
        text = parts[1].read_text(errors="replace")
        m = _TOTALS_RE.search(text)
        if not m:
            raise CallgrindError(f"no totals in {parts[1].name}")
        return int(m.group(1)), p.stdout, self_costs(text)


def _short(exc: BaseException) -> str:
    lines = [x.strip() for x in str(exc).strip().splitlines() if x.strip()]
    if not lines:
        return type(exc).__name__
    return lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1]}"


def _slope(fig: CpuFigure) -> None:
    a, b = fig.regions[0], fig.regions[-1]
    fig.per_byte = (b.instructions - a.instructions) / (b.n - a.n)
    if len(a.samples) > 1:
        fig.spread = sorted((y - x) / (b.n - a.n) for x, y in zip(a.samples, b.samples))


def _median(runs: list[tuple[int, dict[str, int]]], n: int) -> Region:
    # (an odd number of runs: the median is one of them, with its own command counts)
    ordered = sorted(runs, key=lambda r: r[0])
    instr, counts = ordered[len(ordered) // 2]
    return Region(n, instr, counts, [r[0] for r in runs])


def driver_receive(flash_dir: Path, sizes: tuple[int, ...] = SIZES, progress=print, repeats: int = 3) -> CpuFigure:
    """Bulk receive through the driver (plain TCP, 4 KiB readinto) from an unpaced simulator; each size
    `repeats` times (odd), the median count taken."""
    if repeats < 1 or repeats % 2 == 0:
        raise ValueError(f"repeats must be odd (a median that is one of the runs), not {repeats}")
    fig = CpuFigure("driver_recv", "bulk receive through the driver, plain TCP, readinto a 4 KiB buffer")
    try:
        valgrind()
        with Simulator(SimConfig()) as sim, BulkPeer() as peer:
            host, port = sim.start_tcp("127.0.0.1", 0)
            env = {"SPWF04_MODULE": f"{host}:{port}"}
            for n in sizes:
                runs = []
                for _ in range(repeats):
                    sim.clear_commands()
                    code = (f"import bench.cpu_recv as B\n"
                            f"B.main('127.0.0.1', {peer.port}, {n}, {DEFAULT_AP.ssid!r}, {DEFAULT_AP.passphrase!r})\n")
                    instr, out, fig.profile = callgrind_region(flash_dir, code, env)
                    got = device_results(out)
                    if not got or got[-1].get("bytes") != n:
                        raise CallgrindError(f"the receive got {got[-1].get('bytes') if got else '?'} of {n} bytes")
                    names = [c.line.split("=", 1)[0].upper().removeprefix("AT+S.") for c in sim.commands]
                    after = names[names.index("SOCKON") + 1:] if "SOCKON" in names else names
                    counts = Counter(x for x in after if x in ("SOCKR", "SOCKQ"))
                    runs.append((instr, dict(counts)))
                    progress(f"  driver receive {n // 1024} KiB: {instr:,} instructions in the region")
                fig.regions.append(_median(runs, n))
        _slope(fig)
    except (CallgrindError, OSError, TimeoutError) as exc:
        fig.error = _short(exc)
        log.warning("CPU (driver): %s", exc)
    return fig


def parser_alone(flash_dir: Path, sizes: tuple[int, ...] = SIZES, progress=print) -> CpuFigure:
    fig = CpuFigure("parser", "AT parser alone on the same stream (SOCKR frames of 4 KiB, +WIND:55 per 730 B)")
    try:
        for n in sizes:
            instr, out, fig.profile = callgrind_region(flash_dir, f"import bench.parser_feed as B\nB.main({n})\n", {})
            got = device_results(out)
            if not got or got[-1].get("bytes") != n:
                raise CallgrindError(f"the parser run fed {got[-1].get('bytes') if got else '?'} of {n} bytes")
            fig.regions.append(Region(n, instr, {"events": got[-1]["events"], "frames": got[-1]["frames"]}))
            progress(f"  parser alone {n // 1024} KiB: {instr:,} instructions in the region")
        _slope(fig)
    except (CallgrindError, OSError) as exc:
        fig.error = _short(exc)
        log.warning("CPU (parser): %s", exc)
    return fig
