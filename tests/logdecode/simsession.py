"""Drive the SPWF04SA simulator over its TCP UART like a host would, with the simulator's --log byte log on."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from spwf04_tools.sim import SimConfig, Simulator


class Session:
    def __init__(self, log: Path, fw: str = "1.1", **cfg) -> None:
        self.sim = Simulator(SimConfig(fw=fw, log_file=log, **cfg))
        self.log = log

    def __enter__(self) -> "Session":
        host, port = self.sim.start_tcp()
        self.sim.wait_ready()
        self.sock = socket.create_connection((host, port), timeout=10)
        self.buf = b""
        return self

    def __exit__(self, *exc: object) -> None:
        # The simulator logs output after sending it: one more round trip lets the log catch up with
        # everything the test has already received.
        try:
            self.buf = b""
            self.cmd(b"AT", timeout=5)
            time.sleep(0.05)
        except OSError:
            pass
        self.sock.close()
        self.sim.stop()

    def read_until(self, pred, timeout: float = 25.0) -> bytes:
        deadline = time.monotonic() + timeout
        while not pred(self.buf):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"simulator did not answer; got {self.buf[-300:]!r}")
            self.sock.settimeout(min(left, 0.5))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise ConnectionError("simulator closed the UART")
            self.buf += chunk
        out, self.buf = self.buf, b""
        return out

    def cmd(self, line: bytes, payload: bytes = b"", timeout: float = 25.0) -> bytes:
        self.sock.sendall(line + b"\r" + payload)
        return self.read_until(lambda b: b"AT-S.OK\r\n" in b or b"AT-S.ERROR" in b and b.endswith(b"\r\n"),
                               timeout)

    def sockr(self, sid: int, n: int, timeout: float = 10.0) -> bytes:
        """AT+S.SOCKR with an exact read: the n data bytes may contain AT-S.OK lines themselves."""
        self.sock.sendall(b"AT+S.SOCKR=%d,%d\r" % (sid, n))

        def complete(b: bytes) -> bool:
            i = b.find(b"AT-S.Reading:")
            j = b.find(b"\r\n", i) if i >= 0 else -1
            return j >= 0 and len(b) >= j + 2 + n + 9 and b[j + 2 + n:].startswith(b"AT-S.OK\r\n")

        out = self.read_until(complete, timeout)
        j = out.find(b"\r\n", out.find(b"AT-S.Reading:"))
        return out[j + 2:j + 2 + n]

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def join(self) -> None:
        for c in (b"AT+S.SCFG=wifi_wpa_psk_text,simulated-wifi", b"AT+S.SSIDTXT=SPWF04-SIM",
                  b"AT+S.SCFG=wifi_priv_mode,2", b"AT+S.SCFG=wifi_mode,1", b"AT+S.WCFG"):
            self.cmd(c)
        self.sock.sendall(b"AT+S.RESET\r")
        self.sim.wait_joined(15)
        time.sleep(0.2)
        self.buf = b""
        self.sock.settimeout(0.3)
        try:
            while self.sock.recv(65536):
                pass
        except socket.timeout:
            pass
