# The module's TLS credential store (AT+S.TLSCERT, spec 6.14): the CA with its key identifier as `auth`,
# the own certificate and key for mutual TLS, list, clear. Certificates are parsed and checked on the
# board (spwf04.cert) before any AT traffic; lengths are computed, bytes sent raw.
# The messages are short and shared with spwf04.diag (through problems()), and each TLSCERT upload goes
# through _send. Dates come from spwf04.utc, so a pre-flight check needs no X.509 code loaded.
import errno

from .errors import CertError
from .utc import CLOCK_MIN, ymd


def _read(data, path, what):
    if path is not None:
        try:
            with open(path, "rb") as f:
                return f.read()
        except MemoryError:
            raise _nomem(what)
    if data is None:
        raise ValueError("give the bytes or path=")
    return data.encode() if isinstance(data, str) else data


def _pem(der):
    # PEM of a DER certificate: 48 bytes per 64-character base64 line (b2a_base64 ends each with a newline)
    import binascii

    return b"-----BEGIN CERTIFICATE-----\n" + b"".join(
        binascii.b2a_base64(der[i:i + 48]) for i in range(0, len(der), 48)) + b"-----END CERTIFICATE-----\n"


def _nomem(what):
    # A MemoryError from a call that promises typed errors: OSError(ENOMEM) saying what to do. The failed
    # allocation is gone by now, so this small message fits where the big block did not.
    import gc

    gc.collect()
    free = gc.mem_free() if hasattr(gc, "mem_free") else -1
    try:
        return OSError(errno.ENOMEM, "%s: out of memory (%d bytes free, no block large enough): call it early "
                       "(right after m.init(), before big buffers), or drop objects you hold and call "
                       "gc.collect()" % (what, free))
    except MemoryError:  # not even room to format that: the constant text needs no new string
        return OSError(errno.ENOMEM, "out of memory: call it right after m.init(), or free memory first")


