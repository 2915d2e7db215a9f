"""Coverage-guided fuzzing (atheris / libFuzzer) of the device code that reads untrusted bytes.

    python -m spwf04_tools.fuzz --seconds 300              # every target, time split between them
    python -m spwf04_tools.fuzz --seconds 60 --target cert
    python -m spwf04_tools.fuzz --replay tests/fuzz/regressions/parser --target parser

Targets (the same code the board runs, imported from micropython/ through device_path()):

- ``parser``: the streaming AT parser. Any bytes, fed whole and in fragments chosen by the input, with a
  payload armed on every ``AT-S.Reading:`` line: no exception, the same events for every fragmentation,
  the line buffer never grows, and it always resynchronises.
- ``cert``: the compact X.509 loader. Any bytes (DER, or PEM text): only ``CertError``; every field of a
  parsed certificate readable; ``check()`` on both firmware profiles raises only ``CertError``.
- ``driver``: the command engine and a socket read fed arbitrary module output on a fake UART with a fake
  clock: only the documented exceptions (ModuleError, ModuleReset, OSError, CertError).
- ``selftest``: a target with a planted bug, so the tests can prove that a crash is found and reported.

Each target runs in its own process (libFuzzer exits the process on a crash). A crash leaves the input in
``--artifacts`` (default ``build/fuzz/<target>/``) and makes the exit status 1; copy the file into
``tests/fuzz/regressions/<target>/`` and the test suite replays it from then on. Seeds are generated into
the corpus directory on first use (protocol captures, and certificates from ``spwf04_tools.pki``).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from . import REPO_ROOT, device_path

log = logging.getLogger("spwf04_tools.fuzz")

TARGETS = ("parser", "cert", "driver")
ALL_TARGETS = TARGETS + ("selftest",)
REGRESSIONS = REPO_ROOT / "tests" / "fuzz" / "regressions"
DEFAULT_WORK = REPO_ROOT / "build" / "fuzz"


class PlantedBug(Exception):
    """Raised by the selftest target only."""


# ------------------------------------------------------------------------------------------------ targets
def _parser_events(P, chunks, size, arm):
    """Feed chunks to a fresh parser; arm a payload of arm(event) bytes on each Reading line."""
    out: list[tuple] = []
    bufs: list[bytearray] = []
    p = None

    def on(ev):
        if ev.kind == P.PAYLOAD:
            out.append(("payload", ev.number, bytes(bufs[-1])))
            return
        out.append(ev.key())
        if ev.kind == P.INFO and ev.text == "Reading":
            n = arm(ev)
            if n:
                bufs.append(bytearray(n))
                p.expect_payload(bufs[-1], n)

    p = P.Parser(on, size)
    for c in chunks:
        p.feed(c)
        assert len(p._buf) == size, "line buffer grew"
        assert 0 <= p.held <= size, "partial line beyond the buffer"
        assert p.payload_left >= 0
    return out, p


def parser_target(data: bytes) -> None:
    from spwf04 import parser as P

    if len(data) < 2:
        return
    size = 16 + data[0] * 4  # 16..1036: small buffers reach the over-long paths quickly
    step = 1 + data[1] % 23
    body = data[2:]

    def arm(ev):  # payload size from the Reading line, as the driver would have asked for it
        try:
            # (clamped: a driver never arms a negative count, and bytearray(-n) would fail here, not in the parser)
            return max(0, min(int(ev.params[0]), 4096)) if ev.params else 0
        except ValueError:
            return len(ev.params[0]) % 7

    whole, p1 = _parser_events(P, [body], size, arm)
    chunks = []
    i = k = 0
    while i < len(body):  # irregular cuts derived from the input
        n = 1 + (step * (k + 1) + (body[i] if i < len(body) else 0)) % (2 * step + 1)
        chunks.append(body[i : i + n])
        i += n
        k += 1
    frag, p2 = _parser_events(P, chunks, size, arm)
    assert whole == frag, "fragmentation changed the events"
    bytewise, _ = _parser_events(P, [body[j : j + 1] for j in range(len(body))], size, arm) if len(body) < 512 \
        else (whole, None)
    assert whole == bytewise, "byte-at-a-time feeding changed the events"
    if not p1.payload_left:  # in line mode a final line is always recognised after a line break
        got = []
        p1.on_event = got.append
        p1.feed(b"\r\nAT-S.OK\r\n")
        assert got and got[-1].kind == P.OK, "no resynchronisation"
    for e in whole:
        if e[0] != "payload":
            repr(e)


def cert_target(data: bytes) -> None:
    from spwf04 import cert as C

    for source in (data, b"-----BEGIN CERTIFICATE-----\n" + data + b"\n-----END CERTIFICATE-----\n"):
        try:
            certs = C.parse(source)
        except C.CertError as e:
            assert str(e)
            continue
        for c in certs:
            for name in ("subject_cn", "issuer_cn", "not_before", "not_after", "is_ca", "path_len", "ski",
                         "aki", "key_id", "auth", "key_type", "key_bits", "curve", "sig_alg", "san",
                         "crl_urls", "version", "der", "der_len", "pem", "stored", "subject_der",
                         "issuer_der", "self_issued"):
                getattr(c, name)
            repr(c)
            # the key id goes to the module as TLSCERT=auth: it must never be empty
            assert c.auth and len(C.hex_id(c.auth)) == 2 * len(c.auth), "empty key identifier"
            for fw in ("1.0", "1.1"):
                for now in (None, 1700000000, 1483228800, 4102444799):
                    try:
                        C.check(c, now, fw, "ca")
                    except C.CertError as e:
                        assert e.code and str(e)


class _Clock:
    """Fake ticks: every look at the clock advances it, so timeouts end at once."""

    def __init__(self) -> None:
        self.t = 0

    def ticks(self) -> int:
        self.t += 7
        return self.t

    def sleep(self, ms: int) -> None:
        self.t += ms


class _FuzzUart:
    """A UART whose module side is the fuzz input: each read hands out the next slice."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data = data
        self.pos = 0
        self.step = step
        self.sent = bytearray()

    def any(self) -> int:
        return min(self.step, len(self.data) - self.pos)

    def readline(self):
        if self.pos >= len(self.data):
            return None
        j = self.data.find(b"\n", self.pos, self.pos + self.step)
        end = j + 1 if j >= 0 else min(self.pos + self.step, len(self.data))
        out = self.data[self.pos : end]
        self.pos = end
        return out

    def readinto(self, buf):
        n = min(len(buf), self.any())
        if not n:
            return None
        buf[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n

    def write(self, b) -> int:
        self.sent += bytes(b)
        return len(b)


def driver_target(data: bytes) -> None:
    import errno

    import spwf04
    from spwf04 import module as M

    if len(data) < 2:
        return
    clock = _Clock()
    M.ticks_ms, M.sleep_ms = clock.ticks, clock.sleep
    M.ticks_diff = lambda a, b: a - b
    from spwf04 import socket as S

    S.ticks_ms = clock.ticks
    allowed = (spwf04.ModuleError, spwf04.ModuleReset, spwf04.CertError, OSError)
    m = spwf04.Module(_FuzzUart(data[2:], 1 + data[0] % 64), timeout=200)
    m.probe_ms = 50
    m.boot_ms = 100
    m.warn = lambda msg: None
    ops = data[1]
    sock = None
    for step in range(4):
        try:
            op = (ops >> (2 * step)) & 3
            if op == 0:
                m.var("fw_version")
            elif op == 1:
                m.cmd("AT+S.TLSCERT=content,1")
            elif op == 2:
                if sock is None:
                    sock = m.socket()
                    sock.connect(("127.0.0.1", 7))
                sock.settimeout(0.05)
                sock.read(100)
            else:
                if sock is None:
                    sock = m.socket()
                    sock.connect(("127.0.0.1", 7))
                sock.write(b"x" * 40)
                sock.close()
                sock = None
        except allowed as e:
            if isinstance(e, OSError) and not isinstance(e, (spwf04.ModuleError, spwf04.ModuleReset)):
                assert e.args and isinstance(e.args[0], int) and e.args[0] in errno.errorcode, repr(e)
            str(e)
        try:  # keep exercising the engine on the rest of the input: the way back from a reset or a silent module
            m.check()
        except allowed:
            try:
                m.init(reset=False)  # (its link state is cleared before it talks: even if this fails, the next op runs)
            except allowed:
                pass
            sock = None


def selftest_target(data: bytes) -> None:
    if len(data) >= 2 and data[0] == 0x42 and data[1] == 0x21:
        raise PlantedBug("planted bug reached")


FUNCTIONS: dict[str, Callable[[bytes], None]] = {
    "parser": parser_target, "cert": cert_target, "driver": driver_target, "selftest": selftest_target,
}


# ------------------------------------------------------------------------------------------------ seeds
def seed_inputs(target: str) -> list[bytes]:
    """Starting points: real protocol captures and real certificates."""
    if target == "parser":
        caps = [
            b"+WIND:1:Poweron:171117-0328fe3-SPWF04S\r\n+WIND:0:Console active\r\n+WIND:32:WiFi Hardware Started\r\n",
            b"AT+S.SCFG=console_echo,0\r\nAT-S.OK\r\nAT-S.Var:fw_version=1.1.0\r\nAT-S.OK\r\n",
            b"AT-S.Reading:12:12\r\n\r\nAT-S.OK\r\n+W\nAT-S.OK\r\n",
            b"+WIND:55:Pending Data::0:730:1460\r\nAT-S.Query:1460\r\nAT-S.OK\r\n",
            b"AT-S.Certificate Error:3\r\nAT-S.ERROR:74:Failed to open socket\r\n",
            b"1:\t BSS 98:DE:D0:EA:4C:62 CHAN: 06 RSSI: -45 SSID: 'x' CAPS: 0431 WPA2\r\nAT-S.OK\r\n",
            b"\x80\xff\x00noiseAT-S.OK\r\n" + b"X" * 900 + b"\r\n",
        ]
        return [bytes([40, 5]) + c for c in caps]
    if target == "driver":
        return [bytes([3, 0b11100100]) + b"AT-S.Var:fw_version=1.1.0\r\nAT-S.OK\r\n"
                b"AT-S.On:127.0.0.1:0\r\nAT-S.OK\r\n+WIND:55:Pending Data::0:5:5\r\n"
                b"AT-S.Reading:5:5\r\nhelloAT-S.OK\r\nAT-S.OK\r\n+WIND:1:Poweron:x\r\n"]
    if target == "cert":
        from .pki import PKIOptions, build_pki

        out = []
        with tempfile.TemporaryDirectory(prefix="spwf04-fuzz-seed-") as d:
            for i, opts in enumerate([PKIOptions(), PKIOptions(ca_key="ec256", server_key="ec256", ca_ski=False)]):
                p = build_pki(Path(d) / str(i), opts)
                out += [p.ca.der.read_bytes(), p.server.der.read_bytes(), p.ca.pem.read_bytes()]
        return out
    return [b"A!"]


def _write_seeds(target: str, corpus: Path) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    if any(corpus.iterdir()):
        return
    for i, s in enumerate(seed_inputs(target)):
        (corpus / f"seed-{i}").write_bytes(s)
    reg = REGRESSIONS / target
    if reg.is_dir():
        for f in reg.iterdir():
            if f.is_file():
                shutil.copy(f, corpus / f"regression-{f.name}")


# ------------------------------------------------------------------------------------------------ running
def _child(target: str, seconds: int, corpus: Path, artifacts: Path, extra: list[str]) -> None:
    """In the fuzzing process: instrument the device modules, then hand over to libFuzzer."""
    import atheris

    device_path()
    with atheris.instrument_imports():
        import spwf04  # noqa: F401
        from spwf04 import cert, errors, module, parser, socket  # noqa: F401
    fn = FUNCTIONS[target]
    args = [sys.argv[0], f"-max_total_time={seconds}", f"-artifact_prefix={artifacts}/", "-rss_limit_mb=1024",
            "-timeout=10", "-print_final_stats=1", *extra, str(corpus)]
    atheris.Setup(args, fn)
    atheris.Fuzz()


def replay(target: str, paths: list[Path]) -> list[tuple[Path, BaseException]]:
    """Run the target over files (no fuzzing); returns the failures."""
    device_path()
    fn = FUNCTIONS[target]
    fails = []
    for p in paths:
        try:
            fn(p.read_bytes())
        except BaseException as e:  # noqa: BLE001 - a fuzz target may fail any way; that is the report
            fails.append((p, e))
    return fails


def run_target(target: str, seconds: int, work: Path, extra: list[str] | None = None) -> tuple[int, list[Path]]:
    """Fuzz one target in a child process. Returns (exit status, new crash files)."""
    corpus = work / target / "corpus"
    artifacts = work / target / "artifacts"
    _write_seeds(target, corpus)
    artifacts.mkdir(parents=True, exist_ok=True)
    before = set(artifacts.iterdir())
    cmd = [sys.executable, "-m", "spwf04_tools.fuzz", "--child", target, "--seconds", str(seconds),
           "--work", str(work), "--", *(extra or [])]
    log.info("fuzzing %s for %d s (corpus %s)", target, seconds, corpus)
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    crashes = sorted(set(artifacts.iterdir()) - before)
    stats = [l for l in proc.stderr.splitlines() if l.startswith(("stat::", "Done"))]
    for line in stats:
        log.info("%s: %s", target, line)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.splitlines()[-25:])
        log.error("%s: fuzzer exit status %d after %.0f s\n%s", target, proc.returncode, time.monotonic() - t0, tail)
    return proc.returncode, crashes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m spwf04_tools.fuzz", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=300, help="total fuzzing time, split between the targets")
    ap.add_argument("--target", action="append", choices=ALL_TARGETS,
                    help="target to fuzz (repeatable; default: %s)" % ", ".join(TARGETS))
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK, help="corpus and crash artifacts (default build/fuzz)")
    ap.add_argument("--replay", type=Path, help="run the target over the files in this directory instead")
    ap.add_argument("--child", choices=ALL_TARGETS, help=argparse.SUPPRESS)
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("libfuzzer", nargs="*", help="extra libFuzzer options after --, e.g. -- -jobs=2")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="fuzz: %(message)s")
    if args.child:
        _child(args.child, args.seconds, args.work / args.child / "corpus", args.work / args.child / "artifacts",
               args.libfuzzer)
        return 0
    targets = args.target or list(TARGETS)
    if args.replay:
        files = sorted(p for p in args.replay.rglob("*") if p.is_file())
        bad = 0
        for t in targets:
            for p, e in replay(t, files):
                bad += 1
                log.error("%s: %s: %s: %s", t, p, type(e).__name__, e)
        log.info("replayed %d file(s) on %s: %d failure(s)", len(files), ", ".join(targets), bad)
        return 1 if bad else 0
    try:
        import atheris  # noqa: F401
    except ImportError:
        log.error("atheris is not installed: pip install -e '.[fuzz]' (make setup does)")
        return 2
    per = max(1, args.seconds // len(targets))
    status = 0
    for t in targets:
        rc, crashes = run_target(t, per, args.work, args.libfuzzer)
        for c in crashes:
            log.error("%s: crash input saved as %s; reproduce with --replay %s --target %s, then copy it into "
                      "%s/ so the test suite keeps replaying it", t, c, c.parent, t, REGRESSIONS / t)
        if rc != 0:
            status = 1
    log.info("fuzzing %s", "found problems" if status else "done: no crash")
    return status


if __name__ == "__main__":
    sys.exit(main())
