"""Driver unit tests against the scripted module (fakemodule.py): every case of cases.py runs on CPython
and on the MicroPython unix port (60 KB-like heap)."""
import json
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from spwf04_tools import device_path

device_path()  # the device package (micropython/) on CPython

import cases  # noqa: E402
from spwf04_tools.pki import PKIOptions, build_pki

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MPY = ROOT / ".venv" / "bin" / "micropython"


def _key_id(cert: x509.Certificate) -> str:
    """The CA's key identifier as the module needs it in TLSCERT=auth, computed by `cryptography`."""
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex().upper()
    except x509.ExtensionNotFound:
        return x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest.hex().upper()


@pytest.fixture(scope="session")
def ctx(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("driver-pki")
    good = build_pki(d / "good")
    noski = build_pki(d / "noski", PKIOptions(ca_ski=False))
    expired = build_pki(d / "expired", PKIOptions(ca_validity="expired"))
    assert good.ca.ski is not None and noski.ca.ski is None
    return {
        "ca_pem": str(good.ca.pem), "ca_der": str(good.ca.der), "server_pem": str(good.server.pem),
        "noski_pem": str(noski.ca.pem), "noski_der": str(noski.ca.der), "expired_pem": str(expired.ca.pem),
        "ski": _key_id(good.ca.cert), "noski_keyid": _key_id(noski.ca.cert),
    }


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", cases.CASES)
def test_cpython(name, ctx):
    getattr(cases, name)(ctx)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", cases.CASES)
def test_unix_port(name, ctx):
    paths = [str(ROOT / "micropython"), str(HERE)]
    code = (f"import sys; sys.path[:0] = {paths!r}; sys.argv[1:] = {[name, json.dumps(ctx)]!r}; "
            f"exec(open({str(HERE / 'run_case.py')!r}).read())")
    # heap for the test double's 256 KiB buffers; the driver's own footprint is test_driver_heap.py's job
    r = subprocess.run([str(MPY), "-X", "heapsize=4M", "-c", code], capture_output=True, text=True,
                       timeout=220, cwd=str(HERE))
    assert r.returncode == 0 and f"PASS {name}" in r.stdout, r.stdout[-4000:] + r.stderr[-4000:]
    print(r.stdout.strip())
