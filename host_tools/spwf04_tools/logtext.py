"""Host-side text in captured logs (ST's C example and similar): which lines are the host's payload.

ST's example prints each command it sends as `>>UART TX buffer: AT+S.TLSCERT=Auth,40`, then the payload it
sends with it on lines of their own without any prefix (the 40 hex digits of `auth`, the lines of a PEM CA),
then the module's echo and answer follow, also without a prefix. A command with a declared length owns the
unprefixed lines right after it, as long as they can be payload: it stops at the first line that is
module output (an `AT-S.` line, an indication, the echo of a command), at the END line of a PEM block, or
when the declared bytes are all there. Text logs lose line ends, so a payload line is counted with one line
end byte and the declared length is allowed one byte more per line (CR LF sent, LF shown).
"""

from __future__ import annotations

import re

# The example's own debug labels after its `>>`/`<<` prefixes: not part of the command or of the answer.
HOST_LABEL = re.compile(r"^UART [TR]X buffer:\s*", re.IGNORECASE)
_MODULE_LINE = re.compile(rb"^(?:AT[-+]S\.|\+WIND:|AT\s*$)", re.IGNORECASE)
_PEM_END = re.compile(rb"^-----END [A-Z0-9 ]+-----$")


def strip_label(line: str) -> str:
    """`UART TX buffer: AT+S.TIME=...` -> `AT+S.TIME=...`."""
    return HOST_LABEL.sub("", line, count=1)


def owns(declared: int, payload: bytes, line: bytes) -> bool:
    """Whether an unprefixed `line` that follows a host command declaring `declared` payload bytes, of which
    `payload` (lines joined by LF, each ended by LF) was already shown, is more of that payload."""
    text = line.rstrip(b"\r\n")
    if not text or _MODULE_LINE.match(text):
        return False
    if payload.startswith(b"-----BEGIN"):
        last = payload.rstrip(b"\n").rsplit(b"\n", 1)[-1]
        return not _PEM_END.match(last)  # the block ended with its END line
    lines = payload.count(b"\n")
    return len(payload) - lines < declared  # payload bytes without their line ends still short of declared
