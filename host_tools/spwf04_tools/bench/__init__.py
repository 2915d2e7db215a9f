"""`spwf04 bench`: throughput, CPU per byte, memory, size and round trips of the driver (docs/benchmarks.md).

Host side of the benchmarks; the device side is micropython/bench/ (copied to the board by the bench).
"""

from .cli import add_arguments, run

__all__ = ["add_arguments", "run"]
