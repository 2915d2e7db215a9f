# A scripted SPWF04SA for the driver's unit tests: it answers the driver's commands the way the spec
# (docs/at-protocol.md) describes and hands its output to the driver in tiny fragments (Zephyr
# modem_chat style mock pipe), so every read of the driver sees arbitrary splits. Runs on CPython and on the
# MicroPython unix port (no threads, no sockets: the "network" side is driven by the test).
#
# This is not the project's simulator (host_tools/spwf04_tools/sim/); it exists to make driver logic
# (framing, WIND routing, accounting, every fault path) testable without it, fast and deterministically.
import time

try:
    from time import ticks_ms
except ImportError:  # CPython

    def ticks_ms():
        return int(time.monotonic() * 1000)

try:
    from spwf04 import cert as _cert
except ImportError:
    _cert = None

BOOT_10 = ["+WIND:1:Poweron:170216-fd39c59-SPWF04S", "+WIND:13:Copyright (c) 2012-2017 STMicroelectronics:SPWF04SA",
           "+WIND:0:Console active", "+WIND:3:Watchdog Running:20", "+WIND:32:WiFi Hardware Started"]
BOOT_11 = ["+WIND:1:Poweron:171117-0328fe3-SPWF04S", "+WIND:13:Copyright (c) 2012-2017 STMicroelectronics:SPWF04SA",
           "+WIND:3:Watchdog Running:20", "+WIND:0:Console active", "+WIND:32:WiFi Hardware Started"]
ERR = {1: "Command not found", 2: "Missing argument(s)", 4: "Variable not found", 8: "Invalid value",
       17: "Radio enabled", 18: "Radio not running", 44: "Wait for Connection Up", 74: "Failed to open socket",
       75: "Too many sockets", 76: "Illegal Socket ID", 77: "Pending data", 78: "Socket not connected"}


class Lcg:
    def __init__(self, seed):
        self.s = seed & 0x7FFFFFFF or 1

    def next(self, n):
        self.s = (self.s * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.s >> 8) % n


class FakeSock:
    def __init__(self, host, port, kind):
        self.host, self.port, self.kind = host, port, kind
        self.rx = bytearray()  # what the module holds for the host
        self.rpos = 0
        self.tx = bytearray()  # what the host sent to the peer (while keep_tx)
        self.keep_tx = True
        import hashlib

        self.txh = hashlib.sha256()
        self.txn = 0
        self.received = 0  # total ever received from the peer
        self.source = None  # bytes the peer still has to send (fed in pieces)
        self.spos = 0
        self.echo = False
        self.closed = False  # peer closed

    def pending(self):
        return len(self.rx) - self.rpos


class FakePin:
    def __init__(self, fake, role):
        self.fake = fake
        self.role = role
        self.v = 1

    def value(self, v=None):
        if v is None:
            return self.v
        old, self.v = self.v, 1 if v else 0
        if self.role == "reset" and self.fake.pin_works:
            if not self.v:
                self.fake.held = True
            elif not old:
                self.fake.held = False
                self.fake.boot()


