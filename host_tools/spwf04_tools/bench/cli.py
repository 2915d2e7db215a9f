"""`spwf04 bench`: the driver's benchmarks on the virtual board and the simulator, one table and a JSON file.

Throughput (payload rate / line rate at 115200 and 921600 baud, plain and TLS, both directions, against ST's
Mbed strategy), CPU per payload byte (callgrind), memory (import footprint, TLS scenario peak, the smallest
heap it completes in), .mpy size and round trips from reset to the first TLS payload byte. Writes
results.json and throughput.png to --out (default bench-results/). See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from .. import REPO_ROOT
from ..deploy import DeployError
from ..repl_link import DeviceError
from ..tls_server import ServerError
from ..qemu_board import NO_TREE, micropython_dir
from . import board32
from . import cpu as cpu_bench
from . import memory as mem_bench
from . import report
from . import throughput as tput_bench
from .rig import Rig

log = logging.getLogger(__name__)

PARTS = ("throughput", "cpu", "memory", "size", "board32")


def _sizes(text: str) -> tuple[int, int]:
    try:
        a, b = (int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give two sizes in bytes, N1,N2 (e.g. 65536,196608)") from None
    if not 0 < a < b or a % 4096 or b % 4096:
        raise argparse.ArgumentTypeError(f"{text!r}: need 0 < N1 < N2, both multiples of 4096")
    return a, b


def _odd(text: str) -> int:
    if not text.isdigit() or int(text) % 2 == 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give an odd number of runs (1, 3, 5...), so that the median "
                                         f"is one of them")
    return int(text)


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of bytes") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be positive")
    return n


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=REPO_ROOT / "bench-results",
                   help="directory for results.json and throughput.png (default %(default)s)")
    p.add_argument("--only", action="append", choices=PARTS,
                   help="run only this part (repeatable; default: all)")
    p.add_argument("--size", type=_positive, default=65536,
                   help="bytes per transfer for throughput and the TLS scenario (default %(default)s)")
    p.add_argument("--baud", type=int, action="append", dest="bauds",
                   help="line rate to pace the simulator at (repeatable; default 115200 and 921600)")
    p.add_argument("--cpu-sizes", type=_sizes, default=cpu_bench.SIZES, metavar="N1,N2",
                   help="the two receive sizes for callgrind (default %s)" % ",".join(map(str, cpu_bench.SIZES)))
    p.add_argument("--cpu-repeats", type=_odd, default=3, metavar="K",
                   help="runs per size of the driver's CPU count, median taken (odd; default %(default)s)")
    p.add_argument("--fw", choices=["1.0", "1.1"], default="1.1", help="simulated firmware (default %(default)s)")
    p.add_argument("--no-bisect", action="store_true",
                   help="skip the search for the smallest heap the TLS scenario completes in")
    p.add_argument("--no-chart", action="store_true", help="do not write throughput.png")
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed (default: only report)")
    p.add_argument("--keep", type=Path, help="keep the work directory (PKI, board flash) here")
    p.add_argument("--micropython-dir", type=Path,
                   help="MicroPython tree for the 32-bit board's memory figures (default: $MICROPY_DIR; without "
                        "one that part is skipped and says so)")


def run(args: argparse.Namespace) -> int:
    parts = set(args.only or PARTS)
    bauds = tuple(args.bauds or tput_bench.BAUDS)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    meta: dict = {"date": report.now(), "machine": report.machine(), "fw": args.fw, "size": args.size,
                  "bauds": list(bauds), "cpu_sizes": list(args.cpu_sizes), "parts": sorted(parts)}
    transfers: list[tput_bench.Transfer] = []
    cpu: list[cpu_bench.CpuFigure] = []
    mem = None
    size = None
    failures: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="spwf04-bench-") as tmp:
            work = args.keep or Path(tmp)
            print(f"== setting up: test PKI, simulator (FW {args.fw}), loopback peers, virtual board, deploy",
                  flush=True)
            with Rig(work, fw=args.fw) as rig:
                meta["micropython"] = rig.exec("import sys\nprint('%d.%d.%d' % sys.implementation.version[:3])",
                                               timeout=30).strip()
                if "size" in parts:
                    size = mem_bench.sizes(rig.flash_dir)
                    print(f"== size: driver .mpy {size.total:,} bytes", flush=True)
                if "throughput" in parts:
                    print(f"== throughput: {args.size // 1024} KiB per transfer at "
                          f"{', '.join(map(str, bauds))} baud", flush=True)
                    transfers = tput_bench.run(rig, args.size, bauds, progress=_progress)
                    failures += [f"throughput {t.label}: {t.error}" for t in transfers if t.error]
                if "cpu" in parts:
                    print("== CPU per payload byte (callgrind)", flush=True)
                    for fig in (cpu_bench.driver_receive(rig.flash_dir, args.cpu_sizes, _progress, args.cpu_repeats),
                                cpu_bench.parser_alone(rig.flash_dir, args.cpu_sizes, _progress)):
                        cpu.append(fig)
                        if fig.error:
                            failures.append(f"CPU {fig.name}: {fig.error}")
                if "memory" in parts:
                    print("== memory and round trips", flush=True)
                    mem = mem_bench.measure(rig, args.size, bisect=not args.no_bisect, progress=_progress)
                    if mem.error:
                        failures.append(f"memory: {mem.error}")
    except (DeployError, DeviceError, ServerError, OSError) as exc:
        # the rig could not be set up (or broke): report what was measured so far, and why it stopped
        failures.append(f"bench stopped: {type(exc).__name__}: {exc}")
    b32 = _board32(args, parts, failures)
    tgts = report.targets(transfers, cpu, mem, size) + (board32.targets(b32) if b32 else [])
    text = report.table(meta, transfers, cpu, mem, size, tgts, board32.lines(b32) if b32 else None)
    if b32:
        meta["board32"] = b32.to_json()
    print()
    print(text)
    (out / "results.txt").write_text(text + "\n")
    report.write_json(out / "results.json", meta, transfers, cpu, mem, size, tgts)
    print(f"\nwrote {out / 'results.json'}, {out / 'results.txt'}")
    if transfers and not args.no_chart:
        try:
            report.chart(out / "throughput.png", meta, transfers)
            print(f"wrote {out / 'throughput.png'}")
        except (ValueError, ImportError) as exc:
            failures.append(f"chart: {exc}")
    if failures:
        print("\nbench: some measurements failed:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    missed = [t for t in tgts if t.met is False]
    if args.check and missed:
        print(f"\nbench: {len(missed)} target(s) missed", file=sys.stderr)
        return 1
    return 0


def _board32(args: argparse.Namespace, parts: set[str], failures: list[str]) -> "board32.Board32 | None":
    """The 32-bit board's memory figures, when a MicroPython tree is there to build it from."""
    if "board32" not in parts:
        return None
    tree = micropython_dir(args.micropython_dir)
    if tree is None:
        print(f"== 32-bit board: skipped: {NO_TREE}", flush=True)
        return None
    print("== memory on the 32-bit board (qemu)", flush=True)
    b = board32.measure(tree, args.size, args.fw, bisect=not args.no_bisect, progress=_progress)
    if b.error:
        failures.append(f"32-bit board: {b.error}")
    return b


def _progress(msg: str) -> None:
    print(msg, flush=True)
