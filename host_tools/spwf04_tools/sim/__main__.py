"""`python -m spwf04_tools.sim ...`: the same as `spwf04 sim ...` without loading the other subcommands."""

from __future__ import annotations

import argparse
import logging
import sys

from . import cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="spwf04 sim", description=(cli.__doc__ or "").strip())
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    cli.add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING - 10 * min(args.verbose, 2),
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return cli.run(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
