# Why did a TLS SOCKON fail? The module says only "Certificate Error:<n>" and "ERROR:74". This ranks the
# likely causes from what the driver knows (clock, CA, auth, firmware, server name) - compact, on-device.
# It needs no X.509 code: the TLS store keeps the CA's name, dates and key id, and words the clock and CA
# problems itself (TLSStore.problems, shared with its pre-flight check).
#
# The module's certificate error number picks the first cause. No table of these numbers is published;
# docs/diagnosis.md gives the mapping below with the source of each entry (users' reports for 23 and 22;
# 3 and 5 seen in logs with no meaning given, read here as the simulator reads them).
from .utc import ymd


def _clock(m):
    # "2026-12-06 (set by hand with AT+S.TIME)": what the date checks ran against, and who set it
    now = m.clock()
    if now is None:
        return "not set since boot"
    return ymd(now) + (" (set by hand with AT+S.TIME, not m.settime())" if m.clock_by_hand else "")


def _first(m, sock, code, st):
    # The cause the module's number points at, or None (then the driver's own findings come first)
    if code == "5":  # a name mismatch as far as logs and the simulator tell
        n = sock.server_hostname
        return ("certificate error 5 (name mismatch): server name '%s' must match the server certificate's "
                "SAN/CN: connect with a name it carries, or reissue it" % n) if n else (
                "certificate error 5 (name mismatch): no server name was sent; check the certificate's SAN/CN")
    if code == "3":  # meaning unsourced; the simulator's choice for dates at the module clock
        return ("certificate error 3 (meaning unpublished; dates, as far as known): the server's certificate or "
                "an intermediate is outside its validity at the module clock %s: check their dates "
                "(openssl x509 -noout -dates) against it" % _clock(m))
    if code == "23" and st.ca is not None:  # "the CA could not be found", as users reported it
        return ("certificate error 23 (issuer not found) after CA '%s' (key id %s sent as auth): a missing "
                "intermediate (the server must send the CA(s) between its certificate and that CA), or a chain "
                "not issued by that CA (its AKI must be that id)" % (st.ca, st.auth))
    return None


def diagnose(m, sock, err):
    """Likely causes of a failed TLS SOCKON (err: its ModuleError), most likely first, as one string: from the
    module's Certificate Error code, the loaded CA and the module clock."""
    st = m.tls
    certerr = None
    for d in err.details:
        if d.startswith("Certificate Error:"):
            certerr = d[18:]
    first = _first(m, sock, certerr, st)
    out = st.problems(m.clock())[1::2]  # the texts of [code, text, ...]
    if certerr == "3":
        out.append(first)  # the clock and the CA's dates are date causes too, and known ones: before it
    elif first:
        out.insert(0, first)
    if certerr is not None and (certerr != "23" or not first):  # the chain: later, as 3 and 5 are unsourced
        out.append("certificate error " + certerr + (": the server's chain was refused" if st.ca is None else
                   " after CA '%s' (key id %s sent as auth): the server's chain must be issued by that CA" % (
                       st.ca, st.auth)))
    if certerr is not None:
        ski = st.module_ski
        if ski and ski.replace(":", "").upper() != st.auth:  # (None without a CA)
            out.append("the module read SKI %s from the CA, not %s" % (ski, st.auth))
        if certerr == "22":
            out.append("a key above 2048 bits in the server chain (RSA-4096 fails)")
    if sock.server_hostname and certerr != "5":
        out.append("server name '%s' must match the certificate's CN/SAN" % sock.server_hostname)
    if (m.fw or "")[:3] == "1.0":
        out.append("FW 1.0 needs static RSA key exchange, TLS <= 1.2 (e.g. AES128-SHA256)")
    if certerr is None:
        # (no certificate came: no server there, or none of the module's suites - AES-CBC, TLS <= 1.2 - accepted)
        out.append("no certificate error: is a TLS server at %s:%s, accepting a suite the module offers (AES-CBC, "
                   "TLS <= 1.2; spwf04 doctor --server lists them)?" % (sock.peer or ("the host", "the port")))
    # "1) ...; 2) ..."
    r = ""
    for i, t in enumerate(out):
        r += "%d) %s; " % (i + 1, t)
    return r[:-2]
