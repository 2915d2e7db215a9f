"""spwf04 doctor against real `openssl s_server` instances: each broken setup is named, the good one passes."""

from __future__ import annotations

import json
import socket
import threading

import pytest
from cryptography import x509

from spwf04_tools import doctor
from spwf04_tools.pki import build_pki
from spwf04_tools.tls_server import FW10_CIPHERS, OpenSSLServer, free_port

pytestmark = pytest.mark.timeout(120)


def cli_main(argv: list[str]) -> int:
    """`spwf04 doctor ...` through this subcommand's own argument parser (independent of other
    subcommands in cli.py)."""
    import argparse
    assert argv[0] == "doctor"
    p = argparse.ArgumentParser()
    doctor.add_arguments(p)
    return doctor.run(p.parse_args(argv[1:]))


def serve(pki, ciphers=FW10_CIPHERS, tls="-tls1_2", chain=True):
    extra = [] if tls == "-tls1_2" else [tls] if tls else []
    return OpenSSLServer(pki.server.pem, pki.server.key_pem, chain=pki.chain_pem if chain else None,
                         ciphers=ciphers, tls1_2=tls == "-tls1_2", extra_args=extra)


def diagnose(pki, srv=None, ca=None, **kw):
    server = f"127.0.0.1:{srv.port}" if srv else None
    return doctor.diagnose(ca or pki.ca.pem, server, **kw)


def problems(r):
    return doctor.codes(r)


def finding(r, code):
    (f,) = [f for f in r.findings if f.code == code]
    return f


@pytest.mark.parametrize("fw", ["1.0", "1.1"])
def test_good_setup_passes(tmp_path, fw):
    pki = build_pki(tmp_path)
    with serve(pki) as srv:
        r = diagnose(pki, srv, fw=fw)
        r2 = diagnose(pki, srv, fw=fw, name="localhost")
    for rep in (r, r2):
        assert rep.verdict == "OK", doctor.render_text(rep)
        assert problems(rep) == set()
    assert {"chain_ok", "aki_ok", "ca_valid", "ca_ski", "cipher_ok", "tls_versions"} <= doctor.codes(r, ["ok"])
    assert "name_ok" in doctor.codes(r2, ["ok"])
    assert "AES128-SHA256" in finding(r, "cipher_ok").detail
    assert r.server["module_cipher"] == "TLSv1.2 AES128-SHA256"  # the suite the module's offer gets
    assert "Module offer negotiates: TLSv1.2 AES128-SHA256" in doctor.render_text(r)


def test_expired_ca(tmp_path):
    pki = build_pki(tmp_path, ca_validity="expired")
    with serve(pki) as srv:
        r = diagnose(pki, srv)
    assert r.verdict == "FAIL" and problems(r) == {"ca_expired"}
    assert "expired" in finding(r, "ca_expired").detail


def test_server_certificate_not_yet_valid(tmp_path):
    pki = build_pki(tmp_path, server_validity="not_yet_valid")
    with serve(pki) as srv:
        r = diagnose(pki, srv)
    assert problems(r) == {"cert_not_yet_valid"}


def test_wrong_ca_same_name(tmp_path):
    pki = build_pki(tmp_path, wrong_ca=True)
    with serve(pki) as srv:
        r = diagnose(pki, srv, ca=pki.wrong_ca.pem)
    assert problems(r) == {"wrong_ca"}
    assert "same name" in finding(r, "wrong_ca").detail


def test_wrong_ca_other_name_says_chain_does_not_reach_it(tmp_path):
    pki = build_pki(tmp_path, wrong_ca=True, wrong_ca_same_name=False)
    with serve(pki) as srv:
        r = diagnose(pki, srv, ca=pki.wrong_ca.pem)
    assert problems(r) == {"chain_incomplete"}
    assert "or the CA is wrong" in finding(r, "chain_incomplete").title


def test_name_mismatch(tmp_path):
    pki = build_pki(tmp_path)
    with serve(pki) as srv:
        r = diagnose(pki, srv, name="example.com")
    assert problems(r) == {"name_mismatch"}
    assert finding(r, "name_mismatch").severity == "error"
    assert r.commands[-1]["command"].endswith(",NULL,example.com")


def test_wildcard_and_cn_only_names(tmp_path):
    wild = build_pki(tmp_path / "w", server_cn="example.com", san_dns=("*.example.com",), san_ip=())
    with serve(wild) as srv:
        assert problems(diagnose(wild, srv, name="www.example.com", probe=False)) == set()
        assert problems(diagnose(wild, srv, name="a.b.example.com", probe=False)) == {"name_mismatch"}
        assert problems(diagnose(wild, srv, name="example.com", probe=False)) == {"name_cn_only"}
    cn_only = build_pki(tmp_path / "c", server_cn="device.local", san_dns=(), san_ip=())
    with serve(cn_only) as srv:
        assert problems(diagnose(cn_only, srv, name="DEVICE.local", probe=False)) == {"name_cn_only"}


