# Driver test cases against the scripted module (fakemodule.py). Plain functions with asserts so that the
# same cases run on CPython (test_driver.py imports them) and on the MicroPython unix port (run_case.py).
# Each case takes ctx: a dict with certificate paths and expected key ids made on the host.
import errno
import sys

from fakemodule import FakeModule, FakePin

import spwf04
from spwf04 import ModuleError, ModuleReset
from spwf04 import parser as P

MICROPYTHON = sys.implementation.name == "micropython"


def raises(exc, fn, *a, **kw):
    try:
        fn(*a, **kw)
    except exc as e:
        return e
    raise AssertionError("%s not raised by %s" % (exc.__name__, fn))


def make(fw="1.1.0", frag=7, init=True, pin=True, timeout=400, **kw):
    f = FakeModule(fw=fw, frag=frag)
    for k, v in kw.items():
        setattr(f, k, v)
    m = spwf04.Module(f, reset_pin=FakePin(f, "reset") if pin else None, wakeup_pin=FakePin(f, "wake"),
                      timeout=timeout)
    m.probe_ms, m.pin_boot_ms = 300, 600  # the scripted module answers at once: keep the tests quick
    if init:
        m.init()
    return f, m


def joined(fw="1.1.0", **kw):
    f, m = make(fw, **kw)
    m.wlan.connect("lab", "correct horse")
    return f, m


def sha256(b):
    import hashlib

    return hashlib.sha256(b).digest()


def data_of(n, seed=1):
    # deterministic, non-repeating-looking bytes incl. CR, LF, NUL, "AT-S.OK" and "+WIND:" inside
    out = bytearray(n)
    s = seed
    for i in range(0, n, 4):
        s = (s * 1103515245 + 12345) & 0x7FFFFFFF
        out[i : i + 4] = (s & 0xFFFFFFFF).to_bytes(4, "little")[: n - i]
    marks = b"\r\nAT-S.OK\r\n+WIND:58:Socket Closed:0:1\r\n\x00"
    for i in range(0, n - len(marks), 997):
        out[i : i + len(marks)] = marks
    return bytes(out)


# ------------------------------------------------------------------------------------------------ bring-up
def case_init_turns_echo_off_and_stores_it(ctx):
    f, m = make()
    assert m.fw == "1.1.0" and m.build == "171117-0328fe3-SPWF04S"
    assert f.flash["console_echo"] == "0" and "AT+S.WCFG" in f.log
    n = f.log.count("AT+S.WCFG")
    assert m.init() == "1.1.0"
    assert f.log.count("AT+S.WCFG") == n  # echo already off: no second flash write
    assert not f.violations


def case_init_falls_back_to_reset_command_when_pin_is_ignored(ctx):
    f, m = make(pin=False)
    assert "AT+S.RESET" in f.log and m.fw == "1.1.0"
    f2, m2 = make(init=False, pin_works=False, ok_before_reset=False)
    m2.init()
    assert "AT+S.RESET" in f2.log and m2.fw == "1.1.0" and f2.boots == 2


def case_init_silent_module_raises_timeout_naming_the_fix(ctx):
    f, m = make(init=False, pin=False, dead=True)
    e = raises(OSError, m.init)
    assert e.args[0] == errno.ETIMEDOUT and "baud" in str(e) and "wiring" in str(e)


def case_fw10_profile(ctx):
    f, m = make(fw="1.0.0")
    assert m.fw == "1.0.0" and m.build.startswith("170216")


# ------------------------------------------------------------------------------------------------ commands
def case_at_passthrough_routes_winds_and_returns_lines(ctx):
    f, m = make()
    seen = []
    m.on_wind = seen.append
    f.before = ["+WIND:33:WiFi Network Lost"]
    f.after = ["+WIND:55:Pending Data::5:10:10"]
    lines = m.at("AT+S.STS=fw_version")
    assert lines == ["AT-S.Var:fw_version=1.1.0", "AT-S.OK"]
    m.pump()
    assert [e.number for e in seen] == [33, 55]
    e = raises(ModuleError, m.at, "AT+S.NOPE")
    assert e.code == 1 and e.text == "Command not found" and e.errno == errno.EIO
    assert "AT+S.NOPE" in str(e)


def case_commands_tolerate_echo_verbose_ok_and_garbage(ctx):
    f, m = make()
    m.at("AT+S.SCFG=console_echo,1")
    f.verbose_ok = True
    f.garbage = b"\xff\xfe\x00junk\r\n"
    assert m.var("fw_version") == "1.1.0"
    f.before = ["+WIND:33:WiFi Network Lost", ""]
    assert m.var("wifi_mode", "AT+S.GCFG=wifi_mode") == "0"
    m.at("AT+S.SCFG=console_echo,0")
    assert m.var("fw_version") == "1.1.0"


def case_error_line_variants(ctx):
    f, m = make()
    f.before = []
    e = raises(ModuleError, m.cmd, "AT+S.GCFG=no_such_var")
    assert (e.code, e.text) == (4, "Variable not found") and e.details == []


def case_command_validation(ctx):
    f, m = make()
    raises(ValueError, m.cmd, "AT+S.X=" + "a" * 600)
    raises(ValueError, m.cmd, "AT\r\nAT")


def case_timeout_busy_then_resync(ctx):
    f, m = make()
    f.hang_next = True
    e = raises(OSError, m.var, "fw_version")
    assert e.args[0] == errno.ETIMEDOUT and "busy" in str(e)
    assert m.var("fw_version") == "1.1.0"  # resynchronised
    assert "AT+S.GCFG=console_echo" in f.log


def case_late_answer_is_taken(ctx):
    f, m = make()
    f.late_next = True
    assert m.var("fw_version") == "1.1.0"  # came late, right before the probe's OK


