# Device side of test_driver.py on the MicroPython unix port: run one case of cases.py.
# argv: <case name> <ctx json>
import json
import sys

import cases

name = sys.argv[1]
ctx = json.loads(sys.argv[2])
r = getattr(cases, name)(ctx)
print("PASS", name, r or "")
