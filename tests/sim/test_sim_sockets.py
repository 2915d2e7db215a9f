"""Client sockets over real loopback TCP/UDP: SOCKON/W/Q/R/C/L, +WIND:55, +WIND:58, limits and errors."""

from __future__ import annotations

import os

import pytest
from sim_helpers import Module, TcpPeer

pytestmark = pytest.mark.timeout(60)


def test_tcp_socket_round_trip(module: Module, peer: TcpPeer) -> None:
    module.join()
    link = module.link
    on = b"AT+S.SOCKON=127.0.0.1,%d,NULL,t" % peer.port
    assert link.cmd(on) == on + b"\r\nAT-S.On:127.0.0.1:0\r\nAT-S.OK\r\n"
    peer.wait_connections()
    assert link.cmd(b"AT+S.SOCKW=0,5", b"hello") == b"AT+S.SOCKW=0,5\r\nAT-S.OK\r\n"
    assert peer.wait_received(5) == b"hello"
    peer.send(b"world")
    assert link.read_line() == b"+WIND:55:Pending Data::0:5:5\r\n"
    assert link.cmd(b"AT+S.SOCKQ=0") == b"AT+S.SOCKQ=0\r\nAT-S.Query:5\r\nAT-S.OK\r\n"
    assert link.cmd(b"AT+S.SOCKC=0") == b"AT+S.SOCKC=0\r\nAT-S.ERROR:77:Pending data\r\n"
    assert link.cmd(b"AT+S.SOCKR=0,3") == b"AT+S.SOCKR=0,3\r\nAT-S.Reading:3:5\r\nworAT-S.OK\r\n"
    assert link.cmd(b"AT+S.SOCKR=0,2") == b"AT+S.SOCKR=0,2\r\nAT-S.Reading:2:2\r\nldAT-S.OK\r\n"
    assert link.cmd(b"AT+S.SOCKQ=0") == b"AT+S.SOCKQ=0\r\nAT-S.Query:0\r\nAT-S.OK\r\n"
    assert link.cmd(b"AT+S.SOCKC=0") == b"AT+S.SOCKC=0\r\nAT-S.OK\r\n"
    assert module.sim.sockets == {}


def test_empty_third_field_and_binary_data(module: Module, peer: TcpPeer) -> None:
    module.join()
    link = module.link
    link.cmd(b"AT+S.SCFG=console_echo,0")
    assert link.cmd(b"AT+S.SOCKON=localhost,%d,,t" % peer.port) == b"AT-S.On:127.0.0.1:0\r\nAT-S.OK\r\n"
    peer.wait_connections()
    data = bytes(range(256)) + b"AT-S.OK\r\n+WIND:55:x\r\n\x00" + os.urandom(400)
    assert link.cmd(b"AT+S.SOCKW=0,%d" % len(data), data) == b"AT-S.OK\r\n"
    assert peer.wait_received(len(data)) == data
    peer.send(data)
    total = 0
    while total < len(data):  # the module caps segments at 730: arrivals come as they were received
        line = link.read_line()
        assert line.startswith(b"+WIND:55:Pending Data::0:")
        total = int(line.split(b":")[-1])
    link.send(b"AT+S.SOCKR=0,%d\r" % len(data))
    assert link.read_line() == b"AT-S.Reading:%d:%d\r\n" % (len(data), len(data))
    assert link.read_exactly(len(data)) == data
    assert link.read_line() == b"AT-S.OK\r\n"


def test_peer_close_keeps_id_until_sockc(module: Module, peer: TcpPeer) -> None:
    module.join()
    link = module.link
    link.cmd(b"AT+S.SOCKON=127.0.0.1,%d,NULL,t" % peer.port)
    peer.wait_connections()
    peer.send(b"bye")
    assert link.read_line() == b"+WIND:55:Pending Data::0:3:3\r\n"
    peer.close_client()
    assert link.read_line() == b"+WIND:58:Socket Closed:0:1\r\n"
    assert link.cmd(b"AT+S.SOCKW=0,1", b"x") == b"AT+S.SOCKW=0,1\r\nAT-S.ERROR:78:Socket not connected\r\n"
    assert link.cmd(b"AT+S.SOCKQ=0") == b"AT+S.SOCKQ=0\r\nAT-S.Query:3\r\nAT-S.OK\r\n"
    assert link.cmd(b"AT+S.SOCKC=0") == b"AT+S.SOCKC=0\r\nAT-S.ERROR:77:Pending data\r\n"
    assert link.cmd(b"AT+S.SOCKR=0,3") == b"AT+S.SOCKR=0,3\r\nAT-S.Reading:3:3\r\nbyeAT-S.OK\r\n"
    assert link.cmd(b"AT+S.SOCKC=0") == b"AT+S.SOCKC=0\r\nAT-S.OK\r\n"
    assert link.cmd(b"AT+S.SOCKQ=0") == b"AT+S.SOCKQ=0\r\nAT-S.ERROR:76:Illegal Socket ID\r\n"