def case_module_gone_needs_init_and_recovers(ctx):
    f, m = make()
    f.dead = True
    e = raises(OSError, m.var, "fw_version")
    assert e.args[0] == errno.ETIMEDOUT and "init()" in str(e)
    e = raises(OSError, m.var, "fw_version")
    assert e.args[0] == errno.EIO and "init()" in str(e)
    m.init()  # the pin reset revives it
    assert m.var("fw_version") == "1.1.0"


def case_flood_cannot_hold_a_command(ctx):
    f, m = make()
    f.flood = b"+WIND:15:WiFi Signal Low\r\n"
    e = raises(OSError, m.var, "fw_version")
    assert e.args[0] == errno.ETIMEDOUT
    f.flood = b"\x00\xff garbage without end\r\n"
    m.pump()  # bounded too
    f.flood = None
    m.init()
    assert m.var("fw_version") == "1.1.0"


def case_unexpected_reset_mid_command(ctx):
    f, m = joined()
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    f.reset_on = "AT+S.STS"
    e = raises(ModuleReset, m.var, "fw_version")
    assert "init()" in str(e)
    raises(ModuleReset, s.write, b"x")  # every socket is invalid
    raises(ModuleReset, s.read, 1)
    s.close()
    assert not m.link and m.clock() is None
    m.init()
    assert m.var("fw_version") == "1.1.0"


def case_unexpected_reset_between_commands(ctx):
    f, m = make()
    f.boot()  # the module reboots on its own
    raises(ModuleReset, m.var, "fw_version")
    assert m.var("fw_version") == "1.1.0"  # raised once, then work goes on


def case_hard_fault_is_a_reset(ctx):
    f, m = make()
    f.after = ["+WIND:8:Hard Fault:Bus Fault"]
    m.var("fw_version")
    e = raises(ModuleReset, m.var, "fw_version")
    assert "Hard Fault" in str(e)


# ------------------------------------------------------------------------------------------------ clock
def case_clock_set_and_read_back(ctx):
    f, m = make()
    assert m.clock() is None
    m.settime(1504170338)
    assert f.log[-1] == "AT+S.TIME=1504170338"
    t = m.time()
    assert 1504170338 <= t <= 1504170340
    assert 1504170338 <= m.clock() <= 1504170340
    m.settime()  # the board clock (real time on the unix port / CPython)
    assert m.time() > 1700000000
    raises(ValueError, m.settime, 100)


def case_clock_parse_known_log(ctx):
    f, m = make()
    f.clock = (1504170338, __import__("time").time())
    f.before = []
    t = m.time()
    assert abs(t - 1504170338) <= 2


# ------------------------------------------------------------------------------------------------ trace
def case_trace_redacts_secrets(ctx):
    out = []
    f, m = make()
    m.trace(True, out.append)
    m.wlan.connect("lab", "correct horse")
    m.at("AT+S.SCFG=console_echo,1")
    m.at("AT+S.GCFG=wifi_wpa_psk_text")
    m.trace(False)
    text = "\n".join(out)
    assert "correct horse" not in text
    assert "> AT+S.SCFG=wifi_wpa_psk_text,***" in text and "< AT-S.Var:wifi_wpa_psk_text=***" in text
    assert "< AT+S.GCFG=wifi_wpa_psk_text" in text  # received lines (here the echo) are traced too
    e = raises(ModuleError, m.cmd, "AT+S.SCFG=wifi_wpa_psk_text_x,correct horse")
    assert "correct horse" not in str(e) and "correct horse" not in repr(e)


# ------------------------------------------------------------------------------------------------ wi-fi
def case_wlan_join_scan_ipconfig(ctx):
    f, m = make()
    w = m.wlan
    assert w.active() and not w.isconnected()
    w.connect("lab", "correct horse")
    assert w.isconnected() and m.ip == "192.168.1.50" and w.status() == w.STAT_GOT_IP
    assert w.ipconfig("addr4") == ("192.168.1.50", "255.255.255.0")
    assert w.ipconfig("gw4") == "192.168.1.1"
    assert w.config("mac") == b"\x00\x80\xe1\xb7\xc8\x2a"
    assert w.status("rssi") == -45
    nets = w.scan()
    assert nets[0] == (b"lab", b"\x98\xde\xd0\xea\x4c\x62", 6, -45, 3, False)
    assert nets[1][0] == b"it''s open" and nets[1][4] == 0
    f.emit("+WIND:33:WiFi Network Lost")
    assert not w.isconnected()
    w.disconnect()
    assert not w.isconnected() and f.flash["wifi_mode"] == "0"
    w.active(False)
    assert not w.active()
    w.active(True)
    assert w.active()
    raises(ValueError, w.ipconfig, "nope")


def case_wlan_join_with_the_ipv4_up_line_lost(ctx):
    # Only the IPv6 "WiFi Up::fe80:..." arrives: the link is up all the same; no wait for the lost line
    f, m = make()
    f.lose_ipv4_up = True
    m.wlan.connect("lab", "correct horse", timeout=3000)  # would raise ETIMEDOUT if it waited for the line
    assert m.wlan.isconnected() and m.wlan.status() == m.wlan.STAT_GOT_IP
    assert m.wlan.ipconfig("addr4") == ("192.168.1.50", "255.255.255.0")  # asked of the module


def case_wlan_wrong_key_and_unknown_ssid(ctx):
    f, m = make()
    w = m.wlan
    e = raises(OSError, w.connect, "lab", "wrong key!")
    assert e.args[0] == errno.ECONNREFUSED and "wrong key" not in str(e) and ":40:" in str(e)
    assert w.status() == w.STAT_WRONG_PASSWORD
    e = raises(OSError, w.connect, "elsewhere", "whatever1")
    assert e.args[0] == errno.ECONNREFUSED and ":20:" in str(e)
    raises(ValueError, w.connect, "a,b", "12345678")
    e = raises(ValueError, w.connect, "lab", "short")
    assert "short" not in str(e)
    w.connect("lab", "correct horse")
    assert w.isconnected()


