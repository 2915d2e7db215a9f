"""The repository stands alone: no tracked file names a path outside it or a path of one machine.

A clone in any directory must pass its tests, and its documents must not send readers to files they do not
have; the AT protocol reference is docs/at-protocol.md.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Spelled in pieces so that this file does not name them itself.
FORBIDDEN = [".." + "/shared", "/" + "work/", "shared/docs/" + "spwf04-at.md", "/" + "home/", "/" + "root/",
             "/" + "Users/"]


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / p for p in out.decode().split("\0") if p]


def test_no_tracked_file_names_a_path_outside_the_repository() -> None:
    files = tracked_files()
    assert len(files) > 100  # the whole tree was listed, not an empty checkout
    hits = []
    for path in files:
        if not path.is_file():
            continue  # deleted in the working tree, not yet committed
        data = path.read_bytes()
        for bad in FORBIDDEN:
            if bad.encode() in data:
                line = data[: data.index(bad.encode())].count(b"\n") + 1
                hits.append(f"{path.relative_to(ROOT)}:{line}: {bad}")
    assert hits == [], "paths outside the repository:\n" + "\n".join(hits)


def test_the_protocol_reference_is_in_the_repository() -> None:
    ref = ROOT / "docs" / "at-protocol.md"
    text = ref.read_text("utf-8")
    for section in ("## 4. AT-S.ERROR codes", "## 5. Indications (+WIND)", "### 7.1 `AT-S.Certificate Error:<n>`"):
        assert section in text
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "(docs/at-protocol.md)" in readme
