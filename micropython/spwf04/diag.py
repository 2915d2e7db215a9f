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
    out = st._problems(m.clock())[1::2]  # the texts of [code, text, ...]
    if certerr is not None:
        out.append("certificate error " + certerr + (": the server's chain was refused" if st.ca is None else
                   " after CA '%s' (key id %s sent as auth): the server's chain must be issued by that CA" % (
                       st.ca, st.auth)))
        ski = st.module_ski
        if ski and ski.replace(":", "").upper() != st.auth:  # (None without a CA)
            out.append("the module read SKI %s from the CA, not %s" % (ski, st.auth))
        if certerr == "22":
            out.append("a key above 2048 bits in the server chain (RSA-4096 fails)")
    if sock.server_hostname:
        out.append("server name '%s' must match the certificate's CN/SAN" % sock.server_hostname)
    if (m.fw or "")[:3] == "1.0":
        out.append("FW 1.0 needs static RSA key exchange, TLS <= 1.2 (e.g. AES128-SHA256)")
    if certerr is None:
        out.append("no certificate error: is a TLS server at %s:%s?" % (sock.peer or ("the host", "the port")))
    # "1) ...; 2) ..."
    r = ""
    for i, t in enumerate(out):
        r += "%d) %s; " % (i + 1, t)
    return r[:-2]