# ------------------------------------------------------------------------------------------------ sockets
def case_plain_socket_write_chunks_and_read(ctx):
    f, m = joined()
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    assert s.id == 0 and s.peer == ("10.0.0.2", 80)
    payload = data_of(2000)
    assert s.write(payload) == 2000
    fs = f.sockets[0]
    assert bytes(fs.tx) == payload
    assert [int(c.split(",")[1]) for c in f.log if c.startswith("AT+S.SOCKW")] == [730, 730, 540]
    f.peer_send(0, b"hello world")
    assert s.read(5) == b"hello"
    assert s.recv(100) == b" world"
    assert not f.violations
    s.close()
    assert 0 not in f.sockets


def case_trusted_winds_avoid_sockq(ctx):
    f, m = joined()
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    blob = data_of(20000)
    f.peer_send(0, blob)
    buf = bytearray(20000)
    q0 = sum(1 for c in f.log if c.startswith("AT+S.SOCKQ"))
    assert s.readinto(buf) == 20000 and bytes(buf) == blob
    assert sum(1 for c in f.log if c.startswith("AT+S.SOCKQ")) == q0  # the WIND count was trusted
    assert not f.violations


def case_wind_count_modes_never_overread(ctx):
    for mode in ("B", "stale", "none"):
        f, m = joined()
        f.wind55 = mode
        s = m.socket()
        s.connect(("10.0.0.2", 80))
        blob = data_of(9000, 3)
        f.peer_send(0, blob[:4000])
        got = s.read(3000)
        f.peer_send(0, blob[4000:])
        got += s.read(6000)
        assert got == blob, mode
        assert not f.violations, (mode, f.violations)
        assert any(c.startswith("AT+S.SOCKQ") for c in f.log), mode


def case_small_uart_receive_buffer(ctx):
    f, m = joined()
    f.rxcap = 64  # machine.UART's default rxbuf: a payload batch can never build up
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    blob = data_of(5000, 9)
    f.peer_send(0, blob)
    assert s.read(5000) == blob


def case_crlf_after_payload_tolerated(ctx):
    f, m = joined(crlf_after_payload=True)
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    f.peer_send(0, b"\r\nAT-S.OK\r\n" * 30)
    assert s.read(330) == b"\r\nAT-S.OK\r\n" * 30


def case_transfer_256k_each_way(ctx):
    f, m = joined(frag=200)
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    blob = data_of(256 * 1024, 7)
    f.sockets[0].source = blob
    f._background()
    buf = bytearray(4096)
    import hashlib

    h = hashlib.sha256()
    n = 0
    while n < len(blob):
        k = s.readinto(buf)
        h.update(memoryview(buf)[:k])
        n += k
    assert h.digest() == sha256(blob)
    f.sockets[0].keep_tx = False  # hash only: 256 KiB twice is more than the test heap wants
    assert s.write(blob) == len(blob)
    assert f.sockets[0].txh.digest() == sha256(blob) and f.sockets[0].txn == len(blob)
    assert not f.violations


def case_peer_close_eof_after_all_data(ctx):
    f, m = joined()
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    f.peer_send(0, b"last words")
    f.peer_close(0)
    assert s.read() == b"last words"
    assert s.read(10) == b"" and s.recv(10) == b""
    s.close()
    assert 0 not in f.sockets and not f.violations


def case_peer_close_with_lost_wind55(ctx):
    f, m = joined(wind55="none")
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    f.peer_send(0, b"x" * 3000)
    f.peer_close(0)
    assert s.read() == b"x" * 3000


def case_short_query_count_is_no_end_of_file(ctx):
    # Lost digits in a SOCKQ answer after +WIND:58 ('Query:979' -> 'Query:9'): end-of-file only when a SOCKQ
    # after the last read says 0, never because the data a count announced has been read.
    for wind55 in ("A", "none"):
        f, m = joined(wind55=wind55)
        s = m.socket()
        s.connect(("10.0.0.2", 80))
        f.peer_send(0, data_of(979), wind=False)
        f.peer_close(0)
        f.query_shrink = 970
        assert s.read() == data_of(979), wind55
        s.close()
        assert not f.sockets and not f.violations


def case_query_without_count_is_no_end_of_file(ctx):
    # A SOCKQ answer whose count was lost entirely ('AT-S.Query:') says nothing about what is pending: after
    # +WIND:58 it must not end the stream (the lossy soak found read() returning 97 of 979 bytes). The driver
    # asks again on its poll interval; reads in between use what is known.
    for blank in (1, 3):
        f, m = joined(wind55="none")
        s = m.socket()
        s.connect(("10.0.0.2", 80))
        f.peer_send(0, data_of(979), wind=False)
        f.peer_close(0)
        f.query_shrink = 882  # the first count comes short (97), the next ones without digits
        f.query_blank = blank
        assert s.read() == data_of(979), blank
        s.close()
        assert not f.sockets and not f.violations


def case_query_count_read_with_verbose_ok(ctx):
    # console_verbose 2 ends every answer with AT-S.OK:<heap>:<state>. The SOCKQ count before it must still
    # count: losing it left the driver waiting for data the module held (a readinto that timed out short)
    # and close() failing with 77 Pending data. Without WIND:55, SOCKQ is the only way to learn of the data.
    for frag in (4096, 7):
        f, m = joined(wind55="none", frag=frag)
        f.verbose_ok = True
        s = m.socket()
        s.connect(("10.0.0.2", 80))
        s.settimeout(5)
        f.peer_send(0, data_of(979), wind=False)
        buf = bytearray(979)
        assert s.readinto(buf) == 979 and buf == data_of(979), frag
        f.peer_send(0, b"left behind", wind=False)
        s.close()  # drains what the module holds (SOCKQ's count), then SOCKC: no 77
        assert not f.sockets and not f.violations


