"""`spwf04 log` on the spec's [observed] exchanges, ST-example style text logs and raw captures."""

from __future__ import annotations

import io
import json

import pytest

from spwf04_tools import logdecode

pytestmark = pytest.mark.timeout(60)


def cli_main(argv: list[str]) -> int:
    """`spwf04 log ...` through this subcommand's own argument parser (independent of other
    subcommands in cli.py)."""
    import argparse
    assert argv[0] == "log"
    p = argparse.ArgumentParser()
    logdecode.add_arguments(p)
    return logdecode.run(p.parse_args(argv[1:]))


# The exchanges real logs showed ([log] in docs/at-protocol.md, 6.6, 6.8, 6.12, 6.14), in its notation.
SPEC_OBSERVED = """\
> AT+S.TLSCERT=ca,1239
< AT-S.SubjectKeyId:7F:D3:65:A7:C2:DD:EC:BB:F0:30:09:F3:43:39:FA:02:AF:33:31:33
< AT-S.OK
> AT+S.TLSCERT=Ca,1425
< AT-S.No SubjectKeyId
< AT-S.OK
> AT+S.TLSCERT=Auth,40
< AT-S.OK
> AT+S.TLSCERT=content,1
< AT-S.List
< AT-S.CA:1
< AT-S.Cert:0
< AT-S.Key:0
< AT-S.Id:1
< AT-S.OK
> AT+S.TLSCERT=content,2
< AT-S.Clean
< AT-S.OK
> AT+S.TIME=1504170338
< AT-S.OK
> AT+S.TIME
< AT-S.Date:17.08.31:00
< AT-S.Time:09.05.38
< AT-S.OK
> AT+S.SOCKON=192.168.1.10,4443,NULL,s
< AT-S.Certificate Error:3
< AT-S.ERROR:74:Failed to open socket
> AT+S.HTTPGET=example.com,,443,2,,,,
< AT-S.Certificate Error:22
< AT-S.Http Client Error:2
< AT-S.ERROR:111:Request failed
< +WIND:55:Pending Data::0:5:5
< +WIND:58:Socket Closed:0:1
"""


def decode(text: str | bytes, fw=None):
    data = text.encode() if isinstance(text, str) else text
    return logdecode.decode_bytes(data, fw)


def test_spec_observed_exchanges():
    dec, summary = decode(SPEC_OBSERVED, "1.0")
    by_kind = {}
    for e in dec.events:
        by_kind.setdefault(e.kind, []).append(e)
    assert set(by_kind) == {"command", "info", "ok", "error", "wind"}
    ski = next(e for e in by_kind["info"] if e.text == "SubjectKeyId")
    assert ski.params == "7F:D3:65:A7:C2:DD:EC:BB:F0:30:09:F3:43:39:FA:02:AF:33:31:33".split(":")
    ce3, ce22 = [e for e in by_kind["info"] if e.text == "Certificate Error"]
    assert "FW 1.0 SOCKON s" in ce3.note and "RSA-4096" in ce22.note
    errs = by_kind["error"]
    assert [(e.code, e.note) for e in errs] == [(74, "error 74: Failed to open socket"),
                                               (111, "error 111: Request failed")]
    winds = by_kind["wind"]
    assert [(w.number, w.note) for w in winds] == [(55, "indication 55: Pending Data"),
                                                  (58, "indication 58: Socket Closed")]
    certs = summary["certificates"]
    assert [(c["kind"], c["declared"], c["sent"]) for c in certs] == [("ca", 1239, None), ("ca", 1425, None),
                                                                       ("auth", 40, None)]
    assert certs[0]["module_ski"] == "7FD365A7C2DDECBBF03009F34339FA02AF333133" and certs[1]["module_ski"] == ""
    assert summary["clock"] == [{"event": summary["clock"][0]["event"], "set": 1504170338,
                                 "date": "2017-08-31 09:05:38 UTC"},
                                {"event": summary["clock"][1]["event"], "read": "2017-08-31 09:05:38 UTC"}]
    (sock,) = summary["sockets"]
    assert sock["certificate_error"] == "3" and sock["result"].startswith("failed: AT-S.ERROR:74")
    # Payload bytes are not in a text log: never reported as a length mismatch.
    assert not any("declares" in i for i in summary["inconsistencies"])
    # content,2 erased the store before the SOCKON: no CA loaded then
    assert any("no CA loaded" in i for i in summary["inconsistencies"])