def test_eight_sockets_then_error_75(module: Module, peer: TcpPeer) -> None:
    module.join()
    link = module.link
    link.cmd(b"AT+S.SCFG=console_echo,0")
    for i in range(8):
        assert link.cmd(b"AT+S.SOCKON=127.0.0.1,%d,NULL,t" % peer.port) == b"AT-S.On:127.0.0.1:%d\r\nAT-S.OK\r\n" % i
    assert link.cmd(b"AT+S.SOCKON=127.0.0.1,%d,NULL,t" % peer.port) == b"AT-S.ERROR:75:Too many sockets\r\n"
    listing = link.cmd(b"AT+S.SOCKL")
    assert listing.count(b"AT-S.Socket:") == 8 and listing.endswith(b"AT-S.OK\r\n")
    assert link.cmd(b"AT+S.SOCKC=3") == b"AT-S.OK\r\n"
    assert link.cmd(b"AT+S.SOCKON=127.0.0.1,%d,NULL,t" % peer.port) == b"AT-S.On:127.0.0.1:3\r\nAT-S.OK\r\n"


def test_socket_errors(module: Module, peer: TcpPeer) -> None:
    link = module.link
    link.cmd(b"AT+S.SCFG=console_echo,0")
    assert link.cmd(b"AT+S.SOCKON=127.0.0.1,%d,NULL,t" % peer.port) == b"AT-S.ERROR:44:Wait for Connection Up\r\n"
    module.join()
    refused = TcpPeer()
    port = refused.port
    refused.stop()
    assert link.cmd(b"AT+S.SOCKON=127.0.0.1,%d,NULL,t" % port) == b"AT-S.ERROR:74:Failed to open socket\r\n"
    assert link.cmd(b"AT+S.SOCKON=192.0.2.1,80,NULL,t") == b"AT-S.ERROR:74:Failed to open socket\r\n"
    assert link.cmd(b"AT+S.SOCKON=no.such.name,80,NULL,t") == b"AT-S.ERROR:74:Failed to open socket\r\n"
    assert link.cmd(b"AT+S.SOCKON=127.0.0.1,%d,NULL" % peer.port) == b"AT-S.ERROR:2:Missing argument(s)\r\n"
    assert link.cmd(b"AT+S.SOCKW=9,2", b"ab") == b"AT-S.ERROR:76:Illegal Socket ID\r\n"  # payload still taken
    assert link.cmd(b"AT") == b"AT-S.OK\r\n"
    assert link.cmd(b"AT+S.SOCKR=0,1") == b"AT-S.ERROR:76:Illegal Socket ID\r\n"
    assert link.cmd(b"AT+S.SOCKC=x") == b"AT-S.ERROR:76:Illegal Socket ID\r\n"


def test_hosts_map_names(make_module, peer: TcpPeer) -> None:
    m = make_module(hosts={"server.test": "127.0.0.1"})
    m.join()
    assert m.link.cmd(b"AT+S.SOCKON=server.test,%d,NULL,t" % peer.port).endswith(
        b"AT-S.On:127.0.0.1:0\r\nAT-S.OK\r\n")


def test_udp_socket(module: Module) -> None:
    peer = TcpPeer(udp=True)
    try:
        module.join()
        link = module.link
        link.cmd(b"AT+S.SCFG=console_echo,0")
        assert link.cmd(b"AT+S.SOCKON=127.0.0.1,%d,NULL,u" % peer.port) == b"AT-S.On:127.0.0.1:0\r\nAT-S.OK\r\n"
        assert link.cmd(b"AT+S.SOCKW=0,4", b"ping") == b"AT-S.OK\r\n"
        assert peer.wait_received(4) == b"ping"
        peer.send(b"pong")
        assert link.read_line() == b"+WIND:55:Pending Data::0:4:4\r\n"
        assert link.cmd(b"AT+S.SOCKR=0,4") == b"AT-S.Reading:4:4\r\npongAT-S.OK\r\n"
    finally:
        peer.stop()


