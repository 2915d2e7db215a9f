# The module's TLS credential store (AT+S.TLSCERT, spec 6.14): the CA with its key identifier as `auth`,
# the own certificate and key for mutual TLS, list, clear. Certificates are parsed and checked on the
# board (spwf04.cert) before any AT traffic; lengths are computed, bytes sent raw.
import errno

from .errors import CertError
from .module import ymd

_MAX_STORED = 1475  # ST support: largest stored certificate bundle (spec 7)
_LOAD_MS = 10000


def _read(data, path):
    if path is not None:
        with open(path, "rb") as f:
            return f.read()
    if data is None:
        raise ValueError("give the bytes or path=")
    return data.encode() if isinstance(data, str) else data


def _pem(der):
    import binascii

    b = binascii.b2a_base64(der).replace(b"\n", b"")
    body = b"\n".join(b[i : i + 64] for i in range(0, len(b), 64))
    return b"-----BEGIN CERTIFICATE-----\n" + body + b"\n-----END CERTIFICATE-----\n"


class TLSStore:
    """module.tls. After load_ca: ca (the CA's subject CN), ca_valid ((not_before, not_after) as UNIX
    seconds), auth (the 40 hex digits sent as TLSCERT=auth), module_ski (the module's AT-S.SubjectKeyId
    text, '' for 'No SubjectKeyId', None if it said neither), sent_len (bytes sent with TLSCERT=ca). No
    X.509 object is kept, so the application may drop spwf04.cert after loading. All reset when the
    module reboots."""

    def __init__(self, module):
        self._m = module
        self._drop()

    def _drop(self):
        self.ca = None
        self.ca_valid = None
        self.auth = None
        self.module_ski = None
        self.sent_len = 0
        self.cert = False
        self.key = False

    def clear(self):
        """Erase everything the module stores (TLSCERT=content,2)."""
        self._m.cmd("AT+S.TLSCERT=content,2")
        self._drop()

    def list(self):
        """TLSCERT=content,1 as a dict: {'CA': 1, 'Cert': 0, 'Key': 0, 'Id': 1} on FW 1.0."""
        out = {}
        for ev in self._m.cmd("AT+S.TLSCERT=content,1"):
            t = ev.tail()
            out[ev.text] = int(t) if t.isdigit() else (t or True)
        return out

    def _now(self):
        # The module clock for date checks: as the driver set it, else read back (an unset clock reads as
        # a date long past and is reported as such).
        m = self._m
        now = m.clock()
        if now is None:
            now = m.time()
            if now < 1483228800:  # before 2017: never set since the module booted
                now = None
        return now

    def load_ca(self, data=None, path=None, check=True, encoding=None):
        """Load the CA that issued the server's certificate (PEM or DER bytes, or path=), then send its key
        identifier as auth (SKI extension, else SHA-1 of the public key, RFC 5280 4.2.1.2 method 1).

        check: pre-flight (dates at the module clock, CA flag, key type for this firmware, size) before
        any AT traffic. encoding: None sends what worked on this firmware (FW 1.0 PEM, FW 1.1 DER), or
        'pem' / 'der' / 'asis'. Returns the Certificate."""
        from . import cert as C

        m = self._m
        certs = C.parse(_read(data, path))
        if len(certs) != 1:
            raise CertError("%d certificates given: load_ca takes the one CA that issued the server's "
                          "certificate (split the bundle)" % len(certs))
        c = certs[0]
        fw = m.fw or "1.1"
        if check:
            C.check(c, self._now(), fw, "ca")
        if encoding is None:
            encoding = "pem" if fw.startswith("1.0") else "der"
        if encoding == "der":
            blob = c.der
        elif encoding == "pem":
            blob = c.pem if c.pem is not None else _pem(c.der)
        else:
            blob = c.stored
        if check and len(blob) > _MAX_STORED:
            raise CertError("CA '%s' as %s takes %d bytes; the module stores at most %d: use a smaller CA "
                            "certificate" % (c.subject_cn, encoding, len(blob), _MAX_STORED), "too_large")
        self._drop()
        ski = None
        for ev in m.cmd("AT+S.TLSCERT=ca,%d" % len(blob), blob, _LOAD_MS):
            if ev.text == "SubjectKeyId":
                ski = ev.tail()
            elif ev.text == "No SubjectKeyId":
                ski = ""
        auth = C.hex_id(c.auth)
        # FW 1.0 says "No SubjectKeyId" even for CAs that have one: always send auth ourselves (spec 6.14).
        m.cmd("AT+S.TLSCERT=auth,%d" % len(auth), auth.encode(), _LOAD_MS)
        self.ca = c.subject_cn or "?"
        self.ca_valid = (C.to_epoch(c.not_before), C.to_epoch(c.not_after))
        self.auth = auth
        self.module_ski = ski
        self.sent_len = len(blob)
        return c

    def load_cert(self, data=None, path=None):
        """Own certificate (chain) for mutual TLS, sent as given."""
        blob = _read(data, path)
        self._m.cmd("AT+S.TLSCERT=cert,%d" % len(blob), blob, _LOAD_MS)
        self.cert = True

    def load_key(self, data=None, path=None):
        """Own private key (PEM) for mutual TLS. Its bytes never appear in traces or errors."""
        blob = _read(data, path)
        if b"PRIVATE KEY-----" not in blob:
            raise ValueError("not a PEM private key (no '-----BEGIN ... PRIVATE KEY-----' line)")
        self._m.cmd("AT+S.TLSCERT=key,%d" % len(blob), blob, _LOAD_MS)
        self.key = True

    def preflight(self, sock):
        """Before a TLS SOCKON: the firmware's TLS socket limit, a loaded CA, the clock, the CA's dates."""
        m = self._m
        fw = m.fw or "1.1"
        limit = 1 if fw.startswith("1.0") else 2
        if sum(1 for s in m._socks if s is not None and s.tls) >= limit:
            raise OSError(errno.ENOBUFS, "FW %s allows %d TLS socket(s) at a time: close one first" % (fw, limit))
        if sock.insecure:
            m.warn("TLS to %s without the driver's checks (insecure=True): the server is not known to be "
                   "authenticated" % (sock.server_hostname or "the server"))
            return
        if self.ca is None:
            raise CertError("no CA loaded since the module booted: call m.tls.load_ca(...) first (or pass "
                            "insecure=True to connect unauthenticated)", "no_ca")
        now = m.clock()
        if now is None:
            raise CertError("module clock not set since the module booted: call m.settime() first (the "
                            "module checks certificate dates)", "clock_unset")
        a, b = self.ca_valid
        if not a <= now <= b:
            raise CertError("CA '%s' is valid %s..%s, not at the module clock %s: fix the clock or the CA" % (
                self.ca, ymd(a), ymd(b), ymd(now)), "expired" if now > b else "not_yet_valid")
