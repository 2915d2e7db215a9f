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

Firmware profiles used by check() (spec section 7; limits beyond the reports there are this project's choice):
  FW 1.0: RSA keys only (RSA key exchange only), 1024..2048 bits.
  FW 1.1: RSA 1024..2048 bits, or EC P-256 (ECDSA added in 1.1). RSA-4096 was reported failing
          (Certificate Error:22, spec 7.1), so sizes above 2048 bits are refused on both; other curves unknown.
  Both: stored CA size <= 1475 bytes (ST support's limit for the stored bundle, spec section 7).

Parsing is index based on the DER bytes (no per-field copies of the whole certificate), follows the fixed
X.509 structure (no recursion: nesting depth is bounded by the structure itself), caps element counts and
sizes, and turns every malformed input into CertError.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


import binascii

try:
    from hashlib import sha1 as _hsha1
except ImportError:  # stm32 builds without SSL (NUCLEO_F401RE) have no hashlib.sha1
    _hsha1 = None


try:
    from .errors import CertError  # one class for the whole driver (errors.py owns it when present)
except ImportError:

    class CertError(ValueError):
        """An X.509 parse or pre-flight failure; the message names the problem and the fix.

        `code` is one of: malformed, expired, not_yet_valid, clock_unset, clock_implausible, not_ca,
        key_unsupported, too_large."""

        def __init__(self, msg, code="malformed"):
            super().__init__(msg)
            self.code = code


MAX_STORED = const(1475)  # ST support: stored certificate bundle limit
_MAX_DER = const(16384)  # largest certificate accepted at all (bundle roots are < 3 KB)
_MAX_ITEMS = const(64)  # max RDNs per name, extensions, SAN entries, CRL URIs
_CLOCK_MIN = const(1483228800)  # 2017-01-01: before FW 1.0 was built; an earlier clock is unset/wrong
_CLOCK_MAX = 4102444800  # 2100-01-01 (not const: exceeds a small int on 32-bit ports)
_EPOCH_2000 = const(946684800)

# Tags
_SEQ = const(0x30)
_SET = const(0x31)
_INT = const(0x02)
_BITS = const(0x03)
_OCTETS = const(0x04)
_OID = const(0x06)
_BOOL = const(0x01)

# OID contents (DER value bytes)
_OID_CN = b"\x55\x04\x03"
_OID_RSA = b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"
_OID_EC = b"\x2a\x86\x48\xce\x3d\x02\x01"
_OID_BC = b"\x55\x1d\x13"
_OID_SKI = b"\x55\x1d\x0e"
_OID_AKI = b"\x55\x1d\x23"
_OID_SAN = b"\x55\x1d\x11"
_OID_CRL = b"\x55\x1d\x1f"
_CURVES = {b"\x2a\x86\x48\xce\x3d\x03\x01\x07": ("P-256", 256), b"\x2b\x81\x04\x00\x22": ("P-384", 384),
           b"\x2b\x81\x04\x00\x23": ("P-521", 521)}
_KEYS = {b"\x2b\x65\x70": ("Ed25519", 256), b"\x2b\x65\x71": ("Ed448", 456)}
_SIGS = {
    b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x02": "md2WithRSAEncryption",
    b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x04": "md5WithRSAEncryption",
    b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x05": "sha1WithRSAEncryption",
    b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a": "RSASSA-PSS",
    b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b": "sha256WithRSAEncryption",
    b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0c": "sha384WithRSAEncryption",
    b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0d": "sha512WithRSAEncryption",
    b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0e": "sha224WithRSAEncryption",
    b"\x2a\x86\x48\xce\x3d\x04\x01": "ecdsa-with-SHA1",
    b"\x2a\x86\x48\xce\x3d\x04\x03\x01": "ecdsa-with-SHA224",
    b"\x2a\x86\x48\xce\x3d\x04\x03\x02": "ecdsa-with-SHA256",
    b"\x2a\x86\x48\xce\x3d\x04\x03\x03": "ecdsa-with-SHA384",
    b"\x2a\x86\x48\xce\x3d\x04\x03\x04": "ecdsa-with-SHA512",
    b"\x2b\x65\x70": "ed25519",
    b"\x2b\x65\x71": "ed448",
}
_BEGIN = b"-----BEGIN CERTIFICATE-----"
_END = b"-----END CERTIFICATE-----"
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_FIX_FORMAT = "; export the CA again as PEM or DER (openssl x509 -in ca.crt -outform PEM)"


def _bad(what, pos):
    return CertError("malformed certificate: %s at byte %d%s" % (what, pos, _FIX_FORMAT))


def _tlv(d, pos, end, want=-1):
    """Header at d[pos:]: returns (tag, content_start, content_end), all within end."""
    if pos + 2 > end:
        raise _bad("truncated", pos)
    tag = d[pos]
    if tag & 0x1F == 0x1F:
        raise _bad("multi-byte tag", pos)
    if want >= 0 and tag != want:
        raise _bad("expected tag 0x%02x, got 0x%02x" % (want, tag), pos)
    n = d[pos + 1]
    p = pos + 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 2:  # indefinite (BER) or > 64 KB: never a certificate we can use
            raise _bad("bad length form", pos)
        if p + k > end:
            raise _bad("truncated length", pos)
        n = d[p] if k == 1 else (d[p] << 8) | d[p + 1]
        p += k
    if p + n > end:
        raise _bad("length %d beyond end" % n, pos)
    return tag, p, p + n


def _seq_items(d, s, e, limit=_MAX_ITEMS):
    """Yield (tag, start, end) of each element in d[s:e], at most limit of them."""
    n = 0
    while s < e:
        n += 1
        if n > limit:
            raise _bad("more than %d elements" % limit, s)
        t, cs, ce = _tlv(d, s, e)
        yield t, cs, ce
        s = ce


def _text(tag, d, s, e):
    b = d[s:e]
    try:
        if tag in (0x0C, 0x13, 0x16, 0x12, 0x1A):  # UTF8, Printable, IA5, Numeric, Visible
            return b.decode("utf-8")
        if tag == 0x14:  # T61String: read as Latin-1, as OpenSSL and cryptography do
            return b.decode("utf-8") if max(b, default=0) < 0x80 else "".join(chr(c) for c in b)
        if tag == 0x1E and not (e - s) & 1:  # BMPString, UTF-16BE without surrogates
            return "".join(chr((b[i] << 8) | b[i + 1]) for i in range(0, e - s, 2))
        if tag == 0x1C and not (e - s) & 3:  # UniversalString, UTF-32BE
            return "".join(chr(int.from_bytes(b[i:i + 4], "big")) for i in range(0, e - s, 4))
    except (ValueError, UnicodeError):
        pass
    raise _bad("bad string (tag 0x%02x)" % tag, s)


def _name(d, s, e):
    """Last (most specific) commonName in the Name at d[s:e], or None."""
    cn = None
    for t, rs, re_ in _seq_items(d, s, e):
        if t != _SET:
            raise _bad("bad RDN", rs)
        for t2, as_, ae in _seq_items(d, rs, re_, 8):
            if t2 != _SEQ:
                raise _bad("bad attribute", as_)
            _, os_, oe = _tlv(d, as_, ae, _OID)
            vt, vs, ve = _tlv(d, oe, ae)
            if ve != ae:
                raise _bad("attribute length", oe)
            if d[os_:oe] == _OID_CN:
                cn = _text(vt, d, vs, ve)
    return cn


def _time(d, pos, end):
    t, s, e = _tlv(d, pos, end)
    n = e - s
    if not ((t == 0x17 and n == 13) or (t == 0x18 and n == 15)) or d[e - 1] != 0x5A:
        raise _bad("time not in DER form YYMMDDhhmmssZ / YYYYMMDDhhmmssZ", pos)
    for c in d[s:e - 1]:
        if not 0x30 <= c <= 0x39:
            raise _bad("non-digit in time", pos)
    v = int(d[s:e - 1])
    if t == 0x17:
        y = v // 10000000000
        y += 1900 if y >= 50 else 2000
    else:
        y = v // 10000000000
    v %= 10000000000
    mo, dd, hh, mi, ss = v // 100000000, v // 1000000 % 100, v // 10000 % 100, v // 100 % 100, v % 100
    if not (1 <= mo <= 12 and 1 <= dd <= _DAYS[mo - 1] and hh < 24 and mi < 60 and ss < 60) or (
            mo == 2 and dd == 29 and not (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0))):
        raise _bad("impossible date", pos)
    return (y, mo, dd, hh, mi, ss), e


def _bit_len(d, s, e):
    """Bit length of the unsigned big-endian integer in d[s:e]."""
    while s < e and d[s] == 0:
        s += 1
    if s == e:
        return 0
    top, bits = d[s], 0
    while top:
        top >>= 1
        bits += 1
    return (e - s - 1) * 8 + bits


def _oid_str(d, s, e):
    """Dotted form of an OID we have no name for."""
    out, v, first = [], 0, True
    for c in d[s:e]:
        v = (v << 7) | (c & 0x7F)
        if c & 0x80:
            if v > 0xFFFFFFFF:
                raise _bad("oversized OID arc", s)
            continue
        if first:
            x = min(v // 40, 2)
            out += [str(x), str(v - 40 * x)]
            first = False
        else:
            out.append(str(v))
        v = 0
    return ".".join(out)


def _sha1(data):
    """SHA-1 for ports without hashlib.sha1 (used once per CA load, on ~300 bytes)."""
    if _hsha1 is not None:
        return _hsha1(data).digest()
    ml = len(data)
    msg = bytes(data) + b"\x80" + bytes((55 - ml) % 64) + (ml * 8).to_bytes(8, "big")
    h = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
    m = 0xFFFFFFFF
    w = [0] * 80
    for off in range(0, len(msg), 64):
        for i in range(16):
            w[i] = int.from_bytes(msg[off + 4 * i:off + 4 * i + 4], "big")
        for i in range(16, 80):
            x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
            w[i] = ((x << 1) | (x >> 31)) & m
        a, b, c, dd, e = h
        for i in range(80):
            if i < 20:
                f, k = (b & c) | ((b ^ m) & dd), 0x5A827999
            elif i < 40:
                f, k = b ^ c ^ dd, 0x6ED9EBA1
            elif i < 60:
                f, k = (b & c) | (b & dd) | (c & dd), 0x8F1BBCDC
            else:
                f, k = b ^ c ^ dd, 0xCA62C1D6
            a, b, c, dd, e = (((a << 5) | (a >> 27)) + f + e + k + w[i]) & m, a, ((b << 30) | (b >> 2)) & m, c, dd
        h = [(x + y) & m for x, y in zip(h, (a, b, c, dd, e))]
    return b"".join(x.to_bytes(4, "big") for x in h)


def hex_id(b):
    """Identifier as 40 (for SHA-1 ids) uppercase hex digits without separators: what TLSCERT=auth takes."""
    return binascii.hexlify(b).decode().upper()


def colon_hex(b):
    """Identifier as FW 1.1 prints it in AT-S.SubjectKeyId: 7F:D3:..."""
    h = hex_id(b)
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


def to_epoch(t):
    """(Y, M, D, h, m, s) UTC -> UNIX seconds (port independent: no time.mktime epoch surprises)."""
    y, m, d, hh, mi, ss = t
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    return days * 86400 + hh * 3600 + mi * 60 + ss


def from_epoch(s):
    """UNIX seconds -> (Y, M, D, h, m, s) UTC."""
    days, rem = divmod(s, 86400)
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    m = mp + 3 if mp < 10 else mp - 9
    return (yoe + era * 400 + (m <= 2), m, doy - (153 * mp + 2) // 5 + 1, rem // 3600, rem // 60 % 60, rem % 60)


def fmt_time(t):
    return "%04d-%02d-%02d %02d:%02d:%02d UTC" % tuple(t)


class Certificate:
    """One parsed certificate; see the module docstring for the fields."""

    def __init__(self, der, pem=None):
        self.der = der
        self.pem = pem
        self.der_len = len(der)
        self.version = 1
        self.is_ca = False
        self.path_len = None
        self.ski = None
        self.aki = None
        self.curve = None
        self.san_dns = []
        self.san_ip = []
        self.crl_urls = []
        self._key_id = None
        _parse_into(self, der)

    @property
    def stored(self):
        """The bytes a module would store for this certificate: the PEM block as given, else the DER."""
        return self.pem if self.pem is not None else self.der

    @property
    def subject_der(self):
        return self.der[self._subj[0]:self._subj[1]]

    @property
    def issuer_der(self):
        return self.der[self._iss[0]:self._iss[1]]

    @property
    def self_issued(self):
        return self.subject_der == self.issuer_der

    @property
    def san(self):
        return self.san_dns + self.san_ip

    @property
    def key_id(self):
        """SHA-1 of the subjectPublicKey BIT STRING contents (RFC 5280 4.2.1.2 method 1)."""
        if self._key_id is None:
            self._key_id = _sha1(memoryview(self.der)[self._pk[0]:self._pk[1]])
        return self._key_id

    @property
    def auth(self):
        """The identifier the server chain's AKI should carry: the SKI, or the method-1 key id without one."""
        return self.ski if self.ski is not None else self.key_id

    def __repr__(self):
        return "<Certificate CN=%r %s-%d CA=%s %s..%s>" % (
            self.subject_cn, self.key_type, self.key_bits, self.is_ca, fmt_time(self.not_before)[:10],
            fmt_time(self.not_after)[:10])


def _parse_into(c, d):
    n = len(d)
    if n > _MAX_DER:
        raise CertError("certificate of %d bytes is larger than any usable one (%d)%s" % (n, _MAX_DER, _FIX_FORMAT))
    _, s, e = _tlv(d, 0, n, _SEQ)
    if e != n:
        raise _bad("%d bytes after the certificate" % (n - e), e)
    _, ts, te = _tlv(d, s, e, _SEQ)  # tbsCertificate
    _, as_, ae = _tlv(d, te, e, _SEQ)  # signatureAlgorithm
    _, os_, oe = _tlv(d, as_, ae, _OID)
    c.sig_alg = _SIGS.get(d[os_:oe]) or _oid_str(d, os_, oe)
    _, _, be = _tlv(d, ae, e, _BITS)
    if be != e:
        raise _bad("data after signature", be)

    t, s1, e1 = _tlv(d, ts, te)
    p = ts
    if t == 0xA0:  # [0] EXPLICIT version
        _, vs, ve = _tlv(d, s1, e1, _INT)
        if ve - vs != 1 or d[vs] > 2:
            raise _bad("bad version", vs)
        c.version = d[vs] + 1
        p = e1
    _, ss, p = _tlv(d, p, te, _INT)  # serialNumber
    if p - ss > 21:  # allow 20 octets plus a sign byte
        raise _bad("serial number too long", ss)
    _, _, p = _tlv(d, p, te, _SEQ)  # signature (inner algorithm)
    _, s1, e1 = _tlv(d, p, te, _SEQ)  # issuer
    c._iss = (p, e1)
    c.issuer_cn = _name(d, s1, e1)
    _, vs, ve = _tlv(d, e1, te, _SEQ)  # validity
    c.not_before, q = _time(d, vs, ve)
    c.not_after, q = _time(d, q, ve)
    if q != ve:
        raise _bad("validity length", q)
    _, s1, e1 = _tlv(d, ve, te, _SEQ)  # subject
    c._subj = (ve, e1)
    c.subject_cn = _name(d, s1, e1)
    _, ks, ke = _tlv(d, e1, te, _SEQ)  # subjectPublicKeyInfo
    _parse_spki(c, d, ks, ke)
    p = ke
    while p < te:
        t, s1, e1 = _tlv(d, p, te)
        if t == 0xA3 and c.version == 3:
            _, xs, xe = _tlv(d, s1, e1, _SEQ)
            if xe != e1:
                raise _bad("extensions length", xs)
            _parse_extensions(c, d, xs, xe)
        elif t not in (0x81, 0xA1, 0x82, 0xA2) or c.version == 1:  # unique IDs, v2+
            raise _bad("unexpected field 0x%02x" % t, p)
        p = e1


def _parse_spki(c, d, s, e):
    _, as_, ae = _tlv(d, s, e, _SEQ)
    _, os_, oe = _tlv(d, as_, ae, _OID)
    _, bs, be = _tlv(d, ae, e, _BITS)
    if be != e or be - bs < 2 or d[bs] != 0:
        raise _bad("bad public key", ae)
    c._pk = (bs + 1, be)
    alg = d[os_:oe]
    if alg == _OID_RSA:
        _, rs, re_ = _tlv(d, bs + 1, be, _SEQ)
        _, ms, me = _tlv(d, rs, re_, _INT)
        _, xs, xe = _tlv(d, me, re_, _INT)
        if xe != re_ or re_ != be or d[ms] & 0x80:
            raise _bad("bad RSA key", rs)
        c.key_type, c.key_bits = "RSA", _bit_len(d, ms, me)
    elif alg == _OID_EC:
        _, cs, ce = _tlv(d, oe, ae, _OID)
        c.curve, c.key_bits = _CURVES.get(d[cs:ce]) or (_oid_str(d, cs, ce), 0)
        c.key_type = "EC"
    else:
        c.key_type, c.key_bits = _KEYS.get(alg) or (_oid_str(d, os_, oe), 0)


def _parse_extensions(c, d, s, e):
    seen = []
    for t, xs, xe in _seq_items(d, s, e):
        if t != _SEQ:
            raise _bad("bad extension", xs)
        _, os_, oe = _tlv(d, xs, xe, _OID)
        oid = d[os_:oe]
        if oid in seen:
            raise _bad("duplicate extension", xs)
        seen.append(oid)
        t, vs, ve = _tlv(d, oe, xe)
        if t == _BOOL:
            if ve - vs != 1:
                raise _bad("bad critical flag", vs)
            t, vs, ve = _tlv(d, ve, xe)
        if t != _OCTETS or ve != xe:
            raise _bad("bad extension value", vs)
        if oid == _OID_BC:
            _, bs, be = _tlv(d, vs, ve, _SEQ)
            for t, is_, ie in _seq_items(d, bs, be, 2):
                if t == _BOOL and ie - is_ == 1:
                    c.is_ca = d[is_] != 0
                elif t == _INT and 0 < ie - is_ <= 2:
                    c.path_len = int.from_bytes(d[is_:ie], "big")
                else:
                    raise _bad("bad basicConstraints", is_)
        elif oid == _OID_SKI:
            _, ks, ke = _tlv(d, vs, ve, _OCTETS)
            if ke == ks:  # would be sent as an empty auth, which no server AKI can match
                raise _bad("empty subjectKeyIdentifier (reissue the CA with a real key identifier)", ks)
            c.ski = d[ks:ke]
        elif oid == _OID_AKI:
            _, as_, ae = _tlv(d, vs, ve, _SEQ)
            for t, is_, ie in _seq_items(d, as_, ae, 3):
                if t == 0x80:
                    c.aki = d[is_:ie]
        elif oid == _OID_SAN:
            _, ns, ne = _tlv(d, vs, ve, _SEQ)
            for t, is_, ie in _seq_items(d, ns, ne):
                if t == 0x82:
                    c.san_dns.append(_text(0x16, d, is_, ie))
                elif t == 0x87 and ie - is_ == 4:
                    c.san_ip.append("%d.%d.%d.%d" % tuple(d[is_:ie]))
                elif t == 0x87 and ie - is_ == 16:
                    c.san_ip.append(":".join("%x" % int.from_bytes(d[i:i + 2], "big") for i in range(is_, ie, 2)))
        elif oid == _OID_CRL:
            _, ps, pe = _tlv(d, vs, ve, _SEQ)
            for t, ds, de in _seq_items(d, ps, pe):  # DistributionPoint
                for t, ns, ne in _seq_items(d, ds, de, 3):
                    if t != 0xA0:  # [0] distributionPoint
                        continue
                    t, fs, fe = _tlv(d, ns, ne)
                    if t == 0xA0:  # [0] fullName
                        for t, us, ue in _seq_items(d, fs, fe):
                            if t == 0x86 and len(c.crl_urls) < _MAX_ITEMS:
                                c.crl_urls.append(_text(0x16, d, us, ue))


def parse_der(der, pem=None):
    """One DER certificate -> Certificate; any malformation -> CertError."""
    if not isinstance(der, bytes):
        der = bytes(der)
    try:
        return Certificate(der, pem)
    except (CertError, MemoryError):
        raise
    except Exception as exc:  # belt and braces: malformed input must never escape as another type
        raise CertError("malformed certificate (%s)%s" % (type(exc).__name__, _FIX_FORMAT))


def iter_pem(data):
    """Yield the certificates of PEM text one at a time (other PEM blocks, e.g. keys, are skipped)."""
    if isinstance(data, str):
        data = data.encode()
    pos = 0
    found = False
    while True:
        b = data.find(_BEGIN, pos)
        if b < 0:
            break
        s = b + len(_BEGIN)
        e = data.find(_END, s)
        if e < 0:
            raise CertError("PEM certificate at byte %d has no '-----END CERTIFICATE-----' line; the file is cut "
                            "short: copy the whole block" % b)
        if data.find(b"-----", s, e) >= 0:
            raise CertError("PEM certificate at byte %d contains another PEM marker before its END line; "
                            "fix the file" % b)
        pos = e + len(_END)
        if data[pos:pos + 2] == b"\r\n":
            pos += 2
        elif data[pos:pos + 1] == b"\n":
            pos += 1
        try:
            der = binascii.a2b_base64(memoryview(data)[s:e])
        except ValueError:
            raise CertError("PEM certificate at byte %d: bad base64; copy the block again unchanged" % b)
        found = True
        yield parse_der(der, bytes(data[b:pos]))
    if not found:
        raise CertError("no '-----BEGIN CERTIFICATE-----' block in the PEM text; give the CA certificate, "
                        "not a key or a request")


def parse(data):
    """PEM (one or more certificates) or DER -> list of Certificate."""
    if isinstance(data, str):
        data = data.encode()
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CertError("certificate data must be bytes or str, not %s" % type(data).__name__)
    if len(data) == 0:
        raise CertError("empty certificate data; read the file in binary mode ('rb')")
    if data[0] == _SEQ:
        return [parse_der(data)]
    if not isinstance(data, bytes):
        data = bytes(data)
    if _BEGIN[:10] in data:
        return list(iter_pem(data))
    raise CertError("neither PEM ('-----BEGIN CERTIFICATE-----') nor DER (starting with 0x30); give the CA "
                    "certificate file as exported")


def _profile(fw):
    fw = str(fw)
    if fw.startswith("1.0"):
        return 0
    if fw.startswith("1.1"):
        return 1
    raise CertError("unknown firmware %r; use '1.0' or '1.1' (AT+S.STS=fw_version)" % fw, "key_unsupported")


def key_problem(c, fw):
    """Why this firmware cannot use c's key, or None."""
    v11 = _profile(fw)
    if c.key_type == "RSA":
        if c.key_bits > 2048:
            return ("RSA-%d key: RSA above 2048 bits is not usable (RSA-4096 failed with Certificate Error:22); "
                    "reissue with a 2048-bit RSA key" % c.key_bits)
        if c.key_bits < 1024:
            return "RSA-%d key is too small; reissue with a 2048-bit RSA key" % c.key_bits
        return None
    if c.key_type == "EC" and v11 and c.curve == "P-256":
        return None
    if c.key_type == "EC" and not v11:
        return "EC key (%s): FW 1.0 does RSA only; use an RSA-2048 CA or update the module to FW 1.1" % c.curve
    return "%s key (%s) is not supported by FW %s; use RSA-2048%s" % (
        c.key_type, c.curve or c.key_bits, fw, " or EC P-256" if v11 else "")


def check(cert, now, fw="1.1", kind="ca"):
    """Pre-flight check before any AT traffic. now: UNIX epoch of the module clock, or None if unset.

    Raises CertError naming the first problem and its fix; returns None when the certificate can work."""
    if now is None:
        raise CertError("module clock unset: certificates are date-checked; set it first with "
                        "AT+S.TIME=<UNIX epoch> (the driver does this from a known time)", "clock_unset")
    if not _CLOCK_MIN <= now < _CLOCK_MAX:
        hint = ""
        if _CLOCK_MIN <= now + _EPOCH_2000 < _CLOCK_MAX:
            hint = " (looks like seconds since 2000: add %d)" % _EPOCH_2000
        raise CertError("module clock implausible: %s%s; set the real UTC time with AT+S.TIME=<UNIX epoch>" % (
            fmt_time(from_epoch(now)), hint), "clock_implausible")
    who = "CA '%s'" % cert.subject_cn if kind == "ca" else "certificate '%s'" % cert.subject_cn
    if now < to_epoch(cert.not_before):
        raise CertError("%s not valid yet: valid from %s, module clock %s; fix the clock or reissue the "
                        "certificate" % (who, fmt_time(cert.not_before), fmt_time(from_epoch(now))), "not_yet_valid")
    if now > to_epoch(cert.not_after):
        raise CertError("%s expired on %s (module clock %s); use a current CA (or fix the clock)" % (
            who, fmt_time(cert.not_after), fmt_time(from_epoch(now))), "expired")
    if kind == "ca" and not cert.is_ca:
        raise CertError("%s is not a CA (no basicConstraints CA:TRUE): load the CA that issued the server's "
                        "certificate, not the server certificate itself" % who, "not_ca")
    why = key_problem(cert, fw)
    if why:
        raise CertError("%s: %s" % (who, why), "key_unsupported")
    size = len(cert.stored)
    if size > MAX_STORED:
        fix = "send the DER form (%d bytes) instead" % cert.der_len if cert.pem is not None and \
            cert.der_len <= MAX_STORED else "use a CA with a smaller certificate (e.g. fewer extensions, EC P-256)"
        raise CertError("%s takes %d bytes; the module stores at most %d: %s" % (who, size, MAX_STORED, fix),
                        "too_large")
