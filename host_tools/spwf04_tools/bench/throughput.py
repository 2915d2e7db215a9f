"""Throughput: bulk receive and send through the simulator paced at a line rate, timed on the virtual board.

Each transfer runs in a fresh MicroPython session (soft reset): import the benchmark's buffer, bring the
module up (reset, join, clock, CA) with the simulator unpaced, then pace the simulator at the baud rate and
move n bytes through the driver (micropython/bench/tput.py) or through ST's Mbed strategy
(micropython/bench/mbed.py). The ratio is payload bytes per second on the board's clock divided by the line
rate (baud / 10: 8N1). The simulator's command record gives the AT commands each transfer needed.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from ..repl_link import DeviceError
from .rig import SERVER_NAME, Rig, device_results
from .stream import digest

log = logging.getLogger(__name__)

STRATEGIES = {"driver": "bench.tput", "driver730": "bench.tput", "mbed": "bench.mbed"}
# SOCKR size per driver strategy: 4096 (the figures of earlier runs) and 730, the default on a real module
# (ST's Mbed driver's cap; what the module does with larger reads is unknown), so the cap's cost shows
READ_MAX = {"driver": 4096, "driver730": 730}
BAUDS = (115200, 921600)


@dataclass
class Transfer:
    strategy: str  # driver | mbed
    security: str  # plain | tls
    direction: str  # recv | send
    baud: int
    bytes: int = 0
    us: int = 0
    payload_rate: float = 0.0  # payload bytes per second (board clock)
    line_rate: float = 0.0  # baud / 10
    ratio: float = 0.0
    verified: bool = False
    commands: dict[str, int] = field(default_factory=dict)  # AT commands of the transfer (open/close excluded)
    commands_per_kib: float = 0.0
    winds: int = 0  # +WIND lines that crossed the UART during the transfer
    wind55: int = 0
    error: str | None = None
    read_max: int | None = None  # the driver's SOCKR size (None: ST's strategy, 730 by its own rule)

    @property
    def label(self) -> str:
        return f"{self.strategy} {self.security} {self.direction} @{self.baud}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _command_counts(rig: Rig) -> Counter[str]:
    assert rig.sim
    names = [c.line.split("=", 1)[0].upper().removeprefix("AT+S.") for c in rig.sim.commands]
    # the transfer proper: after SOCKON, before SOCKC (ST's close drains first: its SOCKQ counts as close)
    try:
        start = names.index("SOCKON") + 1
    except ValueError:
        start = 0
    end = len(names) - 1 - names[::-1].index("SOCKC") if "SOCKC" in names else len(names)
    return Counter(names[start:end])


def run_transfer(rig: Rig, strategy: str, security: str, direction: str, baud: int, n: int) -> Transfer:
    t = Transfer(strategy, security, direction, baud, line_rate=baud / 10, read_max=READ_MAX.get(strategy))
    assert rig.sim and rig.dev and rig.plain and rig.tls
    tls = security == "tls"
    peer = rig.tls if tls else rig.plain
    tag = f"{strategy}-{security}-{direction}-{baud}-{n}"
    try:
        rig.sim.reconfigure(baud=None)
        rig.dev.soft_reset()
        rig.exec(rig.bring_up_code(ca=tls), timeout=60)
        rig.sim.reconfigure(baud=baud)
        rig.sim.clear_commands()
        code = ((f"m.read_max = {t.read_max}\n" if t.read_max else "") +
                f"import {STRATEGIES[strategy]} as T\n"
                f"C.report(T.{direction}(m, '127.0.0.1', {peer.port}, {n}, tls={tls}, name={SERVER_NAME!r}, "
                f"tag={tag!r}))\n")
        # the slowest strategy needs about twice the line time; allow much more before calling it stuck
        timeout = 60 + 6 * n / (baud / 10)
        res = device_results(rig.exec(code, timeout=timeout))
        if not res:
            raise DeviceError("the board printed no RESULT line")
        r = res[-1]
        t.bytes, t.us = int(r["bytes"]), int(r["us"])
        t.winds, t.wind55 = int(r.get("winds", 0)), int(r.get("wind55", 0))
        counts = _command_counts(rig)
        t.commands = dict(sorted(counts.items()))
        t.commands_per_kib = sum(counts.values()) / (n / 1024)
        want = digest(n)
        got = r.get("sha256") if direction == "recv" else peer.sink(tag).sha256
        t.verified = t.bytes == n and got == want
        if not t.verified:
            t.error = f"data mismatch: {t.bytes} of {n} bytes, SHA-256 {got} != {want}"
        if t.us > 0:
            t.payload_rate = t.bytes / (t.us / 1e6)
            t.ratio = t.payload_rate / t.line_rate
    except (DeviceError, TimeoutError, RuntimeError, OSError) as exc:
        t.error = _short(exc)
        log.warning("%s failed: %s", t.label, t.error)
    finally:
        rig.sim.reconfigure(baud=None)
    return t


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def run(rig: Rig, n: int, bauds: tuple[int, ...] = BAUDS, strategies: tuple[str, ...] = tuple(STRATEGIES),
        progress=print) -> list[Transfer]:
    out = []
    for baud in bauds:
        for strategy in strategies:
            for security in ("plain", "tls"):
                for direction in ("recv", "send"):
                    t = run_transfer(rig, strategy, security, direction, baud, n)
                    progress(f"  {t.label:32s} " + (f"{t.ratio:6.1%} of the line rate" if not t.error
                                                     else f"FAILED: {t.error}"))
                    out.append(t)
    return out
