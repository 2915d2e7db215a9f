# Client_Socket, done right: ST's C example's job (join, open a TLS socket to a server, send, print the
# reply) with every step announced and every failure explained.
#
# Whole run (also what main.py runs at boot when installed):
#   import client_socket; client_socket.main()
# Step by step at the REPL:
#   c = client_socket.Client()        # reads client_config.json
#   c.bring_up(); c.join(); c.set_clock(); c.preflight(); c.load_ca(); c.open(); c.send(); c.receive(); c.close()
#
# client_config.json: {"ssid": .., "key": .., "host": .., "port": 443, "server_name": "name"|null,
#   "ca": "ca.pem", "request": "GET / HTTP/1.0\r\n\r\n", "security": "tls"|"plain", "timeout": 20,
#   "ntp_server": "pool.ntp.org" (host or host:port; null: never ask the network), "ntp_timeout": 10}
# A board without a battery (NUCLEO-F401RE: its RTC reads 2015 after power-up) gets UTC from ntp_server at
# "set the module clock", so a main.py from install_boot() works from a cold start.
# The Wi-Fi key is only ever given to the module: never printed, never part of a message.
import errno
import gc
import json
import sys

CONFIG = "client_config.json"
_DEFAULTS = {"port": 443, "server_name": None, "ca": "ca.pem", "request": "GET / HTTP/1.0\r\n\r\n",
             "security": "tls", "timeout": 20, "key": None, "ntp_server": "pool.ntp.org", "ntp_timeout": 10}
_REQUIRED = ("ssid", "host")
_STEPS = ("bring-up", "join", "set the module clock", "pre-flight check of the CA", "clear and load the CA",
          "open the socket", "send the request", "receive the reply", "close")


class StepFailed(Exception):
    """A step failed; str() is the whole explanation (what failed, the module's words, the likely fix)."""

    def __init__(self, step, message):
        super().__init__("%s failed: %s" % (step, message))
        self.step = step


class Config:
    def __init__(self, d, source=CONFIG):
        for k in _REQUIRED:
            if not d.get(k):
                raise ValueError("%s: '%s' is missing; add it (see client_socket.py header)" % (source, k))
        for k, v in _DEFAULTS.items():
            d.setdefault(k, v)
        if d["security"] not in ("tls", "plain"):
            raise ValueError("%s: security must be 'tls' or 'plain', not %r" % (source, d["security"]))
        self._d = d

    def __getattr__(self, name):
        try:
            return self._d[name]
        except KeyError:
            raise AttributeError(name)

    def __repr__(self):  # the key stays out of every printout
        return "<Config ssid=%r host=%s:%s server_name=%r ca=%r security=%s key=%s>" % (
            self.ssid, self.host, self.port, self.server_name, self.ca, self.security,
            "***" if self._d["key"] else "none")


def load_config(path=CONFIG):
    """The app's settings from the JSON file on the board (spwf04 deploy --config writes it) as a Config."""
    try:
        with open(path) as f:
            d = json.load(f)
    except OSError:
        raise ValueError("%s not found on the board: deploy one with `spwf04 deploy --config FILE`" % path)
    except ValueError:
        raise ValueError("%s is not valid JSON: fix it and deploy again" % path)
    return Config(d, path)


def explain(exc):
    """One clear message for any failure: the module's words decoded and the most likely fix."""
    from spwf04 import CertError, ModuleError, ModuleReset

    if isinstance(exc, ModuleError):
        msg = "the module answered AT-S.ERROR:%s:%s" % (exc.code, exc.text)
        if exc.details:
            msg += " after %s" % ", ".join("AT-S." + d for d in exc.details[-3:])
        if exc.diagnosis:
            msg += ". Likely causes, most likely first: " + exc.diagnosis
        elif exc.code == 44:
            msg += " (no Wi-Fi connection yet): join first"
        return msg
    if isinstance(exc, CertError):
        return str(exc)
    if isinstance(exc, ModuleReset):
        return "the module rebooted during this step (%s): power or firmware fault; run again" % exc
    if isinstance(exc, OSError) and exc.args and exc.args[0] == errno.ETIMEDOUT:
        return "%s. Fix: check the module's power, the UART wiring (D8/D2) and its speed (115200)" % (
            exc.args[1] if len(exc.args) > 1 else "timed out")
    return "%s: %s" % (type(exc).__name__, exc)