@pytest.mark.parametrize("send", [False, True])
def test_missing_intermediate(tmp_path, send):
    pki = build_pki(tmp_path, intermediate=True, send_intermediate=send)
    with serve(pki) as srv:
        r = diagnose(pki, srv)
    if send:
        assert problems(r) == set()
        assert "'SPWF04 Test Intermediate CA'" in finding(r, "chain_ok").detail
    else:
        assert problems(r) == {"chain_incomplete"}
        f = finding(r, "chain_incomplete")
        assert "SPWF04 Test Intermediate CA" in f.title and "-cert_chain" in f.fix


def test_ca_without_ski(tmp_path):
    pki = build_pki(tmp_path, ca_ski=False)
    with serve(pki) as srv:
        r = diagnose(pki, srv)
    assert r.verdict == "WARN" and problems(r) == {"ca_no_ski"}
    method1 = x509.SubjectKeyIdentifier.from_public_key(pki.ca.cert.public_key()).digest.hex().upper()
    assert method1 in finding(r, "ca_no_ski").detail
    assert r.commands[3] == {"command": "AT+S.TLSCERT=auth,40", "payload_len": 40, "payload": method1,
                             "note": f"then {method1} (computed CA key id: no SKI)"}
    assert "aki_ok" in doctor.codes(r, ["ok"])


def test_rsa4096_ca_on_fw10(tmp_path):
    pki = build_pki(tmp_path, ca_key="rsa4096")
    with serve(pki) as srv:
        r = diagnose(pki, srv, fw="1.0")
    assert problems(r) == {"key_unsupported", "ca_size"}  # a 4096-bit CA is also too big as PEM
    assert "RSA-4096" in finding(r, "key_unsupported").detail


def test_rsa4096_intermediate_on_fw11(tmp_path):
    pki = build_pki(tmp_path, intermediate=True, intermediate_key="rsa4096")
    with serve(pki) as srv:
        r = diagnose(pki, srv, fw="1.1")
    assert problems(r) == {"key_unsupported"}
    assert "SPWF04 Test Intermediate CA" in finding(r, "key_unsupported").detail


def test_ec_on_fw10_and_fw11(tmp_path):
    pki = build_pki(tmp_path, ca_key="ec256", server_key="ec256")
    with serve(pki, ciphers=None, tls=None) as srv:
        r10 = diagnose(pki, srv, fw="1.0")
        r11 = diagnose(pki, srv, fw="1.1")
    assert {"key_unsupported", "cipher_unsupported", "sig_alg_unsupported"} == problems(r10)
    assert "FW 1.0 does RSA only" in " ".join(f.detail for f in r10.findings if f.code == "key_unsupported")
    assert problems(r11) == set(), doctor.render_text(r11)


def test_ecdhe_only_and_tls13_only_servers_on_fw10(tmp_path):
    pki = build_pki(tmp_path)
    with serve(pki, ciphers="ECDHE-RSA-AES128-SHA256") as srv:
        assert problems(diagnose(pki, srv, fw="1.0")) == {"cipher_unsupported"}
        r = diagnose(pki, srv, fw="1.1")
        assert problems(r) == set()
        assert r.server["module_cipher"] == "TLSv1.2 ECDHE-RSA-AES128-SHA256"
    # GCM, ChaCha20 and Camellia are in no source of the module's offer: a server with only these fails on both
    with serve(pki, ciphers="ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:CAMELLIA256-SHA") as srv:
        for fw in ("1.0", "1.1"):
            r = diagnose(pki, srv, fw=fw)
            assert problems(r) == {"cipher_unsupported"}
            assert r.server["module_cipher"].startswith(f"none: the server accepts no suite of FW {fw}'s offer")
            assert "Module offer negotiates: none" in doctor.render_text(r)
    with serve(pki, ciphers=None, tls="-tls1_3") as srv:
        r = diagnose(pki, srv, fw="1.1")
    assert {"tls_version_unsupported", "cipher_unsupported"} == problems(r)


def test_clock_unset_and_implausible(tmp_path):
    pki = build_pki(tmp_path)
    with serve(pki) as srv:
        r = diagnose(pki, srv, time_arg="unset")
        r0 = diagnose(pki, srv, time_arg="0", probe=False)
        r2000 = diagnose(pki, srv, time_arg=str(1772366400 - 946684800), probe=False)
    assert problems(r) == {"clock_unset"} and problems(r0) == {"clock_unset"}
    assert r.commands[1]["command"] == "AT+S.TIME=<epoch>"
    assert problems(r2000) == {"clock_implausible"}
    assert "946684800" in finding(r2000, "clock_implausible").detail


