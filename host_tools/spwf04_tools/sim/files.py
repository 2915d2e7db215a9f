"""The module's RAM file system (FSC/FSL/FSP/FSD/FSR): lost at every reset, limited capacity."""

from __future__ import annotations

from dataclasses import dataclass, field

FS_CAPACITY = 65536  # bytes (the simulator's choice)
NAME_MAX = 32


class FsError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def normalise(name: str) -> str:
    """`/tls.cert` and `tls.cert` are the same file (ST's host code prefixes '/')."""
    n = name.strip()
    return n[1:] if n.startswith("/") else n


@dataclass
class RamFs:
    files: dict[str, bytearray] = field(default_factory=dict)
    capacity: int = FS_CAPACITY

    @property
    def used(self) -> int:
        return sum(len(v) for v in self.files.values())

    def append(self, name: str, data: bytes) -> None:
        n = normalise(name)
        if not n or len(n) > NAME_MAX or "/" in n:
            raise FsError(51, f"bad file name {name!r}")
        if self.used + len(data) > self.capacity:
            raise FsError(50, "file system full")
        self.files.setdefault(n, bytearray()).extend(data)

    def read(self, name: str) -> bytes:
        n = normalise(name)
        if n not in self.files:
            raise FsError(51, f"no file {name!r}")
        return bytes(self.files[n])

    def get(self, name: str) -> bytes | None:
        data = self.files.get(normalise(name))
        return bytes(data) if data is not None else None

    def delete(self, name: str) -> None:
        if self.files.pop(normalise(name), None) is None:
            raise FsError(56, f"no file {name!r}")

    def rename(self, old: str, new: str) -> None:
        o, n = normalise(old), normalise(new)
        if o not in self.files or not n or n in self.files:
            raise FsError(55, f"cannot rename {old!r} to {new!r}")
        self.files[n] = self.files.pop(o)
