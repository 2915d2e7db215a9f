# Why did a TLS SOCKON fail? The module says only "Certificate Error:<n>" and "ERROR:74". This ranks the
# likely causes from what the driver knows (clock, CA, auth, firmware, server name) - compact, on-device.
# It needs no X.509 code: the TLS store keeps the CA's name, dates and key id, and words the clock and CA
# problems itself (TLSStore._problems, shared with its pre-flight check).


def diagnose(m, sock, err):
    st = m.tls
    certerr = None
    for d in err.details:
        if d.startswith("Certificate Error:"):
            certerr = d[18:]
    out = [t for _, t in st._problems(m.clock())]
    if certerr is not None:
        if st.ca is not None:
            out.append("certificate error %s after CA '%s' (key id %s sent as auth): the server's chain must be "
                       "issued by that CA" % (certerr, st.ca, st.auth))
            ski = st.module_ski
            if ski and ski.replace(":", "").upper() != st.auth:
                out.append("the module read SKI %s from the CA, not %s" % (ski, st.auth))
        else:
            out.append("certificate error %s: the server's chain was refused" % certerr)
        if certerr == "22":
            out.append("a key above 2048 bits in the server's chain (RSA-4096 fails)")
    if sock.server_hostname:
        out.append("server name '%s' must match the server's certificate (CN/SAN)" % sock.server_hostname)
    if (m.fw or "").startswith("1.0"):
        out.append("FW 1.0 needs static RSA key exchange at TLS <= 1.2 (e.g. AES128-SHA256)")
    if certerr is None:
        p = sock.peer or ("the host", "the port")
        out.append("no certificate error: is a TLS server listening at %s:%s?" % (p[0], p[1]))
    return " ".join("%d) %s;" % (i + 1, t) for i, t in enumerate(out))[:-1]
