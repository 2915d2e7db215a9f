"""TLSCERT: ca / cert / key / auth (payload commands), content,1 (list), content,2 (erase) (spec 6.14)."""

from __future__ import annotations

import logging

from ... import at_tables as at
from ..engine import Cmd, Command, Engine
from ..tlsstore import colon_hex, load_certificates, subject_key_id

log = logging.getLogger("spwf04_tools.sim")

_PAYLOAD_KINDS = ("ca", "cert", "key", "auth")


def tlscert_payload_len(params: list[str]) -> int | None:
    if len(params) != 2 or params[0].strip().lower() not in _PAYLOAD_KINDS:
        return None
    try:
        n = int(params[1].strip())
    except ValueError:
        return None
    return n if n >= 0 else None


def cmd_tlscert(eng: Engine, cmd: Cmd) -> None:
    kind = cmd.params[0].strip().lower()
    if kind == "content":
        option = cmd.params[1].strip()
        if option == "1":
            eng.reply("AT-S.List")
            for name, value in eng.tls.listing().items():
                eng.reply(f"AT-S.{name}:{value}")
            eng.ok()
        elif option == "2":
            eng.tls.clean()
            eng.save_flash(tls=True)
            eng.reply("AT-S.Clean")
            eng.ok()
        else:
            eng.error(at.ERR_INVALID_VALUE)
        return
    if kind not in _PAYLOAD_KINDS:
        eng.error(at.ERR_INVALID_ARGS)
        return
    data = cmd.payload
    if data is None:
        eng.error(at.ERR_INVALID_VALUE)
        return
    behaviour = eng.config.behaviour
    if kind == "ca":
        if behaviour.ca_max_len is not None and len(data) > behaviour.ca_max_len:
            eng.error(at.ERR_ARG_TOO_LARGE)
            return
        eng.tls.ca = data
        eng.tls.extracted_ski = None
        ski = None
        if eng.profile.extracts_ski or behaviour.fw10_ski == "extract":
            try:
                ski = subject_key_id(load_certificates(data)[0])
            except ValueError as exc:
                log.info("TLSCERT=ca: cannot parse the CA (%s); stored anyway", exc)
        if ski is not None:
            eng.tls.extracted_ski = ski
            eng.reply(f"AT-S.SubjectKeyId:{colon_hex(ski)}")
        else:
            # FW 1.0 printed this even for a CA that has the extension (real log), though its image also holds
            # `SubjectKeyId:` (fw10_ski="extract" prints it): send `auth` yourself.
            eng.reply("AT-S.No SubjectKeyId")
    elif kind == "auth":
        eng.tls.auth = data
    elif kind == "cert":
        if len(data) > behaviour.cert_max_len:
            log.info("TLSCERT=cert: %d bytes exceed the module's %d-byte limit", len(data), behaviour.cert_max_len)
            eng.error(at.ERR_ARG_TOO_LARGE)
            return
        eng.tls.cert = data
    elif kind == "key":
        eng.tls.key = data
    eng.save_flash(tls=True)
    eng.ok()


COMMANDS: dict[str, Command] = {
    "TLSCERT": Command(cmd_tlscert, payload_len=tlscert_payload_len, min_args=2, max_args=2,
                       help="<ca|cert|key|auth>,<length> then the data; content,1 lists; content,2 erases"),
}
