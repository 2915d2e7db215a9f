"""Run the SPWF04SA simulator on TCP (for the virtual board) or on a pty (pyserial, picocom, mpremote-style).

Prints one line on stdout when ready: the UART address `HOST:PORT` (pins at PORT+1) or the pty device path.
Runs until Ctrl-C or SIGTERM. See docs/simulator.md for every behaviour and option.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from .config import (DEFAULT_AP, RESET_PHASES, TIMING_PROFILES, AccessPoint, Behaviour, Faults, SimConfig,
                     check_choice, timing_profile)

log = logging.getLogger("spwf04_tools.sim")


def default_state_file() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "spwf04" / "sim-state.json"


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    try:
        p = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected HOST:PORT, e.g. 127.0.0.1:7000 (0: free port)")
    if not 0 <= p < 65535:
        raise argparse.ArgumentTypeError(f"port {p} must be 0..65534 (PORT+1 carries the pins)")
    return host or "127.0.0.1", p


def _probability(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a probability (0..1)")
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"{v} is not a probability (0..1)")
    return v


def _access_point(text: str) -> AccessPoint:
    parts = text.split(":")
    if len(parts) < 2:
        raise argparse.ArgumentTypeError(f"{text!r}: expected SSID:PASSPHRASE[:SECURITY[:RSSI[:CHANNEL]]]")
    kw: dict[str, Any] = {"ssid": parts[0], "passphrase": parts[1]}
    try:
        if len(parts) > 2 and parts[2]:
            kw["security"] = parts[2]
        if len(parts) > 3 and parts[3]:
            kw["rssi"] = int(parts[3])
        if len(parts) > 4 and parts[4]:
            kw["channel"] = int(parts[4])
        return AccessPoint(**kw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _host_entry(text: str) -> tuple[str, str]:
    name, sep, ip = text.partition("=")
    if not sep or not name or not ip:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=IPV4, e.g. server.test=127.0.0.1")
    return name, ip


def _coerce(cls: type, key: str, value: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if key not in fields:
        raise argparse.ArgumentTypeError(f"unknown setting {key!r}; known: {', '.join(sorted(fields))}")
    default = getattr(cls(), key)
    if isinstance(default, bool):
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise argparse.ArgumentTypeError(f"{key} takes a boolean (1/0)")
    if isinstance(default, tuple):
        return tuple(int(v) for v in value.split(",") if v.strip())
    if default is None or isinstance(default, int) and not isinstance(default, bool):
        if value.lower() == "none":
            return None
        try:
            return int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{key} takes a number") from None
    if isinstance(default, float):
        return float(value)
    try:
        check_choice(key, value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--tcp", type=_host_port, metavar="HOST:PORT",
                       help="listen for the board's UART at PORT and its pins at PORT+1 (PORT 0: free pair)")
    where.add_argument("--pty", action="store_true", help="create a pseudo-terminal and print its path")
    parser.add_argument("--fw", choices=("1.0", "1.1"), default="1.1", help="firmware profile (default 1.1)")
    parser.add_argument("--baud", type=int, default=None,
                        help="pace both directions at this line rate, 10 bits per byte (default: unpaced)")
    parser.add_argument("--log", type=Path, metavar="FILE", help="record every byte both ways with timestamps")
    parser.add_argument("--log-secrets", action="store_true",
                        help="do not redact wifi_wpa_psk_text and TLSCERT=key payloads in --log")
    state = parser.add_mutually_exclusive_group()
    state.add_argument("--state", type=Path, metavar="FILE",
                       help=f"the module's flash (saved config, TLS store); default {default_state_file()}")
    state.add_argument("--no-state", action="store_true", help="keep the flash in memory only")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow non-loopback destinations and real DNS (default: loopback only)")
    parser.add_argument("--host", type=_host_entry, action="append", default=[], metavar="NAME=IP",
                        help="name the module can resolve (besides localhost); repeatable")
    parser.add_argument("--ntp-port", type=int, default=123, metavar="PORT",
                        help="UDP port the module's NTP client (AT+S.NTP) sends to (default 123; e.g. the port "
                             "of `python -m spwf04_tools.sntp_server`)")
    parser.add_argument("--ap", type=_access_point, action="append", default=[],
                        metavar="SSID:PASS[:SEC[:RSSI[:CH]]]",
                        help=f"add a simulated access point (default network {DEFAULT_AP.ssid!r} stays "
                             "unless --no-default-ap); SEC open|wep|wpa|wpa2")
    parser.add_argument("--no-default-ap", action="store_true", help="drop the default access point")
    echo = parser.add_mutually_exclusive_group()
    echo.add_argument("--char-echo", action="store_true", default=None,
                      help="echo each byte as typed (default with --pty)")
    echo.add_argument("--line-echo", action="store_true", help="echo the line at its CR (default with --tcp)")
    parser.add_argument("--time-scale", type=float, default=None, help="multiply the simulated delays")
    parser.add_argument("--timing", choices=TIMING_PROFILES, default="fast",
                        help="delays: fast (tests) or realistic (estimated boot, join, TLS and command latencies)")
    parser.add_argument("--set", dest="behaviour", action="append", default=[], metavar="KEY=VALUE",
                        help="an inferred-behaviour choice (docs/simulator.md), e.g. reset_ok=1; repeatable")
    f = parser.add_argument_group("fault injection (deterministic from --seed)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--wind-inject", type=_probability, default=0.0, metavar="P",
                   help="insert a harmless WIND at a line boundary with probability P")
    f.add_argument("--wind-in-sockr", type=_probability, default=0.0, metavar="P",
                   help="insert a WIND inside SOCKR data with probability P")
    f.add_argument("--fragment", type=_probability, default=0.0, metavar="P",
                   help="split an output unit into random fragments with probability P")
    f.add_argument("--drop", type=_probability, default=0.0, metavar="P", help="lose 1-3 output bytes (P per unit)")
    f.add_argument("--garbage", type=_probability, default=0.0, metavar="P",
                   help="insert 1-3 random bytes (P per unit)")
    f.add_argument("--noise-input", action="store_true", help="apply --drop/--garbage to host bytes too")
    f.add_argument("--wind55-loss", type=_probability, default=0.0, metavar="P", help="lose +WIND:55")
    f.add_argument("--wind55-stale", type=_probability, default=0.0, metavar="P",
                   help="+WIND:55 with stale lengths")
    f.add_argument("--reset-on", metavar="REGEX", help="reset the module on the N-th command matching REGEX")
    f.add_argument("--reset-on-nth", type=int, default=1, metavar="N")
    f.add_argument("--reset-phase", choices=RESET_PHASES, default="before")
    f.add_argument("--peer-close-after-rx", type=int, metavar="BYTES",
                   help="each socket's peer closes after sending this many bytes")
    f.add_argument("--peer-close-after-tx", type=int, metavar="BYTES",
                   help="each socket's peer closes after receiving this many bytes")
    f.add_argument("--command-delay", type=float, default=0.0, metavar="S", help="delay every response")
    f.add_argument("--command-delay-jitter", type=float, default=0.0, metavar="S")
    f.add_argument("--command-delay-on", metavar="REGEX", help="only delay commands matching REGEX")


def build_config(args: argparse.Namespace) -> SimConfig:
    behaviour = Behaviour()
    for item in args.behaviour:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"spwf04 sim: --set {item!r}: expected KEY=VALUE")
        try:
            setattr(behaviour, key, _coerce(Behaviour, key, value))
        except argparse.ArgumentTypeError as exc:
            raise SystemExit(f"spwf04 sim: --set {item}: {exc}") from None
    char_echo = args.char_echo if args.char_echo is not None else (args.pty and not args.line_echo)
    behaviour.char_echo = bool(char_echo)
    timing = timing_profile(args.timing)
    if args.time_scale is not None:
        timing.scale = args.time_scale
    faults = Faults(
        seed=args.seed, wind_inject=args.wind_inject, wind_in_sockr=args.wind_in_sockr, fragment=args.fragment,
        drop=args.drop, garbage=args.garbage, noise_input=args.noise_input, wind55_loss=args.wind55_loss,
        wind55_stale=args.wind55_stale, reset_on=args.reset_on, reset_on_nth=args.reset_on_nth,
        reset_phase=args.reset_phase, peer_close_after_rx=args.peer_close_after_rx,
        peer_close_after_tx=args.peer_close_after_tx, command_delay=args.command_delay,
        command_delay_jitter=args.command_delay_jitter, command_delay_on=args.command_delay_on)
    aps = ([] if args.no_default_ap else [dataclasses.replace(DEFAULT_AP)]) + list(args.ap)
    if not aps:
        raise SystemExit("spwf04 sim: no access point left; give --ap SSID:PASSPHRASE or drop --no-default-ap")
    state = None if args.no_state else (args.state or default_state_file())
    return SimConfig(fw=args.fw, baud=args.baud, access_points=aps, faults=faults, behaviour=behaviour,
                     timing=timing, state_file=state, allow_remote=args.allow_remote, hosts=dict(args.host),
                     log_file=args.log, log_secrets=args.log_secrets, ntp_port=args.ntp_port)


def run(args: argparse.Namespace) -> int:
    from .simulator import Simulator

    try:
        config = build_config(args)
    except ValueError as exc:
        print(f"spwf04 sim: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    old = signal.signal(signal.SIGTERM, on_signal)
    sim = Simulator(config)
    try:
        if args.pty:
            path = sim.start_pty()
            print(path, flush=True)
            print(f"spwf04 sim: FW {config.fw} on {path}; e.g. `picocom -q {path}`, then type AT and Enter. "
                  f"Default network {DEFAULT_AP.ssid!r} (credentials in docs/simulator.md). Ctrl-C stops.",
                  file=sys.stderr, flush=True)
        else:
            host, port = args.tcp
            uart = sim.start_tcp(host, port)
            print(f"{uart[0]}:{uart[1]}", flush=True)
            print(f"spwf04 sim: FW {config.fw}; UART {uart[0]}:{uart[1]}, pins {uart[0]}:{uart[1] + 1}. "
                  "Ctrl-C stops.", file=sys.stderr, flush=True)
        if config.state_file:
            log.info("flash state in %s", config.state_file)
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"spwf04 sim: {exc}", file=sys.stderr)
        return 1
    finally:
        sim.stop()
        signal.signal(signal.SIGTERM, old)
    return 0
