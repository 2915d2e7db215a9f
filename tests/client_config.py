"""The Client_Socket app's configuration and CA put on the board for a loopback TLS server (the app's tests and
the cold-clock NTP tests)."""

from __future__ import annotations

import json
from pathlib import Path

from spwf04_tools.sim.config import DEFAULT_AP
from spwf04_tools.tls_server import OpenSSLServer


def configure(board, server: OpenSSLServer, ca: Path, **overrides) -> None:
    cfg = {"ssid": DEFAULT_AP.ssid, "key": DEFAULT_AP.passphrase, "host": server.host, "port": server.port,
           "server_name": "localhost", "request": "GET / HTTP/1.0\r\n\r\n", "timeout": 15}
    cfg.update(overrides)
    board.put_bytes(json.dumps(cfg).encode(), "client_config.json")
    board.put_bytes(ca.read_bytes(), "ca.pem")
