"""Compact X.509 loader and pre-flight check (pure: F401RE, unix port, CPython).

    from spwf04 import cert
    ca = cert.parse(open("ca.pem", "rb").read())[0]   # PEM (one or more) or DER -> [Certificate]
    for c in cert.iter_pem(bundle): ...                # one certificate decoded at a time
    cert.check(ca, now=epoch_or_None, fw="1.0")        # raises CertError(problem + fix), e.code says which
    cert.hex_id(ca.auth)                               # 40 uppercase hex digits for AT+S.TLSCERT=auth

Certificate fields: subject_cn, issuer_cn, not_before/not_after (UTC (Y, M, D, h, m, s)), is_ca, path_len,
ski, aki, key_id (RFC 5280 4.2.1.2 method 1), auth (ski or key_id), key_type ('RSA', 'EC', ...), key_bits,
curve, sig_alg, san (san_dns + san_ip), crl_urls, version, der, der_len, pem (the PEM block as given, or None),
stored (the bytes a module would store: pem or der), subject_der / issuer_der, self_issued.
to_epoch / from_epoch / fmt_time convert those (Y, M, D, h, m, s) tuples (the first two from spwf04.utc).

Firmware profiles used by check() (spec section 7; limits beyond the reports there are this project's choice):
  FW 1.0: RSA keys only (RSA key exchange only), 1024..2048 bits.
  FW 1.1: RSA 1024..2048 bits, or EC P-256 (ECDSA added in 1.1). RSA-4096 was reported failing
          (Certificate Error:22, spec 7.1), so sizes above 2048 bits are refused on both; other curves unknown.
  Both: stored CA size <= 1475 bytes (ST support's limit for the stored bundle, spec section 7).

Parsing is index based on the DER bytes (no per-field copies of the whole certificate), follows the fixed
X.509 structure (no recursion: nesting depth is bounded by the structure itself), caps element counts and
sizes, and turns every malformed input into CertError.

Size: this module is deployed as .mpy bytecode, which lives in the board's RAM. Hence the table-free OID
naming, the shared message texts and the few, general helpers (a docstring or comment costs nothing there).
Needs only spwf04.errors and spwf04.utc.
"""

# MicroPython's compiler folds const() at compile time, so this name is only ever called on CPython (cheaper
# than importing micropython.const under try/except).
const = int

import binascii

try:
    from hashlib import sha1 as _hsha1
except ImportError:  # stm32 builds without SSL (NUCLEO_F401RE) have no hashlib.sha1
    _hsha1 = None

from .errors import CertError  # code: malformed (default), expired, not_yet_valid, clock_unset, ...
from .utc import CLOCK_MIN, from_epoch, to_epoch  # also cert.to_epoch / cert.from_epoch for host tools and tests

MAX_STORED = const(1475)  # ST support: stored certificate bundle limit
_MAX_DER = const(16384)  # largest certificate accepted at all (bundle roots are < 3 KB)
_MAX_ITEMS = const(64)  # max RDNs per name, extensions, SAN entries, CRL URIs
_CLOCK_END = const(4102444800)  # 2100-01-01: a later clock is wrong too
_EPOCH_2000 = const(946684800)

# Tags
_SEQ = const(0x30)
_SET = const(0x31)
_INT = const(0x02)
_BITS = const(0x03)
_OCTETS = const(0x04)
_OID = const(0x06)
_BOOL = const(0x01)
_UTCTIME = const(0x17)
_GENTIME = const(0x18)
_IA5 = const(0x16)

# Certificate extensions handled: the last arc of their OID 2.5.29.x (id-ce)
_X_SKI = const(0x0E)  # subjectKeyIdentifier
_X_SAN = const(0x11)  # subjectAltName
_X_BC = const(0x13)  # basicConstraints
_X_CRL = const(0x1F)  # cRLDistributionPoints
_X_AKI = const(0x23)  # authorityKeyIdentifier


def _bad(what, pos):
    return CertError("malformed certificate: %s at byte %d; export it again (openssl x509)" % (what, pos))