def test_explicit_clock_makes_good_ca_not_yet_valid(tmp_path):
    pki = build_pki(tmp_path)
    with serve(pki) as srv:
        r = diagnose(pki, srv, time_arg="1600000000", probe=False)
    assert problems(r) == {"ca_not_yet_valid", "cert_not_yet_valid"}
    assert r.commands[1]["command"] == "AT+S.TIME=1600000000"


def test_crl_distribution_point(tmp_path):
    pki = build_pki(tmp_path, ca_crl_url=None, server_crl_url="http://127.0.0.1:9/server.crl")
    with serve(pki) as srv:
        r = diagnose(pki, srv)
    f = finding(r, "crl_dp")
    assert f.severity == "info" and "does not fetch CRLs" in f.title
    assert "http://127.0.0.1:9/server.crl" in f.detail and "revocation is not checked" in f.detail
    none = build_pki(tmp_path / "n", ca_crl_url=None)
    assert "crl_dp" not in doctor.codes(diagnose(none), doctor.SEVERITIES)


def test_not_a_ca_and_bundle(tmp_path):
    pki = build_pki(tmp_path, wrong_ca=True, wrong_ca_same_name=False)
    with serve(pki) as srv:
        r = diagnose(pki, srv, ca=pki.server.pem, probe=False)
        assert "ca_not_ca" in problems(r)
        bundle = tmp_path / "bundle.pem"
        bundle.write_bytes(pki.wrong_ca.pem.read_bytes() + pki.ca.pem.read_bytes())
        rb = diagnose(pki, srv, ca=bundle, probe=False)
    assert problems(rb) == {"ca_bundle"}  # the bundle's second member issued the server: found and checked
    assert "SPWF04 Test Root CA" in rb.ca["subject"]
    assert rb.commands[2]["payload_len"] == pki.ca.der.stat().st_size  # what load_ca would send for it


def test_large_pem_ca_suggests_der(tmp_path):
    pki = build_pki(tmp_path, ca_cn="C" * 64, organization="O" * 64)
    pem_size, der_size = pki.ca.pem.stat().st_size, pki.ca.der.stat().st_size
    assert pem_size > doctor.MAX_STORED >= der_size
    r10 = diagnose(pki, fw="1.0")  # the driver sends PEM on FW 1.0: too big, and it refuses
    assert problems(r10) == {"ca_size"} and "encoding='der'" in finding(r10, "ca_size").fix
    assert r10.commands[2]["command"] == f"AT+S.TLSCERT=ca,{pem_size}"
    r11 = diagnose(pki, fw="1.1")  # DER on FW 1.1 fits
    assert problems(r11) == set()
    assert r11.commands[2] == {"command": f"AT+S.TLSCERT=ca,{der_size}", "payload_len": der_size,
                               "note": f"then the {der_size} bytes of ca.pem converted to DER (DER on FW 1.1)"}
    rd = diagnose(pki, ca=pki.ca.der, fw="1.1")
    assert rd.commands[2]["note"] == f"then the {der_size} bytes of ca.der exactly as in the file (DER on FW 1.1)"
    big = build_pki(tmp_path / "big", ca_key="rsa4096", ca_cn="C" * 64, organization="O" * 64)
    assert "smaller certificate" in finding(diagnose(big, fw="1.1"), "ca_size").fix


def test_unreachable_and_not_tls(tmp_path):
    pki = build_pki(tmp_path)
    r = diagnose(pki)
    assert r.server is None
    port = free_port()
    assert problems(doctor.diagnose(pki.ca.pem, f"127.0.0.1:{port}")) == {"server_unreachable"}
    lsock = socket.create_server(("127.0.0.1", 0))
    lsock.settimeout(10)

    def plain():
        try:
            c, _ = lsock.accept()
            c.sendall(b"220 not TLS at all\r\n" * 20)
            c.close()
        except OSError:
            pass

    t = threading.Thread(target=plain, daemon=True)
    t.start()
    try:
        r = doctor.diagnose(pki.ca.pem, f"127.0.0.1:{lsock.getsockname()[1]}")
    finally:
        lsock.close()
        t.join(5)
    assert problems(r) == {"tls_handshake_failed"}


@pytest.mark.parametrize("fw", ["1.0", "1.1"])
def test_at_sequence_matches_the_driver_order(tmp_path, fw):
    pki = build_pki(tmp_path)
    with serve(pki) as srv:
        r = diagnose(pki, srv, time_arg="1800000000", probe=False, fw=fw)
    size = (pki.ca.pem if fw == "1.0" else pki.ca.der).stat().st_size
    assert [c["command"] for c in r.commands] == [
        "AT+S.TLSCERT=content,2", "AT+S.TIME=1800000000", f"AT+S.TLSCERT=ca,{size}", "AT+S.TLSCERT=auth,40",
        f"AT+S.SOCKON=127.0.0.1,{srv.port},NULL,s"]
    assert r.commands[3]["payload"] == pki.ca.ski.hex().upper()


