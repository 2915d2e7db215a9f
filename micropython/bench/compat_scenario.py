# The unmodified-client scenario for the 32-bit memory figures: a `requests` GET over TLS, then two asyncio TLS
# streams open at once, both through spwf04compat; the heap measured (gc.mem_free() right after gc.collect())
# at each checkpoint, with both asyncio sockets open at the "both open" one.
#
#   import bench.compat_scenario as S; S.main(ssid, key, "ca.pem", https_port, echo_port, "localhost")
import gc

from bench import common as C

marks = []


def checkpoint(label):
    gc.collect()
    marks.append([label, gc.mem_alloc(), gc.mem_free()])


def _asyncio_pair(name, port):
    import asyncio

    echoed = {}
    opened = []

    async def client(tag):
        r, w = await asyncio.open_connection(name, port, ssl=True)
        opened.append(tag)
        while len(opened) < 2:  # hold the socket until the other one is open too
            await asyncio.sleep_ms(10)
        if tag == b"A":
            checkpoint("asyncio: two TLS sockets open")
        line = tag * 255 + b"\n"
        w.write(line)
        await w.drain()
        echoed[tag] = (await r.readline()) == line
        w.close()
        await w.wait_closed()

    async def both():
        await asyncio.gather(client(b"A"), client(b"B"))

    asyncio.run(both())
    return echoed


def main(ssid, key, ca, https_port, echo_port, name):
    checkpoint("start")
    import spwf04compat

    m = C.bring_up(ssid, key, ca)
    spwf04compat.install(m)
    checkpoint("module up, provider installed")
    import requests

    r = requests.get("https://%s:%d/page" % (name, https_port))
    status, n = r.status_code, len(r.content)
    r.close()
    del r
    checkpoint("requests GET done")
    echoed = _asyncio_pair(name, echo_port)
    checkpoint("asyncio done")
    C.report({"status": status, "bytes": n, "echoed": sorted(k.decode() for k, v in echoed.items() if v),
              "marks": marks, "heap": gc.mem_alloc() + gc.mem_free()})
