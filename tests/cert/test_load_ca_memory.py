"""No MemoryError escapes m.tls.load_ca(), which promises typed errors: on a fragmented heap (plenty free, no
large block, as after a long REPL session) it raises OSError(ENOMEM) with advice and sends nothing; with the
memory back, the same RSA-4096 CA gets the CertError it always gets. Over the REPL on the virtual board."""

from __future__ import annotations

import pytest

from spwf04_tools.pki import PKIOptions, build_pki

pytestmark = [pytest.mark.virtual_only, pytest.mark.timeout(180)]

CODE = """
import wifi_board, spwf04, errno, gc
m = wifi_board.module()
m.init()
m.wlan.connect('SPWF04-SIM', 'simulated-wifi')
m.settime()
m.tls  # the TLS store exists; what load_ca needs beyond it is what it must find memory for
gc.collect()
hold = []
try:
    while True:
        hold.append(bytearray(480))
except MemoryError:
    pass
for i in range(0, len(hold), 2):  # half the heap free again, in holes of ~480 bytes
    hold[i] = None
gc.collect()
try:
    m.tls.load_ca(path='rsa4096.pem')
    print('LOADED')
except MemoryError:
    print('MEMORYERROR')
except OSError as e:
    print('ENOMEM', e.errno == errno.ENOMEM, 'call it early' in str(e), 'gc.collect()' in str(e))
except spwf04.CertError as e:
    print('CERTERROR', e.code)
hold = None
gc.collect()
print('STATE', m.tls.ca)
try:
    m.tls.load_ca(path='rsa4096.pem')
except spwf04.CertError as e:
    print('AFTER', e.code)
"""


def test_load_ca_on_a_fragmented_heap_raises_enomem_not_memoryerror(driver, board, sim_clean, tmp_path):
    pki = build_pki(tmp_path, PKIOptions(ca_key="rsa4096"))
    board.put_bytes(pki.ca.pem.read_bytes(), "rsa4096.pem")
    out = board.exec(CODE, timeout=120)
    lines = dict(line.split(" ", 1) for line in out.strip().splitlines() if " " in line)
    assert "MEMORYERROR" not in out
    assert lines["ENOMEM"] == "True True True", out  # the error, with the advice
    assert lines["STATE"] == "None", out
    assert lines["AFTER"] == "key_unsupported", out
    assert not [c for c in sim_clean.commands if c.line.upper().startswith("AT+S.TLSCERT")], "sent while failing"