def _tlv(d, pos, end, want=-1, whole=False):
    """Header at d[pos:]: returns (tag, content_start, content_end), all within end. want: the tag required
    (-1: any); whole: the element must end exactly at end (nothing may follow it)."""
    if pos + 2 > end:
        raise _bad("truncated", pos)
    tag, n = d[pos], d[pos + 1]
    if tag & 0x1F == 0x1F or 0 <= want != tag:  # (multi-byte tags never occur in a certificate)
        raise _bad("unexpected tag 0x%02x" % tag, pos)
    p = pos + 2
    if n & 0x80:  # long form: k length bytes follow
        k = n & 0x7F
        # indefinite (BER) or >= 64 KB: never a certificate we can use; n = end fails the check below, as do
        # length bytes beyond end
        n = int.from_bytes(d[p:p + k], "big") if 0 < k < 3 else end
        p += k
    if p + n > end or whole and p + n != end:
        raise _bad("bad length", pos)
    return tag, p, p + n


def _items(d, s, e, limit=_MAX_ITEMS, want=-1):
    """Yield (tag, start, end) of each element in d[s:e], at most limit of them, each with tag want."""
    n = 0
    while s < e:
        n += 1
        if n > limit:
            raise _bad("more than %d elements" % limit, s)
        t, cs, s = _tlv(d, s, e, want)
        yield t, cs, s


