"""The `spwf04` command: one entry point, one module per subcommand (imported lazily)."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# name -> (module, one-line help). Each module has add_arguments(parser) and run(args) -> int.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "board": ("spwf04_tools.board", "run the virtual NUCLEO-F401RE (MicroPython unix port on a pty)"),
    "repl": ("spwf04_tools.repl", "interactive REPL on the virtual board (with simulator) or a real board"),
    "sim": ("spwf04_tools.sim.cli", "run the SPWF04SA simulator on TCP or a pty"),
    "deploy": ("spwf04_tools.deploy", "compile and copy the driver and app to a board, verified"),
    "demo": ("spwf04_tools.demo", "the TLS Client_Socket demo end to end"),
    "doctor": ("spwf04_tools.doctor", "explain why a CA / server / clock setup will or will not work"),
    "log": ("spwf04_tools.logdecode", "decode a captured UART session"),
    "bench": ("spwf04_tools.bench", "run the benchmarks"),
    "firmware": ("spwf04_tools.firmware", "build MicroPython firmware with the SPWF04 board definition"),
    "flash": ("spwf04_tools.flash", "flash the built firmware over the NUCLEO's ST-LINK (pyOCD) and verify it"),
}


def _chosen(argv: list[str]) -> str | None:
    """The subcommand named on the command line (first word that is not an option)."""
    for word in argv:
        if not word.startswith("-"):
            return word
    return None


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    """Only the chosen subcommand's module is imported, so one subcommand never breaks another."""
    parser = argparse.ArgumentParser(prog="spwf04", description=__doc__)
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = _chosen(argv)
    for name, (modname, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        if name == chosen:
            mod = importlib.import_module(modname)
            if mod.__doc__:
                p.description = mod.__doc__.strip()
            mod.add_arguments(p)
            p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
