"""The module: one engine thread owns all module state and processes events in order.

Events: bytes from the host, pin levels, data and closes from real sockets, completions of blocking work
(connect, TLS handshake, HTTP) done in worker threads, timers (boot and join indications), API calls.
Module output is a list of units (whole lines or raw data) passed through fault injection to the transport.

A reset (pin, AT+S.RESET, fault, power cycle) bumps `gen`: timers and worker results of an older
generation are discarded, real connections are aborted, RAM state is rebuilt from the flash.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .. import at_tables as at
from .config import SimConfig
from .faults import FaultInjector
from .files import RamFs
from .framing import InputEvent, InputFramer, Unit, decode_line, line_unit, split_params
from .profiles import (CONFIG_FAILURE_CODE, COPYRIGHT_PRODUCT, FACTORY_RESET_CODE, WATCHDOG_SECONDS, Profile,
                       profile)
from .state import FlashContents, FlashStore
from .tlsstore import TlsStore
from .variables import PSK_VAR, factory_values

log = logging.getLogger("spwf04_tools.sim")

UNSET_CLOCK_EPOCH = 946684800  # 2000-01-01 00:00:00 UTC: the module clock before AT+S.TIME (choice)

# reset_reason (STS) values: the simulator's choice
RESET_POWER_ON = 0
RESET_PIN = 1
RESET_SOFTWARE = 2
RESET_FAULT = 3

# wifi_state values [inferred] (spec section 8)
WS_POWER_UP = 0
WS_RADIO_OFF = 2
WS_IDLE = 3
WS_SCANNING = 4
WS_SCAN_DONE = 5
WS_JOINING = 6
WS_JOINED = 7
WS_READY = 10

Output = Callable[[list[tuple[bytes, float]]], None]

_PSK_LINE_RE = re.compile(r"^(AT\+S\.SCFG=\s*wifi_wpa_psk_text\s*,).*$", re.IGNORECASE | re.DOTALL)


def redact_command(line: str) -> str:
    """A command line safe for logs and records: the Wi-Fi passphrase replaced."""
    return _PSK_LINE_RE.sub(lambda m: m.group(1) + "<redacted>", line)


@dataclass(frozen=True)
class CommandRecord:
    """One command as the module received it (passphrase redacted)."""

    line: str
    payload_len: int | None
    t: float  # time.monotonic() when the command line (or its payload) was complete


@dataclass
class Cmd:
    name: str  # upper case, e.g. SOCKON
    params: list[str] = field(repr=False)  # may hold the passphrase: never in a repr
    raw_params: str | None = field(repr=False)  # text after '=' (None: no '=')
    line: str = ""  # redacted full line
    payload: bytes | None = field(default=None, repr=False)


class Async:
    """Returned by a handler whose work blocks: the module stays busy until `done` is called."""

    def __init__(self) -> None:
        self.phase: str | None = None


@dataclass
class Command:
    """A command's handler and what the engine does before calling it.

    min_args / max_args: the parameter counts the engine checks before the handler runs (after any payload
    was read): fewer than min_args answers error 2 (missing arguments), more than max_args error 6 (too many
    arguments; None: no limit). Checks that depend on a parameter's content stay in the handler."""

    handler: Callable[["Engine", Cmd], Async | None]
    payload_len: Callable[[list[str]], int | None] | None = None
    help: str = ""
    min_args: int = 0
    max_args: int | None = None

    def arg_count_error(self, count: int) -> int | None:
        """The error code for a command line with `count` parameters, None when the count is acceptable."""
        if count < self.min_args:
            return at.ERR_MISSING_ARGS
        if self.max_args is not None and count > self.max_args:
            return at.ERR_TOO_MANY_ARGS
        return None


@dataclass
class _Timer:
    when: float
    seq: int
    gen: int
    fn: Callable[[], None]

    def __lt__(self, other: "_Timer") -> bool:
        return (self.when, self.seq) < (other.when, other.seq)