def test_st_example_style_log():
    log = ("[wifi] >>AT+S.TLSCERT=Ca,1425\n"
           "<<AT-S.No SubjectKeyId\n"
           "<<AT-S.OK\n"
           ">>+S.TLSCERT=Auth,40\n"
           "<<-S.OKAT+S.SOCKON=192.168.1.10,4443,NULL,s\n"
           "<<AT-S.Certificate Error:3AT-S.ERROR:74:Failed to open socket\n"
           "+WIND:58:Socket Closed:0:1+WIND:33:WiFi Network Lost\n")
    dec, summary = decode(log)
    seen = [(e.kind, e.line) for e in dec.events]
    assert seen == [
        ("command", "AT+S.TLSCERT=Ca,1425"), ("info", "AT-S.No SubjectKeyId"), ("ok", "AT-S.OK"),
        ("command", "AT+S.TLSCERT=Auth,40"), ("ok", "AT-S.OK"),
        ("echo", "AT+S.SOCKON=192.168.1.10,4443,NULL,s"), ("info", "AT-S.Certificate Error:3"),
        ("error", "AT-S.ERROR:74:Failed to open socket"), ("wind", "+WIND:58:Socket Closed:0:1"),
        ("wind", "+WIND:33:WiFi Network Lost")]
    assert summary["certificates"][0]["module_ski"] == ""
    assert any("without setting the module clock first" in i for i in summary["inconsistencies"])


def test_text_log_with_printed_pem_payload_is_counted_with_line_end_tolerance(tmp_path):
    pem_lines = ["-----BEGIN CERTIFICATE-----"] + ["A" * 64] * 3 + ["-----END CERTIFICATE-----"]
    crlf_len = sum(len(x) + 2 for x in pem_lines)
    log = "\n".join([f"> AT+S.TLSCERT=ca,{crlf_len}"] + [f"> {x}" for x in pem_lines] + ["< AT-S.OK"])
    dec, summary = decode(log)
    entry = summary["certificates"][0]
    assert entry["sent"] == crlf_len - len(pem_lines)  # LF counted: the log lost the CRs
    assert summary["inconsistencies"] == [] or not any("declares" in i for i in summary["inconsistencies"])
    bad = "\n".join([f"> AT+S.TLSCERT=ca,{crlf_len + 50}"] + [f"> {x}" for x in pem_lines] + ["< AT-S.OK"])
    _, s2 = decode(bad)
    assert any("declares" in i for i in s2["inconsistencies"])
    assert sum(1 for e in dec.events if e.kind == "data") == len(pem_lines)


def test_raw_capture_with_binary_socket_data_and_secrets():
    payload = b"x\r\nAT-S.OK\r\n+WIND:1:Poweron:170216\r\n\xff\x00"
    raw = (b"+WIND:1:Poweron:171117-0328fe3-SPWF04S\r\n+WIND:0:Console active\r\n"
           b"AT+S.SCFG=wifi_wpa_psk_text,supersecret\r\nAT-S.OK\r\n"
           b"AT+S.SOCKON=127.0.0.1,4433,NULL,t\r\nAT-S.On:127.0.0.1:2\r\nAT-S.OK\r\n"
           b"AT+S.SOCKR=2,%d\r\nAT-S.Reading:%d:%d\r\n" % (len(payload), len(payload), len(payload))
           + payload + b"AT-S.OK\r\n+WIND:58:Socket Closed:2:1\r\n")
    dec, summary = decode(raw)
    assert summary["fw"] == "1.1" and summary["fw_source"].startswith("boot build")
    data = [e for e in dec.events if e.kind == "data"]
    assert sum(e.length for e in data) == len(payload)
    assert [e.number for e in dec.events if e.kind == "wind"] == [1, 0, 58]
    (sock,) = summary["sockets"]
    assert sock["id"] == "2" and sock["read"] == len(payload) and "+WIND:58" in sock["ended"]
    text = logdecode.render_text(dec, summary)
    assert "supersecret" not in text and "wifi_wpa_psk_text,***" in text
    assert "supersecret" not in json.dumps([e.to_json() for e in dec.events])


