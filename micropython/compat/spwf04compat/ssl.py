# The `ssl` and `tls` modules that spwf04compat.install() puts in sys.modules (one module serves both names).
#
# The TLS runs inside the SPWF04SA, not here: the module checks the server's certificate chain against the CA
# loaded into it (m.tls.load_ca, or SSLContext.load_verify_locations below) and, when server_hostname is
# given, the server's name. verify_mode only records what the client asked for: CERT_NONE (which
# micropython-lib requests always sets) cannot turn the module's check off, and a TLS socket does not open
# until a CA is loaded. Connecting without any check is only possible through the driver itself
# (m.socket(insecure=True)), never by accident from client code.
import errno

from . import socket as _s

PROTOCOL_TLS_CLIENT = 0
PROTOCOL_TLS_SERVER = 1
CERT_NONE = 0
CERT_OPTIONAL = 1
CERT_REQUIRED = 2

_ca = None  # (the Certificate the module holds, the bytes it came from): skip reloading the same CA


def _mod():
    m = _s._m
    if m is None:
        raise OSError(errno.ENODEV, "no SPWF04SA module: call spwf04compat.install(module) first")
    return m


def _data(x):
    # str: a file name (as in MicroPython's ssl); bytes: the PEM or DER itself.
    if isinstance(x, str):
        with open(x, "rb") as f:
            return f.read()
    return x


class SSLContext:
    def __init__(self, protocol=PROTOCOL_TLS_CLIENT):
        if protocol != PROTOCOL_TLS_CLIENT:
            raise ValueError("the SPWF04SA does TLS client connections only: use PROTOCOL_TLS_CLIENT")
        self.verify_mode = CERT_REQUIRED  # informational: the module always checks (see above)

    def load_verify_locations(self, cafile=None, cadata=None):
        """Load the CA into the module (one certificate, PEM or DER; checked on the board first)."""
        global _ca
        data = _data(cafile) if cafile is not None else cadata
        if data is None:
            raise ValueError("give cafile= or cadata=")
        if isinstance(data, str):
            data = data.encode()
        store = _mod().tls
        if _ca is not None and store.ca is _ca[0] and _ca[1] == data:
            return  # already loaded since the module last booted
        _ca = (store.load_ca(data), data)

    def load_cert_chain(self, certfile, keyfile=None):
        """Own certificate and key for mutual TLS, stored in the module (file names or bytes)."""
        if keyfile is None:
            raise ValueError("give the private key too: load_cert_chain(certfile, keyfile)")
        store = _mod().tls
        store.load_cert(_data(certfile))
        store.load_key(_data(keyfile))

    def wrap_socket(self, sock, server_side=False, do_handshake_on_connect=True, server_hostname=None):
        """The same socket, now opening as TLS through the module (SNI and name check: server_hostname); the
        handshake runs at connect() or at the first read or write."""
        if server_side:
            raise ValueError("the SPWF04SA does TLS client connections only (server_side=True)")
        if not isinstance(sock, _s.socket):
            raise TypeError("not a socket of the SPWF04SA provider: create it with socket.socket() after "
                            "spwf04compat.install()")
        return sock._tls(server_hostname, do_handshake_on_connect)


def wrap_socket(sock, server_side=False, key=None, cert=None, cert_reqs=CERT_NONE, cadata=None,
                server_hostname=None, do_handshake=True):
    """MicroPython's ssl.wrap_socket(); cert_reqs is recorded only (the module always checks)."""
    c = SSLContext(PROTOCOL_TLS_SERVER if server_side else PROTOCOL_TLS_CLIENT)
    c.verify_mode = cert_reqs
    if cadata is not None:
        c.load_verify_locations(cadata=cadata)
    if cert is not None or key is not None:
        c.load_cert_chain(cert, key)
    return c.wrap_socket(sock, server_side, do_handshake, server_hostname)
