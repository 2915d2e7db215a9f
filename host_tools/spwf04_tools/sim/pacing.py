"""Line-rate pacing: a token bucket over chunks (no per-byte sleeps). 10 bits per byte (8N1)."""

from __future__ import annotations

import time

BITS_PER_BYTE = 10
SLICE_SECONDS = 0.005  # chunks are cut to about this much line time, so bursts stay short


class LinePacer:
    """Call `pieces(data)` and, for each piece, `wait(len(piece))` before sending it."""

    def __init__(self, baud: int | None) -> None:
        self.set_baud(baud)

    def set_baud(self, baud: int | None) -> None:
        self.baud = baud
        self.rate = baud / BITS_PER_BYTE if baud else None
        self._free_at = 0.0

    @property
    def slice_bytes(self) -> int:
        if not self.rate:
            return 1 << 16
        return max(16, int(self.rate * SLICE_SECONDS))

    def pieces(self, data: bytes) -> list[bytes]:
        step = self.slice_bytes
        if len(data) <= step:
            return [data]
        return [data[i:i + step] for i in range(0, len(data), step)]

    def wait(self, n: int) -> None:
        """Sleep until the line can carry n more bytes (the bytes are accounted at the rate)."""
        if not self.rate:
            return
        now = time.monotonic()
        start = max(now, self._free_at)
        self._free_at = start + n / self.rate
        delay = start - now
        if delay > 0:
            time.sleep(min(delay, 5.0))
