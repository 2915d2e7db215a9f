import pytest
from compat_helpers import HTTPSServer, bring_up, run
from spwf04_tools.sim.config import DEFAULT_AP

V1 = bring_up()
V2 = f"""import gc
import wifi_board, spwf04compat
gc.collect()
m = wifi_board.module()
gc.collect()
m.init()
gc.collect()
m.wlan.connect({DEFAULT_AP.ssid!r}, {DEFAULT_AP.passphrase!r})
gc.collect()
m.settime()
gc.collect()
m.tls.load_ca(path='ca.pem')
gc.collect()
spwf04compat.install(m)
"""
V3 = V1.replace("spwf04compat.install(m)", "gc.collect()\nspwf04compat.install(m)")
V4 = V1.replace("m.tls.load_ca(", "gc.collect()\nm.tls.load_ca(")
@pytest.mark.parametrize("v", [V3, V4])
def test_probe(cboard, sim, pki, v):
    out = run(cboard, v + "import requests\ngc.collect()\nimport micropython\nmicropython.mem_info()\n")
    print(out)
    assert 0