@pytest.mark.parametrize("variant", ["lf", "crlf", "comment", "der"])
@pytest.mark.parametrize("fw", ["1.0", "1.1"])
def test_ca_bytes_equal_what_the_driver_sends(tmp_path, variant, fw):
    """doctor.driver_blob == the blob micropython/spwf04/tls.py's load_ca() builds (encoding=None)."""
    from spwf04 import cert as devcert
    from spwf04 import tls as devtls

    pki = build_pki(tmp_path, pem_crlf=variant == "crlf")
    path = pki.ca.der if variant == "der" else pki.ca.pem
    if variant == "comment":
        path = tmp_path / "commented.pem"
        path.write_bytes(b"Bag Attributes\n  friendlyName: test\n" + pki.ca.pem.read_bytes() + b"\n\n")
    (c,) = devcert.parse(path.read_bytes())
    if fw == "1.0":
        expected = c.pem if c.pem is not None else devtls._pem(c.der)
    else:
        expected = c.der
    ca = doctor.load_ca(path)
    blob, enc = doctor.driver_blob(ca, ca.certs[0], fw)
    assert blob == expected and enc == ("PEM" if fw == "1.0" else "DER")
    r = doctor.diagnose(path, fw=fw)
    assert r.commands[2]["payload_len"] == len(expected)


def test_cli_text_json_and_exit_codes(tmp_path, capsys):
    pki = build_pki(tmp_path, ca_validity="expired")
    with serve(pki) as srv:
        rc = cli_main(["doctor", "--ca", str(pki.ca.pem), "--server", f"127.0.0.1:{srv.port}", "--json",
                       "--fw", "1.0"])
        out = json.loads(capsys.readouterr().out)
        assert rc == 1 and out["verdict"] == "FAIL"
        assert [f["number"] for f in out["findings"]] == list(range(1, len(out["findings"]) + 1))
        assert {"code", "severity", "title", "detail", "fix"} <= set(out["findings"][0])
        rc = cli_main(["doctor", "--ca", str(pki.ca.pem), "--server", f"127.0.0.1:{srv.port}"])
        text = capsys.readouterr().out
    assert rc == 1 and text.startswith("Verdict: FAIL") and "AT+S.TLSCERT=auth,40" in text and "fix:" in text
    good = build_pki(tmp_path / "g")
    assert cli_main(["doctor", "--ca", str(good.ca.pem)]) == 0
    capsys.readouterr()
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"hello")
    assert cli_main(["doctor", "--ca", str(junk)]) == 2
    assert "no readable X.509" in capsys.readouterr().out
    assert cli_main(["doctor", "--ca", str(tmp_path / "missing.pem")]) == 2
    assert cli_main(["doctor", "--ca", str(good.ca.pem), "--server", "nocolon"]) == 2
    assert cli_main(["doctor", "--ca", str(good.ca.pem), "--time", "yesterday"]) == 2


def test_secret_key_never_printed(tmp_path, capsys):
    pki = build_pki(tmp_path)
    keytext = pki.server.key_pem.read_text()
    cli_main(["doctor", "--ca", str(pki.server.key_pem)])
    out = capsys.readouterr().out
    assert keytext.splitlines()[1] not in out


def test_chain_via_s_client_fallback_matches(tmp_path):
    pki = build_pki(tmp_path, intermediate=True)
    with serve(pki) as srv:
        via_openssl = doctor._chain_via_s_client("127.0.0.1", srv.port, 5.0, None)
        via_python = doctor.collect_server("127.0.0.1", srv.port, "1.1", probe=False).chain
    assert [doctor.der(c) for c in via_openssl] == [doctor.der(c) for c in via_python]
    assert [doctor.cn(c.subject) for c in via_python] == ["localhost", "SPWF04 Test Intermediate CA"]


@pytest.mark.parametrize("pattern,name,ok", [
    ("example.com", "EXAMPLE.com.", True), ("*.example.com", "a.example.com", True),
    ("*.example.com", "example.com", False), ("*.example.com", "a.b.example.com", False),
    ("f*.example.com", "foo.example.com", False), ("*.com", "example.com", False), ("a.*.com", "a.b.com", False)])
def test_name_rules(pattern, name, ok):
    assert doctor.name_matches(pattern, name) is ok


def test_registered_in_cli():
    from spwf04_tools import cli
    assert cli.SUBCOMMANDS["doctor"][0] == "spwf04_tools.doctor"
    assert cli.SUBCOMMANDS["log"][0] == "spwf04_tools.logdecode"