def _text(tag, d, s, e):
    """The text of the ASN.1 string of type tag in d[s:e]."""
    try:
        if tag in (0x0C, 0x12, 0x13, _IA5, 0x1A):  # UTF8, Numeric, Printable, IA5, VisibleString
            return d[s:e].decode()
        # T61String read as Latin-1 (as OpenSSL and cryptography do), BMPString as UTF-16BE without
        # surrogates, UniversalString as UTF-32BE: w bytes per character
        w = 1 if tag == 0x14 else 2 if tag == 0x1E else 4 if tag == 0x1C else 0
        if w and not (e - s) % w:
            import struct

            # (e - s) // w big-endian unsigned numbers of w bytes: struct format B, H or I
            return "".join(map(chr, struct.unpack(">%d%s" % ((e - s) // w, "BH-I"[w - 1]), d[s:e])))
    except (ValueError, UnicodeError):
        pass
    raise _bad("bad string", s)


def _name(d, s, e):
    """Last (most specific) commonName in the Name at d[s:e], or None."""
    cn = None
    for _, rs, re_ in _items(d, s, e, _MAX_ITEMS, _SET):  # RDNs
        for _, as_, ae in _items(d, rs, re_, 8, _SEQ):  # attributes: SEQUENCE { OID, value }
            _, os_, oe = _tlv(d, as_, ae, _OID)
            vt, vs, ve = _tlv(d, oe, ae, -1, True)
            if d[os_:oe] == b"\x55\x04\x03":  # commonName 2.5.4.3
                cn = _text(vt, d, vs, ve)
    return cn


def _time(d, pos, end, whole=False):
    """UTCTime or GeneralizedTime at d[pos:] -> ((Y, M, D, h, m, s), end of the element)."""
    t, s, e = _tlv(d, pos, end, -1, whole)
    v = d[s:e - 1]
    # DER form only: YYMMDDhhmmssZ (UTCTime, 0x17) or YYYYMMDDhhmmssZ (GeneralizedTime, 0x18)
    if e - s != (13 if t == _UTCTIME else 15 if t == _GENTIME else -1) or d[e - 1] != 0x5A or not v.isdigit():
        raise _bad("bad time", pos)
    y, v = int(v[:-10]), int(v[-10:])  # [CC]YY, MMDDhhmmss
    if t == _UTCTIME:
        y += 1900 if y >= 50 else 2000  # RFC 5280 4.1.2.5.1
    r = (y, v // 100000000, v // 1000000 % 100, v // 10000 % 100, v // 100 % 100, v % 100)
    if from_epoch(to_epoch(r)) != r:  # only an existing date and time survives the round trip
        raise _bad("bad time", pos)
    return r, e


def _oid(d, s, e):
    """The OID in d[s:e] as cryptography names it (signature algorithms, named curves, EdDSA: one OID names
    both an EdDSA key and its signatures), else in dotted form."""
    o = d[s:e]
    p, x = o[:-1], o[-1] if o else -1
    if p == b"\x2a\x86\x48\x86\xf7\x0d\x01\x01":  # PKCS #1: 1.2.840.113549.1.1.x
        if x == 10:
            return "RSASSA-PSS"
        h = {2: "md2", 4: "md5", 5: "sha1", 11: "sha256", 12: "sha384", 13: "sha512", 14: "sha224"}.get(x)
        if h:
            return h + "WithRSAEncryption"
    if p == b"\x2a\x86\x48\xce\x3d\x04" and x == 1:  # 1.2.840.10045.4.1
        return "ecdsa-with-SHA1"
    if p == b"\x2a\x86\x48\xce\x3d\x04\x03" and 0 < x < 5:  # 1.2.840.10045.4.3.1..4
        return "ecdsa-with-SHA%d" % (224, 256, 384, 512)[x - 1]
    if o == b"\x2a\x86\x48\xce\x3d\x03\x01\x07":  # 1.2.840.10045.3.1.7
        return "P-256"
    if p == b"\x2b\x81\x04\x00" and 0x22 <= x <= 0x23:  # 1.3.132.0.34 and .35
        return "P-384" if x == 0x22 else "P-521"
    if p == b"\x2b\x65" and 0x70 <= x <= 0x71:  # 1.3.101.112 and .113
        return "ed25519" if x == 0x70 else "ed448"
    out, v = "", 0
    for c in o:
        v = (v << 7) | (c & 0x7F)
        if c & 0x80:
            if v >> 32:  # an arc above 32 bits: no OID we could name
                raise _bad("bad OID", s)
            continue
        if not out:  # the first subidentifier holds two arcs
            x = min(v // 40, 2)
            out = str(x)
            v -= 40 * x
        out += ".%d" % v
        v = 0
    return out


def _sha1(data):
    """SHA-1 for ports without hashlib.sha1 (used once per CA load, on ~300 bytes)."""
    if _hsha1:
        return _hsha1(data).digest()
    import struct

    n = len(data)
    data = bytes(data) + b"\x80" + bytes((55 - n) % 64) + struct.pack(">Q", n * 8)
    # initial state h0..h4, then the round constants of rounds 0-19, 20-39, 40-59, 60-79 (FIPS 180-4)
    k = struct.unpack(">9I", b"\x67\x45\x23\x01\xef\xcd\xab\x89\x98\xba\xdc\xfe\x10\x32\x54\x76\xc3\xd2\xe1\xf0"
                      b"\x5a\x82\x79\x99\x6e\xd9\xeb\xa1\x8f\x1b\xbc\xdc\xca\x62\xc1\xd6")
    h = list(k[:5])
    m = 0xFFFFFFFF
    for o in range(0, len(data), 64):
        w = list(struct.unpack(">16I", data[o:o + 64]))
        a, b, c, d, e = h
        for i in range(80):
            if i > 15:  # the message schedule, extended as the rounds go
                x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
                w.append((x << 1 | x >> 31) & m)
            j = i // 20  # rounds 0-19 choose (b ^ m: NOT b, kept positive), 40-59 majority, the others parity
            f = (b & c | (b ^ m) & d) if j == 0 else (b & c | (b | c) & d) if j == 2 else b ^ c ^ d
            a, b, c, d, e = ((a << 5 | a >> 27) + f + k[5 + j] + w[i] + e) & m, a, (b << 30 | b >> 2) & m, c, d
        for i, x in enumerate((a, b, c, d, e)):
            h[i] = (h[i] + x) & m
    return struct.pack(">5I", *h)


def hex_id(b):
    """Identifier as 40 (for SHA-1 ids) uppercase hex digits without separators: what TLSCERT=auth takes."""
    return binascii.hexlify(b).decode().upper()


def colon_hex(b):
    """Identifier as FW 1.1 prints it in AT-S.SubjectKeyId: 7F:D3:..."""
    return binascii.hexlify(b, ":").decode().upper()


def fmt_time(t):
    """(Y, M, D, h, m, s) -> 'YYYY-MM-DD hh:mm:ss UTC'."""
    return "%04d-%02d-%02d %02d:%02d:%02d UTC" % tuple(t)


class Certificate:
    """One parsed certificate; see the module docstring for the fields."""

    # fields that stay so when the certificate does not say otherwise
    version = 1
    is_ca = False
    path_len = ski = aki = curve = _key_id = None

    def __init__(self, d, pem=None):  # d: the DER bytes
        self.der = d
        self.pem = pem
        self.stored = d if pem is None else pem  # what a module stores: the PEM block as given, else DER
        n = self.der_len = len(d)
        self.san_dns, self.san_ip, self.crl_urls = [], [], []
        if n > _MAX_DER:
            raise _bad("too large (%d bytes)" % n, 0)
        _, s, e = _tlv(d, 0, n, _SEQ)
        if e != n:
            raise _bad("%d bytes after the certificate" % (n - e), e)
        _, ts, te = _tlv(d, s, e, _SEQ)  # tbsCertificate
        _, s, ae = _tlv(d, te, e, _SEQ)  # signatureAlgorithm
        _, s, oe = _tlv(d, s, ae, _OID)
        self.sig_alg = _oid(d, s, oe)
        _tlv(d, ae, e, _BITS, True)  # signatureValue, the last element

        t, s, e = _tlv(d, ts, te)
        p = ts
        if t == 0xA0:  # [0] EXPLICIT version
            _, s, p = _tlv(d, s, e, _INT, True)
            if p - s != 1 or d[s] > 2:
                raise _bad("bad version", s)
            self.version = d[s] + 1
            p = e
        _, s, p = _tlv(d, p, te, _INT)  # serialNumber
        if p - s > 21:  # 20 octets plus a sign byte
            raise _bad("bad serial number", s)
        _, _, p = _tlv(d, p, te, _SEQ)  # signature (inner algorithm)
        _, s, e = _tlv(d, p, te, _SEQ)  # issuer
        self.issuer_der = d[p:e]
        self.issuer_cn = _name(d, s, e)
        _, s, p = _tlv(d, e, te, _SEQ)  # validity
        self.not_before, s = _time(d, s, p)
        self.not_after, _ = _time(d, s, p, True)
        _, s, e = _tlv(d, p, te, _SEQ)  # subject
        self.subject_der = d[p:e]
        self.subject_cn = _name(d, s, e)
        self.self_issued = self.subject_der == self.issuer_der

        ke = _public_key(self, d, e, te)

        for t, s, e in _items(d, ke, te, 3):  # [1]/[2] unique IDs (v2+), [3] extensions (v3)
            if t == 0xA3 and self.version == 3:
                _, s, e = _tlv(d, s, e, _SEQ, True)
                _extensions(self, d, s, e)
            elif not 0x81 <= t & 0xDF <= 0x82 or self.version == 1:  # (0x20: the constructed form)
                raise _bad("unexpected tag 0x%02x" % t, s)
        self.san = self.san_dns + self.san_ip

    @property
    def key_id(self):
        """SHA-1 of the subjectPublicKey BIT STRING contents (RFC 5280 4.2.1.2 method 1)."""
        if self._key_id is None:
            self._key_id = _sha1(self._pk)
        return self._key_id

    @property
    def auth(self):
        """The identifier the server chain's AKI should carry: the SKI, or the method-1 key id without one."""
        return self.ski or self.key_id  # (an empty SKI is refused when parsing)

    def __repr__(self):
        return "<Certificate CN=%r %s-%d CA=%s %s..%s>" % (
            self.subject_cn, self.key_type, self.key_bits, self.is_ca, fmt_time(self.not_before)[:10],
            fmt_time(self.not_after)[:10])


def _public_key(c, d, p, end):
    # subjectPublicKeyInfo at d[p:], inside the tbsCertificate ending at end: the key's type and size into c, the
    # key bits kept for key_id. Returns where the SubjectPublicKeyInfo ends.
    _, s, ke = _tlv(d, p, end, _SEQ)  # subjectPublicKeyInfo: SEQUENCE { algorithm, subjectPublicKey }
    _, s, ae = _tlv(d, s, ke, _SEQ)
    _, s, oe = _tlv(d, s, ae, _OID)
    alg = d[s:oe]
    _, bs, be = _tlv(d, ae, ke, _BITS, True)
    if be - bs < 2 or d[bs]:  # a key has no unused bits
        raise _bad("bad public key", bs)
    c._pk = memoryview(d)[bs + 1:be]  # (no copy) what key_id hashes
    c.key_bits = 0
    if alg == b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01":  # rsaEncryption: SEQUENCE { modulus, exponent }
        _, s, ae = _tlv(d, bs + 1, be, _SEQ, True)
        _, s, e = _tlv(d, s, ae, _INT)
        _tlv(d, e, ae, _INT, True)
        if d[s] & 0x80:  # negative modulus
            raise _bad("bad public key", s)
        while s < e and d[s] == 0:
            s += 1
        c.key_type = "RSA"
        if s < e:  # bit length: whole bytes after the first non-zero one, plus that one's bits
            c.key_bits = (e - s) * 8 - 10 + len(bin(d[s]))
    elif alg == b"\x2a\x86\x48\xce\x3d\x02\x01":  # id-ecPublicKey, parameters: namedCurve OID
        _, s, e = _tlv(d, oe, ae, _OID)
        c.key_type = "EC"
        n = c.curve = _oid(d, s, e)
        if n[:2] == "P-":
            c.key_bits = int(n[2:])
    else:  # EdDSA (cryptography's key type names: Ed25519, Ed448), else the algorithm's OID
        n = c.key_type = _oid(d, s, oe)
        if n[:2] == "ed":
            c.key_type = "E" + n[1:]
            c.key_bits = 256 if n == "ed25519" else 456
    return ke


def _extensions(c, d, s, e):
    # Extension: SEQUENCE { OID, [critical BOOLEAN], OCTET STRING }; c: the Certificate being parsed
    seen = []
    for _, xs, xe in _items(d, s, e, _MAX_ITEMS, _SEQ):
        _, s, oe = _tlv(d, xs, xe, _OID)
        o = d[s:oe]
        if o in seen:
            raise _bad("duplicate extension", xs)
        seen.append(o)
        t, s, e = _tlv(d, oe, xe)
        if t == _BOOL and e - s == 1:  # critical
            t, s, e = _tlv(d, e, xe)
        if t != _OCTETS or e != xe:
            raise _bad("bad extension", s)
        x = o[2] if len(o) == 3 and o[:2] == b"\x55\x1d" else 0  # id-ce 2.5.29.x
        if x == _X_SKI:  # OCTET STRING
            _, s, e = _tlv(d, s, e, _OCTETS)
            if e == s:  # would be sent as an empty auth, which no server AKI can match
                raise _bad("empty key identifier", s)
            c.ski = d[s:e]
        elif x in (_X_BC, _X_AKI, _X_SAN, _X_CRL):  # SEQUENCE
            _, s, e = _tlv(d, s, e, _SEQ)
            for t, s, e in _items(d, s, e, 2 if x == _X_BC else 3 if x == _X_AKI else _MAX_ITEMS):
                if x == _X_BC:  # cA BOOLEAN, pathLenConstraint INTEGER
                    if t == _BOOL and e - s == 1:
                        c.is_ca = d[s] != 0
                    elif t == _INT and 0 < e - s <= 2:
                        c.path_len = int.from_bytes(d[s:e], "big")
                    else:
                        raise _bad("bad extension", s)
                elif x == _X_AKI:
                    if t == 0x80:  # [0] keyIdentifier
                        c.aki = d[s:e]
                elif x == _X_SAN:
                    if t == 0x82:  # dNSName
                        c.san_dns.append(_text(_IA5, d, s, e))
                    elif t == 0x87 and e - s == 4:  # iPAddress
                        c.san_ip.append("%d.%d.%d.%d" % tuple(d[s:e]))
                    elif t == 0x87 and e - s == 16:
                        import struct

                        c.san_ip.append("%x:%x:%x:%x:%x:%x:%x:%x" % struct.unpack(">8H", d[s:e]))
                else:  # DistributionPoint: SEQUENCE { [0] distributionPoint { [0] fullName }, ... }
                    t, s, e = _tlv(d, s, e)
                    if t == 0xA0:
                        t, s, e = _tlv(d, s, e)
                        if t == 0xA0:
                            for t, s, e in _items(d, s, e):
                                if t == 0x86 and len(c.crl_urls) < _MAX_ITEMS:  # URI
                                    c.crl_urls.append(_text(_IA5, d, s, e))


def parse_der(der, pem=None):
    """One DER certificate (bytes) -> Certificate; any malformation -> CertError."""
    try:
        return Certificate(der, pem)
    except (CertError, MemoryError):
        raise
    except Exception as exc:  # belt and braces: malformed input must never escape as another type
        raise _bad(type(exc).__name__, 0)


def iter_pem(data):
    """Yield the certificates of PEM text one at a time (other PEM blocks, e.g. keys, are skipped)."""
    if isinstance(data, str):
        data = data.encode()
    pos = 0
    while True:
        b = data.find(b"-----BEGIN CERTIFICATE-----", pos)
        if b < 0:
            break
        s = b + 27  # after the BEGIN line's text
        e = data.find(b"-----", s)  # must be the END line: cut short, or another PEM block begins inside
        pos = e + 25
        pos += 2 if data[pos:pos + 2] == b"\r\n" else data[pos:pos + 1] == b"\n"  # the block's line end
        try:
            if data[e:e + 25] != b"-----END CERTIFICATE-----":
                raise ValueError
            der = binascii.a2b_base64(memoryview(data)[s:e])
        except ValueError:
            raise _bad("damaged PEM block", b)
        yield parse_der(der, bytes(data[b:pos]))
    if not pos:
        raise _no_cert(data)


def _no_cert(data, der=False):
    # A private key (PEM "... PRIVATE KEY-----", or DER whose SEQUENCE starts with a version INTEGER 0 or 1 -
    # PKCS#1, PKCS#8, SEC1 - where a certificate has its tbsCertificate SEQUENCE) is named as such.
    if der or b"PRIVATE KEY-----" in data:
        return CertError("this is a private key, not a certificate: give the CA's certificate "
                         "(-----BEGIN CERTIFICATE-----), never a key", "private_key")
    return CertError("no certificate: give a PEM or DER file, read with 'rb'")


def parse(data):
    """PEM (one or more certificates) or DER -> list of Certificate."""
    if isinstance(data, str):
        data = data.encode()
    # anything else is no certificate data either: iter_pem finds no certificate in b"" and says so
    data = bytes(data) if isinstance(data, (bytes, bytearray, memoryview)) else b""
    if data[:1] == b"\x30":  # DER is a SEQUENCE
        n = data[1] - 128 if len(data) > 1 and data[1] > 128 else 0  # long-form length bytes after 2
        if data[2 + n:4 + n] == b"\x02\x01" and data[4 + n:5 + n] in b"\x00\x01":  # version 0 or 1 first
            raise _no_cert(data, True)
        return [parse_der(data)]
    return list(iter_pem(data))


def check(cert, now, fw="1.1", kind="ca", size=None):
    """Pre-flight check before any AT traffic. now: UNIX epoch of the module clock, or None if unset; size:
    the bytes that will be sent (default: len(cert.stored)).

    Raises CertError naming the first problem and its fix; returns None when the certificate can work."""
    if now is None or not CLOCK_MIN <= now < _CLOCK_END:  # unset, or not 2017..2100
        w = "unset" if now is None else "implausible"  # (code clock_unset / clock_implausible)
        raise CertError("module clock %s: set it first (AT+S.TIME=<UNIX epoch>, m.settime())" % (
            w if now is None else w + ", " + fmt_time(from_epoch(now)) + (
                " (seconds since 2000? add %d)" % _EPOCH_2000 if CLOCK_MIN <= now + _EPOCH_2000 < _CLOCK_END
                else "")), "clock_" + w)
    who = "%s '%s'" % ("CA" if kind == "ca" else "certificate", cert.subject_cn)
    late = now > to_epoch(cert.not_after)
    if late or now < to_epoch(cert.not_before):
        raise CertError("%s %s %s, module clock %s: fix the clock or the certificate" % (
            who, "expired on" if late else "not valid yet: valid from", fmt_time(
                cert.not_after if late else cert.not_before), fmt_time(from_epoch(now))),
            "expired" if late else "not_yet_valid")
    if kind == "ca" and not cert.is_ca:
        raise CertError("%s is not a CA: load the CA that issued the server's certificate" % who, "not_ca")
    fw = str(fw)
    v11 = fw[:3] == "1.1"
    if not v11 and fw[:3] != "1.0":
        raise CertError("unknown firmware %r: '1.0' or '1.1' (AT+S.STS=fw_version)" % fw, "key_unsupported")
    # RSA-4096 failed with Certificate Error:22 (spec 7.1): RSA above 2048 bits is refused on both
    if not (cert.key_type == "RSA" and 1024 <= cert.key_bits <= 2048 or v11 and cert.curve == "P-256"):
        raise CertError("%s: %s-%s key: FW %s does RSA%s; reissue it with an RSA-2048 key" % (
            who, cert.key_type, cert.curve or cert.key_bits, fw,
            " (1024..2048 bits) or EC P-256" if v11 else " only (1024..2048 bits)"), "key_unsupported")
    size = len(cert.stored) if size is None else size
    if size > MAX_STORED:
        raise CertError("%s takes %d bytes, the module stores %d: %s" % (
            who, size, MAX_STORED, "send the DER form (%d bytes) instead" % cert.der_len
            if cert.der_len <= MAX_STORED else "use a CA with a smaller certificate"), "too_large")
