"""`spwf04 deploy --ca F` refuses a CA the board could not use, on the host, before touching the board.

Every run goes to a pseudo-terminal standing in for the board's port: a refused input must leave it
untouched (no connection made, nothing copied); a good CA must get as far as talking to it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from spwf04_tools.pki import build_pki

pytestmark = pytest.mark.timeout(180)

SPWF04 = str(Path(sys.executable).with_name("spwf04"))


@pytest.fixture
def port():
    """(slave path given as --port, master fd: what deploy wrote to the 'board')."""
    master, slave = os.openpty()
    os.set_blocking(master, False)
    yield os.ttyname(slave), master
    os.close(master)
    os.close(slave)


def written(master: int) -> bytes:
    try:
        return os.read(master, 4096)
    except BlockingIOError:
        return b""


def deploy(port_path: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    # unbuffered: what deploy printed before a test stops it must not be lost in its buffer
    return subprocess.run([SPWF04, "deploy", "--port", port_path, *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.fixture(scope="module")
def pkis(tmp_path_factory):
    base = tmp_path_factory.mktemp("pkis")
    return {name: build_pki(base / name, **kw) for name, kw in {
        "good": {}, "expired": {"ca_validity": "expired"}, "future": {"ca_validity": "not_yet_valid"},
        "rsa4096": {"ca_key": "rsa4096"}, "ec": {"ca_key": "ec256"},
        "big": {"ca_cn": "C" * 64, "organization": "O" * 64}}.items()}


def refused(r: subprocess.CompletedProcess, master: int) -> list[str]:
    """The problem lines; checks exit status, no traceback and an untouched port."""
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr + r.stdout
    assert written(master) == b"", "deploy talked to the board before refusing its input"
    lines = r.stderr.splitlines()
    assert lines and all(line.startswith("deploy failed: ") for line in lines), r.stderr
    return [line[len("deploy failed: "):] for line in lines]


def test_private_key_is_named_and_never_copied_or_shown(tmp_path, port, pkis):
    key = pkis["good"].ca.key_pem
    ca = tmp_path / "ca.pem"
    ca.write_bytes(key.read_bytes())
    (line,) = refused(deploy(port[0], "--ca", str(ca)), port[1])
    assert line == "ca.pem is a private key, not a certificate: pass the CA certificate (BEGIN CERTIFICATE)"
    body = key.read_text().splitlines()[1]
    assert body not in line


def test_certificate_with_its_private_key_is_refused(tmp_path, port, pkis):
    """A 'combined' PEM (certificate plus key) would put the key on the board's flash."""
    ca = tmp_path / "ca.pem"
    ca.write_bytes(pkis["good"].ca.pem.read_bytes() + pkis["good"].ca.key_pem.read_bytes())
    (line,) = refused(deploy(port[0], "--ca", str(ca)), port[1])
    assert line == ("ca.pem holds a private key besides a certificate: pass the CA certificate alone (a private "
                    "key must never go to the board)")


@pytest.mark.parametrize("content,expect", [
    (b"", "is empty: pass the CA certificate (BEGIN CERTIFICATE)"),
    (b"\x13\x37 this is not a certificate at all \xff" * 20, "holds no readable X.509 certificate"),
    ("truncated", "is truncated: a BEGIN CERTIFICATE line has no END CERTIFICATE line"),
    ("damaged", "a certificate block is damaged"),
    ("csr", "is a certificate request (CSR), not a certificate"),
])
def test_unreadable_files(tmp_path, port, pkis, content, expect):
    pem = pkis["good"].ca.pem.read_bytes()
    if content == "truncated":
        content = pem[: len(pem) // 2]
    elif content == "damaged":
        content = pem.replace(pem.splitlines()[3], b"!" * len(pem.splitlines()[3]))
    elif content == "csr":
        content = b"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"
    ca = tmp_path / "ca.pem"
    ca.write_bytes(content)
    (line,) = refused(deploy(port[0], "--ca", str(ca)), port[1])
    assert expect in line


@pytest.mark.parametrize("case,fw,expect", [
    ("two", None, "ca.pem holds 2 certificates: the module takes exactly one CA"),
    ("server", None, "is not a CA certificate (no basicConstraints CA:TRUE): pass the CA that issued"),
    ("expired", None, "('SPWF04 Test Root CA') expired on "),
    ("future", None, "is not valid before "),
    ("rsa4096", None, "has a key FW 1.1 cannot use (RSA-4096: RSA keys above 2048 bits are not usable"),
    ("ec", "1.0", "has a key FW 1.0 cannot use (EC secp256r1 key: FW 1.0 does RSA only"),
    ("big", "1.0", "bytes as PEM (what the driver sends on FW 1.0), over the module's 1475-byte limit"),
])
def test_ca_the_module_cannot_use(tmp_path, port, pkis, case, fw, expect):
    good = pkis["good"]
    ca = tmp_path / "ca.pem"
    if case == "two":
        ca.write_bytes(good.ca.pem.read_bytes() + pkis["expired"].ca.pem.read_bytes())
    elif case == "server":
        ca.write_bytes(good.server.pem.read_bytes())
    else:
        ca.write_bytes(pkis[case].ca.pem.read_bytes())
    lines = refused(deploy(port[0], "--ca", str(ca), *(["--fw", fw] if fw else [])), port[1])
    assert any(expect in line for line in lines), lines
    assert all(": " in line for line in lines)  # every line names the fix after the problem


def test_missing_files_for_every_option(tmp_path, port, pkis):
    r = deploy(port[0], "--ca", str(tmp_path / "nope.pem"), "--config", str(tmp_path / "nope.json"))
    lines = refused(r, port[1])
    assert lines == [f"cannot read the configuration {tmp_path / 'nope.json'}: No such file or directory: give the "
                     "path of the client configuration (a JSON object, see README)",
                     f"cannot read CA file {tmp_path / 'nope.pem'}: No such file or directory: give the path of "
                     "the CA certificate (PEM or DER)"]
    r = deploy(str(tmp_path / "ttyNONE"), "--ca", str(pkis["good"].ca.pem))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr == (f"deploy failed: serial port {tmp_path / 'ttyNONE'} does not exist: give the board's port "
                        "with --port (e.g. /dev/ttyACM0; the virtual board prints its pty path)\n")


def test_a_port_that_is_no_serial_port_is_one_line(tmp_path, pkis):
    r = deploy("/dev/null", "--ca", str(pkis["good"].ca.pem))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("deploy failed: cannot open the board's port /dev/null (") and r.stderr.count("\n") == 1


def test_a_good_ca_goes_on_to_the_board(tmp_path, port, pkis):
    """The control: the same command with a usable CA does talk to the port (and EC on FW 1.1 is fine)."""
    for ca in (pkis["good"].ca.pem, pkis["good"].ca.der, pkis["ec"].ca.pem):
        with pytest.raises(subprocess.TimeoutExpired):
            deploy(port[0], "--ca", str(ca), timeout=4)  # nobody answers on the pty: it waits for the board
        assert written(port[1]) != b""


def test_fw10_only_problem_is_a_note_without_fw(tmp_path, port, pkis):
    """Without --fw the CA must suit FW 1.1; what FW 1.0 alone would refuse is said, not fatal."""
    with pytest.raises(subprocess.TimeoutExpired) as exc:
        deploy(port[0], "--ca", str(pkis["ec"].ca.pem), timeout=4)
    out = exc.value.stdout.decode() if isinstance(exc.value.stdout, bytes) else (exc.value.stdout or "")
    assert "note: if the module runs FW 1.0: ca.pem ('SPWF04 Test Root CA') has a key FW 1.0 cannot use" in out
