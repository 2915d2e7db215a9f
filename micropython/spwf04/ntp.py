# UTC from the network for a board without a battery-backed clock (a NUCLEO-F401RE's RTC reads 2015 after
# power-up): the module's own NTP client on FW 1.1, else an SNTP query (RFC 4330) over a module UDP socket;
# then the board RTC and the module clock are set. Imported on demand (`from spwf04 import ntp`): nothing of it
# is in RAM unless used. Board, unix port (no settable RTC there: reported, not faked).
#
#   from spwf04 import ntp
#   epoch, via, rtc = ntp.sync(m, "pool.ntp.org")   # after m.wlan.connect(...)
#
# The module's NTP client (AT+S.NTP, ip_ntp_server1, +WIND:84 "NTP Server delivery") is named in FW 1.1's
# tables but its behaviour is undocumented: the driver sets the server, forces a query, waits for WIND 84
# and reads the clock back with AT+S.TIME, trusting nothing else. That client has no port setting, so a
# server with another port than 123 is asked over a UDP socket.
import errno
import struct

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from .errors import ModuleError
from .module import _ms, ticks_ms
from .utc import CLOCK_MIN, from_epoch

SERVER = "pool.ntp.org"
_PORT = const(123)
_LEN = const(48)  # an SNTP packet without extensions
_REQ = const(0x23)  # LI 0, version 4, mode 3 (client)
_MODE_SERVER = const(4)
_WIND_NTP = const(84)  # +WIND:84:NTP Server delivery
_NTP_1970 = const(2208988800)  # seconds from 1900 (NTP era 0) to 1970
_RETRY_MS = const(3000)  # UDP may lose a datagram: ask again after this long without an answer
_ERR_NO_CMD = const(1)  # AT-S.ERROR:1 Command not found: a firmware without AT+S.NTP
_ERR_OPEN = const(74)  # AT-S.ERROR:74 Failed to open socket (connect or DNS failure)

VIA_MODULE = "the module's NTP client"
VIA_UDP = "SNTP over a module UDP socket"


def _split(server):
    # "host" or "host:port" -> (host, port)
    i = server.rfind(":")
    if i < 0:
        return server, _PORT
    p = server[i + 1 :]
    if i == 0 or not p.isdigit() or not 0 < int(p) < 65536:
        raise ValueError("NTP server %r: give host or host:port (e.g. pool.ntp.org, 192.168.1.10:123)" % server)
    return server[:i], int(p)


def _dotted(host):
    p = host.split(".")
    return len(p) == 4 and all(x.isdigit() for x in p)


def _udp(m, host, port, ms):
    # A module UDP socket to host:port (the module resolves a name); each write is one datagram.
    s = m.socket()
    s.datagram()
    s.settimeout(max(ms, 1000) / 1000)
    try:
        s.connect((host, port))
    except ModuleError as e:
        if e.code != _ERR_OPEN:
            raise
        # (for a UDP socket the usual cause is a name the module's DNS cannot resolve)
        raise OSError(errno.EHOSTUNREACH, "NTP server %s: the module cannot open a UDP socket to it (AT-S.ERROR:%d:%s"
                                          "; an unknown name?): check the NTP server or set the clock by hand: "
                                          "m.settime(<UNIX epoch>)" % (host, e.code, e.text))
    return s


def _resolve(m, host, ms):
    # The module's NTP variables take an address: a name is resolved by the module's DNS (SOCKON prints the
    # address it used), the socket closed again.
    if _dotted(host):
        return host
    s = _udp(m, host, _PORT, ms)
    try:
        return s.peer[0]
    finally:
        s.close()


def _by_module(m, host, t, ms):
    # FW 1.1: set the server, force a query, wait for WIND 84, read the clock back. None: no delivery in time.
    m.cmd("AT+S.SCFG=ip_ntp_server1,%s" % _resolve(m, host, ms - _ms(t)))
    got = []
    prev = m.on_wind

    def hook(ev):  # (the user's own callback still sees every indication)
        if ev.number == _WIND_NTP:
            got.append(ev.line)
        if prev is not None:
            prev(ev)

    m.on_wind = hook
    try:
        # (the indication may come before or after AT-S.OK - both are seen here - and a module that asks before
        # answering may take the whole bound)
        m.cmd("AT+S.NTP", None, max(m.timeout, ms - _ms(t)))
        ok = m.wait_for(lambda: got, ms - _ms(t))
        m.check()
        if not ok:
            return None
    finally:
        m.on_wind = prev
    return m.time()


