"""The bench's outputs: targets, the console table, results.json and the throughput chart."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

from .. import REPO_ROOT, __version__
from .cpu import CpuFigure
from .memory import Memory, Size
from .throughput import Transfer

# Targets of issue 7.
RATIO_TARGET = 0.95  # payload / line rate, both directions, both baud rates, plain and TLS
CPU_TARGET = 20.0  # instructions per payload byte, bulk receive through the driver


@dataclass
class Target:
    name: str
    value: str
    target: str
    met: bool | None  # None: not measured (error or skipped)

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: "not measured"}[self.met]


def machine() -> dict[str, Any]:
    """Where the figures come from (the README shows them with this)."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "host": platform.node(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "tools": __version__,
    }
    if shutil.which("valgrind"):
        info["valgrind"] = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()
    try:
        rev = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain"], capture_output=True,
                               text=True, timeout=10)
        if rev.returncode == 0:
            info["commit"] = rev.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.TimeoutExpired):
        pass
    return info


def targets(transfers: list[Transfer], cpu: list[CpuFigure], mem: Memory | None, size: Size | None) -> list[Target]:
    out = []
    for t in transfers:
        if t.strategy != "driver":
            continue
        out.append(Target(f"throughput {t.security} {t.direction} @{t.baud}",
                          "failed" if t.error else f"{t.ratio:.1%}", f">= {RATIO_TARGET:.0%}",
                          None if t.error else t.ratio >= RATIO_TARGET))
    for f in cpu:
        if f.name == "driver_recv":
            # (two decimals: 20.04 must not read "20.0 ... MISSED")
            out.append(Target("CPU, bulk receive", "failed" if f.error else f"{f.per_byte:.2f} instr/B",
                              f"<= {CPU_TARGET:.0f} instr/B", None if f.error else f.per_byte <= CPU_TARGET))
    if mem is not None:
        sc = mem.scenario
        if sc is None:
            out.append(Target("64-bit: TLS scenario in 60wK", "failed", "completes, margin reported", None))
        else:
            margin = f", margin {mem.margin_kwords}wK" if mem.margin_kwords is not None else ""
            met = sc.ok and (mem.margin_kwords is None or mem.margin_kwords > 0)
            out.append(Target(f"64-bit: TLS scenario in {sc.heap}", ("completes" if sc.ok else "FAILS") + margin,
                              "completes with room to spare", met))
    # (the driver's .mpy size had a target of 24 KiB; it was retired: the driver is frozen or in ROMFS on the board,
    # where bytecode costs no RAM, and the 32-bit board's heap figures are what counts. The size is still reported.)
    return out


# --- console table ------------------------------------------------------------------------------------------


def _pct(t: Transfer | None) -> str:
    if t is None:
        return "-"
    return "failed" if t.error else f"{t.ratio:.1%}"


