# Wi-Fi station control in the network.WLAN style (spec 6.3-6.5). Link state comes from the WINDs the
# module's reader routes (24 up with an address, 33/38/40/41/... down), so isconnected() costs no AT traffic.
import errno

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from . import parser as P

_BOOT_MS = const(8000)  # radio on/off indication
_SCAN_MS = const(15000)
_JOIN_MS = const(60000)  # ST's Mbed driver allows 60 s for a join
_JOIN_TRIES = const(3)  # ... and gives up after three deauthentications


def _check_text(what, s, lo, hi):
    n = len(s.encode()) if isinstance(s, str) else len(s)
    if not lo <= n <= hi or "," in s or "\r" in s or "\n" in s:
        # never echo the value: it may be the key
        raise ValueError("%s: %d..%d bytes without ',' or line breaks" % (what, lo, hi))


def _scan_entry(s):
    # "<i>:\t BSS <mac> CHAN: <cc> RSSI: <-dd> SSID: '<ssid>' CAPS: <hhhh> <flags>" (spec 6.5)
    import binascii

    i = s.find("BSS ")
    c = s.find("CHAN:")
    r = s.find("RSSI:")
    a = s.find("SSID: '")
    b = s.rfind("' CAPS:")
    if min(i, c, r, a, b) < 0:
        return None
    try:
        bssid = binascii.unhexlify(s[i + 4 : c].strip().replace(":", ""))
        ch = int(s[c + 5 : r].strip())
        rssi = int(s[r + 5 : a].strip())
    except ValueError:
        return None
    ssid = s[a + 7 : b]
    flags = s[b + 7 :].split()[1:]
    if "WPA2" in flags:
        sec = 4 if "WPA" in flags else 3
    elif "WPA" in flags:
        sec = 2
    elif "WEP" in flags:
        sec = 1
    else:
        sec = 0
    return (ssid.encode(), bssid, ch, rssi, sec, not ssid)


class WLAN:
    """module.wlan: active(), connect(ssid, key), disconnect(), isconnected(), status(), ipconfig(),
    config('mac'), scan(). connect() blocks until the link is up (or raises)."""

    STAT_IDLE = 0
    STAT_CONNECTING = 1
    STAT_GOT_IP = 3
    STAT_CONNECT_FAIL = -1
    STAT_NO_AP_FOUND = -2
    STAT_WRONG_PASSWORD = -3

    def __init__(self, module):
        self._m = module
        self._status = 0

    def active(self, on=None):
        """Radio on/off (AT+S.WIFI); without argument: is the radio running?"""
        m = self._m
        m.pump()
        if on is None:
            return m.hw
        on = bool(on)
        if on != m.hw:  # asking for the current state gives error 17/18: don't
            m.cmd("AT+S.WIFI=%d" % on)
            if not m._wait(lambda: m.hw == on or m._reset_exc is not None, _BOOT_MS):
                raise OSError(errno.ETIMEDOUT, "AT+S.WIFI=%d: no +WIND:%d within %d ms" % (on, 32 if on else 38,
                                                                                       _BOOT_MS))
            m._check()
        return on

    def connect(self, ssid, key=None, timeout=_JOIN_MS):
        """Join a WPA/WPA2 network (key: passphrase) or an open one (key None). Stores the settings in the
        module (WCFG) and reboots it, as ST's drivers do: sockets, clock and TLS store are reset."""
        m = self._m
        if isinstance(ssid, bytes):
            ssid = ssid.decode()
        if isinstance(key, bytes):
            key = key.decode()
        _check_text("ssid", ssid, 1, 32)
        if key:
            _check_text("key", key, 8, 64)
            m.cmd("AT+S.SCFG=wifi_wpa_psk_text,%s" % key)
        m.cmd("AT+S.SSIDTXT=%s" % ssid)
        m.cmd("AT+S.SCFG=wifi_priv_mode,%d" % (2 if key else 0))
        m.cmd("AT+S.SCFG=wifi_mode,1")
        m.cmd("AT+S.WCFG")
        self._status = self.STAT_CONNECTING
        m._reboot("AT+S.RESET")  # (clears the join failure count)
        ok = m._wait(lambda: m.link or m._joinfail >= _JOIN_TRIES or m._reset_exc is not None, timeout)
        m._check()
        if ok and m.link:
            self._status = self.STAT_GOT_IP
            return
        last = m._joinlast or (m.winds[-1] if m.winds else "no indication")
        if not ok:
            self._status = self.STAT_CONNECT_FAIL
            raise OSError(errno.ETIMEDOUT, "join %r: no IP address within %d ms (last: %s)" % (ssid, timeout, last))
        self._status = self.STAT_WRONG_PASSWORD if ":40:" in last or ":41:" in last else self.STAT_CONNECT_FAIL
        raise OSError(errno.ECONNREFUSED, "join %r failed %d times (last: %s): check SSID and key" % (
            ssid, m._joinfail, last))

    def disconnect(self):
        """Leave the network (ST's sequence: WIFI=0, wifi_mode 0, WIFI=1, WCFG, RESET)."""
        m = self._m
        m.pump()
        if m.hw:
            self.active(False)
        m.cmd("AT+S.SCFG=wifi_mode,0")
        self.active(True)
        m.cmd("AT+S.WCFG")
        m._reboot("AT+S.RESET")
        self._status = self.STAT_IDLE

    def isconnected(self):
        self._m.pump()
        return self._m.link

    def status(self, param=None):
        m = self._m
        if param == "rssi":
            return int(m.var("0.rx_rssi", "AT+S.PEERS=0,rx_rssi"))
        if param is not None:
            raise ValueError("unknown status parameter %r" % param)
        m.pump()
        if m.link:
            return self.STAT_GOT_IP
        if self._status == self.STAT_GOT_IP:
            return self.STAT_IDLE  # was up, now lost
        return self._status

    def ipconfig(self, param):
        """'addr4' -> (ip, netmask), 'gw4' -> gateway, 'dhcp4' -> bool (module variables)."""
        m = self._m
        if param == "addr4":
            return (m.var("ip_ipaddr"), m.var("ip_netmask"))
        if param == "gw4":
            return m.var("ip_gw")
        if param == "dhcp4":
            return m.var("ip_use_dhcpc", "AT+S.GCFG=ip_use_dhcpc") not in ("0", "")
        raise ValueError("unknown ipconfig parameter %r: use 'addr4', 'gw4' or 'dhcp4'" % param)

    def config(self, param):
        if param == "mac":
            import binascii

            return binascii.unhexlify(self._m.var("wifi_own_macaddr").replace(":", ""))
        raise ValueError("unknown config parameter %r: use 'mac'" % param)

    def scan(self):
        """Visible networks as (ssid, bssid, channel, RSSI, security, hidden) tuples; security 0 open,
        1 WEP, 2 WPA-PSK, 3 WPA2-PSK, 4 WPA/WPA2-PSK."""
        out = []
        for ev in self._m.cmd("AT+S.SCAN=s,", None, _SCAN_MS):
            if ev.kind == P.OTHER:  # unprefixed entry line
                e = _scan_entry(ev.line)
                if e is not None:
                    out.append(e)
        return out