def case_socket_id_with_an_inserted_digit_names_no_socket(ctx):
    # Line noise inserting a digit after an id ('AT-S.On:...:03' for 0, '+WIND:58:Socket Closed:01:1' for 0) must
    # not make the driver use, or end, another socket: the lossy soak once saw a read end with 0 bytes. The
    # module prints ids as one digit.
    f, m = joined()
    s = m.socket()
    f.on_noise = "3"
    e = raises(OSError, s.connect, ("10.0.0.2", 80))
    assert e.errno == errno.EIO, e  # no usable id in the answer (the module's socket is swept later)
    a, b = m.socket(), m.socket()
    a.connect(("10.0.0.2", 80))
    b.connect(("10.0.0.2", 81))
    f.emit("+WIND:58:Socket Closed:%d%d:1" % (a.id, b.id))  # a's close, a digit inserted: not b's end-of-file
    b.settimeout(0.5)
    raises(OSError, b.read, 300)  # nothing yet, and no end-of-file either
    f.peer_send(b.id, data_of(300))
    assert b.read(300) == data_of(300)
    a.close()
    b.close()
    assert not f.sockets and not f.violations


def case_reading_line_without_its_lf(ctx):
    # A lone CR ends a line (the parser's rule), so when the LF of an AT-S.Reading line is lost on the wire
    # the payload starts right after the CR. The driver's own fast read of the usual answer must not look
    # for the line's end further on (that would take payload for the line and read the wrong bytes): it
    # hands such a line to the parser, and the data stays exact. Payloads with and without LF, whole and
    # in fragments.
    for frag in (4096, 5):
        for data in (data_of(700, seed=frag), b"no line feed in here at all" * 20):
            f, m = joined(frag=frag)
            s = m.socket()
            s.connect(("10.0.0.2", 80))
            f.peer_send(0, data)
            f.peer_close(0)
            f.reading_lf_lost = True
            assert s.read() == data, (frag, data[:8])
            s.close()
            assert not f.sockets and not f.violations


def case_close_drains_pending_data(ctx):
    f, m = joined()
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    f.peer_send(0, data_of(5000))
    with s:
        pass
    assert 0 not in f.sockets and f.log.count("AT+S.SOCKC=0") == 1  # no "77 Pending data" retry
    raises(OSError, s.write, b"x")
    s.close()  # twice is fine


def case_eight_sockets_and_a_ninth(ctx):
    f, m = joined()
    socks = []
    for i in range(8):
        s = m.socket()
        s.connect(("10.0.0.%d" % (i + 2), 1000 + i))
        socks.append(s)
    assert sorted(s.id for s in socks) == list(range(8))
    for s in socks:
        f.peer_send(s.id, b"n%d" % s.id)
    for s in reversed(socks):
        assert s.read(2) == b"n%d" % s.id
        s.write(b"w%d" % s.id)
    extra = m.socket()
    e = raises(ModuleError, extra.connect, ("10.0.0.99", 1))
    assert e.code == 75 and e.errno == errno.ENOBUFS
    for s in socks:
        s.close()
    assert not f.sockets and not f.violations


def case_lost_sockets_are_swept(ctx):
    # A SOCKON whose answer is lost: the module opened a socket the driver never heard of.
    f, m = joined()
    keep = m.socket()
    keep.connect(("10.0.0.9", 90))  # the driver's own socket: a sweep must leave it alone
    f.mute_next = True
    s = m.socket()
    s.settimeout(0.3)
    e = raises(OSError, s.connect, ("10.0.0.2", 80))
    assert e.args[0] == errno.ETIMEDOUT and len(f.sockets) == 2
    f.peer_send(1, b"unread", wind=False)  # the lost socket holds data: SOCKC says 77, the sweep drains
    s.close()  # sweeps: SOCKC for every id the driver does not hold
    assert list(f.sockets) == [0] and not f.violations
    f.peer_send(0, b"mine")
    assert keep.read(4) == b"mine"
    # Ids lost without the driver noticing (all eight in use, one of them ours): connect sweeps and retries.
    for i in range(1, 8):
        f.c_sockon(["10.0.0.%d" % (i + 2), "1000", "NULL", "t"])
    assert len(f.sockets) == 8 and m.sockets() == [keep]
    s = m.socket()
    s.connect(("10.0.0.50", 50))
    assert sorted(f.sockets) == [0, 1] and sorted(x.id for x in m.sockets()) == [0, 1]
    # Sockets opened by hand with at() are not the driver's to close: no sweep after that.
    m.at("AT+S.SOCKON=10.0.0.60,60,NULL,t")
    f.c_sockon(["10.0.0.61", "61", "NULL", "t"])  # (and a lost one)
    m.lost_sockets = True
    s.close()
    keep.close()
    assert sorted(f.sockets) == [2, 3] and not f.violations


def case_connect_errors(ctx):
    f, m = make()
    e = raises(ModuleError, m.socket().connect, ("10.0.0.2", 80))
    assert e.code == 44 and e.errno == errno.EHOSTUNREACH
    m.wlan.connect("lab", "correct horse")
    f.refuse = (81,)
    e = raises(ModuleError, m.socket().connect, ("10.0.0.2", 81))
    assert e.code == 74 and e.errno == errno.ECONNREFUSED and e.diagnosis is None
    raises(ValueError, m.socket().connect, ("a,b", 80))
    s = m.socket()
    raises(OSError, s.write, b"x")  # not connected


def case_nonblocking_and_timeouts(ctx):
    f, m = joined()
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    s.setblocking(False)
    assert s.read(10) is None and s.readinto(bytearray(4)) is None
    f.peer_send(0, b"abc")
    assert s.read(10) == b"abc"
    s.settimeout(0.2)
    e = raises(OSError, s.read, 1)
    assert e.args[0] == errno.ETIMEDOUT
    f.peer_send(0, b"xy")
    assert s.read(5) == b"xy"  # partial on timeout
    s.setblocking(True)
    f.peer_send(0, b"z")
    assert s.read(1) == b"z"


def case_readline(ctx):
    f, m = joined()
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    f.peer_send(0, b"HTTP/1.0 200 OK\r\nA: b\r\n\r\nbody")
    f.peer_close(0)
    assert s.readline() == b"HTTP/1.0 200 OK\r\n"
    assert s.readline() == b"A: b\r\n"
    assert s.readline() == b"\r\n"
    assert s.read(2) == b"bo"
    assert s.readline() == b"dy"
    assert s.readline() == b""


