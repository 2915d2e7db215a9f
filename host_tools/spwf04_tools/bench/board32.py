"""Memory figures from the 32-bit board (MicroPython's qemu port with the F401RE's heap; docs/virtual-boards.md),
where bytecode, buffers and objects take the bytes they take on a NUCLEO-F401RE. Needs a MicroPython tree.

- import footprint: heap each module keeps after import, with the driver frozen (micropython/bench/footprint.py);
- the TLS scenario (micropython/bench/scenario.py): free heap at each checkpoint after gc.collect(), the lowest;
- the unmodified-client scenario (micropython/bench/compat_scenario.py): a `requests` GET, then two asyncio TLS
  sockets open at once, through spwf04compat: the same;
- the smallest heap the TLS scenario completes in: a ballast bytearray allocated first takes heap away (the
  qemu heap is fixed at build time); bisection on its size, 512-byte steps;
- the stock-firmware route: a firmware without the driver frozen, the driver's .mpy files in /flash (deploy's
  filesystem placement), the same TLS scenario: does it complete at the F401RE's heap, and with how much free;
- the Cortex-M CPU cost per payload byte: the bulk receive of micropython/bench/cpu_recv.py (plain TCP, 4 KiB
  readinto) under `qemu-system-arm -icount shift=0`, where one instruction is 1 ns of guest time. The firmware
  counts the time its waits sleep in WFI (qemu_spwf04.cpu()), so busy guest time is executed instructions. As in
  bench/cpu.py, two sizes, each run `repeats` times, the slope between the medians: set-up and the first wait
  cancel out. The CPU share at the F401RE's 84 MHz follows for a payload arriving at the full line rate
  (baud / 10 bytes per second), taking one instruction per cycle (flash wait states make a real F401RE slower;
  docs/virtual-boards.md says what else differs: interrupt entry and exit are not counted).
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..deploy import deploy
from ..qemu_board import QemuBoard, build_firmware
from ..repl_link import DeviceError, DeviceLink
from ..sim.config import DEFAULT_AP
from ..https_server import HTTPSServer
from ..tls_server import EchoTLSServer
from .memory import _short
from .rig import CA_REMOTE, SERVER_NAME, Rig, device_results
from .stream import digest

log = logging.getLogger(__name__)

STEP = 512  # bytes: resolution of the smallest-heap search
TARGET_LOWEST_FREE = 24 * 1024  # issue target: each scenario completes with at least this much free
CPU_SIZES = (32768, 131072)  # bytes received in the two CPU runs
MCU_HZ = 84_000_000  # the NUCLEO-F401RE's CPU clock
CPU_BAUDS = (115200, 921600)
TARGET_CPU_SHARE = 0.25  # issue target: the driver's share of an 84 MHz Cortex-M4 during bulk receive at 921600


@dataclass
class Run:
    ok: bool = False
    error: str | None = None
    marks: list[tuple[str, int, int]] = field(default_factory=list)  # (checkpoint, alloc, free)
    lowest_free: int | None = None

    def take(self, r: dict[str, Any]) -> None:
        self.marks = [(str(a), int(b), int(c)) for a, b, c in r["marks"]]
        self.lowest_free = min(c for _, _, c in self.marks)
        self.ok = True


@dataclass
class Board32:
    firmware: str = ""
    heap: int = 0  # gc.mem_alloc() + gc.mem_free() on a fresh board
    footprint: list[tuple[str, int, bool]] = field(default_factory=list)
    driver_import: int = 0
    tls: Run = field(default_factory=Run)
    compat: Run = field(default_factory=Run)
    smallest_heap: int | None = None  # the heap left by the largest ballast with which the TLS scenario completes
    probes: list[dict[str, Any]] = field(default_factory=list)
    stock: Run = field(default_factory=Run)  # the TLS scenario with the driver as .mpy files in RAM
    cpu: "Cpu32 | None" = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Cpu32:
    """Instructions per payload byte of the bulk receive on the 32-bit board (see the module docstring)."""
    per_byte: float | None = None
    spread: list[float] = field(default_factory=list)  # the slope of each repetition
    samples: dict[int, list[int]] = field(default_factory=dict)  # size -> instructions of every run
    error: str | None = None

    def share(self, baud: int) -> float | None:
        """The CPU share at MCU_HZ for payload arriving at the full line rate of `baud` (10 bits a byte)."""
        return None if self.per_byte is None else self.per_byte * baud / 10 / MCU_HZ


class QemuRig(Rig):
    """bench.rig.Rig with the 32-bit board instead of the unix-port one. The board is started once: a restart
    is a power cycle, after which its RTC reads 2015 (deploy set it). icount: qemu's -icount shift."""

    def __init__(self, work: Path, firmware: Path, fw: str = "1.1", icount: int | None = None) -> None:
        super().__init__(work, fw=fw)
        self.firmware = firmware
        self.icount = icount

    def start_board(self, heap: str) -> None:  # the heap is the firmware's
        self.stop_board()
        self.board = QemuBoard(self.firmware, self.work / "qemu", module=self.module_address, icount=self.icount)
        self.board.start()
        self.dev = DeviceLink(self.board.device)