def _throughput_lines(meta: dict[str, Any], transfers: list[Transfer]) -> list[str]:
    """The throughput table: read_max 4096, read_max 730 and ST's strategy side by side."""
    L: list[str] = []
    L.append("")
    L.append(f"Throughput: {meta['size'] // 1024} KiB each way through the simulator; payload bytes/s on the "
             "board clock / line rate (baud/10)")
    L.append(f"  {'baud':>6}  {'link':5}  {'direction':9}  {'driver':>7}  {'rm=730':>7}  {'ST Mbed':>7}  "
             f"{'x ST':>5}  {'AT cmds/KiB':>13}  {'+WIND/KiB':>11}")
    idx = {(t.strategy, t.security, t.direction, t.baud): t for t in transfers}
    for baud in sorted({t.baud for t in transfers}):
        for sec in ("plain", "tls"):
            for d in ("recv", "send"):
                a, b = idx.get(("driver", sec, d, baud)), idx.get(("mbed", sec, d, baud))
                c = idx.get(("driver730", sec, d, baud))
                if a is None and b is None and c is None:
                    continue
                gain = f"{a.ratio / b.ratio:5.2f}" if a and b and not a.error and not b.error and b.ratio else "    -"
                kib = meta["size"] / 1024
                cmds = "/".join(f"{t.commands_per_kib:.1f}" if t and not t.error else "-" for t in (a, c, b))
                winds = "/".join(f"{t.winds / kib:.1f}" if t and not t.error else "-" for t in (a, c, b))
                L.append(f"  {baud:>6}  {'TLS' if sec == 'tls' else 'plain':5}  "
                         f"{'receive' if d == 'recv' else 'send':9}  {_pct(a):>7}  {_pct(c):>7}  {_pct(b):>7}  "
                         f"{gain:>5}  {cmds:>13}  {winds:>11}")
    failed = [t for t in transfers if t.error]
    for t in failed:
        L.append(f"  FAILED {t.label}: {t.error}")
    L.append("  (driver: read_max 4096; rm=730: the driver at read_max 730, the default on a real module; x ST: "
             "driver/ST Mbed. AT cmds and +WIND per KiB: driver/rm=730/ST Mbed; commands from the simulator's "
             "record, open/close excluded)")
    return L


