"""The provider itself on the board: what install() puts in place of socket/ssl/tls, the lazy open, plain
TCP, poll readiness, the old ssl.wrap_socket(), and every misuse answered with a clear error."""

from __future__ import annotations

import pytest

from compat_helpers import TCPEcho, bring_up, run
from spwf04_tools.tls_server import EchoTLSServer, free_port

pytestmark = pytest.mark.virtual_only


def _sockon(sim) -> list[str]:
    return [c.line for c in sim.commands if c.line.upper().startswith("AT+S.SOCKON")]


def test_install_replaces_socket_ssl_tls_and_uninstall_restores(cboard, sim) -> None:
    # The unix port has a built-in socket (which install() must shadow and uninstall() bring back); the F401RE
    # firmware and the qemu board have none (uninstall() leaves no socket module then).
    out = run(cboard, """\
import sys, wifi_board, spwf04compat
try:
    import socket as builtin_socket
except ImportError:
    builtin_socket = None
if builtin_socket:
    import requests  # imported too early: it keeps the built-in socket, and install() says so
m = wifi_board.module()
spwf04compat.install(m)
import socket, ssl, tls, usocket, ussl
print("NAMES", socket.__name__, usocket.__name__, ssl.__name__, tls.__name__, ussl.__name__)
print("BUILTIN", builtin_socket is not None)
if builtin_socket:
    print("EARLY", requests.socket is builtin_socket)
spwf04compat.install(m)  # again: harmless
spwf04compat.uninstall()
try:
    import socket
    restored = socket is builtin_socket
except ImportError:
    restored = builtin_socket is None
print("RESTORED", restored, "tls" in sys.modules)
spwf04compat.install(m)
sys.modules.pop("requests", None)
import requests
print("LATE", requests.socket.__name__)
""")
    assert "NAMES spwf04compat.socket spwf04compat.socket spwf04compat.ssl spwf04compat.ssl spwf04compat.ssl" in out
    if "BUILTIN True" in out:
        assert "EARLY True" in out
        assert "WARNING: spwf04: requests was imported before spwf04compat.install()" in out
    assert "RESTORED True False" in out
    assert "LATE spwf04compat.socket" in out
    assert _sockon(sim) == []


def test_plain_tcp_lazy_open_poll_and_nonblocking_reads(cboard, sim) -> None:
    with TCPEcho() as echo:
        out = run(cboard, bring_up(load_ca=False) + f"""\
import socket, select
ai = socket.getaddrinfo("127.0.0.1", {echo.port}, 0, socket.SOCK_STREAM)
print("AI", ai)
s = socket.socket(ai[0][0], ai[0][1], ai[0][2])
s.connect(ai[0][-1])
print("AFTER CONNECT", len(m.sockets()))  # recorded only: the module is not asked yet
p = select.poll()
p.register(s, select.POLLIN | select.POLLOUT)
print("POLL PENDING", [ev for _, ev in p.poll(0)])  # ready: the next read or write opens it
s.write("ping\\n")  # str, as some clients write header names
print("OPENED", len(m.sockets()), s.readline())
s.setblocking(False)
print("NOTHING YET", s.read(), s.read(5), s.readline())
s.write(b"line one\\nline two\\n")
p.register(s, select.POLLIN)
got = b""
while got.count(b"\\n") < 2:
    p.poll(5000)
    got += s.read() or b""
print("GOT", got)
s.write(b"quit\\n")
while True:
    p.poll(5000)
    b = s.read()
    if b is not None:
        break
print("EOF", b)
s.close()
print("CLOSED", len(m.sockets()))
""")
    assert f"AI [(2, 1, 6, '', ('127.0.0.1', {echo.port}))]" in out
    assert "AFTER CONNECT 0" in out
    assert "POLL PENDING [5]" in out
    assert "OPENED 1 b'ping\\n'" in out
    assert "NOTHING YET None None None" in out
    assert "GOT b'line one\\nline two\\n'" in out
    assert "EOF b''" in out
    assert "CLOSED 0" in out
    assert _sockon(sim) == [f"AT+S.SOCKON=127.0.0.1,{echo.port},NULL,t"]