def _tls_code(rig: Rig, n: int, ballast: int = 0) -> str:
    assert rig.tls
    return ((f"_ballast = bytearray({ballast})\n" if ballast else "") +
            "import bench.scenario as S\n"
            f"S.main({DEFAULT_AP.ssid!r}, {DEFAULT_AP.passphrase!r}, {CA_REMOTE!r}, '127.0.0.1', {rig.tls.port}, "
            f"{SERVER_NAME!r}, {n})\n")


def _fresh_run(rig: Rig, code: str, timeout: float) -> list[dict[str, Any]]:
    """Device code in a fresh session (soft reset) with the simulator unpaced at factory state: its RESULTs."""
    assert rig.sim and rig.dev
    rig.sim.reconfigure(baud=None)
    rig.sim.factory_reset()
    rig.dev.soft_reset()
    res = device_results(rig.exec(code, timeout=timeout))
    if not res:
        raise DeviceError("the board printed no RESULT line")
    return res


def tls_scenario(rig: Rig, n: int, ballast: int = 0) -> Run:
    """The TLS scenario in a fresh session (soft reset), `ballast` bytes of heap taken first."""
    run = Run()
    try:
        res = _fresh_run(rig, _tls_code(rig, n, ballast), 180)
        if res[-1]["bytes"] != n or res[-1]["sha256"] != digest(n):
            raise DeviceError(f"data mismatch: {res[-1]['bytes']} of {n} bytes")
        run.take(res[-1])
    except Exception as exc:  # noqa: BLE001 - out of memory shows in many ways; all are recorded
        run.error = _short(exc)
    return run


def compat_scenario(rig: Rig, https_port: int, echo_port: int) -> Run:
    run = Run()
    try:
        r = _fresh_run(rig, "import bench.compat_scenario as S\n"
                            f"S.main({DEFAULT_AP.ssid!r}, {DEFAULT_AP.passphrase!r}, {CA_REMOTE!r}, {https_port}, "
                            f"{echo_port}, {SERVER_NAME!r})\n", 240)[-1]
        if r["status"] != 200 or not r["bytes"] or r["echoed"] != ["A", "B"]:
            raise DeviceError(f"wrong result: status {r['status']}, {r['bytes']} bytes, echoed {r['echoed']}")
        run.take(r)
    except Exception as exc:  # noqa: BLE001
        run.error = _short(exc)
    return run


def smallest_heap(rig: Rig, n: int, heap: int, progress: Callable[[str], None]) -> tuple[int | None, list]:
    """Bisection on the ballast: the largest one (in STEP bytes) with which the scenario still completes."""
    probes: list[dict[str, Any]] = []
    lo, hi = 0, heap // STEP  # invariant: completes with lo*STEP taken away, not with hi*STEP
    while hi - lo > 1:
        mid = (lo + hi) // 2
        run = tls_scenario(rig, n, mid * STEP)
        probes.append({"ballast": mid * STEP, "ok": run.ok, "error": run.error})
        progress(f"  heap {heap - mid * STEP:,} B: " + ("completes" if run.ok else f"does not ({run.error})"))
        if run.ok:
            lo = mid
        else:
            hi = mid
    return heap - lo * STEP, probes


