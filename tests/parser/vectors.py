# Parser test vectors and helpers shared by the CPython tests and the MicroPython unix-port check
# (tests/parser/device_check.py), so both implementations are held to the same expectations.
from spwf04 import parser as P

# (line as sent by the module, expected (kind, text, number, code, params))
LINES = [
    (b"AT+S.STS=fw_version", (P.ECHO, "AT+S.STS=fw_version", None, None, [])),
    (b"at+s.sts", (P.ECHO, "at+s.sts", None, None, [])),
    (b"AT", (P.ECHO, "AT", None, None, [])),
    (b"AT-S.OK", (P.OK, "OK", None, None, [])),
    (b"AT-S.OK:31040:10", (P.OK, "OK", None, None, ["31040", "10"])),
    (b"AT-S.ERROR:74:Failed to open socket", (P.ERROR, "Failed to open socket", None, 74, [])),
    (b"AT-S.ERROR:59:Unable to (un)mount volume", (P.ERROR, "Unable to (un)mount volume", None, 59, [])),
    (b"AT-S.ERROR:77", (P.ERROR, "", None, 77, [])),
    (b"AT-S.ERROR", (P.ERROR, "", None, None, [])),
    (b"AT-S.ERROR:", (P.ERROR, "", None, None, [])),
    (b"AT-S.Var:fw_version=1.1.0", (P.INFO, "Var", None, None, ["fw_version=1.1.0"])),
    (b"AT-S.Var:nv_wifi_macaddr=00:80:E1:B7:C8:2A",
     (P.INFO, "Var", None, None, ["nv_wifi_macaddr=00", "80", "E1", "B7", "C8", "2A"])),
    (b"AT-S.Reading:730:1460", (P.INFO, "Reading", None, None, ["730", "1460"])),
    (b"AT-S.No SubjectKeyId", (P.INFO, "No SubjectKeyId", None, None, [])),
    (b"AT-S.Certificate Error:3", (P.INFO, "Certificate Error", None, None, ["3"])),
    (b"AT-S.On:192.168.1.10:0", (P.INFO, "On", None, None, ["192.168.1.10", "0"])),
    (b"AT-S.Date:17.08.31:00", (P.INFO, "Date", None, None, ["17.08.31", "00"])),
    (b"+WIND:0:Console active", (P.WIND, "Console active", 0, None, [])),
    (b"+WIND:55:Pending Data::3:730:1460", (P.WIND, "Pending Data", 55, None, ["", "3", "730", "1460"])),
    (b"+WIND:24:WiFi Up::", (P.WIND, "WiFi Up", 24, None, ["", ""])),
    (b"+WIND:29:DHCP Reply:192.168.0.2:02:A9:D2:A0:FF:A0",
     (P.WIND, "DHCP Reply", 29, None, ["192.168.0.2", "02", "A9", "D2", "A0", "FF", "A0"])),
    (b"+WIND:8:Hard Fault", (P.WIND, "Hard Fault", 8, None, [])),
    (b"+WIND:2", (P.WIND, "", 2, None, [])),
    (b"+WIND:x:odd", (P.OTHER, "+WIND:x:odd", None, None, [])),
    (b"1:\t BSS 98:DE:D0:EA:4C:62 CHAN: 06 RSSI: -45 SSID: 'AT-S.OK' CAPS: 0431 WPA2",
     (P.OTHER, "1:\t BSS 98:DE:D0:EA:4C:62 CHAN: 06 RSSI: -45 SSID: 'AT-S.OK' CAPS: 0431 WPA2", None, None, [])),
    (b"78b7", (P.OTHER, "78b7", None, None, [])),
]

PAYLOAD = b"\r\nAT-S.OK\r\n+WIND:55:Pending Data::0:1:1\r\n\x00\xff\nAT+S.\r" + bytes(range(256))


def stream():
    """A session capture: echo, winds between everything, a SOCKR with hostile payload, CR LF after the
    payload, empty lines, noise, an over-long line."""
    s = [
        b"\r\n+WIND:1:Poweron:171117-0328fe3-SPWF04S\r\n",
        b"+WIND:0:Console active\r\n\r\n",
        b"AT+S.SCFG=console_echo,0\r\nAT-S.OK\r\n",
        b"AT-S.Var:fw_version=1.1.0\r\n+WIND:55:Pending Data::0:%d:%d\r\nAT-S.OK\r\n" % (len(PAYLOAD), len(PAYLOAD)),
        b"AT-S.Reading:%d:%d\r\n" % (len(PAYLOAD), len(PAYLOAD)) + PAYLOAD + b"\r\nAT-S.OK\r\n",
        b"\x80\x81\x00noiseAT-S.OK\r\n",
        b"X" * 700 + b"\r\n",
        b"+WIND:58:Socket Closed:0:1\r\n",
        b"AT-S.Reading:5:5\r\nabcde",
        b"AT-S.OK:100:10\r\n",
        b"lost-tailAT-S.ERROR:78:Socket not connected\r\n",
        b"AT-S.Certificate Error:3\rAT-S.ERROR:74:Failed to open socket\r\n",
    ]
    return b"".join(s)


SIZES = [len(PAYLOAD), 5]  # payload sizes of the Reading lines of stream(), in order


def run(chunks, size=P.LINE_MAX, sizes=None, buffered=True):
    """Feed chunks; arm a payload for each Reading line from `sizes` (in the Reading callback, as the
    host decoder does). Returns a list of event keys; payload chunks are merged so that only the stream
    matters, and buffered payloads are reported as their bytes."""
    out = []
    sizes = list(SIZES if sizes is None else sizes)
    bufs = []

    def on(ev):
        if ev.kind == P.PAYLOAD:
            if ev.data is not None:
                if out and out[-1][0] == "data":
                    out[-1] = ("data", out[-1][1] + ev.data)
                else:
                    out.append(("data", ev.data))
                return
            out.append(("payload", ev.number, bytes(bufs[-1]) if buffered else None))
            return
        out.append(ev.key())
        if ev.kind == P.INFO and ev.text == "Reading" and sizes:
            n = sizes.pop(0)
            if buffered:
                bufs.append(bytearray(n))
                p.expect_payload(bufs[-1], n)
            else:
                p.expect_payload(None, n)

    p = P.Parser(on, size)
    for c in chunks:
        p.feed(c)
    return out, p


def splits(data, cuts):
    out = []
    a = 0
    for c in cuts:
        out.append(data[a:c])
        a = c
    out.append(data[a:])
    return out


def lcg_chunks(data, seed, maxlen):
    s = seed
    i = 0
    mv = memoryview(data)
    while i < len(data):
        s = (s * 1103515245 + 12345) & 0x7FFFFFFF
        n = 1 + (s >> 8) % maxlen
        yield bytes(mv[i : i + n])
        i += n
