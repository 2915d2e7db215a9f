"""Run code on a MicroPython board over its raw REPL (mpremote's SerialTransport).

Used by the tests, deploy and the demo alike, for the virtual board and a real one:

    with DeviceLink("/dev/ttyACM0") as dev:
        print(dev.exec("print(6*7)"))          # '42\\n'
        dev.put_bytes(b"x = 1\\n", "mod.py")

Every call has an overall timeout; on timeout the running code is interrupted (Ctrl-C) so the board
is usable again, and `DeviceTimeout` is raised with the output seen so far. A device-side exception
becomes `DeviceError` whose message is the device's traceback.
"""

from __future__ import annotations

import ast
import hashlib
import logging
import time
from pathlib import Path

from mpremote.transport import TransportError
from mpremote.transport_serial import SerialTransport

log = logging.getLogger(__name__)


class DeviceError(Exception):
    """Code raised on the device; str() is the device's traceback."""

    def __init__(self, traceback: str, output: str = "") -> None:
        super().__init__(traceback.strip())
        self.traceback = traceback
        self.output = output


class DeviceTimeout(DeviceError):
    pass


class DeviceLink:
    def __init__(self, port: str, baudrate: int = 115200, soft_reset: bool = False) -> None:
        self.port = port
        try:
            self.transport = SerialTransport(port, baudrate=baudrate)
        except TransportError as exc:  # not a serial port, busy, no permission: one line, not a traceback
            raise DeviceError(f"cannot open the board's port {port} ({exc}): check --port, and that no other "
                              "program (mpremote, a terminal) holds it") from None
        self.serial = self.transport.serial
        self._pending = b""  # bytes read from the board past what the last step needed
        self._cooked: bool | None = None  # does the console turn LF into CR LF? (asked on first use)
        self.transport.enter_raw_repl(soft_reset=soft_reset)

    # -- execution ----------------------------------------------------------------------------------
    def exec(self, code: str | bytes, timeout: float = 30, echo: bool = False) -> str:
        """Run `code`, return its stdout; raise DeviceError with the traceback if it raised."""
        out, err = self._exec_raw(code, timeout, echo)
        if err:
            raise DeviceError(self._text(err), self._text(out))
        return self._text(out)

    def exec_capture(self, code: str | bytes, timeout: float = 30) -> tuple[str, str]:
        """Run `code`, return (stdout, traceback or '') without raising for device exceptions."""
        out, err = self._exec_raw(code, timeout, False)
        return self._text(out), self._text(err)

    def _text(self, output: bytes) -> str:
        """Output as the code printed it: stm32 and qemu boards send each LF it printed as CR LF (their
        console's output translation); the unix port sends it as printed."""
        if self._cooked is None:
            probe, _ = self._exec_raw(b"print()", 10, False)
            self._cooked = probe == b"\r\n"
        text = output.decode(errors="replace")
        return text.replace("\r\n", "\n") if self._cooked else text

    def eval(self, expr: str, timeout: float = 30):
        return ast.literal_eval(self.exec(f"print(repr({expr}))", timeout=timeout).strip())

    def _exec_raw(self, code: str | bytes, timeout: float, echo: bool) -> tuple[bytes, bytes]:
        if isinstance(code, str):
            code = code.encode()
        deadline = time.monotonic() + timeout
        self._start(code, deadline)
        out = self._read_until_eof(deadline, echo)
        err = self._read_until_eof(deadline, False)
        return out, err

    def _start(self, code: bytes, deadline: float) -> None:
        """Send `code` at the raw REPL prompt.

        Plain raw mode, not raw-paste: on the unix port Ctrl-C does not interrupt code started by
        raw-paste, and a timeout must always be able to stop runaway code. 256 bytes per 10 ms is
        what mpremote uses so as not to overflow a board's USB receive buffer.
        """
        self._read_until(b">", min(deadline, time.monotonic() + 10), "no raw REPL prompt")
        for i in range(0, len(code), 256):
            self.serial.write(code[i:i + 256])
            time.sleep(0.01)
        self.serial.write(b"\x04")
        self._read_until(b"OK", min(deadline, time.monotonic() + 10), "the board did not accept the code")

    def _read_until(self, ending: bytes, deadline: float, what: str, size: int = 0) -> bytes:
        buf = bytearray(self._pending)
        self._pending = b""
        ser = self.serial
        while True:
            if size and len(buf) >= size:
                self._pending = bytes(buf[size:])
                return bytes(buf[:size])
            if ending and buf.find(ending) >= 0:
                i = buf.find(ending) + len(ending)
                self._pending = bytes(buf[i:])
                return bytes(buf[:i])
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceError(f"{what}; board said: {bytes(buf)!r}")
            ser.timeout = min(remaining, 0.2)
            buf += ser.read(max(1, ser.in_waiting))

    def _read_until_eof(self, deadline: float, echo: bool) -> bytes:
        buf = bytearray()
        ser = self.serial
        while True:
            i = buf.find(b"\x04")
            if i >= 0:
                # Anything after the EOF belongs to the next section; the raw REPL sends it later.
                rest = bytes(buf[i + 1 :])
                if rest:
                    self._pending = rest
                return bytes(buf[:i])
            pending = self._pending
            if pending:
                buf += pending
                self._pending = b""
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._interrupt()
                raise DeviceTimeout(f"timed out; output so far:\n{bytes(buf).decode(errors='replace')}",
                                    bytes(buf).decode(errors="replace"))
            ser.timeout = min(remaining, 0.2)
            chunk = ser.read(max(1, ser.in_waiting))
            if chunk:
                if echo:  # only this section's bytes: not the EOF marker nor the next prompt
                    print(chunk.split(b"\x04", 1)[0].decode(errors="replace"), end="", flush=True)
                buf += chunk

    def _interrupt(self) -> None:
        """Stop whatever runs (Ctrl-C) and get back to a fresh raw REPL prompt."""
        self.serial.write(b"\r\x03\x03")
        time.sleep(0.2)
        self._pending = b""
        self.serial.reset_input_buffer()
        self.serial.write(b"\r\x01")
        self._read_until(b"raw REPL; CTRL-B to exit\r\n", time.monotonic() + 10,
                         "the board does not answer after Ctrl-C")

    def mpremote_transport(self) -> SerialTransport:
        """mpremote's transport on this link, in step for mpremote's own commands (e.g. `romfs deploy`).

        This link may already have read the raw REPL prompt mpremote waits for; it is consumed here and a
        Ctrl-A makes the board print its raw REPL banner and a fresh prompt. mpremote leaves the prompt
        after its last command unread, which is where this link's next exec expects it.
        """
        self._read_until(b">", time.monotonic() + 10, "no raw REPL prompt")
        self.serial.write(b"\x01")
        return self.transport

    def soft_reset(self) -> None:
        """Soft reset (Ctrl-D in the raw REPL): fresh heap, no modules imported, back at the raw REPL."""
        self._pending = b""
        self.transport.enter_raw_repl(soft_reset=True)

    # -- files --------------------------------------------------------------------------------------
    def put_bytes(self, data: bytes, remote: str, chunk: int = 2048) -> None:
        """Write `data` to `remote` on the board's filesystem and verify its SHA-256 there."""
        self.exec(f"_f=open({remote!r},'wb')")
        try:
            for i in range(0, len(data), chunk):
                self.exec(f"_f.write({bytes(data[i:i + chunk])!r})")
        finally:
            self.exec("_f.close()\ndel _f")
        got = self.sha256(remote)
        want = hashlib.sha256(data).hexdigest()
        if got != want:
            raise DeviceError(f"{remote}: SHA-256 on the board {got} != {want}")

    def put(self, local: Path | str, remote: str | None = None) -> None:
        local = Path(local)
        self.put_bytes(local.read_bytes(), remote or local.name)

    def get_bytes(self, remote: str) -> bytes:
        return self.transport.fs_readfile(remote)

    def sha256(self, remote: str) -> str | None:
        """Hex SHA-256 of a file on the board, or None if it does not exist."""
        out = self.exec(
            "import hashlib, binascii\n"
            "try:\n"
            f" _f=open({remote!r},'rb')\n"
            "except OSError:\n"
            " print('-')\n"
            "else:\n"
            " _h=hashlib.sha256();_b=bytearray(512)\n"
            " while True:\n"
            "  _n=_f.readinto(_b)\n"
            "  if not _n: break\n"
            "  _h.update(memoryview(_b)[:_n])\n"
            " _f.close();print(binascii.hexlify(_h.digest()).decode());del _f,_h,_b,_n\n"
        ).strip()
        return None if out == "-" else out

    def mkdir(self, remote: str) -> None:
        self.exec(f"import os\ntry:\n os.mkdir({remote!r})\nexcept OSError:\n pass")

    def run_file(self, path: Path | str, timeout: float = 60) -> str:
        return self.exec(Path(path).read_bytes(), timeout=timeout)

    def close(self) -> None:
        try:
            self.transport.exit_raw_repl()
        except Exception:  # the port may already be gone; closing must not fail
            pass
        self.transport.close()

    def __enter__(self) -> "DeviceLink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