def _stock_route(tree: Path, work: Path, n: int, fw: str, progress: Callable[[str], None]) -> Run:
    """The TLS scenario on a firmware without the driver frozen: deploy copies the .mpy files to /flash."""
    firmware = build_firmware(tree, stock=True)
    with QemuRig(work / "stock", firmware, fw=fw) as rig:
        run = tls_scenario(rig, n)
    progress("  stock firmware, driver as .mpy in RAM: TLS scenario " +
             (f"completes, lowest free {run.lowest_free:,} B" if run.ok else f"FAILED: {run.error}"))
    return run


def _receive_instructions(rig: Rig, n: int) -> int:
    """One bulk receive of n bytes in a fresh session: the instructions the board executed in it."""
    assert rig.plain
    r = _fresh_run(rig, "import bench.cpu_recv as B\n"
                        f"B.main('127.0.0.1', {rig.plain.port}, {n}, {DEFAULT_AP.ssid!r}, {DEFAULT_AP.passphrase!r})\n",
                   300)[-1]
    if r.get("bytes") != n or "busy_cycles" not in r:
        raise DeviceError(f"the receive got {r.get('bytes')} of {n} bytes" if r.get("bytes") != n
                          else "the firmware gave no busy-time count (qemu_spwf04.cpu)")
    return round(r["busy_cycles"] * 1e9 / r["cycles_per_s"])  # -icount shift=0: 1 instruction per ns