def _request():
    # A client request; its transmit timestamp is a nonce the answer must echo (RFC 4330 section 5). A new one
    # per attempt: an answer to an earlier attempt no longer matches.
    req = bytearray(_LEN)
    req[0] = _REQ
    try:
        import os

        req[40:48] = os.urandom(8)
    except (ImportError, AttributeError, OSError):  # a port without a random source
        struct.pack_into(">II", req, 40, ticks_ms() & 0x3FFFFFFF, id(req) & 0x3FFFFFFF)
    return req


def _answer(rep, req):
    # UNIX seconds from a server reply to req, or None if it is not one (mode, alarm, stratum, nonce, zero).
    if rep[0] & 7 != _MODE_SERVER or rep[0] >> 6 == 3 or not 1 <= rep[1] <= 15 or rep[24:32] != req[40:48]:
        return None
    secs = struct.unpack_from(">I", rep, 40)[0]
    if not secs:
        return None
    if not secs & 0x80000000:  # RFC 4330 section 3: top bit clear = era 1 (2036..2104)
        secs += 0x100000000
    return secs - _NTP_1970 + (rep[44] >> 7)  # (rounded by the fraction's top bit)


def _by_udp(m, host, port, t, ms):
    # SNTP over a module UDP socket: ask, wait up to _RETRY_MS, ask again, within ms. None: no valid answer.
    rep = bytearray(_LEN)
    s = _udp(m, host, port, ms - _ms(t))
    try:
        while True:
            left = ms - _ms(t)
            if left <= 0:
                return None
            req = _request()
            s.write(req)
            s.settimeout(min(left, _RETRY_MS) / 1000)
            try:
                n = s.readinto(rep)
            except OSError as e:
                if e.args[0] != errno.ETIMEDOUT:
                    raise
                continue  # lost on the way (either way): ask again
            if not n:
                return None  # the module closed the socket (+WIND:58): nobody answers there
            if n == _LEN:
                e = _answer(rep, req)
                if e is not None:
                    return e
    finally:
        s.close()


def query(m, server=SERVER, timeout=10000):
    """UTC from an NTP server (host or host:port), through the module: (UNIX seconds, via). FW 1.1 and
    port 123: the module's NTP client; else (or where the firmware lacks AT+S.NTP) SNTP over a module UDP
    socket. Raises OSError(ETIMEDOUT) when no answer comes within timeout ms (the commands around the wait
    have the module's own command timeout), EHOSTUNREACH without a Wi-Fi link."""
    host, port = _split(server)
    if not m.link:
        raise OSError(errno.EHOSTUNREACH, "no Wi-Fi link for NTP: join first (m.wlan.connect)")
    t = ticks_ms()
    e = None
    via = VIA_UDP
    if port == _PORT and (m.fw or "") >= "1.1":
        try:
            e = _by_module(m, host, t, timeout)
            via = VIA_MODULE
        except ModuleError as x:
            if x.code != _ERR_NO_CMD:
                raise
    if via == VIA_UDP:
        e = _by_udp(m, host, port, t, timeout)
    if e is None:
        raise OSError(errno.ETIMEDOUT, "no NTP answer from %s:%d within %d s (%s): check the NTP server "
                                       "(reachable on UDP port %d) or set the clock by hand: m.settime(<UNIX epoch>)"
                      % (host, port, (timeout + 999) // 1000, via, port))
    if e < CLOCK_MIN:
        raise OSError(errno.EIO, "NTP server %s:%d sent %d, a time before 2017: use another server" % (host, port, e))
    return e, via


def set_rtc(epoch):
    """Set the board's RTC to epoch (UNIX seconds, UTC). False where the port has no settable RTC (unix
    port: the board clock is the host's) or the clock did not take the time."""
    try:
        from machine import RTC
    except ImportError:
        return False
    y, mo, d, h, mi, s = from_epoch(epoch)
    # weekday 1..7 from Monday (stm32's RTC); 1970-01-01 was a Thursday
    RTC().datetime((y, mo, d, (epoch // 86400 + 3) % 7 + 1, h, mi, s, 0))
    from .module import board_epoch

    return abs(board_epoch() - epoch) < 5


def sync(m, server=SERVER, timeout=10000):
    """query(), then the board RTC (set_rtc) and the module clock (m.settime). Returns (UNIX seconds, via,
    rtc): via names the way the time came, rtc whether the board clock was set."""
    e, via = query(m, server, timeout)
    t = ticks_ms()
    rtc = set_rtc(e)
    e += _ms(t) // 1000
    m.settime(e)
    return e, via, rtc