class Client:
    """ST's Client_Socket example as steps (bring_up ... close, or run() for all): each prints its progress
    and raises StepFailed with one explanation (the module's words decoded, the likely fix) when it fails.
    config: a Config, a dict or None (client_config.json); module: a spwf04.Module or None (made by
    bring_up); out: print-like."""

    # board_clock: a function returning the board's UNIX time (default: its RTC); lets a test stand in for an
    # unset clock on a port whose clock cannot be unset (the unix port's is the host's).
    def __init__(self, config=None, module=None, out=print, board_clock=None):
        if config is None:
            config = load_config()
        elif isinstance(config, dict):
            config = Config(config, "config")
        self.config = config
        self.m = module
        self.sock = None
        self.reply = b""
        self.out = out
        self._ca = None
        self.board_clock = board_clock

    def _step(self, n, fn):
        self.out("[%d/%d] %s" % (n, len(_STEPS), _STEPS[n - 1]))
        gc.collect()  # each step starts with the whole heap: the F401RE has ~60 KB
        try:
            return fn()
        except StepFailed:
            raise
        except Exception as e:  # every failure becomes one explanation; nothing is swallowed
            raise StepFailed(_STEPS[n - 1], explain(e))

    def bring_up(self):
        """Step 1: the module on the board's UART, reset and initialised."""
        def go():
            if self.m is None:
                import wifi_board

                self.m = wifi_board.module()
            fw = self.m.init()
            self.out("      SPWF04SA firmware %s" % fw)
        return self._step(1, go)

    def join(self):
        """Step 2: join the configured Wi-Fi network."""
        def go():
            c = self.config
            self.m.wlan.connect(c.ssid, c.key, timeout=c.timeout * 3000)
            self.out("      joined '%s', address %s" % (c.ssid, self.m.wlan.ipconfig("addr4")[0]))
        return self._step(2, go)

    def set_clock(self, epoch=None):
        """Step 3: the module clock from epoch, else the board clock, else (a board clock before 2017: no
        battery) UTC from the network (the module's NTP client, or SNTP over a module UDP socket)."""
        def go():
            e = epoch
            if e is None:
                from spwf04.utc import CLOCK_MIN

                if self.board_clock is None:
                    from spwf04.module import board_epoch

                    self.board_clock = board_epoch
                e = self.board_clock()
                if e < CLOCK_MIN:  # no battery: the RTC restarted at power-up
                    return self._net_time(e)
            self.m.settime(e)
            self.out("      module clock %s" % _fmt(self.m.time()))
        return self._step(3, go)

    def _net_time(self, was):
        # The board clock is not set: UTC from the network (spwf04.ntp, loaded for this and dropped after).
        server = self.config.ntp_server
        if not server:
            raise StepFailed(_STEPS[2], "the board clock is not set (reads %s) and %s has no ntp_server: add one "
                                        "(e.g. \"pool.ntp.org\") or set the clock: machine.RTC().datetime(...)"
                                        % (_fmt(was), CONFIG))
        self.out("      board clock not set (reads %s): asking NTP server %s" % (_fmt(was), server))
        from spwf04 import ntp

        try:
            e, via, rtc = ntp.sync(self.m, server, self.config.ntp_timeout * 1000)
        except OSError as x:
            from spwf04 import ModuleError, ModuleReset

            if isinstance(x, (ModuleError, ModuleReset)) or len(x.args) < 2:
                raise  # (the module's own errors: explain() decodes them)
            # no answer, no socket to the server: the driver's own advice is for the REPL; here the fix is in
            # the configuration or the RTC
            raise StepFailed(_STEPS[2], "%s: check ntp_server in %s or set the board clock "
                                        "(machine.RTC().datetime(...))" % (x.args[1].split(": check")[0], CONFIG))
        finally:  # (the package keeps a reference too)
            import spwf04

            sys.modules.pop("spwf04.ntp", None)
            if hasattr(spwf04, "ntp"):
                del spwf04.ntp
        self.out("      module clock %s (from %s); board clock %s" % (
            _fmt(self.m.time()), via, "set" if rtc else "not settable on this port, left as is"))

    def _ca_bytes(self):
        if self._ca is None:
            try:
                with open(self.config.ca, "rb") as f:
                    self._ca = f.read()
            except OSError:
                raise ValueError("CA file '%s' not on the board: deploy it with `spwf04 deploy --ca FILE`"
                                 % self.config.ca)
        return self._ca

    def preflight(self):
        """Step 4: the CA checked on the board before any upload (format, dates at the module clock, key)."""
        def go():
            if self.config.security != "tls":
                self.out("      plain TCP: no CA needed")
                return
            from spwf04 import cert

            certs = cert.parse(self._ca_bytes())
            for c in certs:
                cert.check(c, self.m.clock(), self.m.fw or "1.1", "ca")
                self.out("      CA '%s' valid until %s, key id %s" % (c.subject_cn, cert.fmt_time(c.not_after),
                                                                       cert.hex_id(c.auth)))
        return self._step(4, go)

    def load_ca(self):
        """Step 5: the module's CA store cleared and the CA loaded (lengths computed, SKI extracted)."""
        def go():
            if self.config.security != "tls":
                self.out("      plain TCP: nothing to load")
                return
            t = self.m.tls
            t.clear()
            t.load_ca(self._ca_bytes())
            # The X.509 code and the CA's bytes are not needed for the transfer: give their RAM back
            # (the module re-imports on demand, e.g. to explain a TLS failure).
            self._ca = None
            sys.modules.pop("spwf04.cert", None)
            self.out("      %d bytes sent; module said %s; auth %s" % (
                t.sent_len, ("SubjectKeyId " + t.module_ski) if t.module_ski else "No SubjectKeyId", t.auth))
        return self._step(5, go)

    def open(self):
        """Step 6: the TLS (or TCP) socket to the configured host, port and server name."""
        def go():
            c = self.config
            tls = c.security == "tls"
            self.sock = self.m.socket(tls=tls, server_hostname=c.server_name if tls else None)
            self.sock.settimeout(c.timeout)
            self.sock.connect((c.host, c.port))
            self.out("      %s socket to %s:%d%s" % ("TLS" if tls else "TCP", c.host, c.port,
                                                     (" as '%s'" % c.server_name) if tls and c.server_name else ""))
        return self._step(6, go)

    def send(self, data=None):
        """Step 7: the request (data, else the configured one)."""
        def go():
            req = self.config.request if data is None else data
            req = req.encode() if isinstance(req, str) else req
            self.sock.write(req)
            self.out("      %d bytes sent" % len(req))
        return self._step(7, go)

    def receive(self, keep=1024):
        """Step 8: the reply to end-of-file, printed as it comes; its first `keep` bytes kept in self.reply."""
        def go():
            # Print the reply as it arrives (the F401RE has no room for big replies); keep its first
            # `keep` bytes (status line, headers) in self.reply for code that wants to look at it.
            buf = bytearray(256)
            mv = memoryview(buf)
            head = bytearray(keep)
            kept = total = 0
            while True:
                n = self.sock.readinto(buf)
                if not n:
                    break
                total += n
                k = min(n, keep - kept)
                if k > 0:
                    head[kept : kept + k] = mv[:k]
                    kept += k
                self.out(str(mv[:n], "utf-8"), end="")
            self.reply = bytes(head[:kept])
            self.out("")
            self.out("      %d bytes received" % total)
        return self._step(8, go)

    def close(self):
        """Step 9: the socket closed."""
        def go():
            if self.sock is not None:
                self.sock.close()
                self.sock = None
        return self._step(9, go)

    def run(self):
        """All steps in order (the socket closed even when a step after open fails); returns self.reply."""
        self.bring_up()
        self.join()
        self.set_clock()
        self.preflight()
        self.load_ca()
        self.open()
        try:
            self.send()
            self.receive()
        finally:
            if self.sock is not None:
                self.close()
        return self.reply


def _fmt(epoch):
    from spwf04 import cert

    return cert.fmt_time(cert.from_epoch(epoch))


def main(config=None, board_clock=None):
    """Run Client_Socket; prints each step and, on failure, one message. Returns True on success.
    board_clock: see Client."""
    try:
        Client(config, board_clock=board_clock).run()
    except StepFailed as e:
        print("FAILED: %s" % e)
        return False
    except ValueError as e:  # configuration problems (before any step)
        print("FAILED: %s" % e)
        return False
    print("done")
    return True


def install_boot():
    """Run Client_Socket at every boot, like ST's example (writes main.py)."""
    with open("main.py", "w") as f:
        f.write("import client_socket\nclient_socket.main()\n")
