"""The README examples (also in docs/compat.md), run as written (host, port and paths pointed at a local server)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from compat_helpers import HTTPSServer, bring_up, run
from spwf04_tools import REPO_ROOT

pytestmark = pytest.mark.virtual_only

DOC = REPO_ROOT / "README.md"


def _examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def _point_at(code: str, port: int) -> str:
    return (code.replace("https://myserver.local/status", f"https://localhost:{port}/page")
            .replace('"myserver.local", 443, b"/a"', f'"localhost", {port}, b"/page"')
            .replace('"myserver.local", 443, b"/b"', f'"localhost", {port}, b"/missing"'))


def test_requests_example(cboard, sim, pki) -> None:
    code = _examples()[0]
    # The example's own bring-up (Wi-Fi name and key) is replaced by the simulator's; the rest runs as written.
    rest = code[code.index("import requests"):]
    with HTTPSServer(pki) as srv:
        out = run(cboard, bring_up() + _point_at(rest, srv.port))
    assert f"200 {HTTPSServer.PAGE.decode()}" in out
    assert [r[1] for r in srv.requests] == ["/page"]


def test_asyncio_example(cboard, sim, pki) -> None:
    code = _examples()[1]
    with HTTPSServer(pki) as srv:
        out = run(cboard, bring_up() + _point_at(code, srv.port))
    assert "b'/page' b'HTTP/1.0 200 OK\\r\\n'" in out
    assert "b'/missing' b'HTTP/1.0 404 Not Found\\r\\n'" in out
    assert sorted(r[1] for r in srv.requests) == ["/missing", "/page"]
    assert len([c for c in sim.commands if c.line.upper().startswith("AT+S.SOCKON")]) == 2


def test_examples_bring_the_module_up_as_documented() -> None:
    code = _examples()[0]
    for step in ("m = wifi_board.module()", "m.init()", "m.wlan.connect(", "m.settime()",
                 'm.tls.load_ca(path="ca.pem")', "spwf04compat.install(m)"):
        assert step in code
    assert code.index("spwf04compat.install(m)") < code.index("import requests")
