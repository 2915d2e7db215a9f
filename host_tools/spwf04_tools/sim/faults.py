"""Fault injection, deterministic from one seed: one random stream per fault kind, so that enabling one
fault does not change the choices of another."""

from __future__ import annotations

import random
import re
import zlib

from .config import Faults
from .framing import Unit

_GARBAGE_BYTES = bytes(range(0x20, 0x7F)) + b"\x00\xff\x80\x1b"


class FaultInjector:
    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._rngs: dict[str, random.Random] = {}
        self._reset_re = re.compile(faults.reset_on, re.IGNORECASE) if faults.reset_on else None
        self._reset_matches = 0
        self._delay_re = re.compile(faults.command_delay_on, re.IGNORECASE) if faults.command_delay_on else None

    def _rng(self, name: str) -> random.Random:
        rng = self._rngs.get(name)
        if rng is None:
            rng = self._rngs[name] = random.Random(self.faults.seed * 1_000_003 + zlib.crc32(name.encode()))
        return rng

    # --- module -> host ---------------------------------------------------------------------------------

    def transform(self, units: list[Unit]) -> list[tuple[bytes, float]]:
        """Units -> (bytes, gap-after) pieces: injected WINDs at boundaries, noise, fragmentation."""
        f = self.faults
        pieces: list[tuple[bytes, float]] = []
        prev_sockr = False
        for unit in units:
            # Boundaries inside a SOCKR answer (header | data | OK) only get WINDs through wind_in_sockr.
            inside_sockr = unit.sockr and prev_sockr
            prev_sockr = unit.sockr
            if f.wind_inject and not inside_sockr and self._rng("inject").random() < f.wind_inject:
                pieces.append((self._wind(), 0.0))
            data = unit.data
            if unit.kind == "data" and unit.sockr and f.wind_in_sockr and data:
                rng = self._rng("sockr")
                if rng.random() < f.wind_in_sockr:
                    at = rng.randrange(0, len(data) + 1)
                    data = data[:at] + self._wind() + data[at:]
            data = self.noise(data, "out")
            if f.fragment and len(data) > 1 and self._rng("fragment").random() < f.fragment:
                rng = self._rng("fragment")
                count = rng.randint(2, min(f.fragment_max, len(data)))
                cuts = sorted(rng.sample(range(1, len(data)), count - 1))
                start = 0
                for cut in cuts + [len(data)]:
                    pieces.append((data[start:cut], f.fragment_gap))
                    start = cut
            else:
                pieces.append((data, 0.0))
        return pieces

    def _wind(self) -> bytes:
        line = self._rng("inject_choice").choice(self.faults.inject_winds)
        return line.encode() + b"\r\n"

    def noise(self, data: bytes, direction: str) -> bytes:
        f = self.faults
        if not data or (direction == "in" and not f.noise_input):
            return data
        if f.drop:
            rng = self._rng(f"drop_{direction}")
            if rng.random() < f.drop:
                n = min(rng.randint(1, 3), len(data))
                at = rng.randrange(0, len(data) - n + 1)
                data = data[:at] + data[at + n:]
        if f.garbage:
            rng = self._rng(f"garbage_{direction}")
            if rng.random() < f.garbage:
                junk = bytes(rng.choice(_GARBAGE_BYTES) for _ in range(rng.randint(1, 3)))
                at = rng.randrange(0, len(data) + 1)
                data = data[:at] + junk + data[at:]
        return data

    # --- indications ------------------------------------------------------------------------------------

    def lose_wind55(self) -> bool:
        return bool(self.faults.wind55_loss) and self._rng("w55loss").random() < self.faults.wind55_loss

    def stale_wind55(self, received: int, cumulated: int, previous: tuple[int, int] | None) -> tuple[int, int]:
        if not self.faults.wind55_stale:
            return received, cumulated
        rng = self._rng("w55stale")
        if rng.random() >= self.faults.wind55_stale:
            return received, cumulated
        if previous is not None and rng.random() < 0.5:
            return previous
        return max(0, received - rng.randint(1, max(1, received))), max(0, cumulated - rng.randint(1, max(1, cumulated)))

    # --- commands -----------------------------------------------------------------------------------------

    def reset_phase_for(self, command: str) -> str | None:
        """The reset phase if this command is the chosen moment for a module reset."""
        if self._reset_re is None or not self._reset_re.search(command):
            return None
        self._reset_matches += 1
        if self._reset_matches == self.faults.reset_on_nth:
            return self.faults.reset_phase
        return None

    def command_delay(self, command: str) -> float:
        f = self.faults
        if not (f.command_delay or f.command_delay_jitter):
            return 0.0
        if self._delay_re is not None and not self._delay_re.search(command):
            return 0.0
        jitter = self._rng("delay").uniform(0.0, f.command_delay_jitter) if f.command_delay_jitter else 0.0
        return f.command_delay + jitter
