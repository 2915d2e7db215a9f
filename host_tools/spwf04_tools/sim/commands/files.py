"""RAM file system commands FSC, FSL, FSP, FSD, FSR (spec 6.13). FSL and FSP output formats are invented."""

from __future__ import annotations

from ... import at_tables as at
from ..engine import Cmd, Command, Engine
from ..files import FsError


def fsc_payload_len(params: list[str]) -> int | None:
    if len(params) != 2:
        return None
    try:
        n = int(params[1].strip())
    except ValueError:
        return None
    return n if n >= 0 else None


def cmd_fsc(eng: Engine, cmd: Cmd) -> None:
    if cmd.payload is None:
        eng.error(at.ERR_INVALID_VALUE)
        return
    try:
        eng.fs.append(cmd.params[0], cmd.payload)
    except FsError as exc:
        eng.error(exc.code)
        return
    eng.ok()


def cmd_fsl(eng: Engine, cmd: Cmd) -> None:
    # `AT-S.File:<name>:<size>` per file: invented (format unknown).
    want = cmd.params[0].strip() if cmd.params and cmd.params[0].strip() else None
    names = sorted(eng.fs.files)
    if want is not None:
        data = eng.fs.get(want)
        if data is None:
            eng.error(at.ERR_FILE_OPEN)
            return
        names = [want.lstrip("/")]
    for name in names:
        eng.reply(f"AT-S.File:/{name}:{len(eng.fs.files[name])}")
    eng.ok()


def cmd_fsp(eng: Engine, cmd: Cmd) -> None:
    # Output format unknown: the simulator prints the raw bytes, a CR LF if they do not end with one, then OK.
    if not cmd.params or not cmd.params[0].strip():
        eng.error(at.ERR_MISSING_ARGS)
        return
    if len(cmd.params) > 3:
        eng.error(at.ERR_TOO_MANY_ARGS)
        return
    try:
        data = eng.fs.read(cmd.params[0])
    except FsError as exc:
        eng.error(exc.code)
        return
    try:
        offset = int(cmd.params[1]) if len(cmd.params) > 1 and cmd.params[1].strip() else 0
        length = int(cmd.params[2]) if len(cmd.params) > 2 and cmd.params[2].strip() else len(data) - offset
    except ValueError:
        eng.error(at.ERR_INVALID_VALUE)
        return
    if not 0 <= offset <= len(data) or length < 0:
        eng.error(at.ERR_FILE_SEEK)
        return
    chunk = data[offset: offset + length]
    if chunk:
        eng.data(chunk if chunk.endswith(b"\r\n") else chunk + b"\r\n")
    eng.ok()


def cmd_fsd(eng: Engine, cmd: Cmd) -> None:
    if not cmd.params or not cmd.params[0].strip():
        eng.error(at.ERR_MISSING_ARGS)
        return
    if len(cmd.params) > 1:
        eng.error(at.ERR_TOO_MANY_ARGS)
        return
    try:
        eng.fs.delete(cmd.params[0])
    except FsError as exc:
        eng.error(exc.code)
        return
    eng.ok()


def cmd_fsr(eng: Engine, cmd: Cmd) -> None:
    try:
        eng.fs.rename(cmd.params[0], cmd.params[1])
    except FsError as exc:
        eng.error(exc.code)
        return
    eng.ok()


COMMANDS: dict[str, Command] = {
    "FSC": Command(cmd_fsc, payload_len=fsc_payload_len, min_args=2, max_args=2,
                   help="create or append to a file <name>,<len>"),
    "FSL": Command(cmd_fsl, help="list files"),
    "FSP": Command(cmd_fsp, help="print a file <name>,<offset>,<length>"),
    "FSD": Command(cmd_fsd, help="delete a file"),
    "FSR": Command(cmd_fsr, min_args=2, max_args=2, help="rename a file <old>,<new>"),
}