def table(meta: dict[str, Any], transfers: list[Transfer], cpu: list[CpuFigure], mem: Memory | None,
          size: Size | None, tgts: list[Target], extra: list[str] | None = None) -> str:
    L: list[str] = []
    m = meta["machine"]
    L.append(f"spwf04 benchmarks, {meta['date']} on {m['host']} ({m['cpu']}, {m['cores']} cores, "
             f"{m['os']}); MicroPython {meta.get('micropython', '?')} unix port; simulator FW {meta['fw']}")
    if transfers:
        L += _throughput_lines(meta, transfers)
    if cpu:
        L.append("")
        L.append("CPU: machine instructions per payload byte on this host's unix port (callgrind), "
                 "(I(N2) - I(N1)) / (N2 - N1)")
        for f in cpu:
            if f.error:
                L.append(f"  {f.what}: FAILED: {f.error}")
            else:
                sizes = "/".join(str(r.n // 1024) for r in f.regions)
                L.append(f"  {f.what}: {f.per_byte:.1f} instructions/B (N = {sizes} KiB)")
                if len(f.spread) > 1:
                    L.append(f"    median of {len(f.spread)} runs per size; the runs' own slopes: "
                             + ", ".join(f"{x:.1f}" for x in f.spread))
                if f.profile:
                    top = ", ".join(f"{name} {share:.0%}" for name, share in f.profile[:5])
                    L.append(f"    where: {top}")
    if mem is not None:
        L.append("")
        L.append("Memory on the 64-bit board (unix port at 60wK: pointers count double, bytecode and buffers do not, so "
                 "these say nothing about the F401RE; the 32-bit board's figures do)")
        if mem.error:
            L.append(f"  FAILED: {mem.error}")
        if mem.footprint:
            parts = ", ".join(f"{n.removeprefix('spwf04.')} {b:,}" for n, b, d in mem.footprint if d)
            L.append(f"  driver import footprint: {mem.driver_import:,} B ({parts})")
        sc = mem.scenario
        if sc is not None:
            if sc.ok:
                L.append(f"  TLS scenario at {sc.heap}: completes; peak {sc.peak:,} B of a {sc.heap_bytes:,} B heap "
                         f"({sc.peak / sc.heap_bytes:.0%}) after gc.collect() at {len(sc.marks)} checkpoints")
                steps = ", ".join(f"{a} {b:,}" for a, b, _ in sc.marks)
                L.append(f"    checkpoints: {steps}")
            else:
                L.append(f"  TLS scenario at {sc.heap}: FAILED: {sc.error}")
        if mem.min_heap:
            L.append(f"  smallest heap that completes: {mem.min_heap}; margin {mem.margin_kwords}wK "
                     f"({(mem.margin_kwords or 0) / 60:.0%} of 60wK)")
        if sc is not None and sc.ok and sc.round_trips:
            detail = ", ".join(f"{k} {v}" for k, v in sc.round_trip_commands.items())
            L.append("")
            L.append(f"Round trips from reset to the first TLS payload byte: {sc.round_trips} AT commands ({detail})")
    if size is not None:
        L.append("")
        detail = ", ".join(f"{k.removesuffix('.mpy')} {v:,}" for k, v in sorted(size.files.items(), key=lambda x: -x[1]))
        L.append(f"Size: driver .mpy as deployed: {size.total:,} B ({detail})")
    L += extra or []
    if tgts:
        L.append("")
        L.append("Targets")
        for t in tgts:
            L.append(f"  {t.name:34s} {t.value:28s} target {t.target:30s} {t.verdict}")
    return "\n".join(L)


# --- files --------------------------------------------------------------------------------------------------


def write_json(path: Path, meta: dict[str, Any], transfers: list[Transfer], cpu: list[CpuFigure],
               mem: Memory | None, size: Size | None, tgts: list[Target]) -> None:
    doc = {
        "meta": meta,
        "throughput": [t.to_json() for t in transfers],
        "cpu": [f.to_json() for f in cpu],
        "memory": mem.to_json() if mem else None,
        "size": size.to_json() if size else None,
        "targets": [dict(asdict(t), verdict=t.verdict) for t in tgts],
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")


def chart(path: Path, meta: dict[str, Any], transfers: Iterable[Transfer]) -> None:
    """Payload rate as a share of the line rate, per baud rate and strategy (one panel per direction); each
    bar is labelled with the payload rate in bytes/s."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [t for t in transfers if not t.error]
    if not ok:
        raise ValueError("no throughput figures to plot")
    series = [("driver", "plain", "tab:blue", ""), ("driver", "tls", "tab:blue", "//"),
              ("mbed", "plain", "tab:red", ""), ("mbed", "tls", "tab:red", "//")]
    names = {"driver": "this driver", "mbed": "ST Mbed strategy"}
    bauds = sorted({t.baud for t in ok})
    width = 0.8 / len(series)
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.4), sharey=True)
    for ax, direction in zip(axes, ("recv", "send")):
        for k, (strategy, sec, color, hatch) in enumerate(series):
            xs, ys, rates = [], [], []
            for i, baud in enumerate(bauds):
                t = next((t for t in ok if (t.strategy, t.security, t.direction, t.baud)
                          == (strategy, sec, direction, baud)), None)
                if t is not None:
                    xs.append(i + (k - (len(series) - 1) / 2) * width)
                    ys.append(100 * t.ratio)
                    rates.append(t.payload_rate)
            bars = ax.bar(xs, ys, width, color=color, hatch=hatch, edgecolor="white", alpha=0.85,
                          label=f"{names[strategy]}, {'TLS' if sec == 'tls' else 'plain TCP'}")
            for b, r in zip(bars, rates):
                ax.text(b.get_x() + b.get_width() / 2, b.get_height() + 1, f"{r:,.0f}", ha="center",
                        va="bottom", fontsize=6, rotation=90)
        ax.axhline(100, color="0.4", lw=1, label="line rate (baud/10)")
        ax.axhline(100 * RATIO_TARGET, color="0.4", lw=1, ls=":", label="target 95 %")
        ax.set_xticks(range(len(bauds)), [f"{b:,} baud\n({b / 10:,.0f} B/s line rate)" for b in bauds])
        ax.set_ylim(0, 118)
        ax.set_title("receive" if direction == "recv" else "send")
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].set_ylabel("payload rate, % of the line rate (labels: bytes/s)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    m = meta["machine"]
    fig.suptitle(f"SPWF04SA simulator, {meta['size'] // 1024} KiB per transfer, board clock; {meta['date']}, "
                 f"{m['host']} ({m['cpu']})", fontsize=9)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
