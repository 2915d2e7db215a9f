"""A sample of the bundle comparison, the pre-flight check and the malformed-input tests on the MicroPython
unix port (the virtual board's interpreter), with the F401RE-like heap."""

from __future__ import annotations

import binascii
import datetime as dt
import json
import random
import subprocess
import warnings
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certexpect import CA_BUNDLE, diff, expected, expected_keys
from spwf04_tools import DEVICE_DIR, REPO_ROOT
from spwf04_tools.pki import build_pki

pytestmark = pytest.mark.timeout(180)

MICROPYTHON = REPO_ROOT / ".venv" / "bin" / "micropython"

PRELUDE = """
import sys, json, binascii, gc
sys.path.insert(0, {path!r})
from spwf04 import cert
def hx(b):
    return None if b is None else binascii.hexlify(b).decode()
"""


def mpy_package(tmp_path: Path) -> Path:
    """cert + errors + utc compiled with mpy-cross in a package of their own: what a deployed board runs (compiling
    the sources needs far more RAM than the F401RE-sized heap)."""
    root = tmp_path / "mpylib"
    (root / "spwf04").mkdir(parents=True, exist_ok=True)
    (root / "spwf04" / "__init__.py").write_text("")
    for name in ("cert", "errors", "utc"):
        subprocess.run([str(REPO_ROOT / ".venv" / "bin" / "mpy-cross"), "-o", str(root / "spwf04" / f"{name}.mpy"),
                        str(DEVICE_DIR / "spwf04" / f"{name}.py")], check=True, timeout=60)
    return root


