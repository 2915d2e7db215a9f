"""MicroPython's own asyncio streams (`asyncio.open_connection(host, port, ssl=...)`, unmodified, frozen into
the firmware) over the module's TLS: two connections busy at once against a real TLS echo server, and MQTT to
a real mosquitto broker checked by a host-side paho-mqtt client.

The MQTT packets are written by a few lines of test code below (CONNECT / SUBSCRIBE / PUBLISH as in MQTT
3.1.1): no third-party MQTT client for MicroPython can be fetched from a registry by pip, and none is copied
into this repository."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
import pytest

from compat_helpers import bring_up, run
from spwf04_tools.tls_server import EchoTLSServer

pytestmark = pytest.mark.virtual_only

ROUNDS = 4
# Message sizes that the virtual board's heap can afford with two TLS sockets and asyncio (about 12 KB free,
# no block above 1 KB): B still crosses a SOCKR/segment boundary now and then at 600 bytes.
SIZES = {"A": 300, "B": 600}

ECHO_SCENARIO = """\
import asyncio, hashlib
PATTERN = bytes(range(256)) * 4
order = []
both_open = asyncio.Event()
opened = []


async def client(tag, size):
    r, w = await asyncio.open_connection("localhost", {port}, ssl=True)
    w.write(b"HELLO " + tag + b"\\n")
    await w.drain()
    assert await r.readline() == b"HELLO " + tag + b"\\n"
    opened.append(tag)
    if len(opened) == 2:
        both_open.set()
    await both_open.wait()
    print("OPEN", tag.decode(), sum(1 for s in m.sockets() if s.tls))
    sent = hashlib.sha256()
    got = hashlib.sha256()
    for i in range(ROUNDS):
        data = PATTERN[i * 37 + tag[0] : i * 37 + tag[0] + size]
        w.write(data)
        await w.drain()
        back = await r.readexactly(size)
        sent.update(data)
        got.update(back)
        order.append(tag + str(i).encode())
    w.close()
    await w.wait_closed()
    print("DONE", tag.decode(), sent.digest() == got.digest())


async def main():
    await asyncio.gather(client(b"A", {size_a}), client(b"B", {size_b}))


ROUNDS = {rounds}
asyncio.run(main())
print("ORDER", b" ".join(order).decode())
print("SOCKETS", len(m.sockets()))
"""


def test_two_asyncio_tls_streams_busy_at_once(cboard, sim, pki) -> None:
    with EchoTLSServer(pki.fullchain_pem, pki.server.key_pem) as echo:
        out = run(cboard, bring_up() + ECHO_SCENARIO.format(port=echo.port, rounds=ROUNDS, size_a=SIZES["A"],
                                                            size_b=SIZES["B"]))
        received = echo.received
        connections = echo.connections
    # Both TLS sockets were open on the module at the same time, and every byte came back intact.
    assert "OPEN A 2" in out and "OPEN B 2" in out
    assert "DONE A True" in out and "DONE B True" in out
    assert "SOCKETS 0" in out
    assert connections == 2
    assert len(received) == sum(len(b"HELLO A\n") + ROUNDS * n for n in SIZES.values())
    order = out.split("ORDER ", 1)[1].split()[: 2 * ROUNDS]
    assert sorted(order) == sorted(f"{t}{i}" for t in "AB" for i in range(ROUNDS))
    # The exchanges were interleaved, not one connection after the other.
    assert order[:ROUNDS] != [f"{order[0][0]}{i}" for i in range(ROUNDS)], order
    sockon = [c.line for c in sim.commands if c.line.upper().startswith("AT+S.SOCKON")]
    assert sockon == [f"AT+S.SOCKON=localhost,{echo.port},NULL,localhost"] * 2


MQTT_SCENARIO = """\
import asyncio, ssl, struct


def field(b):
    return struct.pack("!H", len(b)) + b


def packet(kind, body):
    n = len(body)
    head = bytearray([kind])
    while True:
        d = n & 0x7F
        n >>= 7
        head.append(d | 0x80 if n else d)
        if not n:
            return bytes(head) + body