def case_lost_rx_payload_bytes(ctx):
    f, m = joined()
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    f.peer_send(0, b"q" * 700)
    f.lose_rx = 40
    e = raises(OSError, s.read, 700)
    assert e.args[0] == errno.EIO and "were lost" in str(e)  # lost received bytes: EIO, never a gap
    e = raises(OSError, s.read, 1)
    assert e.args[0] == errno.EIO  # this socket's stream is gone
    assert m.var("fw_version") == "1.1.0"  # the module is fine
    s.close()
    s2 = m.socket()
    s2.connect(("10.0.0.2", 80))
    f.peer_send(s2.id, b"ok")
    assert s2.read(2) == b"ok"


def case_wind_inside_payload_is_detected(ctx):
    f, m = joined()
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    f.peer_send(0, b"p" * 600)
    f.wind_in_payload = True
    e = raises(OSError, s.read, 600)
    assert e.args[0] == errno.EIO and "framing" in str(e)
    assert m.var("fw_version") == "1.1.0"


def case_damaged_reading_line_never_skips_data(ctx):
    f, m = joined()
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    f.peer_send(0, b"hello")
    f.damage_reading = True
    e = raises(OSError, s.read, 5)
    assert e.args[0] == errno.EIO and "framing" in str(e)
    f.peer_send(0, b"world")
    raises(OSError, s.read, 5)  # never b"world" in place of b"hello"
    s.close()  # best effort: the module's socket is freed too
    assert 0 not in f.sockets


def case_short_sockr_fails_the_socket_in_step(ctx):
    # A module that sends fewer bytes than a SOCKR asked for, announced in its Reading line (a short read: a cap,
    # or lost data): those bytes are read as announced, so the answer stays in step, but the socket fails with
    # EIO - never a buffer handed on with a gap, however finely the answer arrives.
    for frag in (4096, 5):
        f, m = joined(frag=frag)
        m.read_max = 4096
        f.sockr_cap = 730
        s = m.socket()
        s.connect(("10.0.0.2", 80))
        f.peer_send(0, data_of(2000), wind=False)
        s.settimeout(2)
        e = raises(OSError, s.read, 2000)
        assert e.args[0] == errno.EIO and "short SOCKR: 730 of 2000" in str(e), e
        assert m.read_max == 730 and "read_max now 730" in str(e)  # (the cap is learnt for the next socket)
        assert m.var("fw_version") == "1.1.0"  # in step: the next command gets its own answer
        raises(OSError, s.read, 10)  # the socket stays failed
        s.close()
        assert not f.violations, f.violations


def case_data_path_timeouts_make_the_socket_unusable(ctx):
    # SOCKQ and SOCKR go through Module.transact, not cmd(): a command there that gets no answer must still
    # time out, leave the module resynchronised and the socket refusing further reads (its byte stream is
    # unknown), while a fresh socket works.
    f, m = joined()
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    f.peer_send(0, b"q" * 40, wind=False)  # no WIND: only a SOCKQ finds these bytes
    f.hang_next = True
    s.settimeout(2)
    e = raises(OSError, s.read, 40)
    assert e.args[0] == errno.ETIMEDOUT and "AT+S.SOCKQ=0" in str(e)
    assert [c for c in f.log if c.startswith("AT+S.SOCK")][-1] == "AT+S.SOCKQ=0"  # no SOCKR after it
    e = raises(OSError, s.read, 40)
    assert e.args[0] == errno.EIO and "unusable" in str(e) and "SOCKQ" in str(e)
    s.close()
    assert m.var("fw_version") == "1.1.0"  # resynchronised
    s2 = m.socket()
    s2.connect(("10.0.0.3", 80))
    i = s2.id
    f.peer_send(i, b"r" * 30)  # announced: the read goes straight to SOCKR
    f.hang_next = True
    e = raises(OSError, s2.read, 30)
    assert e.args[0] == errno.ETIMEDOUT and "AT+S.SOCKR=%d,30" % i in str(e)
    e = raises(OSError, s2.read, 30)
    assert e.args[0] == errno.EIO and "unusable" in str(e)
    s2.close()
    # Ctrl-C while transact reads a SOCKR's answer: that answer is still on the line, so the next command must
    # not take it for its own (the module is resynchronised first).
    s3 = m.socket()
    s3.connect(("10.0.0.4", 80))
    f.peer_send(s3.id, b"stale")
    readinto = f.readinto

    def interrupted(*a):
        if f.log[-1].startswith("AT+S.SOCKR="):
            f.readinto = readinto
            raise KeyboardInterrupt
        return readinto(*a)

    f.readinto = interrupted
    raises(KeyboardInterrupt, s3.read, 5)
    assert f.readinto == readinto  # (interrupted where meant)
    e = raises(OSError, s3.read, 5)
    assert e.args[0] == errno.EIO and "interrupted read" in str(e)
    n = len(f.log)
    assert m.var("fw_version") == "1.1.0"
    assert f.log[n:] == ["AT+S.GCFG=console_echo", "AT+S.STS=fw_version"], f.log[n:]  # the resync's probe first
    s3.close()
    s4 = m.socket()
    s4.connect(("10.0.0.5", 80))
    f.peer_send(s4.id, b"fine")
    assert s4.read(4) == b"fine" and not f.violations


