"""Client sockets over real connections: SOCKON, SOCKW, SOCKQ, SOCKR, SOCKC, SOCKL; +WIND:55 and +WIND:58.

+WIND:55:Pending Data::<id>:<received>:<cumulated>: <received> = bytes in this arrival, <cumulated> = all
unread bytes after it (the simulator's reading of the two counts). SOCKR answers `AT-S.Reading:<a>:<b>` with
<a> = bytes in this read, <b> = unread bytes before it.
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ... import at_tables as at
from ..certverify import CertFailure, verify_chain
from ..engine import Async, AsyncOp, Cmd, Command, Engine
from ..netsock import CLOSE_NETWORK, CLOSE_PEER, NetSocket, abort, open_connection
from ..tlsclient import TlsHandshakeError, TlsSession, handshake, make_context
from ..tlsstore import TlsStore
from . import netpolicy

log = logging.getLogger("spwf04_tools.sim")

MAX_SOCKETS = 8
__all__ = ["COMMANDS", "CLOSE_NETWORK", "CLOSE_PEER", "network_gone", "SockEntry", "TlsConnector"]


@dataclass
class SockEntry:
    id: int
    kind: str  # t | u | s
    host: str
    ip: str
    port: int
    tls: bool
    domain: str | None
    net: NetSocket
    pending: bytearray = field(default_factory=bytearray)
    open: bool = True  # False after +WIND:58 (the id stays allocated until SOCKC)
    close_reason: int | None = None
    last_w55: tuple[int, int] | None = None
    dropped: int = 0  # bytes lost to a full receive buffer (rx_overflow="drop")


# --- TLS connection (shared with HTTPGET) ------------------------------------------------------------------


class TlsConnector:
    """Everything a TLS connect needs, captured in the engine thread (store, clock, profile)."""

    def __init__(self, eng: Engine, domain: str | None, no_ca_policy: str) -> None:
        self.profile = eng.profile
        self.behaviour = eng.config.behaviour
        self.store: TlsStore = eng.tls.snapshot()
        # TLS also looks for files tls.cert / tls.key [confirmed] when no TLSCERT cert/key is stored.
        if self.store.cert is None:
            f = eng.fs.get("tls.cert")
            if f is not None and len(f) <= self.behaviour.cert_max_len:
                self.store.cert = f
        if self.store.key is None:
            self.store.key = eng.fs.get("tls.key")
        self.now = _dt.datetime.fromtimestamp(eng.clock_epoch(), _dt.timezone.utc)
        self.domain = domain
        self.skip_ca = self.store.ca is None and no_ca_policy == "skip"
        self.chain: list[bytes] = []

    def verify(self, chain: list[bytes]) -> CertFailure | None:
        if self.skip_ca:
            return None
        return verify_chain(chain, self.store, self.now, self.domain, self.profile, self.behaviour)

    def connect(self, sock: Any, timeout: float, cancelled: Callable[[], bool]) -> TlsSession:
        ctx = make_context(self.profile, self.store.cert, self.store.key)

        def keep(chain: list[bytes]) -> None:
            self.chain = chain

        return handshake(sock, ctx, self.domain, self.verify, timeout, keep, cancelled)

    def progress_lines(self, style: str = "httpget") -> list[str]:
        """The progress lines before the answer. `httpget` (HTTPGET's observed form): `AT-S.Skip CA` (printed
        even with a CA loaded and a 200 answer: real log; `skip_ca_line="no_ca"` prints it only without a CA),
        then `AT-S.Loading:<i>:2` per received certificate. `loading`: the Loading lines only. `none`: nothing."""
        if style == "none":
            return []
        lines: list[str] = []
        if style == "httpget" and (self.skip_ca or self.behaviour.skip_ca_line == "always"):
            lines.append("AT-S.Skip CA")
        lines += [f"AT-S.Loading:{i}:2" for i in range(1, len(self.chain) + 1)]
        return lines


def cert_error_code(eng: Engine, failure: CertFailure) -> int:
    return eng.config.cert_errors[failure.cause]


# --- SOCKON ----------------------------------------------------------------------------------------------------


@dataclass
class _Opened:
    ip: str
    sock: Any
    tls: TlsSession | None


class SockOnOp(AsyncOp):
    name = "sockon"

    def __init__(self, eng: Engine, host: str, port: int, kind: str, domain: str | None) -> None:
        self.eng = eng
        self.host, self.port, self.kind, self.domain = host, port, kind, domain
        self.tls = TlsConnector(eng, domain, eng.config.behaviour.tls_no_ca) if kind == "s" else None
        self.timing = eng.config.timing

    def work(self, cancelled: Callable[[], bool]) -> Any:
        ip = netpolicy.resolve(self.eng, self.host, use_dns=True)
        sock = open_connection(self.kind, ip, self.port, self.timing.connect_timeout)
        time.sleep(self.timing("tcp_open"))  # (a worker thread: the module is busy meanwhile)
        if self.tls is None:
            return _Opened(ip, sock, None)
        try:
            session = self.tls.connect(sock, self.timing.tls_timeout, cancelled)
            time.sleep(self.timing("tls_handshake"))
        except BaseException:
            abort(sock)
            raise
        return _Opened(ip, sock, session)

    def discard(self, result: Any) -> None:
        if isinstance(result, _Opened):
            abort(result.sock)

    def done(self, result: Any) -> None:
        eng = self.eng
        behaviour = eng.config.behaviour
        if isinstance(result, BaseException):
            # No progress lines before a failure: the observed failures (SOCKON Certificate Error:3, HTTPGET
            # Certificate Error:22) show none.
            _report_open_failure(eng, result, f"{self.host}:{self.port}")
            return
        if self.tls is not None:
            for line in self.tls.progress_lines(behaviour.sockon_tls_progress):
                eng.reply(line)
        free = [i for i in range(MAX_SOCKETS) if i not in eng.sockets]
        if not free:
            abort(result.sock)
            eng.error(at.ERR_TOO_MANY_SOCKETS)
            return
        sid = free[0]
        gen = eng.gen
        faults = eng.config.faults

        def on_data(net: NetSocket, data: bytes) -> None:
            eng.post_socket_event(gen, lambda: _on_data(eng, net, data))

        def on_closed(net: NetSocket, reason: int) -> None:
            eng.post_socket_event(gen, lambda: _on_closed(eng, net, reason))

        # hold: TCP flow control holds the peer at the buffer's size; drop: the module reads on and drops
        rx_cap = behaviour.socket_rx_cap if behaviour.rx_overflow == "hold" else 1 << 30
        net = NetSocket(self.kind, result.sock, result.tls, rx_cap, on_data, on_closed,
                        faults.peer_close_after_rx, faults.peer_close_after_tx)
        eng.sockets[sid] = SockEntry(sid, self.kind, self.host, result.ip, self.port, self.kind == "s",
                                     self.domain, net)
        net.start()
        log.info("socket %d open to %s:%d (%s%s)", sid, result.ip, self.port, self.kind,
                 f", {result.tls.info.version} {result.tls.info.cipher}" if result.tls else "")
        if result.tls:
            eng.tls_sessions.append((f"{result.ip}:{self.port}", result.tls.info.version, result.tls.info.cipher))
        eng.reply(f"AT-S.On:{result.ip}:{sid}")
        eng.ok()


def _report_open_failure(eng: Engine, exc: BaseException, what: str) -> None:
    if isinstance(exc, TlsHandshakeError) and exc.cert_failure is not None:
        code = cert_error_code(eng, exc.cert_failure)
        log.info("SOCKON %s: certificate rejected (%s): Certificate Error:%d", what, exc.cert_failure.detail, code)
        eng.reply(f"AT-S.Certificate Error:{code}")
    elif isinstance(exc, TlsHandshakeError) and exc.no_common_suite:
        # The module prints nothing more than error 74 here (no Certificate Error: no certificate came).
        log.warning("SOCKON %s: no common TLS suite (FW %s): %s", what, eng.profile.fw_version, exc)
        eng.tls_failures.append(f"{what}: {exc}")
    else:
        log.info("SOCKON %s failed: %s", what, exc)
    eng.error(at.ERR_OPEN_SOCKET)


def cmd_sockon(eng: Engine, cmd: Cmd) -> Async | None:
    p = cmd.params
    if len(p) < 4 or not p[0].strip() or not p[3].strip():
        eng.error(at.ERR_MISSING_ARGS)
        return None
    if len(p) > 4:
        eng.error(at.ERR_TOO_MANY_ARGS)
        return None
    host, port_text, third, kind_text = (x.strip() for x in p)
    try:
        port = int(port_text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        eng.error(at.ERR_INVALID_VALUE)
        return None
    if third not in ("",) and third.upper() != "NULL":
        eng.error(at.ERR_INVALID_ARGS)
        return None
    kind = kind_text.lower() if kind_text.lower() in ("t", "u", "s") else "s"
    domain = None if kind_text.lower() in ("t", "u", "s") else kind_text
    if eng.link != "up":
        eng.error(at.ERR_WAIT_CONNECTION_UP)
        return None
    if len(eng.sockets) >= MAX_SOCKETS:
        eng.error(at.ERR_TOO_MANY_SOCKETS)
        return None
    if kind == "s" and sum(1 for s in eng.sockets.values() if s.tls) >= eng.profile.max_tls_sockets:
        log.info("SOCKON: FW %s allows %d TLS socket(s) at a time", eng.profile.fw_version,
                 eng.profile.max_tls_sockets)
        eng.error(at.ERR_OPEN_SOCKET)
        return None
    return eng.run_async(SockOnOp(eng, host, port, kind, domain))


# --- socket events ------------------------------------------------------------------------------------------


def _entry_for(eng: Engine, net: NetSocket) -> SockEntry | None:
    for entry in eng.sockets.values():
        if entry.net is net:
            return entry
    return None


def _on_data(eng: Engine, net: NetSocket, data: bytes) -> None:
    entry = _entry_for(eng, net)
    if entry is None:
        return
    behaviour = eng.config.behaviour
    if behaviour.rx_overflow == "drop":
        room = max(0, behaviour.socket_rx_cap - len(entry.pending))
        if len(data) > room:
            # No UART flow control and a finite buffer (firmware string `Socket Dropping Data` with `:%u:%u`):
            # what does not fit is lost. The fields <id>:<bytes dropped> are the simulator's reading.
            dropped = len(data) - room
            data = data[:room]
            net.consumed(dropped)
            entry.dropped += dropped
            eng.rx_dropped += dropped
            log.info("socket %d: receive buffer full (%d bytes), %d bytes dropped", entry.id,
                     behaviour.socket_rx_cap, dropped)
            if data:
                _pending(eng, entry, data)
            eng.wind(at.WIND_DROPPING_DATA, entry.id, dropped)
            return
    _pending(eng, entry, data)


def _pending(eng: Engine, entry: SockEntry, data: bytes) -> None:
    entry.pending += data
    received, cumulated = len(data), len(entry.pending)
    if eng.faults.lose_wind55():
        log.info("fault injection: +WIND:55 for socket %d lost", entry.id)
    else:
        shown = eng.faults.stale_wind55(received, cumulated, entry.last_w55)
        eng.wind(at.WIND_PENDING_DATA, "", entry.id, *shown)
    entry.last_w55 = (received, cumulated)


def _on_closed(eng: Engine, net: NetSocket, reason: int) -> None:
    entry = _entry_for(eng, net)
    if entry is None or not entry.open:
        return
    entry.open = False
    entry.close_reason = reason
    eng.wind(at.WIND_SOCKET_CLOSED, entry.id, reason)


def network_gone(eng: Engine, reason: int) -> None:
    for entry in sorted(eng.sockets.values(), key=lambda e: e.id):
        if entry.open:
            entry.open = False
            entry.close_reason = reason
            entry.net.close(graceful=False)
            eng.wind(at.WIND_SOCKET_CLOSED, entry.id, reason)


# --- SOCKW / SOCKQ / SOCKR / SOCKC / SOCKL ------------------------------------------------------------------


def _socket_arg(eng: Engine, text: str) -> SockEntry | None:
    try:
        sid = int(text.strip())
    except ValueError:
        return None
    return eng.sockets.get(sid)


def sockw_payload_len(params: list[str]) -> int | None:
    if len(params) != 2:
        return None
    try:
        n = int(params[1].strip())
    except ValueError:
        return None
    return n if n >= 0 else None


def cmd_sockw(eng: Engine, cmd: Cmd) -> None:
    if cmd.payload is None:
        eng.error(at.ERR_INVALID_VALUE)
        return
    entry = _socket_arg(eng, cmd.params[0])
    if entry is None:
        eng.error(at.ERR_ILLEGAL_SOCKET_ID)
        return
    if not entry.open:
        eng.error(at.ERR_SOCKET_NOT_CONNECTED)
        return
    b = eng.config.behaviour
    limit = min(x for x in (b.sockw_max_len, b.payload_cap, 1 << 30) if x is not None)
    if len(cmd.payload) > limit:
        eng.error(at.ERR_ARG_TOO_LARGE)
        return
    try:
        entry.net.send(cmd.payload)
    except OSError as exc:
        log.info("SOCKW %d: write failed: %s", entry.id, exc)
        eng.error(at.ERR_WRITE_FAILED)
        return
    eng.ok()


def cmd_sockq(eng: Engine, cmd: Cmd) -> None:
    entry = _socket_arg(eng, cmd.params[0])
    if entry is None:
        eng.error(at.ERR_ILLEGAL_SOCKET_ID)
        return
    eng.reply(f"AT-S.Query:{len(entry.pending)}")
    eng.ok()


def cmd_sockr(eng: Engine, cmd: Cmd) -> None:
    entry = _socket_arg(eng, cmd.params[0])
    if entry is None:
        eng.error(at.ERR_ILLEGAL_SOCKET_ID)
        return
    before = len(entry.pending)
    if len(cmd.params) == 2 and cmd.params[1].strip():
        try:
            want = int(cmd.params[1].strip())
        except ValueError:
            want = -1
        if want < 0:
            eng.error(at.ERR_INVALID_VALUE)
            return
    else:
        want = before  # no length: everything pending (choice)
    n = min(want, before)  # more than pending: capped (choice; drivers never ask for more)
    cap = eng.config.behaviour.payload_cap
    if cap is not None and n > cap:
        # Mbed reads at most 730 "to work around module FW issues"; what a larger SOCKR does is unknown:
        # refused (error 32) or cut short (AT-S.Reading:<cap>:<pending>, `Read Cap` is a firmware string)
        if eng.config.behaviour.payload_cap_style == "error":
            eng.error(at.ERR_ARG_TOO_LARGE)
            return
        n = cap
    data = bytes(entry.pending[:n])
    del entry.pending[:n]
    eng.reply(f"AT-S.Reading:{n}:{before}", sockr=True)
    eng.data(data, sockr=True)
    if eng.config.behaviour.sockr_crlf:
        eng.data(b"\r\n", sockr=True)
    eng.ok(sockr=True)
    entry.net.consumed(n)


def cmd_sockc(eng: Engine, cmd: Cmd) -> None:
    entry = _socket_arg(eng, cmd.params[0])
    if entry is None:
        eng.error(at.ERR_ILLEGAL_SOCKET_ID)
        return
    if entry.pending:
        eng.error(at.ERR_PENDING_DATA)
        return
    del eng.sockets[entry.id]
    entry.net.close(graceful=True)
    eng.ok()


def cmd_sockl(eng: Engine, cmd: Cmd) -> None:
    # Line format unknown (spec 6.11): `AT-S.Socket:<id>:<ip>:<port>:<kind>:<pending>` is invented.
    for sid in sorted(eng.sockets):
        e = eng.sockets[sid]
        eng.reply(f"AT-S.Socket:{e.id}:{e.ip}:{e.port}:{e.kind}:{len(e.pending)}")
    eng.ok()


COMMANDS: dict[str, Command] = {
    "SOCKON": Command(cmd_sockon, help="open a client socket <host>,<port>,,<t|u|s|domain>"),
    "SOCKW": Command(cmd_sockw, payload_len=sockw_payload_len, min_args=2, max_args=2,
                     help="write <len> bytes to a socket"),
    "SOCKQ": Command(cmd_sockq, min_args=1, max_args=1, help="query unread bytes of a socket"),
    "SOCKR": Command(cmd_sockr, min_args=1, max_args=2, help="read bytes from a socket"),
    "SOCKC": Command(cmd_sockc, min_args=1, max_args=1, help="close a socket"),
    "SOCKL": Command(cmd_sockl, help="list open sockets"),
}
