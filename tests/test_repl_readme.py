"""`make repl` as a new user meets it: `spwf04 repl` on a terminal, then every REPL example of the README
("At the REPL", "The driver") typed line by line; what the board prints is checked against what the README
shows (values that vary - dates, key ids, line numbers - matched by pattern). The board's REPL ends its
lines with CR LF, like a real board."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SPWF04 = str(Path(sys.executable).with_name("spwf04"))
PROMPT = b">>> "

pytestmark = [pytest.mark.virtual_only, pytest.mark.timeout(400)]


def section(text: str, title: str) -> str:
    start = text.index(title + "\n")
    end = text.find("\n## ", start + len(title))
    return text[start:end if end > 0 else len(text)]


def examples(block: str) -> list[tuple[str, str]]:
    """(typed line, expected output) for every `>>> ` line of a README section, in order; the output is
    the lines up to the next `>>> ` line, blank line or fence."""
    out: list[tuple[str, str]] = []
    for raw in block.splitlines():
        line = raw.strip()
        if line.startswith(">>> "):
            out.append((line[4:], ""))
        elif out and line and not line.startswith("```") and out[-1][1] is not None:
            out[-1] = (out[-1][0], (out[-1][1] + "\n" + line).strip())
        elif out and (not line or line.startswith("```")):
            out[-1] = (out[-1][0], out[-1][1])  # the example's output ends here
            out.append(("", None))  # marker: later prose is not output
    return [(cmd, exp) for cmd, exp in out if cmd]


# values that differ from run to run, each with the pattern that must match in their place
VARIABLE = re.compile(r'(?P<date>\d{4}-\d\d-\d\d)|(?P<hex>\b[0-9A-F]{40}\b)|(?P<line>line \d+)|'
                      r'(?P<file>File "[^"]*")|(?P<ws>\s+)')
PATTERN = {"date": r"\d{4}-\d\d-\d\d", "hex": r"[0-9A-F]{40}", "line": r"line \d+", "file": r'File "[^"]*"',
           "ws": r"\s+"}


def to_regex(expected: str) -> re.Pattern[str]:
    parts, pos = [], 0
    for m in VARIABLE.finditer(expected):
        parts.append(re.escape(expected[pos:m.start()]) + PATTERN[m.lastgroup])
        pos = m.end()
    return re.compile(r"\s*" + "".join(parts) + re.escape(expected[pos:]) + r"\s*", re.S)


class Terminal:
    """A person's terminal: a pty with `spwf04 repl` on the other side."""

    def __init__(self, args: list[str]) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
        os.close(slave)
        self.seen = b""

    def read_until(self, needle: bytes, timeout: float) -> bytes:
        buf = b""
        deadline = time.monotonic() + timeout
        while not buf.endswith(needle) if needle == PROMPT else needle not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"did not see {needle!r}; got {buf[-1500:]!r}")
            r, _, _ = select.select([self.master], [], [], min(left, 0.5))
            if r:
                try:
                    buf += os.read(self.master, 4096)
                except OSError:
                    break
        self.seen += buf
        return buf

    def type(self, line: str, timeout: float = 90) -> str:
        """Type one line; return what the board printed for it (its echo and the next prompt cut off)."""
        os.write(self.master, line.encode() + b"\r")
        got = self.read_until(PROMPT, timeout)
        text = got[:-len(PROMPT)].decode(errors="replace")
        echo = text.find("\r\n")
        assert echo >= 0 and text[:echo].endswith(line), f"no echo of {line!r}: {text!r}"
        return text[echo + 2:]

    def close(self) -> int | None:
        try:
            os.write(self.master, b"\x18")  # Ctrl-X: mpremote leaves, the command stops what it started
            return self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            os.close(self.master)


def test_make_repl_runs_every_readme_repl_example_as_printed(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text()
    at_repl = examples(section(readme, "## At the REPL"))
    driver_text = section(readme, "## The driver").split("### API summary")[0]
    driver = examples(driver_text)
    # the inline one: `m.at("AT+S.STS=fw_version")` ... returns the module's lines (`[...]`)
    inline = re.search(r"`(m\.at\([^`]+\))` sends any command and returns the module's lines\s+\(`([^`]+)`\)",
                       driver_text)
    assert inline, "the README's m.at() example moved: update this test"
    driver.append((inline[1], inline[2]))
    assert len(at_repl) == 3 and len(driver) >= 12, (at_repl, driver)  # the README's examples were found

    term = Terminal([SPWF04, "repl", "--flash", str(tmp_path / "flash"), "--peer-port", "0"])
    try:
        banner = term.read_until(b"Ctrl-X leaves", 180).decode(errors="replace")
        port = re.search(r"TLS peer on 127\.0\.0\.1:(\d+)", banner)
        assert port, banner
        time.sleep(1.0)
        os.write(term.master, b"\r")
        term.read_until(PROMPT, 20)
        term.seen = b""  # from here on: the board's REPL only

        printed = [term.type(cmd.replace("4433", port[1]), 240) for cmd, _ in at_repl]
        assert all("Traceback" not in p for p in printed), printed
        steps = printed[-1]
        for n in range(1, 10):
            assert f"[{n}/9] " in steps, steps
        assert "HTTP/1.0 200 ok" in steps and "SPWF04SA firmware 1.1.0" in steps, steps

        # "press Ctrl-D first (a soft reset)", as the README says between the two sections
        os.write(term.master, b"\x04")
        assert b"soft reboot" in term.read_until(PROMPT, 30)
        for cmd, expected in driver:
            got = term.type(cmd.replace("4433", port[1]), 120)
            want = to_regex(expected.replace("4433", port[1]))
            assert want.fullmatch(got), f">>> {cmd}\nREADME:\n{expected}\nboard:\n{got}"
        # CR LF line ends, like a real board: no LF without its CR anywhere in the session
        assert re.search(rb"(?<!\r)\n", term.seen) is None, term.seen[-800:]
        assert term.seen.count(b"\r\n") > 20
    finally:
        rc = term.close()
    assert rc == 0