def run_mp(body: str, tmp_path: Path, heap: str = "60wK", timeout: float = 120, mpy: bool = True) -> list:
    """Run body on the unix port after `from spwf04 import cert` (the .mpy build, or the sources)."""
    script = tmp_path / "mp_script.py"
    path = mpy_package(tmp_path) if mpy else DEVICE_DIR
    script.write_text(PRELUDE.format(path=str(path)) + body)
    r = subprocess.run([str(MICROPYTHON), "-X", f"heapsize={heap}", str(script)], capture_output=True,
                       text=True, timeout=timeout)
    assert r.returncode == 0, f"micropython failed:\n{r.stdout}\n{r.stderr}"
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def _bytes_fields(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if k in ("ski", "aki", "key_id", "subject_der", "issuer_der"):
            v = None if v is None else binascii.unhexlify(v)
        elif k in ("not_before", "not_after"):
            v = tuple(v)
        out[k] = v
    return out


@pytest.fixture(scope="module")
def sample_pem(tmp_path_factory) -> tuple[Path, list[x509.Certificate]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        certs = x509.load_pem_x509_certificates(Path(CA_BUNDLE).read_bytes())[::5]
    d = tmp_path_factory.mktemp("mp")
    pki = build_pki(d / "pki", ca_key="ec256", server_key="ec256", ca_ski=False, intermediate=True)
    certs += [x509.load_pem_x509_certificate(p.read_bytes()) for p in (pki.ca.pem, pki.intermediate.pem,
                                                                        pki.server.pem)]
    path = d / "sample.pem"
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    return path, certs


def test_unix_port_agrees_with_cryptography(sample_pem, tmp_path):
    path, certs = sample_pem
    keys = expected_keys()
    body = f"""
for c in cert.iter_pem(open({str(path)!r}, 'rb').read()):
    d = {{}}
    for k in {keys!r}:
        v = getattr(c, k)
        d[k] = hx(v) if isinstance(v, bytes) else v
    print(json.dumps(d))
    c = None
    gc.collect()
"""
    got = run_mp(body, tmp_path, heap="1M", mpy=False)  # sources; the sample alone is ~60 KB
    assert len(got) == len(certs) > 25
    problems = {i: diff(expected(r), _bytes_fields(g)) for i, (r, g) in enumerate(zip(certs, got))}
    assert {i: p for i, p in problems.items() if p} == {}


def test_unix_port_sha1_fallback_and_check(tmp_path):
    now = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.timezone.utc)  # 1772366400
    pki = build_pki(tmp_path / "pki", ca_key="rsa4096", now=now)
    good = build_pki(tmp_path / "good", ca_ski=False, now=now)
    body = f"""
import hashlib
ca4096 = cert.parse(open({str(pki.ca.pem)!r}, 'rb').read())[0]
ca = cert.parse(open({str(good.ca.der)!r}, 'rb').read())[0]
srv = cert.parse(open({str(good.server.pem)!r}, 'rb').read())[0]
ref = hashlib.sha1(b'abc' * 100).digest()
cert._hsha1 = None
print(json.dumps([hx(cert._sha1(b'abc' * 100)), hx(ref), hx(ca.key_id), hx(srv.aki), cert.hex_id(ca.auth)]))
res = []
for c, now, fw in ((ca, 1772366400, '1.0'), (ca, None, '1.0'), (ca, 1772366400 - 946684800, '1.1'),
                   (ca4096, 1772366400, '1.0'), (srv, 1772366400, '1.1'), (ca, 4000000000, '1.1')):
    try:
        cert.check(c, now, fw)
        res.append('ok')
    except cert.CertError as e:
        res.append(e.code)
print(json.dumps(res))
"""
    (sha, codes) = run_mp(body, tmp_path)
    assert sha[0] == sha[1]
    assert sha[2] == sha[3]  # the fallback SHA-1 key id equals the AKI OpenSSL-style tools put in the server cert
    assert sha[4] == sha[2].upper()
    assert codes == ["ok", "clock_unset", "clock_implausible", "key_unsupported", "not_ca", "expired"]


def test_unix_port_malformed_only_cert_error(tmp_path):
    pki = build_pki(tmp_path / "pki")
    der = pki.server.der.read_bytes()
    rng = random.Random(77)
    blobs = [der[:n] for n in range(0, len(der), 3)]
    for _ in range(600):
        b = bytearray(der)
        for _ in range(rng.randrange(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        blobs.append(bytes(b))
    blobs += [b"\x30\x80" * 2000, b"\x30\x84\xff\xff\xff\xff", b"\x30" * 5000, b"-----BEGIN CERTIFICATE-----\nAB"]
    path = tmp_path / "blobs.txt"
    path.write_text("\n".join(b.hex() for b in blobs))
    body = f"""
counts = {{}}
for line in open({str(path)!r}):
    data = binascii.unhexlify(line.strip())
    try:
        for c in cert.parse(data):
            c.key_id; repr(c)
        kind = 'parsed'
    except cert.CertError:
        kind = 'CertError'
    except Exception as e:
        kind = type(e).__name__
    counts[kind] = counts.get(kind, 0) + 1
print(json.dumps(counts))
"""
    (counts,) = run_mp(body, tmp_path, heap="1M")
    assert set(counts) <= {"parsed", "CertError"}, counts
    assert counts["CertError"] > len(der) // 3


def test_unix_port_small_heap_loads_and_checks_a_ca(tmp_path):
    """With the F401RE-like heap: import, parse a PEM CA, compute the key id, check it, format auth."""
    now = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.timezone.utc)  # 1772366400
    pki = build_pki(tmp_path / "pki", ca_ski=False, now=now)
    body = f"""
gc.collect()
base = gc.mem_alloc()
print(json.dumps(gc.mem_free()))
data = open({str(pki.ca.pem)!r}, 'rb').read()
cert._hsha1 = None  # as on the F401RE: no hashlib.sha1
ca = cert.parse(data)[0]
cert.check(ca, 1772366400, '1.0')
auth = cert.hex_id(ca.auth)
gc.collect()
print(json.dumps([auth, gc.mem_alloc() - base, len(data)]))
"""
    free, (auth, held, size) = run_mp(body, tmp_path)
    assert auth == pki.server.cert.extensions.get_extension_for_class(
        x509.AuthorityKeyIdentifier).value.key_identifier.hex().upper()
    assert held < 4 * size + 4096, held  # the CA object holds its DER + PEM + a few small fields, no more