def case_whole_buffer_reads_keep_the_general_rules(ctx):
    # Socket.readinto sends one SOCKR at once when the whole buffer is known to be pending (the bulk read's
    # usual case, without the general path's loop and frames). Each part below sets up a socket whose count
    # covers the buffer, so it is that short cut which must keep the general path's rule.
    f, m = joined()
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    data = data_of(200, seed=3)
    f.peer_send(0, data)
    m.pump()
    assert s._avail == 200  # (the premise: the announced count covers every buffer below)
    n = len(f.log)
    assert s.readinto(bytearray(0)) == 0 and len(f.log) == n  # an empty buffer: no SOCKR
    buf = bytearray(100)  # nbytes limits the read
    assert s.readinto(buf, 30) == 30 and f.log[-1] == "AT+S.SOCKR=0,30"
    assert buf[:30] == data[:30] and buf[30:] == bytearray(70)
    m.read_max = 40  # no SOCKR larger than read_max
    buf = bytearray(80)
    assert s.readinto(buf) == 80 and f.log[-2:] == ["AT+S.SOCKR=0,40"] * 2 and buf == data[30:110]
    m.read_max = 4096
    assert s.readinto(bytearray(90)) == 90 and s._avail == 0
    # bytes kept by readline() come before the module's
    data = b"line\n" + data_of(295, seed=4)
    f.peer_send(0, data)
    assert s.readline() == b"line\n"  # (one 128-byte recv: 123 bytes kept)
    assert s._pend and s._avail >= 50
    buf = bytearray(50)
    assert s.readinto(buf) == 50 and buf == data[5:55]
    assert s.readinto(bytearray(245)) == 245 and s._avail == 0
    # small segments and a bulk read: the SOCKR comes after masking WIND 55, as in the general path (the
    # scripted module has no console_wind_off_medium: the driver's GCFG finds none and keeps the indications)
    for _ in range(4):
        f.peer_send(0, b"s" * 730)
    m.pump()
    assert s._avail == 2920 and not m.w55off
    n = len(f.log)
    assert s.readinto(bytearray(2048)) == 2048 and not m.w55off
    assert f.log[n:] == ["AT+S.GCFG=console_wind_off_medium", "AT+S.SOCKR=0,2048"], f.log[n:]
    assert s.readinto(bytearray(872)) == 872
    # a socket made unusable refuses to read even when an indication announces data afterwards
    s2 = m.socket()
    s2.connect(("10.0.0.3", 80))
    f.peer_send(s2.id, b"q" * 40, wind=False)
    f.hang_next = True  # the SOCKQ that would find these bytes gets no answer
    s2.settimeout(2)
    assert raises(OSError, s2.read, 40).args[0] == errno.ETIMEDOUT
    f.emit("+WIND:55:Pending Data::%d:40:40" % s2.id)  # (counts consistent with what the driver knows)
    m.pump()
    assert s2._avail == 40
    n = len(f.log)
    e = raises(OSError, s2.readinto, bytearray(40))
    assert e.args[0] == errno.EIO and "unusable" in str(e) and f.log[n:] == []
    s2.close()
    # a close() that failed (data kept arriving, SOCKC answered 77 each time) leaves a closed socket: reads
    # fail with EBADF, however much the last indication announced
    write = f.write
    busy = [4]

    def arriving(b):
        if busy[0] and bytes(b).startswith(b"AT+S.SOCKC="):
            busy[0] -= 1
            f.peer_send(0, b"more")  # announced before SOCKC's answer: 77 Pending data
        return write(b)

    f.write = arriving
    assert raises(ModuleError, s.close).code == 77 and not busy[0]
    f.write = write
    n = len(f.log)
    e = raises(OSError, s.readinto, bytearray(4))
    assert e.args[0] == errno.EBADF and f.log[n:] == []
    assert not f.violations


def case_lost_tx_payload_bytes(ctx):
    # a few bytes lost: the probe's "AT\r" completes the payload; the module answers; resync works
    f, m = joined()
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    f.lose_tx = 2
    e = raises(OSError, s.write, b"w" * 100)
    assert e.args[0] == errno.ETIMEDOUT
    raises(OSError, s.write, b"more")  # socket unusable
    assert m.var("fw_version") == "1.1.0"
    # many bytes lost: the module keeps waiting, the driver says so and init() recovers
    s2 = m.socket()
    s2.connect(("10.0.0.3", 80))
    f.lose_tx = 50
    e = raises(OSError, s2.write, b"w" * 100)
    assert e.args[0] == errno.ETIMEDOUT and "init()" in str(e)
    m.init()
    m.wlan.connect("lab", "correct horse")
    s3 = m.socket()
    s3.connect(("10.0.0.2", 80))
    assert s3.write(b"fine") == 4


def case_reset_pin_ignored_and_module_stuck_in_payload(ctx):
    f, m = joined(pin_works=False)
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    f.lose_tx = 50
    raises(OSError, s.write, b"w" * 100)
    m.init()  # pin ignored, AT swallowed: the driver completes the payload, then AT+S.RESET
    assert m.fw == "1.1.0" and f.boots >= 2


def case_reset_during_read(ctx):
    f, m = joined()
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    f.reset_on = "AT+S.SOCKR"
    f.peer_send(0, b"zz")
    raises(ModuleReset, s.read, 2)
    raises(ModuleReset, s.read, 2)
    m.init()
    m.wlan.connect("lab", "correct horse")
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    f.peer_send(s.id, b"again")
    assert s.read(5) == b"again"


def case_reset_inside_sockr_payload(ctx):
    f, m = joined()
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    f.peer_send(0, b"r" * 3000)
    f.reset_in_payload = True
    e = raises(ModuleReset, s.read, 3000)
    raises(ModuleReset, s.read, 1)
    m.init()
    assert m.var("fw_version") == "1.1.0"


def case_reset_during_ca_upload(ctx):
    f, m = make()
    m.settime()
    f.reset_on = "AT+S.TLSCERT=ca"
    raises(ModuleReset, m.tls.load_ca, path=ctx["ca_pem"])
    assert m.tls.ca is None
    m.init()
    m.settime()
    m.tls.load_ca(path=ctx["ca_pem"])
    assert m.tls.ca is not None