class FakeModule:
    """UART side: write/readline/readinto/read/any. Test side: attributes and methods below."""

    def __init__(self, fw="1.1.0", seed=1, frag=7, partial_lines=True, rate=300):
        self.fw = fw
        self.rng = Lcg(seed)
        self.frag = frag  # 1..frag more bytes "arrive" at every UART call ...
        self.rate = rate  # ... and rate bytes per elapsed millisecond
        self.last = ticks_ms()
        self.rxcap = 1 << 30  # the UART's receive buffer (stm32 default rxbuf is 64)
        self.partial_lines = partial_lines  # readline returns partial lines (stm32) or None (TcpUart)
        self.out = bytearray()
        self.opos = 0
        self.arrived = 0  # bytes of out (after opos) the host can read now
        self.inbuf = bytearray()
        self.need = 0  # payload bytes still expected
        self.pcmd = None
        self.pdata = None
        self.log = []  # commands as received
        self.violations = []  # protocol rules the driver broke
        self.flash = {"console_echo": "1", "wifi_mode": "0", "wifi_ssid": "", "wifi_wpa_psk_text": "",
                      "wifi_priv_mode": "2", "ip_use_dhcpc": "1"}
        self.ram = dict(self.flash)
        self.ap = ("lab", "correct horse")  # the one network in range
        self.lose_ipv4_up = False  # the join's +WIND:24 with the IPv4 address lost on the line (IPv6 one only)
        self.pin_works = True
        self.held = False
        self.dead = False  # answers nothing (hung / wrong baud)
        self.ok_before_reset = True
        self.crlf_after_payload = False
        self.wind55 = "A"  # A: cumulated = pending; B: cumulated = total received; none; stale
        self.verbose_ok = False
        self.cert_error = None  # e.g. 3: TLS SOCKON fails with Certificate Error:<n>
        self.refuse = ()  # ports whose connect fails (74)
        self.lose_rx = 0  # the next SOCKR sends this many payload bytes fewer
        self.lose_tx = 0  # the next host payload loses this many bytes (the module keeps waiting)
        self.wind_in_payload = False  # put a WIND inside the next SOCKR payload
        self.reset_in_payload = False  # reboot in the middle of the next SOCKR payload
        self.damage_reading = False  # damage the next AT-S.Reading line
        self.sockr_cap = 0  # > 0: a SOCKR for more sends only this many bytes, announced so (a short read)
        self.reading_lf_lost = False  # the next AT-S.Reading line loses its LF (a lone CR still ends it)
        self.reset_on = None  # command prefix: the module reboots instead of answering
        self.hang_next = False  # the next command gets no answer at all (busy)
        self.late_next = False  # the next command's answer comes only when another command arrives
        self.mute_next = False  # the next command takes effect but its whole answer is lost on the line
        self.query_shrink = 0  # the next SOCKQ answers this many fewer (lost digits: 'Query:979' -> 'Query:9')
        self.query_blank = 0  # then this many SOCKQs answer without their count ('AT-S.Query:', digits all lost)
        self.on_noise = ""  # appended to the next AT-S.On line's socket id (a digit inserted by line noise)
        self.held_out = None
        self.flood = None  # a line the module repeats forever (a stuck module, noise)
        self.before = []  # lines to emit before the next command's answer
        self.after = []  # lines to emit after the next command's answer
        self.garbage = b""  # raw bytes to emit before the next answer
        self.sockets = {}
        self.max_sockets = 8
        self.chunk = 2048  # how much of a source arrives per step
        self.boots = 0
        self.t0 = time.time()
        self.hw = False
        self.link = False
        self.tls = {}
        self.clock = None
        self.boot(quiet=True)

    # ------------------------------------------------------------------ UART (host side)
    def write(self, buf):
        b = bytes(buf)
        if self.held or self.dead:
            return len(b)
        if self.lose_tx and self.need:
            k = min(self.lose_tx, len(b))
            self.lose_tx -= k
            b = b[k:]
        self.inbuf += b
        self._process()
        return len(buf)

    def _arrive(self):
        n = len(self.out) - self.opos
        t = ticks_ms()
        dt = t - self.last
        self.last = t
        self.arrived = min(n, self.arrived + 1 + self.rng.next(self.frag) + dt * self.rate, self.rxcap)

    def _take(self, n):
        d = bytes(self.out[self.opos : self.opos + n])
        self.opos += n
        self.arrived -= n
        if self.opos > 8192:
            self.out = self.out[self.opos :]
            self.opos = 0
        return d

    def any(self):
        self._arrive()
        return self.arrived

    def readline(self):
        if self.flood:
            return self.flood
        self._arrive()
        if not self.arrived:
            return None
        i = self.out.find(b"\n", self.opos, self.opos + self.arrived)
        if i < 0:
            if not self.partial_lines:
                return None
            return self._take(self.arrived)
        return self._take(i + 1 - self.opos)

    def readinto(self, buf, n=None):
        if self.flood:  # a module that never stops talking: every read comes back full
            n = len(buf) if n is None else min(n, len(buf))
            k = len(self.flood)
            for i in range(0, n, k):
                buf[i : min(i + k, n)] = self.flood[: min(k, n - i)]
            return n
        self._arrive()
        n = len(buf) if n is None else min(n, len(buf))
        n = min(n, self.arrived)
        if not n:
            return None
        buf[:n] = self._take(n)
        return n

    def read(self, n=-1):
        self._arrive()
        if n is None or n < 0:
            n = self.arrived
        n = min(n, self.arrived)
        return self._take(n) if n else None

    # ------------------------------------------------------------------ module output
    def emit(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.out += line + b"\r\n"

    def raw(self, b):
        self.out += b

    def ok(self):
        self.emit("AT-S.OK:31000:10" if self.verbose_ok else "AT-S.OK")

    def error(self, code):
        self.emit("AT-S.ERROR:%d:%s" % (code, ERR.get(code, "")))

    def boot(self, quiet=False):
        self.boots += 1
        self.dead = False
        self.ram = dict(self.flash)
        self.sockets = {}
        self.tls = {}
        self.clock = None
        self.link = False
        self.hw = True
        self.need = 0
        self.inbuf = bytearray()
        if quiet:
            return
        for w in BOOT_10 if self.fw.startswith("1.0") else BOOT_11:
            self.emit(w)
        if self.flash["wifi_mode"] == "1" and self.flash["wifi_ssid"]:
            self.emit("+WIND:21:WiFi Scanning")
            if self.flash["wifi_ssid"] != self.ap[0]:
                self.emit("+WIND:20:WiFi Join Failed")
                return
            self.emit("+WIND:19:WiFi Join:98:DE:D0:EA:4C:62")
            key = self.flash["wifi_wpa_psk_text"] if self.flash["wifi_priv_mode"] == "2" else None
            if key != self.ap[1]:
                for _ in range(3):
                    self.emit("+WIND:40:WiFi Deauthentication:15")
                return
            self.emit("+WIND:25:WiFi Association successful:%s" % self.ap[0])
            if not self.lose_ipv4_up:
                self.emit("+WIND:24:WiFi Up:0:192.168.1.50")
            self.emit("+WIND:24:WiFi Up::fe80::280:e1ff:feb7:c82a")  # after the IPv4 line (a FW 1.0 log)
            self.link = True

    def _emit55(self, i, got):
        s = self.sockets[i]
        mode = self.wind55
        if mode == "none":
            return
        if mode == "B":
            c = s.received
        elif mode == "stale":
            c = s.pending() + 1000
        else:
            c = s.pending()
        self.emit("+WIND:55:Pending Data::%d:%d:%d" % (i, got, c))

    def peer_send(self, i, data, wind=True):
        s = self.sockets[i]
        s.rx += data
        s.received += len(data)
        if wind:
            self._emit55(i, len(data))

    def peer_close(self, i, reason=1):
        self.sockets[i].closed = True
        self.emit("+WIND:58:Socket Closed:%d:%d" % (i, reason))

    def _background(self):
        # The peer's side: sources deliver the next piece once the module's buffer is low.
        for i, s in self.sockets.items():
            if s.source is not None and s.spos < len(s.source) and s.pending() < self.chunk:
                d = s.source[s.spos : s.spos + self.chunk]
                s.spos += len(d)
                self.peer_send(i, d)
                if s.spos >= len(s.source) and s.kind == "close":
                    self.peer_close(i)

    # ------------------------------------------------------------------ commands
    def _process(self):
        while True:
            if self.need:
                k = min(self.need, len(self.inbuf))
                if not k:
                    return
                self.pdata += self.inbuf[:k]
                self.inbuf = self.inbuf[k:]
                self.need -= k
                if self.need:
                    return
                self._payload(self.pcmd, bytes(self.pdata))
                continue
            i = self.inbuf.find(b"\r")
            if i < 0:
                return
            raw = bytes(self.inbuf[:i])
            self.inbuf = self.inbuf[i + 1 :]
            try:
                line = raw.decode()
            except UnicodeError:  # binary junk taken for a command (e.g. payload after a reset)
                self.log.append(raw)
                self.error(1)
                continue
            if "\n" in line:
                self.violations.append("LF sent: %r" % line)
            self._command(line)
            self._background()

    def _command(self, line):
        self.log.append(line)
        if self.held_out is not None:  # a late answer comes out when the next command arrives
            self.out += self.held_out
            self.held_out = None
        if self.hang_next:
            self.hang_next = False
            return
        start = len(self.out)
        self._command1(line)
        if self.late_next:
            self.late_next = False
            self.held_out = self.out[start:]
            self.out = self.out[:start]
        if self.mute_next:
            self.mute_next = False
            self.out = self.out[:start]

    def _command1(self, line):
        if len(line) > 512:
            self.violations.append("command over 512 bytes")
        if self.ram["console_echo"] == "1":
            self.emit(line)
        up = line.upper()
        if self.reset_on and up.startswith(self.reset_on.upper()):
            self.reset_on = None
            self.boot()
            return
        if self.garbage:
            self.raw(self.garbage)
            self.garbage = b""
        for w in self.before:
            self.emit(w)
        self.before = []
        name, _, arg = line.partition("=")
        name = name.upper()
        if name.startswith("AT+S."):
            name = name[5:]
        args = arg.split(",") if arg else []
        h = self.c_at if name == "AT" else getattr(self, "c_" + name.lower(), None)
        if h is None:
            self.error(1)
        else:
            h(args)
        for w in self.after:
            self.emit(w)
        self.after = []

    def _expect(self, args, n, cmd):
        try:
            self.need = int(args[n])
        except (IndexError, ValueError):
            self.error(2)
            return
        self.pcmd = (cmd, args)
        self.pdata = bytearray()
        if self.need == 0:
            self._payload(self.pcmd, b"")

    def c_at(self, a):
        self.ok()

    def c_scfg(self, a):
        if len(a) < 2:
            return self.error(2)
        if a[0] not in self.ram:
            return self.error(4)
        self.ram[a[0]] = ",".join(a[1:])
        self.ok()

    def c_gcfg(self, a):
        if not a or a[0] not in self.ram:
            return self.error(4)
        self.emit("AT-S.Var:%s=%s" % (a[0], self.ram[a[0]]))
        self.ok()

    def c_sts(self, a):
        v = {"fw_version": self.fw, "ip_ipaddr": "192.168.1.50" if self.link else "0.0.0.0",
             "ip_netmask": "255.255.255.0", "ip_gw": "192.168.1.1", "wifi_own_macaddr": "00:80:E1:B7:C8:2A",
             "wifi_state": "10" if self.link else "3"}
        if not a or a[0] not in v:
            return self.error(4)
        self.emit("AT-S.Var:%s=%s" % (a[0], v[a[0]]))
        self.ok()

    def c_peers(self, a):
        self.emit("AT-S.Var:0.rx_rssi=-45")
        self.ok()

    def c_wcfg(self, a):
        self.flash = dict(self.ram)
        self.ok()

    def c_reset(self, a):
        if self.ok_before_reset:
            self.ok()
        self.boot()

    def c_time(self, a):
        if a:
            self.clock = (int(a[0]), time.time())
            return self.ok()
        t = int(self.clock[0] + time.time() - self.clock[1]) if self.clock else 946684800 + int(time.time() - self.t0)
        d, s = divmod(t, 86400)
        y, m, dd = _civil(d)
        self.emit("AT-S.Date:%02d.%02d.%02d:00" % (y % 100, m, dd))
        self.emit("AT-S.Time:%02d.%02d.%02d" % (s // 3600, s // 60 % 60, s % 60))
        self.ok()

    def c_wifi(self, a):
        on = a and a[0] == "1"
        if on == self.hw:
            return self.error(17 if on else 18)
        self.hw = on
        self.ok()
        self.emit("+WIND:32:WiFi Hardware Started" if on else "+WIND:38:WiFi Powered Down")

    def c_ssidtxt(self, a):
        self.ram["wifi_ssid"] = ",".join(a)
        self.ok()

    def c_scan(self, a):
        self.emit("AT-S.Parsing Networks:2")
        self.emit("1:\t BSS 98:DE:D0:EA:4C:62 CHAN: 06 RSSI: -45 SSID: 'lab' CAPS: 0431 WPA2 ")
        self.emit("2:\t BSS 00:11:22:33:44:55 CHAN: 11 RSSI: -80 SSID: 'it''s open' CAPS: 0401 ")
        self.ok()

    def c_tlscert(self, a):
        if not a:
            return self.error(2)
        k = a[0].lower()
        if k == "content":
            if a[1:] == ["2"]:
                self.tls = {}
                self.emit("AT-S.Clean")
            else:
                self.emit("AT-S.List")
                self.emit("AT-S.CA:%d" % ("ca" in self.tls))
                self.emit("AT-S.Cert:%d" % ("cert" in self.tls))
                self.emit("AT-S.Key:%d" % ("key" in self.tls))
                self.emit("AT-S.Id:%d" % ("auth" in self.tls))
            return self.ok()
        if k in ("ca", "auth", "cert", "key"):
            return self._expect(a, 1, "tlscert_" + k)
        self.error(7)

    def _payload(self, pcmd, data):
        cmd, a = pcmd
        self.need = 0
        if cmd == "tlscert_ca":
            self.tls["ca"] = data
            ski = None
            if _cert is not None and not self.fw.startswith("1.0"):
                try:
                    ski = _cert.parse(data)[0].ski
                except Exception:
                    pass
            if ski is not None:
                self.emit("AT-S.SubjectKeyId:" + _cert.colon_hex(ski))
            else:
                self.emit("AT-S.No SubjectKeyId")
        elif cmd.startswith("tlscert_"):
            self.tls[cmd[8:]] = data
        elif cmd == "sockw":
            s = self.sockets[int(a[0])]
            if s.keep_tx:
                s.tx += data
            s.txh.update(data)
            s.txn += len(data)
            self.ok()
            if s.echo:
                self.peer_send(int(a[0]), data)
            return
        self.ok()

    def _sock(self, a):
        try:
            i = int(a[0])
        except (IndexError, ValueError):
            self.error(2)
            return None
        if i not in self.sockets:
            self.error(76)
            return None
        return i

    def c_sockon(self, a):
        if len(a) != 4:
            return self.error(2)
        if a[2] not in ("NULL", ""):
            self.violations.append("SOCKON third field %r" % a[2])
        if not self.link:
            return self.error(44)
        port = int(a[1])
        if port in self.refuse:
            return self.error(74)
        if a[3] != "t":
            tls_open = sum(1 for s in self.sockets.values() if s.kind != "t")
            if tls_open >= (1 if self.fw.startswith("1.0") else 2):
                self.violations.append("TLS socket limit exceeded")
            if self.cert_error is not None:
                self.emit("AT-S.Loading:1:2")
                self.emit("AT-S.Certificate Error:%d" % self.cert_error)
                return self.error(74)
        if len(self.sockets) >= self.max_sockets:
            return self.error(75)
        i = 0
        while i in self.sockets:
            i += 1
        self.sockets[i] = FakeSock(a[0], port, a[3])
        self.emit("AT-S.On:%s:%d%s" % ("127.0.0.1" if a[0] == "localhost" else a[0], i, self.on_noise))
        self.on_noise = ""
        self.ok()

    def c_sockw(self, a):
        i = self._sock(a)
        if i is None:
            return
        if self.sockets[i].closed:
            return self.error(78)
        n = int(a[1])
        if n > 730:
            self.violations.append("SOCKW of %d bytes" % n)
        self._expect(a, 1, "sockw")

    def c_sockq(self, a):
        i = self._sock(a)
        if i is None:
            return
        n = self.sockets[i].pending()
        count = "%d" % n
        if self.query_shrink and n:
            count = "%d" % (n - min(n, self.query_shrink))
            self.query_shrink = 0
        elif self.query_blank:
            self.query_blank -= 1
            count = ""  # every digit lost
        self.emit("AT-S.Query:" + count)
        self.ok()

    def c_sockr(self, a):
        i = self._sock(a)
        if i is None:
            return
        s = self.sockets[i]
        n = int(a[1])
        if n <= 0 or n > s.pending():
            self.violations.append("SOCKR of %d with %d pending" % (n, s.pending()))
            return self.error(8)
        if self.sockr_cap and n > self.sockr_cap:
            n = self.sockr_cap  # (the rest stays pending)
        data = bytes(s.rx[s.rpos : s.rpos + n])
        s.rpos += n
        if s.rpos > 8192:
            s.rx = s.rx[s.rpos :]
            s.rpos = 0
        if self.damage_reading:  # a byte of the Reading line lost: the data goes by as text
            self.damage_reading = False
            self.emit("AT-S.Reding:%d:%d" % (n, s.received))
        elif self.reading_lf_lost:
            self.reading_lf_lost = False
            self.raw(b"AT-S.Reading:%d:%d\r" % (n, s.received))
        else:
            self.emit("AT-S.Reading:%d:%d" % (n, s.received))
        if self.lose_rx:
            data = data[: max(0, n - self.lose_rx)]
            self.lose_rx = 0
        if self.reset_in_payload:  # reboot after half of the data
            self.reset_in_payload = False
            self.raw(data[: len(data) // 2])
            self.boot()
            return
        if self.wind_in_payload:
            self.wind_in_payload = False
            h = len(data) // 2
            self.raw(data[:h] + b"+WIND:55:Pending Data::0:1:1\r\n" + data[h:])
        else:
            self.raw(data)
        if self.crlf_after_payload:
            self.raw(b"\r\n")
        self.ok()

    def c_sockc(self, a):
        i = self._sock(a)
        if i is None:
            return
        if self.sockets[i].pending():
            return self.error(77)
        del self.sockets[i]
        self.ok()


def _civil(days):
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (m <= 2), m, doy - (153 * mp + 2) // 5 + 1
