"""The module's flash: saved configuration (WCFG), TLS credentials (if persistent), factory-reset flag.

Kept in a JSON state file (mode 0600, written atomically) so it survives simulator restarts, or in memory
when no file is given. A state file that cannot be read boots the module with factory values and
`+WIND:7:Configuration Failure:10`, as a module with a bad stored configuration does.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .variables import CONFIG_BY_NAME

log = logging.getLogger(__name__)
STATE_VERSION = 1


@dataclass
class FlashContents:
    config: dict[str, Any] | None = None  # None: never saved (factory values)
    tls: dict[str, bytes | str | None] = field(default_factory=dict)
    factory_reset_pending: bool = False
    corrupt: bool = False  # the file existed but could not be read
    booted: bool = False  # the module booted from this flash before (a fresh flash's first boot differs)


class FlashStore:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._mem = FlashContents()
        self._lock = threading.Lock()

    def load(self) -> FlashContents:
        with self._lock:
            if self.path is None:
                return _copy(self._mem)
            if not self.path.exists():
                return FlashContents()
            try:
                raw = json.loads(self.path.read_text("utf-8"))
                if raw.get("version") != STATE_VERSION:
                    raise ValueError(f"state version {raw.get('version')!r}, expected {STATE_VERSION}")
                return FlashContents(
                    config=_decode_config(raw["config"]) if raw.get("config") is not None else None,
                    tls={k: _decode_blob(v) for k, v in raw.get("tls", {}).items()},
                    factory_reset_pending=bool(raw.get("factory_reset_pending", False)),
                    booted=bool(raw.get("booted", True)),
                )
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("simulator state file %s unreadable (%s): booting with factory values; "
                            "delete the file or send AT+S.WCFG to rewrite it", self.path, exc)
                return FlashContents(corrupt=True)

    def save(self, contents: FlashContents) -> None:
        with self._lock:
            if self.path is None:
                self._mem = _copy(contents)
                return
            raw = {
                "version": STATE_VERSION,
                "note": "SPWF04SA simulator flash: saved configuration and TLS credentials (contains secrets)",
                "config": _encode_config(contents.config) if contents.config is not None else None,
                "tls": {k: _encode_blob(v) for k, v in contents.tls.items()},
                "factory_reset_pending": contents.factory_reset_pending,
                "booted": contents.booted,
            }
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".sim-state-", dir=self.path.parent)
            try:
                os.fchmod(fd, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(raw, fh, indent=1, sort_keys=True)
                os.replace(tmp, self.path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise


def _copy(c: FlashContents) -> FlashContents:
    return FlashContents(dict(c.config) if c.config is not None else None, dict(c.tls),
                         c.factory_reset_pending, c.corrupt, c.booted)


def _encode_config(cfg: dict[str, Any]) -> dict[str, Any]:
    return {k: ({"hex": v.hex()} if isinstance(v, bytes) else v) for k, v in cfg.items()}


def _decode_config(raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in raw.items():
        if k not in CONFIG_BY_NAME:
            raise ValueError(f"unknown variable {k!r}")
        out[k] = bytes.fromhex(v["hex"]) if isinstance(v, dict) else v
    return out


def _encode_blob(v: bytes | str | None) -> Any:
    if isinstance(v, bytes):
        return {"b64": base64.b64encode(v).decode()}
    return v


def _decode_blob(v: Any) -> bytes | str | None:
    if isinstance(v, dict):
        return base64.b64decode(v["b64"])
    return v