def case_ioctl_poll(ctx):
    f, m = joined()
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    assert s.ioctl(3, 0x05) == 0x04  # writable, not readable
    f.peer_send(0, b"data")
    assert s.ioctl(3, 0x01) == 0x01
    assert s.read(4) == b"data"
    f.wind55 = "none"
    f.peer_send(0, b"more")
    import time

    t = time.time()
    while not s.ioctl(3, 0x01):  # found by the SOCKQ poll
        assert time.time() - t < 5
    assert s.read(4) == b"more"
    assert s.ioctl(99, 0) == -errno.EINVAL


# ------------------------------------------------------------------------------------------------ TLS
def _tls_ready(fw="1.1.0", **kw):
    f, m = joined(fw, **kw)
    m.settime()
    return f, m


def case_load_ca_pem_and_der_with_and_without_ski(ctx):
    for fw in ("1.0.0", "1.1.0"):
        for key in ("ca_pem", "ca_der", "noski_pem", "noski_der"):
            f, m = _tls_ready(fw)
            c = m.tls.load_ca(path=ctx[key])
            want_auth = ctx["noski_keyid"] if key.startswith("noski") else ctx["ski"]
            assert m.tls.auth == want_auth, (fw, key)
            assert f.tls["auth"] == want_auth.encode(), (fw, key)
            sent = f.tls["ca"]
            if fw == "1.0.0":  # what worked on each firmware: PEM on 1.0, DER on 1.1
                assert sent.startswith(b"-----BEGIN CERTIFICATE-----"), key
                assert m.tls.module_ski == ""
            else:
                assert sent == c.der, key
                assert m.tls.module_ski == ("" if key.startswith("noski") else ":".join(
                    want_auth[i : i + 2] for i in range(0, 40, 2)))
            assert "AT+S.TLSCERT=ca,%d" % len(sent) in f.log
            assert m.tls.list() == {"List": True, "CA": 1, "Cert": 0, "Key": 0, "Id": 1}
            m.tls.clear()
            assert m.tls.ca is None and m.tls.list()["CA"] == 0
    f, m = _tls_ready()
    with open(ctx["ca_pem"], "rb") as fh:
        pem = fh.read()
    m.tls.load_ca(pem, encoding="asis")
    assert f.tls["ca"] == pem.strip() + b"\n" or f.tls["ca"] in pem


def case_load_ca_preflight(ctx):
    f, m = joined()
    e = raises(ValueError, m.tls.load_ca, path=ctx["ca_pem"])  # clock unset
    assert getattr(e, "code", None) == "clock_unset"
    m.settime()
    e = raises(ValueError, m.tls.load_ca, path=ctx["expired_pem"])
    assert e.code == "expired"
    assert not any(c.startswith("AT+S.TLSCERT=ca") for c in f.log)  # nothing sent
    e = raises(ValueError, m.tls.load_ca, path=ctx["server_pem"])
    assert e.code == "not_ca"
    e = raises(ValueError, m.tls.load_ca, b"junk")
    assert e.code == "malformed"


def case_tls_connect_and_failures(ctx):
    f, m = _tls_ready()
    s = m.socket(server_hostname="localhost")
    e = raises(ValueError, s.connect, ("10.0.0.2", 443))
    assert e.code == "no_ca"
    m.tls.load_ca(path=ctx["ca_pem"])
    s.connect(("10.0.0.2", 443))
    assert f.sockets[s.id].kind == "localhost"
    s2 = m.socket(tls=True)
    s2.connect(("10.0.0.2", 443))
    assert f.sockets[s2.id].kind == "s"
    e = raises(OSError, m.socket(tls=True).connect, ("10.0.0.2", 443))  # FW 1.1: 2 at a time
    assert e.args[0] == errno.ENOBUFS
    s.close()
    s2.close()
    f.cert_error = 3
    e = raises(ModuleError, m.socket(tls=True).connect, ("10.0.0.2", 443))
    assert e.code == 74 and e.details[-1] == "Certificate Error:3"
    assert e.diagnosis and m.tls.auth in e.diagnosis and "certificate error 3" in e.diagnosis
    assert m.tls.auth in str(e)
    assert not f.violations


def case_tls_needs_no_x509_code_after_loading(ctx):
    f, m = _tls_ready()
    m.tls.load_ca(path=ctx["ca_pem"])
    assert m.tls.sent_len == len(f.tls["ca"]) and m.tls.ca == "SPWF04 Test Root CA"
    sys.modules.pop("spwf04.cert", None)  # what a RAM-tight application does after loading
    s = m.socket(tls=True)
    s.connect(("10.0.0.2", 443))
    s.close()
    f.cert_error = 23
    e = raises(ModuleError, m.socket(tls=True).connect, ("10.0.0.2", 443))
    assert "certificate error 23" in e.diagnosis
    assert "spwf04.cert" not in sys.modules
    a, b = m.tls.ca_valid
    m._clock = (b + 86400, m._clock[1])  # the clock moved past the CA's end
    e = raises(ValueError, m.socket(tls=True).connect, ("10.0.0.2", 443))
    assert e.code == "expired" and "spwf04.cert" not in sys.modules
    from spwf04.utc import ymd

    assert ymd(1504170338) == "2017-08-31" and ymd(0) == "1970-01-01" and ymd(951782400) == "2000-02-29"


def case_tls_diagnosis_clock_and_fw10(ctx):
    f, m = _tls_ready("1.0.0")
    m.tls.load_ca(path=ctx["ca_pem"])
    f.cert_error = 3
    m._clock = None  # as if the clock had never been set (module reset without the driver noticing)
    e = raises(ModuleError, m.socket(tls=True, insecure=True).connect, ("10.0.0.2", 443))
    d = e.diagnosis
    assert d.startswith("1) module clock not set") and "FW 1.0" in d and "AES128-SHA256" in d


def case_insecure_warns_every_time(ctx):
    f, m = joined()
    printed = []
    m.warn = printed.append
    for _ in range(2):
        s = m.socket(tls=True, insecure=True)
        s.connect(("10.0.0.2", 443))
        s.close()
    assert len([p for p in printed if "insecure=True" in p]) == 2