def test_old_ssl_wrap_socket_with_cadata(cboard, sim, pki) -> None:
    with EchoTLSServer(pki.fullchain_pem, pki.server.key_pem) as echo:
        out = run(cboard, bring_up(load_ca=False) + f"""\
import socket, ssl
with open("ca.pem", "rb") as f:
    ca = f.read()
s = socket.socket()
s.connect(socket.getaddrinfo("localhost", {echo.port})[0][-1])
s = ssl.wrap_socket(s, server_hostname="localhost", cadata=ca, cert_reqs=ssl.CERT_REQUIRED)
print("OPEN AT WRAP", len(m.sockets()), m.sockets()[0].tls)  # do_handshake: opened by wrap_socket
s.write(b"over TLS\\n")
print("ECHO", s.readline())
s.close()
""")
    assert "OPEN AT WRAP 1 True" in out
    assert "ECHO b'over TLS\\n'" in out
    assert _sockon(sim) == [f"AT+S.SOCKON=localhost,{echo.port},NULL,localhost"]
    assert sim.tls_store.ca == pki.ca_der.read_bytes()


def test_misuse_gets_clear_errors(cboard, sim, pki) -> None:
    closed = free_port()  # nothing listens there
    with TCPEcho() as echo:
        out = run(cboard, bring_up() + f"""\
import socket, ssl, select


def attempt(what, f):
    try:
        f()
        print(what, "no error")
    except Exception as e:
        print(what, type(e).__name__, e)


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
attempt("UDP", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
attempt("SERVER CTX", lambda: ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
attempt("SERVER SIDE", lambda: ctx.wrap_socket(socket.socket(), server_side=True))
attempt("FOREIGN", lambda: ctx.wrap_socket(object()))
attempt("BIND", lambda: socket.socket().bind(("0.0.0.0", 80)))
attempt("NO KEY", lambda: ctx.load_cert_chain("cert.pem"))
s = socket.socket()
s.connect(("127.0.0.1", {echo.port}))
attempt("CONNECT TWICE", lambda: s.connect(("127.0.0.1", {echo.port})))
attempt("BAD HOST", lambda: socket.socket().connect(("a,b", 443)))
s.write(b"x\\n")
attempt("WRAP AFTER IO", lambda: ctx.wrap_socket(s, server_hostname="localhost"))
s.close()
# A TLS socket whose open fails (nothing listens there): the failure is raised by the first write, and
# afterwards poll and every call report it instead of a socket that never opened.
t = ctx.wrap_socket(socket.socket(), server_hostname="localhost", do_handshake_on_connect=False)
t.connect(("localhost", {closed}))
attempt("TLS TO CLOSED PORT", lambda: t.write(b"hello"))
p = select.poll()
p.register(t, select.POLLIN)
print("POLL AFTER FAILURE", [ev & select.POLLERR for _, ev in p.poll(0)])
attempt("READ AFTER FAILURE", lambda: t.read(1))
t.close()
print("SOCKETS", len(m.sockets()))
""")
    assert "UDP OSError" in out and "TCP over IPv4 only" in out
    assert "SERVER CTX ValueError" in out and "client connections only" in out
    assert "SERVER SIDE ValueError" in out
    assert "FOREIGN TypeError" in out and "spwf04compat.install()" in out
    assert "BIND OSError" in out and "server sockets are not supported" in out
    assert "NO KEY ValueError" in out
    assert "CONNECT TWICE OSError" in out
    assert "BAD HOST ValueError" in out and "without ','" in out
    assert "WRAP AFTER IO OSError" in out and "before the first read or write" in out
    assert "TLS TO CLOSED PORT ModuleError" in out and "AT-S.ERROR:74" in out
    assert "POLL AFTER FAILURE [8]" in out
    assert "READ AFTER FAILURE OSError" in out and "open failed" in out
    assert "SOCKETS 0" in out
    # Two opens reached the module: the plain socket, and the failing TLS one.
    assert _sockon(sim) == [f"AT+S.SOCKON=127.0.0.1,{echo.port},NULL,t",
                            f"AT+S.SOCKON=localhost,{closed},NULL,localhost"]