def cpu_receive(firmware: Path, work: Path, fw: str, progress: Callable[[str], None],
                sizes: tuple[int, int] = CPU_SIZES, repeats: int = 3) -> Cpu32:
    """Instructions per payload byte of the bulk receive: the slope between the median counts of two sizes."""
    out = Cpu32()
    try:
        with QemuRig(work / "cpu", firmware, fw, icount=0) as rig:
            for n in sizes:
                out.samples[n] = []
                for _ in range(repeats):
                    out.samples[n].append(_receive_instructions(rig, n))
                    progress(f"  bulk receive {n // 1024} KiB: {out.samples[n][-1]:,} instructions")
        a, b = sizes
        med = {k: sorted(v)[len(v) // 2] for k, v in out.samples.items()}
        out.per_byte = (med[b] - med[a]) / (b - a)
        out.spread = sorted((y - x) / (b - a) for x, y in zip(out.samples[a], out.samples[b]))
    except Exception as exc:  # noqa: BLE001 - a board that cannot run it: say why
        out.error = _short(exc)
        log.warning("32-bit CPU: %s", exc)
    return out


def measure(tree: Path, n: int, fw: str = "1.1", bisect: bool = True,
            progress: Callable[[str], None] = print) -> Board32:
    out = Board32()
    from .memory import footprint

    try:
        firmware = build_firmware(tree)
        out.firmware = str(firmware)
        with tempfile.TemporaryDirectory(prefix="spwf04-bench32-") as tmp, QemuRig(Path(tmp), firmware, fw) as rig:
            assert rig.pki
            out.heap = int(rig.exec("import gc\nprint(gc.mem_alloc() + gc.mem_free())", timeout=30))
            out.footprint = footprint(rig)
            out.driver_import = sum(b for _, b, d in out.footprint if d)
            progress(f"  driver import footprint (frozen): {out.driver_import:,} B of a {out.heap:,} B heap")
            out.tls = tls_scenario(rig, n)
            progress("  TLS scenario: " + (f"completes, lowest free {out.tls.lowest_free:,} B" if out.tls.ok
                                           else f"FAILED: {out.tls.error}"))
            with HTTPSServer(rig.pki) as https, \
                    EchoTLSServer(rig.pki.fullchain_pem, rig.pki.server.key_pem, ciphers=None) as echo:
                out.compat = compat_scenario(rig, https.port, echo.port)
            progress("  requests GET + two asyncio TLS sockets: " + (
                f"completes, lowest free {out.compat.lowest_free:,} B" if out.compat.ok
                else f"FAILED: {out.compat.error}"))
            if bisect and out.tls.ok:
                out.smallest_heap, out.probes = smallest_heap(rig, n, out.heap, progress)
            out.stock = _stock_route(tree, Path(tmp), n, fw, progress)
            out.cpu = cpu_receive(firmware, Path(tmp), fw, progress)
            progress("  bulk receive: " + (f"{out.cpu.per_byte:.1f} instructions per payload byte" if out.cpu.error is None
                                           else f"FAILED: {out.cpu.error}"))
    except Exception as exc:  # noqa: BLE001 - a board that cannot start: say why, keep what was measured
        out.error = _short(exc)
        log.warning("32-bit board: %s", exc)
    return out


# --- report --------------------------------------------------------------------------------------------------


def targets(b: Board32) -> list:
    from .report import Target

    out = []
    for label, run in (("32-bit: TLS scenario", b.tls), ("32-bit: requests + 2 asyncio TLS", b.compat)):
        value = f"lowest free {run.lowest_free:,} B" if run.ok else "FAILS"
        out.append(Target(label, value, f"completes, >= {TARGET_LOWEST_FREE:,} B free",
                          None if b.error and not run.ok else run.ok and run.lowest_free >= TARGET_LOWEST_FREE))
    if b.cpu is not None:
        share = b.cpu.share(CPU_BAUDS[-1])
        out.append(Target(f"32-bit: CPU share, bulk receive @{CPU_BAUDS[-1]}",
                          f"{share:.1%} of {MCU_HZ // 1_000_000} MHz" if share is not None else "FAILS",
                          f"<= {TARGET_CPU_SHARE:.0%}", None if share is None else share <= TARGET_CPU_SHARE))
    return out


def lines(b: Board32) -> list[str]:
    L = ["", f"Memory on the 32-bit board (MicroPython's qemu port, the F401RE's heap: gc sees {b.heap:,} B; "
             "driver frozen into flash)"]
    if b.error:
        L.append(f"  FAILED: {b.error}")
    if b.footprint:
        parts = ", ".join(f"{n.removeprefix('spwf04.')} {x:,}" for n, x, d in b.footprint if d)
        L.append(f"  driver import footprint: {b.driver_import:,} B ({parts})")
    for label, run in (("TLS scenario", b.tls), ("requests GET + two asyncio TLS sockets", b.compat),
                       ("stock firmware, driver as .mpy files in RAM: TLS scenario", b.stock)):
        if run.ok:
            L.append(f"  {label}: completes; lowest free {run.lowest_free:,} B")
            L.append("    free after gc.collect(): " + ", ".join(f"{a} {c:,}" for a, _, c in run.marks))
        elif run.error:
            L.append(f"  {label}: FAILS: {run.error}")
    if b.smallest_heap:
        L.append(f"  smallest heap the TLS scenario completes in: {b.smallest_heap:,} B (margin "
                 f"{b.heap - b.smallest_heap:,} B; {STEP}-byte steps)")
    if b.cpu is not None:
        L += cpu_lines(b.cpu)
    return L


def cpu_lines(c: Cpu32) -> list[str]:
    L = ["", "CPU on the 32-bit board (qemu -icount shift=0: instructions; bulk receive, plain TCP, 4 KiB readinto)"]
    if c.error:
        return L + [f"  FAILED: {c.error}"]
    spread = ", ".join(f"{x:.1f}" for x in c.spread)
    L.append(f"  {c.per_byte:.1f} instructions per payload byte (slope of the medians; each run: {spread})")
    for baud in CPU_BAUDS:
        L.append(f"  payload at the full line rate of {baud} baud: {c.share(baud):.1%} of a {MCU_HZ // 1_000_000} MHz "
                 "Cortex-M4 (one instruction a cycle)")
    return L