class TLSStore:
    """module.tls. After load_ca: ca (the CA's subject CN), ca_valid ((not_before, not_after) as UNIX
    seconds), auth (the 40 hex digits sent as TLSCERT=auth), module_ski (the module's AT-S.SubjectKeyId
    text, '' for 'No SubjectKeyId', None if it said neither), sent_len (bytes sent with TLSCERT=ca). No
    X.509 object is kept, so the application may drop spwf04.cert after loading. All reset when the
    module reboots."""

    def __init__(self, module):
        self._m = module
        self.forget()

    def forget(self):
        """Forget what the module held (the module calls this when it reboots: the module forgot everything)."""
        self.ca = self.ca_valid = self.auth = self.module_ski = None
        self.sent_len = 0
        self.cert = self.key = False

    def _send(self, what, blob):
        # TLSCERT=<what>,<exact length> + the raw bytes; the module takes its time over a certificate
        return self._m.cmd("AT+S.TLSCERT=%s,%d" % (what, len(blob)), blob, 10000)

    def clear(self):
        """Erase everything the module stores (TLSCERT=content,2)."""
        self._m.cmd("AT+S.TLSCERT=content,2")
        self.forget()

    def list(self):
        """TLSCERT=content,1 as a dict: {'CA': 1, 'Cert': 0, 'Key': 0, 'Id': 1} on FW 1.0."""
        out = {}
        for ev in self._m.cmd("AT+S.TLSCERT=content,1"):
            t = ev.tail()
            out[ev.text] = int(t) if t.isdigit() else (t or True)
        return out

    def load_ca(self, data=None, path=None, check=True, encoding=None):
        """Load the CA that issued the server's certificate (PEM or DER bytes, or path=), then send its key
        identifier as auth (SKI extension, else SHA-1 of the public key, RFC 5280 4.2.1.2 method 1).

        check: pre-flight (dates at the module clock, CA flag, key type for this firmware, size of what is
        sent) before any AT traffic. encoding: None sends what worked on this firmware (FW 1.0 PEM, FW 1.1
        DER), or 'pem' / 'der' / 'asis'. Returns the Certificate. Out of memory: OSError(ENOMEM) with advice,
        before any TLSCERT command (everything sent is made first)."""
        try:
            c, blob, auth, valid = self._prepare(data, path, check, encoding)
        except MemoryError:
            raise _nomem("load_ca")
        self.forget()
        ski = None
        for ev in self._send("ca", blob):
            if ev.text.endswith("SubjectKeyId"):  # "SubjectKeyId:<hex>", or "No SubjectKeyId" (tail '')
                ski = ev.tail()
        # FW 1.0 says "No SubjectKeyId" even for CAs that have one: always send auth ourselves (spec 6.14).
        self._send("auth", auth)
        self.ca = c.subject_cn or "?"
        self.ca_valid = valid
        self.auth = str(auth, "ascii")
        self.module_ski = ski
        self.sent_len = len(blob)
        return c

    def _prepare(self, data, path, check, encoding):
        # load_ca's allocations, all before any AT traffic: the certificate, the bytes sent, the auth digits
        from . import cert

        m = self._m
        certs = cert.parse(_read(data, path, "load_ca"))
        if len(certs) != 1:
            raise CertError("%d certificates: load_ca takes one (the server's issuing CA)" % len(certs))
        c = certs[0]
        fw = m.fw or "1.1"
        if encoding is None:
            encoding = "pem" if fw[:3] == "1.0" else "der"
        blob = c.der if encoding == "der" else (c.pem or _pem(c.der)) if encoding == "pem" else c.stored
        if check:
            # the module clock as the driver knows it, else read back (an unset clock reads as a date long past)
            now = m.clock()
            if now is None:
                now = m.time()
                if now < CLOCK_MIN:  # never set since the module booted
                    now = None
            cert.check(c, now, fw, "ca", len(blob))
        return c, blob, cert.hex_id(c.auth).encode(), (cert.to_epoch(c.not_before), cert.to_epoch(c.not_after))

    def load_cert(self, data=None, path=None):
        """Own certificate (chain) for mutual TLS, sent as given."""
        self._send("cert", _read(data, path, "load_cert"))
        self.cert = True

    def load_key(self, data=None, path=None):
        """Own private key (PEM) for mutual TLS. Its bytes never appear in traces or errors."""
        blob = _read(data, path, "load_key")
        if b"PRIVATE KEY-----" not in blob:
            raise ValueError("not a PEM private key ('-----BEGIN ... PRIVATE KEY-----')")
        self._send("key", blob)
        self.key = True

    def problems(self, now):
        """What stops a verified TLS connection at the module clock now (None: unset), clock first, as a flat
        list [CertError code, text, code, text, ...]. preflight raises the last, spwf04.diag lists all texts."""
        out = []
        if now is None:
            out += ("clock_unset", "module clock not set since boot: call m.settime()")
        if self.ca is None:
            out += ("no_ca", "no CA loaded since boot: call m.tls.load_ca() (or use insecure=True)")
        elif now is not None:
            a, b = self.ca_valid
            if not a <= now <= b:
                out += ("expired" if now > b else "not_yet_valid",
                        "CA '%s' valid %s..%s, module clock %s%s: fix the clock or the CA" % (
                            self.ca, ymd(a), ymd(b), ymd(now), " (set by hand with AT+S.TIME)" if
                            self._m.clock_by_hand else ""))
        return out

    def preflight(self, sock):
        """Before a TLS SOCKON: the firmware's TLS socket limit, a loaded CA, the clock, the CA's dates."""
        m = self._m
        fw = m.fw or "1.1"
        limit = 1 if fw[:3] == "1.0" else 2
        n = 0
        for s in m.sockets():
            if s.tls:
                n += 1
        if n >= limit:
            raise OSError(errno.ENOBUFS, "FW %s allows %d TLS socket(s) at a time: close one first" % (fw, limit))
        if sock.insecure:
            m.warn("TLS to %s with insecure=True: server not authenticated" % (
                sock.server_hostname or "the server"))
            return
        p = self.problems(m.clock())
        if p:
            raise CertError(p[-1], p[-2])  # the last: a missing CA before an unset clock