def test_error_text_that_differs_from_the_firmware_table():
    dec, summary = decode("< AT-S.ERROR:74:Something else\n< AT-S.ERROR:59:Unable to unmount volume\n", "1.1")
    notes = [e.note for e in dec.events]
    assert notes[0] == "error 74: text differs from the firmware's 'Failed to open socket'"
    assert "differs" in notes[1]  # FW 1.1's text for 59 is 'Unable to (un)mount volume'
    assert len(summary["inconsistencies"]) == 2


def test_reboot_drops_state():
    log = ("> AT+S.TIME=1800000000\n< AT-S.OK\n> AT+S.TLSCERT=ca,100\n< AT-S.OK\n"
           "< +WIND:1:Poweron:170216-fd39c59-SPWF04S\n< +WIND:0:Console active\n"
           "> AT+S.SOCKON=10.0.0.1,443,NULL,s\n< AT-S.ERROR:74:Failed to open socket\n")
    _, summary = decode(log)
    issues = " | ".join(summary["inconsistencies"])
    assert "rebooted" in issues and "without setting the module clock" in issues and "no CA loaded" in issues


def test_cli_json_stdin_and_errors(tmp_path, capsys, monkeypatch):
    f = tmp_path / "cap.txt"
    f.write_text(SPEC_OBSERVED)
    assert cli_main(["log", str(f), "--json"]) == 1  # inconsistencies found -> 1
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[-1]["kind"] == "summary" and lines[-1]["inconsistencies"]
    assert {x["kind"] for x in lines[:-1]} <= {"command", "echo", "info", "ok", "error", "wind", "data", "other"}
    err = next(x for x in lines if x["kind"] == "error")
    assert err["code"] == 74 and err["text"] == "Failed to open socket"
    wind = next(x for x in lines if x["kind"] == "wind")
    assert wind["number"] == 55 and wind["text"] == "Pending Data" and wind["params"] == ["", "0", "5", "5"]
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"< AT-S.OK\n")))
    assert cli_main(["log", "-"]) == 0
    assert "Inconsistencies: none found" in capsys.readouterr().out
    assert cli_main(["log", str(tmp_path / "missing")]) == 2
    bad = tmp_path / "bad.log"
    bad.write_text("# spwf04 sim byte log\n0.1 H>M \"AT\\r\"\nnot a record\n")
    assert cli_main(["log", str(bad)]) == 2
    assert "not a simulator log record" in capsys.readouterr().err


def test_arbitrary_input_never_crashes():
    import random
    rng = random.Random(99)
    pieces = [b"AT+S.", b"AT-S.", b"+WIND:", b"OK", b"ERROR:", b":", b"\r", b"\n", b"SOCKR=0,", b"Reading:",
              b"TLSCERT=ca,", b"12", b"x", b"\xff", b">>", b"<<", b"-S.", b"Certificate Error:", b"TIME=", b"SOCKON="]
    for _ in range(300):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randrange(1, 80)))
        dec, summary = logdecode.decode_bytes(data)
        logdecode.render_text(dec, summary)
        json.dumps([e.to_json() for e in dec.events] + [summary])


def test_sim_log_answer_logged_after_the_next_command():
    """The simulator stamps output when it is logged (after sending): an answer can carry a later time than
    the host's next command. Answers still go to the command they belong to."""
    log = ('# spwf04 sim byte log, started x; fw=1.0; secrets redacted\n'
           '1.000000 H>M "AT+S.SOCKON=127.0.0.1,4433,NULL,s\\r"\n'
           '1.000500 M>H "AT+S.SOCKON=127.0.0.1,4433,NULL,s\\r\\n"\n'
           '1.002000 H>M "AT\\r"\n'
           '1.002100 M>H "AT-S.Certificate Error:3\\r\\nAT-S.ERROR:74:Failed to open socket\\r\\n"\n'
           '1.002200 M>H "AT\\r\\nAT-S.OK\\r\\n"\n')
    dec, summary = decode(log)
    (sock,) = summary["sockets"]
    assert sock["result"] == "failed: AT-S.ERROR:74:Failed to open socket after Certificate Error:3"
    at = next(c for c in dec.commands if c.event.line == "AT")
    assert at.final is not None and at.final.kind == "ok"
