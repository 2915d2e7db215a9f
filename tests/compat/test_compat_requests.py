"""micropython-lib `requests` (frozen into the unix-port MicroPython; `mpremote mip install requests` on a
board), unmodified, fetching pages over the module's TLS through the simulator from a real local HTTPS server."""

from __future__ import annotations

import hashlib

import pytest

from compat_helpers import HTTPSServer, bring_up, run
from spwf04_tools.pki import PKIOptions, build_pki

pytestmark = pytest.mark.virtual_only


def _sockon(sim) -> list[str]:
    return [c.line for c in sim.commands if c.line.upper().startswith("AT+S.SOCKON")]


def test_requests_get_https_page(cboard, sim, pki) -> None:
    with HTTPSServer(pki) as srv:
        out = run(cboard, bring_up() +
                  "import requests\n"
                  f"r = requests.get('https://localhost:{srv.port}/page')\n"
                  "print('STATUS', r.status_code)\n"
                  "print(r.text)\n"
                  "print('SOCKETS', len(m.sockets()))\n")
    assert "STATUS 200" in out
    assert HTTPSServer.PAGE.decode() in out
    assert "SOCKETS 0" in out  # the response was read to the end and the socket closed on the module
    # It went through the module, as TLS with the URL's host as the server name (not the unix port's own TLS).
    assert _sockon(sim) == [f"AT+S.SOCKON=localhost,{srv.port},NULL,localhost"]
    assert [(r[0], r[1], r[2].get("Host")) for r in srv.requests] == [("GET", "/page", "localhost")]


def test_requests_streamed_download_and_uploads(cboard, sim, pki) -> None:
    big_sha = hashlib.sha256(HTTPSServer.BIG).hexdigest()
    body = bytes(range(256)) * 4 + b"tail"  # 1028 bytes: two SOCKW segments (730 each at most)
    with HTTPSServer(pki) as srv:
        out = run(cboard, bring_up() +
                  "import requests, hashlib, binascii\n"
                  "def sha(b):\n"
                  "    return binascii.hexlify(b.digest() if hasattr(b, 'digest') else hashlib.sha256(b).digest())\n"
                  f"base = 'https://localhost:{srv.port}'\n"
                  # 10 KB through one 512-byte buffer: the way to fetch more than the heap holds
                  "r = requests.get(base + '/big', stream=True)\n"
                  "h = hashlib.sha256(); buf = bytearray(512); mv = memoryview(buf); total = 0\n"
                  "while True:\n"
                  "    k = r.raw.readinto(buf)\n"
                  "    if not k:\n"
                  "        break\n"
                  "    h.update(mv[:k]); total += k\n"
                  "r.close()\n"
                  "print('BIG', r.status_code, total, sha(h).decode())\n"
                  "body = bytes(range(256)) * 4 + b'tail'\n"
                  "r = requests.post(base + '/echo', data=body)\n"
                  "print('POST', r.status_code, r.content == body, r.headers['X-Body-SHA256'] == sha(body).decode())\n"
                  "r = requests.post(base + '/echo', json={'temp': 21.5})\n"
                  "print('JSON', r.status_code, r.json())\n"
                  "r = requests.get(base + '/missing')\n"
                  "print('MISSING', r.status_code)\n"
                  "r.close()\n"
                  "print('SOCKETS', len(m.sockets()))\n")
    assert f"BIG 200 {len(HTTPSServer.BIG)} {big_sha}" in out
    assert "POST 200 True True" in out
    assert "JSON 200 {'temp': 21.5}" in out
    assert "MISSING 404" in out
    assert "SOCKETS 0" in out
    posts = [r for r in srv.requests if r[0] == "POST"]
    assert posts[0][3] == body
    assert posts[1][2]["Content-Type"] == "application/json"
    assert len(_sockon(sim)) == 4


def test_cert_none_from_requests_does_not_disable_the_module_check(cboard, sim, tmp_path) -> None:
    # requests sets verify_mode = CERT_NONE; the module still checks the server against the CA it holds.
    pki = build_pki(tmp_path / "wrong", PKIOptions(wrong_ca=True))
    cboard.put_bytes(pki.wrong_ca.pem.read_bytes(), "ca.pem")  # a CA that did not issue the server's certificate
    with HTTPSServer(pki) as srv:
        out = run(cboard, bring_up() +
                  "import requests\n"
                  "try:\n"
                  f"    requests.get('https://localhost:{srv.port}/page')\n"
                  "    print('FETCHED')\n"
                  "except OSError as e:\n"
                  "    print('REFUSED', type(e).__name__, e)\n"
                  "print('SOCKETS', len(m.sockets()))\n")
    assert "FETCHED" not in out
    assert "REFUSED ModuleError" in out and "AT-S.ERROR:74" in out and "Certificate Error" in out
    assert "SOCKETS 0" in out
    assert srv.requests == []  # no request reached the server
    assert len(_sockon(sim)) == 1


def test_server_name_is_checked_by_the_module(cboard, sim, tmp_path) -> None:
    named = build_pki(tmp_path / "named", PKIOptions(server_cn="other.example", san_dns=("other.example",),
                                                     san_ip=()))
    cboard.put_bytes(named.ca_pem.read_bytes(), "ca.pem")
    with HTTPSServer(named) as srv:
        out = run(cboard, bring_up() +
                  "import requests\n"
                  "try:\n"
                  f"    requests.get('https://localhost:{srv.port}/page')\n"
                  "    print('FETCHED')\n"
                  "except OSError as e:\n"
                  "    print('REFUSED', e)\n")
    assert "FETCHED" not in out
    assert "REFUSED" in out and "Certificate Error" in out
    assert _sockon(sim) == [f"AT+S.SOCKON=localhost,{srv.port},NULL,localhost"]
    assert srv.requests == []


def test_no_ca_loaded_names_the_fix_before_any_tls_traffic(cboard, sim, pki) -> None:
    with HTTPSServer(pki) as srv:
        out = run(cboard, bring_up(load_ca=False) +
                  "import requests\n"
                  "try:\n"
                  f"    requests.get('https://localhost:{srv.port}/page')\n"
                  "except ValueError as e:\n"
                  "    print('REFUSED', type(e).__name__, e)\n")
    assert "REFUSED CertError" in out and "load_ca" in out
    assert _sockon(sim) == []
