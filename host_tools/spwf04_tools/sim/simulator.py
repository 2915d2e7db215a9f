"""The simulator's Python API: start/stop on TCP or a pty, control (pins, resets, network), state inspection."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, fields
from types import TracebackType
from typing import Any, Callable

from .bytelog import ByteLog
from .config import Faults, SimConfig, normalise_fw
from .engine import RESET_PIN, RESET_POWER_ON, CommandRecord, Engine
from .faults import FaultInjector
from .framing import line_unit
from .profiles import profile
from .state import FlashContents
from .transport import UartTransport
from .transport_pty import PtyTransport
from .transport_tcp import TcpTransport

log = logging.getLogger("spwf04_tools.sim")


@dataclass(frozen=True)
class SocketInfo:
    id: int
    kind: str  # t | u | s
    host: str
    ip: str
    port: int
    tls: bool
    domain: str | None
    pending: int  # unread bytes held by the module
    open: bool  # False after +WIND:58 (still allocated until SOCKC)
    rx_total: int  # bytes received from the peer
    tx_total: int  # bytes sent to the peer
    tls_version: str | None
    cipher: str | None


@dataclass(frozen=True)
class TlsStoreInfo:
    ca: bytes | None
    auth: bytes | None
    cert: bytes | None
    has_key: bool  # the private key itself is never exposed
    extracted_ski: bytes | None  # FW 1.1: SKI read from the CA at load time


class Simulator:
    """An SPWF04SA on a TCP port pair (board UART + pins) or a pty. Use as a context manager."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config if config is not None else SimConfig()
        self._bytelog = (ByteLog(self.config.log_file, redact=not self.config.log_secrets,
                                 header=f"fw {self.config.fw}") if self.config.log_file else None)
        self._transport: UartTransport | None = None
        self._engine = Engine(self.config, self._write, self._discard)
        self._started = False
        self._stopped = False
        self.uart_address: tuple[str, int] | None = None
        self.pins_address: tuple[str, int] | None = None
        self.pty_path: str | None = None

    # --- lifecycle ---------------------------------------------------------------------------------------

    def start_tcp(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen for the board's UART at port and its pins at port+1 (port 0: a free pair). Returns the UART
        address; the module powers on at once."""
        self._before_start()
        t = TcpTransport(self._feed, self._pin, self.config.baud, self._bytelog, host, port,
                         board_rxbuf=lambda: self.config.uart_rxbuf)
        self._transport = t
        self.uart_address, self.pins_address = t.uart_address, t.pins_address
        t.start()
        self._power_on()
        log.info("SPWF04SA simulator (FW %s): UART %s:%d, pins %s:%d", self.config.fw, *self.uart_address,
                 *self.pins_address)
        return self.uart_address

    def start_pty(self) -> str:
        """Create a pseudo-terminal and return its device path (pyserial / picocom / mpremote usable)."""
        self._before_start()
        t = PtyTransport(self._feed, self.config.baud, self._bytelog)
        self._transport = t
        self.pty_path = t.path
        t.start()
        self._power_on()
        log.info("SPWF04SA simulator (FW %s) on %s", self.config.fw, t.path)
        return t.path

    def _before_start(self) -> None:
        if self._started:
            raise RuntimeError("simulator already started; one UART transport per simulator")
        if self._stopped:
            raise RuntimeError("simulator was stopped; create a new Simulator")
        self._started = True

    def _power_on(self) -> None:
        self._engine.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Stop everything (engine, transport, real sockets); never blocks much longer than timeout."""
        if self._stopped:
            return
        self._stopped = True
        self._engine.stop(timeout)
        if self._transport is not None:
            self._transport.stop(timeout)
        if self._bytelog is not None:
            self._bytelog.close()

    def __enter__(self) -> "Simulator":
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.pty_path or (f"{self.uart_address[0]}:{self.uart_address[1]}" if self.uart_address else "-")
        return f"<Simulator FW {self.config.fw} on {where}>"

    # --- plumbing -----------------------------------------------------------------------------------------

    def _write(self, pieces: list[tuple[bytes, float]]) -> None:
        if self._transport is not None:
            self._transport.write(pieces)

    def _discard(self) -> None:
        if self._transport is not None:
            self._transport.discard()

    def _feed(self, data: bytes) -> None:
        self._engine.post("rx", data)

    def _pin(self, name: str, level: int) -> None:
        self._engine.post("pin", name, level)

    # --- control ------------------------------------------------------------------------------------------

    def set_pin(self, name: str, level: int) -> None:
        """Drive RESET or WAKEUP as the board would (RESET 0 holds the module in reset)."""
        name = name.upper()
        if name not in ("RESET", "WAKEUP") or level not in (0, 1):
            raise ValueError("set_pin takes 'RESET' or 'WAKEUP' and level 0 or 1")
        self._engine.call(lambda: self._engine._on_pin(name, level))

    def reset(self) -> None:
        """A reset pulse now (at any moment, e.g. mid-transfer): sockets dropped, RAM state lost, reboot."""
        eng = self._engine
        eng.call(lambda: eng.reset(RESET_PIN, discard_output=True))

    def power_cycle(self) -> None:
        """Power off and on: RAM state lost, saved configuration (flash, state file) kept."""
        eng = self._engine
        eng.call(lambda: eng.reset(RESET_POWER_ON, discard_output=True))

    def factory_reset(self) -> None:
        """Back to a module fresh from the factory: flash wiped (configuration, TLS store), the network
        available again, the command record cleared, then a power cycle. For test isolation."""
        eng = self._engine

        def apply() -> None:
            eng.flash.save(FlashContents())
            eng.network_available = True
            eng.commands.clear()
            eng.reset(RESET_POWER_ON, discard_output=True)

        eng.call(apply)

    def reconfigure(self, *, fw: str | None = None, faults: Faults | None = None, baud: Any = ...,
                    **changes: Any) -> None:
        """Change settings between tests. fw: a new firmware profile (the module power-cycles). faults: new
        fault injection (fresh random streams). baud: new line rate (None: unpaced). Other keywords: any
        SimConfig field (behaviour, timing, access_points, hosts, allow_remote, cert_errors)."""
        names = {f.name for f in fields(SimConfig)}
        bad = set(changes) - names - {"fw", "faults", "baud"}
        if bad or {"state_file", "log_file", "log_secrets"} & set(changes):
            raise ValueError(f"reconfigure cannot change {', '.join(sorted(bad or set(changes)))}")
        eng = self._engine

        def apply() -> None:
            for k, v in changes.items():
                setattr(self.config, k, v)
            if faults is not None:
                self.config.faults = faults
                eng.faults = FaultInjector(faults)
            if baud is not ...:
                self.config.baud = baud
                if self._transport is not None:
                    self._transport.set_baud(baud)
            if fw is not None and normalise_fw(fw) != self.config.fw:
                self.config.fw = normalise_fw(fw)
                eng.profile = profile(self.config.fw)
                eng.reset(RESET_POWER_ON, discard_output=True)

        eng.call(apply)

    def lose_network(self) -> None:
        """The access point disappears: +WIND:33, sockets closed (+WIND:58), no rejoin until restored."""
        from .commands import wifi
        self._engine.call(lambda: wifi.lose_network(self._engine))

    def restore_network(self) -> None:
        """The access point is back: a station with credentials joins again."""
        from .commands import wifi
        self._engine.call(lambda: wifi.restore_network(self._engine))

    def inject_line(self, line: str) -> None:
        """Send one line (e.g. an indication) to the host now, at a line boundary."""
        eng = self._engine
        eng.call(lambda: eng.emit([line_unit(line, "wind", eng.leading_crlf)]))

    def clear_commands(self) -> None:
        with self._engine.lock:
            self._engine.commands.clear()

    def drain_output(self, timeout: float = 5.0) -> bool:
        """Wait until all module output queued so far has been written to the transport."""
        return self._transport.drain(timeout) if self._transport is not None else True

    # --- waiting ------------------------------------------------------------------------------------------

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self._engine.lock:
                if predicate():
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"simulator: {what} not reached within {timeout} s")
            time.sleep(0.01)

    def wait_ready(self, timeout: float = 5.0) -> None:
        """Until the boot finished (+WIND:32 sent, console active)."""
        eng = self._engine
        self.wait_for(lambda: eng.powered and eng.console_ready and eng.radio == "on", timeout, "module ready")

    def wait_joined(self, timeout: float = 10.0) -> None:
        eng = self._engine
        self.wait_for(lambda: eng.link == "up" and eng.ip6 is not None, timeout, "Wi-Fi joined (both +WIND:24)")

    # --- state --------------------------------------------------------------------------------------------

    @property
    def uart_overrun_bytes(self) -> int:
        """Module output lost to the board's full UART buffer (uart_rxbuf mode; TCP transport)."""
        t = self._transport
        return t.overrun.lost if isinstance(t, TcpTransport) else 0

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def clock(self) -> int | None:
        """The module's clock (Unix epoch) if AT+S.TIME set it since the last boot, else None."""
        with self._engine.lock:
            return self._engine.clock_epoch() if self._engine.clock_base is not None else None

    @property
    def module_time(self) -> int:
        """The module's clock, set or not (an unset clock runs from 2000-01-01 at boot)."""
        with self._engine.lock:
            return self._engine.clock_epoch()

    @property
    def sockets(self) -> dict[int, SocketInfo]:
        with self._engine.lock:
            out = {}
            for sid, e in self._engine.sockets.items():
                info = e.net.tls.info if e.net.tls is not None else None
                out[sid] = SocketInfo(sid, e.kind, e.host, e.ip, e.port, e.tls, e.domain, len(e.pending), e.open,
                                      e.net.rx_total, e.net.tx_total, info.version if info else None,
                                      info.cipher if info else None)
            return out

    @property
    def tls_store(self) -> TlsStoreInfo:
        with self._engine.lock:
            s = self._engine.tls
            return TlsStoreInfo(s.ca, s.auth, s.cert, s.key is not None, s.extracted_ski)

    @property
    def config_vars(self) -> dict[str, Any]:
        """The configuration in RAM (what GCFG shows; the passphrase is included: this is the flash view)."""
        with self._engine.lock:
            return dict(self._engine.cfg)

    @property
    def saved_config(self) -> dict[str, Any] | None:
        """The configuration saved by WCFG (None: factory values)."""
        return self._engine.flash.load().config

    @property
    def status(self) -> dict[str, str]:
        from .commands.basic import status_value
        from .variables import STATUS_VARS
        with self._engine.lock:
            return {name: status_value(self._engine, name) for name in STATUS_VARS}

    @property
    def commands(self) -> list[CommandRecord]:
        """Commands received, oldest first (line with the passphrase redacted, payload length)."""
        with self._engine.lock:
            return list(self._engine.commands)

    @property
    def files(self) -> dict[str, bytes]:
        with self._engine.lock:
            return {k: bytes(v) for k, v in self._engine.fs.files.items()}

    @property
    def wifi_state(self) -> int:
        with self._engine.lock:
            return self._engine.wifi_state

    @property
    def joined(self) -> bool:
        with self._engine.lock:
            return self._engine.link == "up"

    @property
    def ip(self) -> str | None:
        with self._engine.lock:
            return self._engine.ip if self._engine.link == "up" else None

    @property
    def powered(self) -> bool:
        """False while the RESET pin holds the module in reset."""
        with self._engine.lock:
            return self._engine.powered

    @property
    def boot_count(self) -> int:
        with self._engine.lock:
            return self._engine.boot_count

    @property
    def busy(self) -> bool:
        with self._engine.lock:
            return self._engine.busy