class Engine:
    def __init__(self, config: SimConfig, output: Output, discard: Callable[[], None]) -> None:
        from .commands import build_registry  # late: command modules import the engine's types

        self.config = config
        self.profile: Profile = profile(config.fw)
        self._output = output
        self._discard = discard
        self.lock = threading.RLock()
        self._q: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._timers: list[_Timer] = []
        self._seq = itertools.count()
        self._thread = threading.Thread(target=self._run, name="sim-engine", daemon=True)
        self._stopping = False
        self.flash = FlashStore(config.state_file)
        self.faults = FaultInjector(config.faults)
        self.registry: dict[str, Command] = build_registry()
        self.commands: list[CommandRecord] = []
        self.gen = 0
        self.powered = False
        self.reset_level = 1
        self.wakeup_level = 1
        self.network_available = True
        self.boot_count = 0
        self.tls_sessions: list[tuple[str, str | None, str | None]] = []  # (peer, version, suite) per TLS open
        self.rx_dropped = 0  # received bytes lost to full socket buffers since start (rx_overflow="drop")
        self.tls_failures: list[str] = []  # why TLS opens failed without a certificate error (no common suite)
        self._ram_reset()

    # --- RAM state --------------------------------------------------------------------------------------

    def _ram_reset(self) -> None:
        b = self.config.behaviour
        self.factory = factory_values(self.config.mac_address, b.echo_default, self.profile.verbose_default,
                                      b.wifi_mode_default)
        self.cfg: dict[str, Any] = dict(self.factory)
        self.console_ready = False
        self.radio = "off"  # off | starting | on | stopping
        self.link = "down"  # down | joining | up
        self.wifi_state = WS_POWER_UP
        self.joined_ap = None
        self.ip: str | None = None
        self.ip6: str | None = None  # after the IPv6 +WIND:24 ("" when that line is off)
        self.join_id = 0
        self.join_attempt = 0
        self.sockets: dict[int, Any] = {}  # id -> sockets.SockEntry
        self.tls = TlsStore()
        self.fs = RamFs()
        self.clock_base: tuple[int, float] | None = None
        self.boot_time = time.monotonic()
        self.reset_reason = RESET_POWER_ON
        self.framer = InputFramer(self.config.behaviour.max_line,
                                  self._char_echo if self.config.behaviour.char_echo else None)
        self.busy = False
        self._pending_cmd: tuple[str, Cmd, Command] | None = None
        self._collect: list[Unit] | None = None
        self._deferred_winds: list[tuple[int, str]] = []
        self.min_heap = self.profile.base_heap
        self.scanning = False
        self.http_busy = False

    # --- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        self.call(lambda: self._boot(RESET_POWER_ON))

    def stop(self, timeout: float = 3.0) -> None:
        if not self._thread.is_alive():
            return
        self._q.put(("stop",))
        self._thread.join(timeout)

    def post(self, *event: Any) -> None:
        self._q.put(event)

    def call(self, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Run fn in the engine thread and return its result (API calls that change module state)."""
        if threading.current_thread() is self._thread:
            return fn()
        if not self._thread.is_alive():
            raise RuntimeError("the simulator is not running (not started yet, or stopped)")
        box: dict[str, Any] = {}
        done = threading.Event()
        self._q.put(("call", fn, box, done))
        if not done.wait(timeout):
            raise TimeoutError(f"simulator engine did not answer within {timeout} s")
        if "error" in box:
            raise box["error"]
        return box.get("result")

    def _run(self) -> None:
        while True:
            timeout = 1.0
            if self._timers:
                timeout = max(0.0, min(timeout, self._timers[0].when - time.monotonic()))
            try:
                event = self._q.get(timeout=timeout)
            except queue.Empty:
                event = None
            with self.lock:
                if event is not None:
                    if event[0] == "stop":
                        self._shutdown()
                        return
                    try:
                        self._handle(event)
                    except Exception:  # a simulator bug must not kill the module thread
                        log.exception("simulator: error while handling %s", event[0])
                self._run_timers()
                try:
                    self._process_input()
                except Exception:
                    log.exception("simulator: error while processing input")

    def _shutdown(self) -> None:
        self._stopping = True
        self.gen += 1
        self._drop_sockets(graceful=False)

    def _handle(self, event: tuple[Any, ...]) -> None:
        kind = event[0]
        if kind == "rx":
            self._on_rx(event[1])
        elif kind == "pin":
            self._on_pin(event[1], event[2])
        elif kind == "call":
            _, fn, box, done = event
            try:
                box["result"] = fn()
            except BaseException as exc:  # handed back to the caller
                box["error"] = exc
            finally:
                done.set()
        elif kind == "async":
            _, gen, op, result = event
            if gen != self.gen:
                op.discard(result)
            else:
                self._finish_async(op, result)
        elif kind == "sock":
            _, gen, fn = event
            if gen == self.gen:
                fn()

    def _run_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0].when <= now:
            t = heapq.heappop(self._timers)
            if t.gen == self.gen:
                try:
                    t.fn()
                except Exception:
                    log.exception("simulator: timer failed")

    def schedule(self, delay: float, fn: Callable[[], None]) -> None:
        """Run fn in the engine thread after delay, unless the module resets before."""
        heapq.heappush(self._timers, _Timer(time.monotonic() + delay, next(self._seq), self.gen, fn))

    def post_socket_event(self, gen: int, fn: Callable[[], None]) -> None:
        self._q.put(("sock", gen, fn))

    # --- pins and resets --------------------------------------------------------------------------------

    def _on_pin(self, name: str, level: int) -> None:
        if name == "WAKEUP":
            self.wakeup_level = level  # matters only with sleep/standby, which are not simulated
            return
        old, self.reset_level = self.reset_level, level
        if level == 0 and old == 1:
            log.info("RESET pin low: module held in reset")
            self.hold_reset(discard_output=True)
        elif level == 1 and old == 0:
            log.info("RESET pin released: module boots")
            self._boot(RESET_PIN)

    def hold_reset(self, discard_output: bool) -> None:
        self.gen += 1
        self._drop_sockets(graceful=False)
        self.powered = False
        self.console_ready = False
        self.busy = False
        self.framer.clear()
        self._timers.clear()
        if discard_output:
            self._discard()

    def reset(self, reason: int, discard_output: bool = False) -> None:
        """Reboot now (AT+S.RESET, fault, API): everything in RAM is lost."""
        self.hold_reset(discard_output)
        if self.reset_level == 1:
            self._boot(reason)

    def _boot(self, reason: int) -> None:
        self.gen += 1
        self._drop_sockets(graceful=False)
        self._ram_reset()
        self.boot_count += 1
        self.reset_reason = reason
        self.powered = True
        flash = self.flash.load()
        if flash.config is not None:
            self.cfg.update(flash.config)
        if self.config.behaviour.tls_store_persistent and flash.tls:
            self.tls = TlsStore.from_flash(flash.tls)
        lines: list[tuple[int, tuple[Any, ...]]] = []
        if flash.corrupt:
            lines.append((at.WIND_CONFIG_FAILURE, (CONFIG_FAILURE_CODE,)))
        if self.config.behaviour.wind2_on_reset and reason != RESET_POWER_ON:
            lines.append((at.WIND_RESET, ()))
        first = () if flash.booted else self.profile.first_boot_winds
        for n in self.profile.boot_winds:
            if n == at.WIND_POWERON:
                lines.append((n, (self.profile.poweron,)))
            elif n == at.WIND_COPYRIGHT:
                lines.append((n, (COPYRIGHT_PRODUCT,)))
            elif n == at.WIND_FACTORY_RESET:
                if flash.factory_reset_pending or n in first:
                    lines.append((n, (FACTORY_RESET_CODE,)))
            elif n == at.WIND_CONFIG_UPDATED:
                if n in first:
                    lines.append((n, ()))
            elif n == at.WIND_WATCHDOG_RUNNING:
                lines.append((n, (WATCHDOG_SECONDS,)))
            else:
                lines.append((n, ()))
        if flash.factory_reset_pending or flash.corrupt or not flash.booted:
            flash.factory_reset_pending = False
            if flash.corrupt:
                flash = FlashContents()
            flash.booted = True
            self.flash.save(flash)
        step = self.config.timing("boot_step")
        for i, (n, params) in enumerate(lines):
            delay = step * (i + 1)
            if n == at.WIND_HW_STARTED:
                delay += self.config.timing("radio_start")
                self.radio = "starting"
            self.schedule(delay, lambda n=n, params=params: self._boot_wind(n, params))

    def _boot_wind(self, n: int, params: tuple[Any, ...]) -> None:
        self.wind(n, *params)
        if n == at.WIND_CONSOLE_ACTIVE:
            self.console_ready = True
            self.framer.clear()  # bytes that arrived before the console was up are lost
        elif n == at.WIND_HW_STARTED:
            from .commands import wifi
            wifi.radio_started(self)
            if self.config.behaviour.startup_wifi_up_blank:
                self.emit([line_unit("+WIND:24:WiFi Up::", "wind", self.leading_crlf)])

    def _drop_sockets(self, graceful: bool) -> None:
        for entry in list(self.sockets.values()):
            entry.net.close(graceful=graceful)
        self.sockets.clear()

    # --- input ---------------------------------------------------------------------------------------------

    def _on_rx(self, data: bytes) -> None:
        if not self.powered or not self.console_ready:
            log.debug("module not listening (reset or booting): %d bytes lost", len(data))
            return
        data = self.faults.noise(data, "in")
        self.framer.feed(data)

    def _process_input(self) -> None:
        while self.powered and self.console_ready and not self.busy and not self._stopping:
            ev = self.framer.next_event()
            if ev is None:
                return
            if ev.kind == "line":
                self._on_line(ev)
            else:
                self._on_payload(ev.data)

    def _on_line(self, ev: InputEvent) -> None:
        text = decode_line(ev.data)
        if not text.strip() and not ev.overflow:
            return  # a bare CR: nothing (choice)
        if self.cfg["console_echo"]:
            if self.config.behaviour.char_echo:
                self.emit([Unit("echo", b"\r\n")])  # the characters were echoed as they came
            else:
                self.emit([line_unit(ev.data, "echo", self.leading_crlf)])
        safe = redact_command(text)
        if ev.overflow:
            log.info("command line longer than %d bytes: %s...", self.config.behaviour.max_line, safe[:40])
            self._record(safe, None)
            self.error(at.ERR_ARG_TOO_LARGE)
            return
        parsed = _parse_command(text)
        if parsed is None:
            self._record(safe, None)
            self.error(at.ERR_COMMAND_NOT_FOUND)
            return
        name, raw = parsed
        cmd = Cmd(name, split_params(raw) if raw is not None else [], raw, safe)
        spec = self.registry.get(name)
        if spec is not None and spec.payload_len is not None:
            n = spec.payload_len(cmd.params)
            if n is not None and n > 0:
                self._pending_cmd = (safe, cmd, spec)
                self.framer.expect_payload(n)
                return
            if n == 0:
                cmd.payload = b""
        self._dispatch(cmd, spec)

    def _char_echo(self, data: bytes) -> None:
        if self.cfg["console_echo"]:
            self.emit([Unit("echo", data)])

    def _on_payload(self, data: bytes) -> None:
        if self._pending_cmd is None:
            return
        _, cmd, spec = self._pending_cmd
        self._pending_cmd = None
        cmd.payload = data
        self._dispatch(cmd, spec)

    def _record(self, line: str, payload_len: int | None) -> None:
        self.commands.append(CommandRecord(line, payload_len, time.monotonic()))
        if len(self.commands) > 20000:
            del self.commands[:10000]

    def _dispatch(self, cmd: Cmd, spec: Command | None) -> None:
        self._record(cmd.line, len(cmd.payload) if cmd.payload is not None and spec and spec.payload_len else None)
        log.debug("command %s", cmd.line)
        phase = self.faults.reset_phase_for(cmd.line)
        if phase == "before":
            log.info("fault injection: module reset on %s (no response)", cmd.line)
            self.reset(RESET_FAULT)
            return
        delay = self.faults.command_delay(cmd.line) + self.config.timing("command_latency")
        if delay > 0:
            self.busy = True
            gen = self.gen
            self.schedule(delay, lambda: self._execute(cmd, spec, phase) if gen == self.gen else None)
            return
        self._execute(cmd, spec, phase)

    def _execute(self, cmd: Cmd, spec: Command | None, phase: str | None) -> None:
        self.busy = False
        self._collect = []
        result: Async | None = None
        try:
            if spec is None:
                self.error(at.ERR_COMMAND_NOT_FOUND)
            elif (code := spec.arg_count_error(len(cmd.params))) is not None:
                self.error(code)
            else:
                result = spec.handler(self, cmd)
        except Exception:
            log.exception("simulator: command %s failed", cmd.line)
            self.error(at.ERR_INVALID_ARGS)
            result = None
        units, self._collect = self._collect, None
        if isinstance(result, Async):
            self.busy = True
            result.phase = phase
            if units:
                self._emit_now(units)
            return
        self._finish(units, phase)

    def _finish(self, units: list[Unit], phase: str | None) -> None:
        if phase == "mid_response":
            data = b"".join(u.data for u in units)
            half = data[: len(data) // 2]
            if half:
                self._emit_now([Unit("data", half)])
            log.info("fault injection: module reset in the middle of a response")
            self.reset(RESET_FAULT)
            return
        if units:
            self._emit_now(units)
        if phase == "after":
            log.info("fault injection: module reset after a response")
            self.reset(RESET_FAULT)

    def later(self, delay: float, fn: Callable[[], None]) -> Async:
        """Finish the current command after delay (a handler returns this): the module is busy meanwhile."""
        handle = Async()

        def fire() -> None:
            self._collect = []
            try:
                fn()
            except Exception:
                log.exception("simulator: delayed completion failed")
                self.error(at.ERR_INVALID_ARGS)
            units, self._collect = self._collect, None
            self.busy = False
            self._finish(units, handle.phase)

        self.schedule(delay, fire)
        return handle

    # --- blocking work in worker threads ------------------------------------------------------------------

    def run_async(self, op: "AsyncOp") -> Async:
        gen = self.gen

        def worker() -> None:
            try:
                result = op.work(lambda: gen != self.gen or self._stopping)
            except Exception as exc:  # noqa: BLE001 - handed to the engine thread
                result = exc
            self._q.put(("async", gen, op, result))

        threading.Thread(target=worker, name=f"sim-{op.name}", daemon=True).start()
        op.async_handle = Async()
        return op.async_handle

    def _finish_async(self, op: "AsyncOp", result: Any) -> None:
        self._collect = []
        try:
            op.done(result)
        except Exception:
            log.exception("simulator: completion of %s failed", op.name)
            self.error(at.ERR_INVALID_ARGS)
        units, self._collect = self._collect, None
        self.busy = False
        self._finish(units, op.async_handle.phase if op.async_handle else None)

    # --- output --------------------------------------------------------------------------------------------

    @property
    def leading_crlf(self) -> bool:
        return self.config.behaviour.leading_crlf

    def emit(self, units: list[Unit]) -> None:
        if self._collect is not None:
            self._collect.extend(units)
        else:
            self._emit_now(units)

    def _emit_now(self, units: list[Unit]) -> None:
        if not self.powered:
            return
        self._output(self.faults.transform(units))

    def reply(self, text: str | bytes, sockr: bool = False) -> None:
        self.emit([line_unit(text, "line", self.leading_crlf, sockr)])

    def data(self, data: bytes, sockr: bool = False) -> None:
        self.emit([Unit("data", data, sockr)])

    def ok(self, sockr: bool = False) -> None:
        if self.cfg["console_verbose"] in self.config.behaviour.verbose_ok_levels:
            self.reply(f"AT-S.OK:{self.free_heap}:{self.wifi_state}", sockr)
        else:
            self.reply("AT-S.OK", sockr)

    def error(self, code: int) -> None:
        errs = self.cfg["console_errs"]
        if errs == 0:
            self.reply("AT-S.ERROR")
        elif errs == 1:
            self.reply(f"AT-S.ERROR:{code}")
        else:
            self.reply(at.error_line(code, self.config.fw))

    def wind(self, n: int, *params: Any) -> None:
        text = at.wind_line(n, *params)
        if self.wind_masked(n):
            if self.config.behaviour.masked_winds == "defer":
                self._deferred_winds.append((n, text))
            return
        self.emit([line_unit(text, "wind", self.leading_crlf)])

    def wind_masked(self, n: int) -> bool:
        var = ("console_wind_off_low", "console_wind_off_medium", "console_wind_off_high")[min(n // 32, 2)]
        return bool(self.cfg[var] >> (n % 32) & 1) if n < 96 else False

    def release_deferred_winds(self) -> None:
        keep: list[tuple[int, str]] = []
        out: list[Unit] = []
        for n, text in self._deferred_winds:
            if self.wind_masked(n):
                keep.append((n, text))
            else:
                out.append(line_unit(text, "wind", self.leading_crlf))
        self._deferred_winds = keep
        if out:
            self.emit(out)

    # --- module facts --------------------------------------------------------------------------------------

    @property
    def free_heap(self) -> int:
        tls = sum(1 for s in self.sockets.values() if s.tls)
        heap = self.profile.base_heap - 2400 * len(self.sockets) - 26000 * tls - self.fs.used // 4
        self.min_heap = min(self.min_heap, heap)
        return heap

    def clock_epoch(self) -> int:
        now = time.monotonic()
        if self.clock_base is None:
            return UNSET_CLOCK_EPOCH + int(now - self.boot_time)
        epoch, at_time = self.clock_base
        return epoch + int(now - at_time)

    def save_flash(self, config: bool = False, tls: bool = False, factory: bool = False) -> None:
        contents = self.flash.load()
        if contents.corrupt:
            contents = FlashContents()
        if config:
            contents.config = dict(self.cfg)
        if factory:
            contents.config = None
            contents.factory_reset_pending = True
        if tls and self.config.behaviour.tls_store_persistent:
            contents.tls = self.tls.to_flash()
        self.flash.save(contents)

    def psk_display(self) -> str:
        if self.config.behaviour.gcfg_shows_psk:
            return str(self.cfg[PSK_VAR])
        return "********"


class AsyncOp:
    """Blocking work for a worker thread: `work(cancelled)` there, then `done(result)` in the engine."""

    name = "op"
    async_handle: Async | None = None

    def work(self, cancelled: Callable[[], bool]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def done(self, result: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def discard(self, result: Any) -> None:
        """The module was reset while this worked: release what it made (e.g. close a connection)."""


_ALIASES = {"AT&V": ("GCFG", None), "AT&W": ("WCFG", None), "AT&F": ("FCFG", None)}


def _parse_command(text: str) -> tuple[str, str | None] | None:
    t = text.strip(" ")
    up = t.upper()
    if up == "AT":
        return "AT", None
    if up in _ALIASES:
        return _ALIASES[up]
    if up.startswith("AT+S.") and len(t) > 5:
        name, sep, params = t[5:].partition("=")
        return name.strip().upper(), (params if sep else None)
    return None
