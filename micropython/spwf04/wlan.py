# Wi-Fi station control in the network.WLAN style (spec 6.3-6.5). Link state comes from the WINDs the
# module's reader routes (24 up with an address, 33/38/40/41/... down), so isconnected() costs no AT traffic.
import binascii
import errno

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


# network.WLAN status values (the names MicroPython's network module uses)
_STAT_IDLE = const(0)
_STAT_CONNECTING = const(1)
_STAT_GOT_IP = const(3)
_STAT_CONNECT_FAIL = const(-1)
_STAT_NO_AP_FOUND = const(-2)
_STAT_WRONG_PASSWORD = const(-3)

def _text(what, s, lo, hi):
    # An SSID or key as str, lo..hi bytes without ',' or a line break (either would end the AT field).
    if isinstance(s, bytes):
        s = s.decode()
    if not lo <= len(s.encode()) <= hi or "," in s or "\r" in s or "\n" in s:
        # never echo the value: it may be the key
        raise ValueError("%s: %d..%d bytes without ',' or line breaks" % (what, lo, hi))
    return s


def _unknown(param, use):
    return ValueError("unknown parameter %r: use %s" % (param, use))


class WLAN:
    """module.wlan: active(), connect(ssid, key), disconnect(), isconnected(), status(), ipconfig(),
    config('mac'), scan(). connect() blocks until the link is up (or raises)."""

    STAT_IDLE = _STAT_IDLE
    STAT_CONNECTING = _STAT_CONNECTING
    STAT_GOT_IP = _STAT_GOT_IP
    STAT_CONNECT_FAIL = _STAT_CONNECT_FAIL
    STAT_NO_AP_FOUND = _STAT_NO_AP_FOUND
    STAT_WRONG_PASSWORD = _STAT_WRONG_PASSWORD

    def __init__(self, module):
        self._m = module
        self._status = _STAT_IDLE

    def active(self, on=None):
        """Radio on/off (AT+S.WIFI); without argument: is the radio running?"""
        m = self._m
        m.pump()
        if on is None:
            return m.hw
        on = bool(on)
        if on != m.hw:  # asking for the current state gives error 17/18: don't
            c = "AT+S.WIFI=%d" % on
            m.cmd(c)
            # the radio's on/off indication comes within 8 s
            ok = m.wait_for(lambda: m.hw == on, 8000)
            m.check()  # (a reset meanwhile is reported as such)
            if not ok:
                raise OSError(errno.ETIMEDOUT, c + ": no +WIND:%d within 8 s" % (32 if on else 38))
        return on

    def connect(self, ssid, key=None, timeout=60000):  # ST's Mbed driver allows 60 s for a join
        """Join a WPA/WPA2 network (key: passphrase) or an open one (key None). Stores the settings in the
        module (WCFG) and reboots it, as ST's drivers do: sockets, clock and TLS store are reset."""
        m = self._m
        ssid = _text("ssid", ssid, 1, 32)
        if key:
            m.cmd("AT+S.SCFG=wifi_wpa_psk_text," + _text("key", key, 8, 64))
        for c in ("AT+S.SSIDTXT=" + ssid, "AT+S.SCFG=wifi_priv_mode,%d" % (2 if key else 0),
                  "AT+S.SCFG=wifi_mode,%d" % 1, "AT+S.WCFG"):  # (one wifi_mode string: 1 here, 0 in disconnect)
            m.cmd(c)
        self._status = _STAT_CONNECTING
        m.reboot("AT+S.RESET")  # (clears the join failure count)
        # ST's Mbed driver gives up after three deauthentications
        ok = m.wait_for(lambda: m.link or m.join_failures >= 3, timeout)
        m.check()
        if ok and m.link:
            self._status = _STAT_GOT_IP
            return
        last = m.join_last or (m.winds[-1] if m.winds else "no indication")
        # failed (deauthenticated, WIND 20/85): STAT_WRONG_PASSWORD after WIND 40/41, else STAT_CONNECT_FAIL
        self._status = _STAT_WRONG_PASSWORD if ok and (":40:" in last or ":41:" in last) else _STAT_CONNECT_FAIL
        raise OSError(errno.ECONNREFUSED if ok else errno.ETIMEDOUT, "join %r: %s (last: %s): check SSID and key" % (
            ssid, "failed %d times" % m.join_failures if ok else "no IP address within %d ms" % timeout, last))

    def disconnect(self):
        """Leave the network (ST's sequence: WIFI=0, wifi_mode 0, WIFI=1, WCFG, RESET)."""
        m = self._m
        self.active(False)
        m.cmd("AT+S.SCFG=wifi_mode,%d" % 0)
        self.active(True)
        m.cmd("AT+S.WCFG")
        m.reboot("AT+S.RESET")
        self._status = _STAT_IDLE

    def isconnected(self):
        """True while the link is up with an IPv4 address (from the indications already received: no AT
        traffic)."""
        self._m.pump()
        return self._m.link

    def status(self, param=None):
        """A STAT_* value (STAT_IDLE again after a link that was up went down); status('rssi'): the signal
        strength of the access point in dBm (AT+S.PEERS)."""
        m = self._m
        if param == "rssi":
            return int(m.var("0.rx_rssi", "AT+S.PEERS=0,rx_rssi"))
        if param is not None:
            raise _unknown(param, "'rssi' or none")
        m.pump()
        if m.link:
            return _STAT_GOT_IP
        return _STAT_IDLE if self._status == _STAT_GOT_IP else self._status  # was up, now lost

    def ipconfig(self, param):
        """'addr4' -> (ip, netmask), 'gw4' -> gateway, 'dhcp4' -> bool (module variables)."""
        m = self._m
        if param == "addr4":
            return (m.var("ip_ipaddr"), m.var("ip_netmask"))
        if param == "gw4":
            return m.var("ip_gw")
        if param == "dhcp4":
            return m.var("ip_use_dhcpc", "AT+S.GCFG=ip_use_dhcpc") not in ("0", "")
        raise _unknown(param, "'addr4', 'gw4' or 'dhcp4'")

    def config(self, param):
        """config('mac'): the module's MAC address as 6 bytes."""
        if param != "mac":
            raise _unknown(param, "'mac'")
        return binascii.unhexlify(self._m.var("wifi_own_macaddr").replace(":", ""))

    def scan(self):
        """Visible networks as (ssid, bssid, channel, RSSI, security, hidden) tuples; security 0 open,
        1 WEP, 2 WPA-PSK, 3 WPA2-PSK, 4 WPA/WPA2-PSK."""
        out = []
        for ev in self._m.cmd("AT+S.SCAN=s,", None, 15000):
            # An entry (spec 6.5; any other line fails to split):
            # "<i>:\t BSS <mac> CHAN: <cc> RSSI: <-dd> SSID: '<ssid>' CAPS: <hhhh> <flags>"
            try:
                h, t = ev.line.split(" SSID: '", 1)
                ssid, f = t.rsplit("' CAPS:", 1)
                mac, _, ch, _, rssi = h[h.find("BSS ") + 4:].split()
                e = (ssid.encode(), binascii.unhexlify(mac.replace(":", "")), int(ch), int(rssi))
            except ValueError:
                continue
            f = f.split()[1:]  # the flags after the CAPS number
            w = ("WPA" in f) + 2 * ("WPA2" in f)  # 1 WPA, 2 WPA2, 3 both: security w + 1
            out.append(e + (w + 1 if w else 1 if "WEP" in f else 0, not ssid))
        return out
