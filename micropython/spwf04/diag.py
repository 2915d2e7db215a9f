# Why did a TLS SOCKON fail? The module says only "Certificate Error:<n>" and "ERROR:74". This ranks the
# likely causes from what the driver knows (clock, CA, auth, firmware, server name) - compact, on-device.
# It needs no X.509 code: the TLS store keeps the CA's name, dates and key id.
from .module import ymd


def diagnose(m, sock, err):
    st = m._tls
    ca = st.ca if st is not None else None
    fw = m.fw or "?"
    now = m.clock()
    certerr = None
    for d in err.details:
        if d.startswith("Certificate Error:"):
            certerr = d[18:]
    out = []
    if now is None:
        out.append("module clock not set since it booted (m.settime())")
    elif ca is not None:
        a, b = st.ca_valid
        if not a <= now <= b:
            out.append("CA '%s' valid %s..%s, not at the module clock %s" % (ca, ymd(a), ymd(b), ymd(now)))
    if ca is None:
        out.append("no CA loaded since the module booted (m.tls.load_ca())")
    if certerr is not None:
        if ca is not None:
            out.append("certificate error %s after CA '%s' whose key id %s was sent as auth: the server's "
                       "chain must be issued by that CA (its AKI = that id)" % (certerr, ca, st.auth))
            ski = st.module_ski
            if ski and ski.replace(":", "").upper() != st.auth:
                out.append("the module read SKI %s from the CA, not %s" % (ski, st.auth))
        else:
            out.append("certificate error %s: the server chain was not accepted" % certerr)
        if certerr == "22":
            out.append("a key above 2048 bits in the server chain (RSA-4096 reported failing)")
    if sock.server_hostname:
        out.append("server name '%s' must match the server certificate (CN/SAN)" % sock.server_hostname)
    if fw.startswith("1.0"):
        out.append("FW 1.0 needs a static-RSA suite at TLS <= 1.2 (e.g. AES128-SHA256): ECDHE-only, ECDSA or "
                   "TLS 1.3-only servers fail")
    if certerr is None:
        out.append("no certificate error reported: is a TLS server listening at %s:%s?" % (
            sock.peer[0] if sock.peer else "the host", sock.peer[1] if sock.peer else "the port"))
    return " ".join("%d) %s;" % (i + 1, t) for i, t in enumerate(out))[:-1]