async def read_packet(r):
    kind = (await r.readexactly(1))[0]
    n = shift = 0
    while True:
        d = (await r.readexactly(1))[0]
        n |= (d & 0x7F) << shift
        shift += 7
        if not d & 0x80:
            return kind, await r.readexactly(n)


async def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile="ca.pem")  # the CA goes into the module through the client's own API
    r, w = await asyncio.open_connection("localhost", {port}, ssl=ctx)
    w.write(packet(0x10, field(b"MQTT") + bytes([4, 2, 0, 60]) + field(b"spwf04-board")))  # clean session
    await w.drain()
    kind, body = await read_packet(r)
    assert kind == 0x20 and body == bytes([0, 0]), (kind, body)  # CONNACK, accepted
    w.write(packet(0x82, bytes([0, 1]) + field(b"spwf04/cmd") + bytes([0])))  # SUBSCRIBE id 1, QoS 0
    await w.drain()
    kind, body = await read_packet(r)
    assert kind == 0x90 and body == bytes([0, 1, 0]), (kind, body)  # SUBACK id 1, QoS 0 granted
    kind, body = await read_packet(r)  # the retained command the host left for us
    assert kind & 0xF0 == 0x30, kind
    n = struct.unpack("!H", body[:2])[0]
    command = body[2 + n :]
    print("COMMAND", body[2 : 2 + n].decode(), command.decode())
    w.write(packet(0x32, field(b"spwf04/reply") + bytes([0, 7]) + b"done: " + command))  # PUBLISH QoS 1, id 7
    await w.drain()
    kind, body = await read_packet(r)
    assert kind == 0x40 and body == bytes([0, 7]), (kind, body)  # PUBACK id 7
    print("PUBACK")
    w.write(b"\\xe0\\x00")  # DISCONNECT
    await w.drain()
    w.close()
    await w.wait_closed()


asyncio.run(main())
print("SOCKETS", len(m.sockets()))
"""


class Subscriber:
    """paho-mqtt on the host, over TLS with the test CA: publishes the retained command and collects replies."""

    def __init__(self, port: int, ca: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.subscribed = threading.Event()
        self.arrived = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="host-checker")
        c.tls_set(ca_certs=ca)
        c.on_connect = lambda cl, ud, flags, rc, props: cl.subscribe("spwf04/reply", qos=1)
        c.on_subscribe = lambda cl, ud, mid, rcs, props: self.subscribed.set()
        c.on_message = self._on_message
        self.client = c
        c.connect("localhost", port, keepalive=30)
        c.loop_start()

    def _on_message(self, client, userdata, msg) -> None:
        self.messages.append((msg.topic, msg.payload))
        self.arrived.set()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_mqtt_over_asyncio_tls_to_mosquitto(cboard, sim, pki, mosquitto) -> None:
    host = Subscriber(mosquitto.port, str(pki.ca_pem))
    try:
        assert host.subscribed.wait(10), mosquitto.output()
        host.client.publish("spwf04/cmd", b"blink 3", qos=1, retain=True).wait_for_publish(10)
        out = run(cboard, bring_up(load_ca=False) + MQTT_SCENARIO.format(port=mosquitto.port))
        assert host.arrived.wait(10), (out, mosquitto.output())
    finally:
        host.close()
    assert "COMMAND spwf04/cmd blink 3" in out
    assert "PUBACK" in out and "SOCKETS 0" in out
    assert host.messages == [("spwf04/reply", b"done: blink 3")]
    log = mosquitto.output()
    assert "spwf04-board" in log  # the device's client reached the real broker
    # The CA given to SSLContext.load_verify_locations went into the module.
    loads = [c.line for c in sim.commands if c.line.lower().startswith("at+s.tlscert=ca")]
    assert len(loads) == 1
    assert sim.tls_store.ca == pki.ca_der.read_bytes()  # FW 1.1 is given the DER