def case_fw10_one_tls_socket(ctx):
    f, m = _tls_ready("1.0.0")
    m.tls.load_ca(path=ctx["ca_pem"])
    s = m.socket(tls=True)
    s.connect(("10.0.0.2", 443))
    e = raises(OSError, m.socket(tls=True).connect, ("10.0.0.2", 443))
    assert e.args[0] == errno.ENOBUFS and "1.0" in str(e)


def case_mutual_tls_key_is_never_shown(ctx):
    out = []
    f, m = _tls_ready()
    m.trace(True, out.append)
    key = b"-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----\n"
    m.tls.load_key(key)
    assert f.tls["key"] == key
    assert "SECRET" not in "\n".join(out) and "> <<%d bytes>>" % len(key) in out
    e = raises(ValueError, m.tls.load_key, b"SECRETSECRET")
    assert "SECRET" not in str(e)


# ------------------------------------------------------------------------------------------------ unix only
def case_asyncio_stream(ctx):
    if not MICROPYTHON:
        return "micropython asyncio only"
    import asyncio

    f, m = joined()
    s = m.socket()
    s.connect(("10.0.0.2", 80))
    s.setblocking(False)
    f.sockets[0].echo = True

    async def main():
        st = asyncio.StreamReader(s)
        st.write(b"ping\n")
        await st.drain()
        line = await st.readline()
        f.peer_send(0, b"tail")
        rest = await st.readexactly(4)
        return line, rest

    assert asyncio.run(main()) == (b"ping\n", b"tail")


def case_usual_answer_makes_no_events(ctx):
    # The data path's usual answer (Reading line, payload, AT-S.OK) is framed by the parser's answer mode
    # straight from the bytes: in steady state a bulk read makes no parser event, however finely the UART
    # delivers the answer, and the data is exact. (The general way - events for the Reading line, the
    # payload and the final line - gives the same data, only slower: without this check a data path that
    # always went the general way would go unnoticed.)
    for frag in (3, 7, 4096):
        f, m = joined(frag=frag)
        m.read_max = 512
        s = m.socket()
        s.connect(("10.0.0.2", 80))
        data = data_of(512 * 12, seed=frag)
        f.peer_send(0, data)
        buf = bytearray(512)
        got = bytearray()
        for _ in range(2):  # the indication that announced the data is parsed on the way
            got += buf[: s.readinto(buf)]
        p = m.parser
        events = []
        on_event = p.on_event

        def counting(ev):
            events.append(ev)
            return on_event(ev)

        p.on_event = counting
        while len(got) < len(data):
            got += buf[: s.readinto(buf)]
        assert bytes(got) == data
        assert events == [], (frag, events[:4])
        s.close()


def case_hot_hash_tables_are_not_full(ctx):
    # MicroPython's attribute tables grow only when full (sizes 12, 17, 23, 29, 37, 47, 59, 73, 97): one holding
    # exactly that many names makes every lookup that misses it scan all of it, and every method call misses
    # the instance's table first (docs/benchmarks.md, "Hash tables": 22.7 instead of 19.7 instructions per
    # byte). The data path's objects stay clear of those sizes; an edit that lands on one fails here.
    if not MICROPYTHON:
        return "MicroPython's tables"
    from spwf04.module import Module
    from spwf04.parser import Parser
    from spwf04.socket import Socket

    full = (12, 17, 23, 29, 37, 47, 59, 73, 97)
    f, m = joined()
    s = m.socket()
    sizes = {"Module": len(Module.__dict__), "Module()": len(m.__dict__), "Parser": len(Parser.__dict__),
             "Parser()": len(m.parser.__dict__), "Socket": len(Socket.__dict__), "Socket()": len(s.__dict__)}
    s.connect(("10.0.0.2", 80))
    f.peer_send(0, b"x" * 10)
    s.read(10)  # (the attributes a socket gets once used)
    sizes["Socket() used"] = len(s.__dict__)
    at_full = {k: v for k, v in sizes.items() if v in full}
    assert not at_full, "full hash tables (add or move a name): %r" % at_full
    return "sizes %r" % sizes


def case_no_allocation_per_received_chunk(ctx):
    if not MICROPYTHON:
        return "gc.mem_alloc is MicroPython's"
    import gc

    def per_read(frag, rate):
        f, m = joined(frag=frag)
        f.rate = rate
        m.read_max = 512
        s = m.socket()
        s.connect(("10.0.0.2", 80))
        buf = bytearray(512)
        f.peer_send(0, data_of(512 * 12))
        for _ in range(2):
            s.readinto(buf)  # warm up
        fake = [0]  # what the test double itself allocates is not the driver's
        ri, rl, an, wr = f.readinto, f.readline, f.any, f.write

        def write(b):
            a0 = gc.mem_alloc()
            r = wr(b)
            fake[0] += gc.mem_alloc() - a0
            return r

        def readinto(b):
            a0 = gc.mem_alloc()
            r = ri(b)
            fake[0] += gc.mem_alloc() - a0
            return r

        def readline():
            a0 = gc.mem_alloc()
            r = rl()
            fake[0] += gc.mem_alloc() - a0
            return r

        def any_():
            a0 = gc.mem_alloc()
            r = an()
            fake[0] += gc.mem_alloc() - a0
            return r

        f.readinto, f.readline, f.any, f.write = readinto, readline, any_, write
        gc.collect()
        gc.disable()
        a0 = gc.mem_alloc()
        for _ in range(8):
            assert s.readinto(buf) == 512
        total = gc.mem_alloc() - a0 - fake[0]
        gc.enable()
        return total // 8

    fine = per_read(3, 1)  # hundreds of tiny UART chunks per SOCKR
    coarse = per_read(4096, 4096)  # one chunk per SOCKR
    assert abs(fine - coarse) < 200, (fine, coarse)
    return "driver allocates %d bytes per 512-byte SOCKR (fine) vs %d (coarse)" % (fine, coarse)


CASES = sorted(n for n in dir() if n.startswith("case_"))