def test_flow_control_holds_the_peer(make_module, peer: TcpPeer) -> None:
    from sim_helpers import fast_config
    cfg = fast_config()
    cfg.behaviour.socket_rx_cap = 2000
    m = make_module(cfg)
    m.join()
    link = m.link
    link.cmd(b"AT+S.SCFG=console_echo,0")
    link.cmd(b"AT+S.SOCKON=127.0.0.1,%d,NULL,t" % peer.port)
    peer.wait_connections()
    blob = os.urandom(50_000)
    import threading
    sender = threading.Thread(target=peer.send, args=(blob,), daemon=True)
    sender.start()
    got = bytearray()
    while len(got) < len(blob):
        link.drain(0.05)  # WIND:55 lines
        q = link.cmd(b"AT+S.SOCKQ=0")
        n = int(q.split(b"AT-S.Query:")[1].split(b"\r\n")[0])
        assert n <= 2000 + 730  # the module never buffers much more than its cap
        if n:
            link.send(b"AT+S.SOCKR=0,%d\r" % n)
            header = link.read_until(b"AT-S.Reading:")
            assert header.endswith(b"AT-S.Reading:")
            link.read_line()
            got += link.read_exactly(n)
            assert link.read_line() == b"AT-S.OK\r\n"
    sender.join(5)
    assert bytes(got) == blob


def _echo_off_socket(m: Module, peer: TcpPeer) -> None:
    m.join()
    m.link.cmd(b"AT+S.SCFG=console_echo,0")
    assert m.link.cmd(b"AT+S.SOCKON=127.0.0.1,%d,NULL,t" % peer.port) == b"AT-S.On:127.0.0.1:0\r\nAT-S.OK\r\n"
    peer.wait_connections()


def test_full_receive_buffer_drops_and_says_wind63(make_module, peer: TcpPeer) -> None:
    """rx_overflow="drop": a bounded buffer, no flow control; what does not fit is lost, +WIND:63 says so."""
    from spwf04_tools.sim.config import Behaviour
    m = make_module(behaviour=Behaviour(rx_overflow="drop", socket_rx_cap=1000))
    _echo_off_socket(m, peer)
    peer.send(b"a" * 600)
    assert m.link.read_line() == b"+WIND:55:Pending Data::0:600:600\r\n"
    peer.send(b"b" * 600)
    assert m.link.read_line() == b"+WIND:55:Pending Data::0:400:1000\r\n"
    assert m.link.read_line() == b"+WIND:63:Socket Dropping Data:0:200\r\n"
    assert m.link.cmd(b"AT+S.SOCKQ=0") == b"AT-S.Query:1000\r\nAT-S.OK\r\n"
    assert m.sim.engine.sockets[0].dropped == 200


def test_default_buffer_holds_the_peer_instead(make_module, peer: TcpPeer) -> None:
    from spwf04_tools.sim.config import Behaviour
    m = make_module(behaviour=Behaviour(socket_rx_cap=1000))
    _echo_off_socket(m, peer)
    peer.send(b"c" * 3000)
    m.sim.wait_for(lambda: len(m.sim.engine.sockets[0].pending) >= 1000, 5, "buffer full")
    assert b"+WIND:63" not in m.link.quiet(0.3)
    entry = m.sim.engine.sockets[0]
    got = 0
    while got < 3000:  # reading makes room: the held bytes come, none lost
        m.sim.wait_for(lambda: len(entry.pending) > 0, 5, "more data")
        n = len(entry.pending)
        assert m.link.cmd(b"AT+S.SOCKR=0,%d" % n).endswith(b"c" * n + b"AT-S.OK\r\n")
        got += n
    assert got == 3000
    assert m.sim.engine.sockets[0].dropped == 0


@pytest.mark.parametrize("style", ["error", "short"])
def test_payload_cap_730(make_module, peer: TcpPeer, style: str) -> None:
    from spwf04_tools.sim.config import Behaviour
    m = make_module(behaviour=Behaviour(payload_cap=730, payload_cap_style=style))
    _echo_off_socket(m, peer)
    assert m.link.cmd(b"AT+S.SOCKW=0,731", b"x" * 731) == b"AT-S.ERROR:32:Argument exceeds allowed size\r\n"
    assert m.link.cmd(b"AT+S.SOCKW=0,730", b"x" * 730) == b"AT-S.OK\r\n"
    peer.send(b"y" * 1000)
    m.sim.wait_for(lambda: len(m.sim.engine.sockets[0].pending) == 1000, 5, "data")
    out = m.link.cmd(b"AT+S.SOCKR=0,1000")
    out = out[out.find(b"AT-S."):]  # (WIND 55 lines before the answer)
    if style == "error":
        assert out == b"AT-S.ERROR:32:Argument exceeds allowed size\r\n"
    else:
        assert out == b"AT-S.Reading:730:1000\r\n" + b"y" * 730 + b"AT-S.OK\r\n"
