"""`spwf04 doctor --ca F` names what F is when it is not a certificate (the CA checks it shares with deploy)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from spwf04_tools.pki import build_pki

pytestmark = pytest.mark.timeout(120)

SPWF04 = str(Path(sys.executable).with_name("spwf04"))


def doctor(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SPWF04, "doctor", "--no-probe", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("form", ["pem", "der"])
def test_private_key_given_as_ca_is_named_and_not_shown(tmp_path, form):
    pki = build_pki(tmp_path / "pki")
    key = serialization.load_pem_private_key(pki.ca.key_pem.read_bytes(), None)
    ca = tmp_path / f"ca.{form}"
    if form == "pem":
        ca.write_bytes(pki.ca.key_pem.read_bytes())
    else:
        ca.write_bytes(key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))
    r = doctor("--ca", str(ca))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    what = "a private key" if form == "pem" else "a private key (DER)"
    assert r.stdout == (f"spwf04 doctor: ca.{form} is {what}, not a certificate: pass the CA certificate "
                        "(BEGIN CERTIFICATE)\n")
    for line in pki.ca.key_pem.read_text().splitlines()[1:-1]:
        assert line not in r.stdout + r.stderr


def test_json_output_names_the_key_too(tmp_path):
    pki = build_pki(tmp_path / "pki")
    r = doctor("--json", "--ca", str(pki.ca.key_pem))
    assert r.returncode == 2
    assert '"verdict": "ERROR"' in r.stdout and "is a private key, not a certificate" in r.stdout
