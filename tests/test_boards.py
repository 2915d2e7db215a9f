"""The board definition agrees with the one pin map, and the firmware tool fails clearly."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from spwf04_tools import BOARDS_DIR, firmware
from spwf04_tools.deploy import BUILD_MODULE, source_digest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "micropython"))
import spwf04_pins as pins  # noqa: E402

OVERLAY = BOARDS_DIR / "NUCLEO_F401RE_SPWF04"


def _cpu(name: str) -> str:  # 'PA9' -> 'pin_A9' as the stm32 headers spell it
    return "pin_" + name[1:]


def test_firmware_uart_matches_pin_map() -> None:
    header = (OVERLAY / "mpconfigboard_spwf04.h").read_text()
    defs = dict(re.findall(r"#define\s+(MICROPY_HW_UART\d_(?:TX|RX))\s+\((\w+)\)", header))
    assert defs == {f"MICROPY_HW_UART{pins.UART_ID}_TX": _cpu(pins.UART_TX),
                    f"MICROPY_HW_UART{pins.UART_ID}_RX": _cpu(pins.UART_RX)}


def test_firmware_pin_names_match_pin_map() -> None:
    rows = dict(line.split(",") for line in (OVERLAY / "pins_spwf04.csv").read_text().split())
    assert rows == {"WIFI_TX": pins.UART_TX, "WIFI_RX": pins.UART_RX,
                    "WIFI_RST": pins.RESET_PIN, "WIFI_WAKEUP": pins.WAKEUP_PIN}


def test_manifest_freezes_every_device_module() -> None:
    manifest = (OVERLAY / "manifest.py").read_text()
    assert 'package("spwf04"' in manifest
    for name in ("spwf04_pins.py", "wifi_board.py", "client_socket.py"):
        assert f'module("{name}"' in manifest
        assert (OVERLAY / "../../micropython" / name).resolve().exists(), name


def _stock_tree(root: Path) -> Path:
    """A minimal MicroPython tree: the stock board's files and the version header."""
    stock = root / "ports" / "stm32" / "boards" / "NUCLEO_F401RE"
    stock.mkdir(parents=True)
    (stock / "mpconfigboard.h").write_text('#define MICROPY_HW_BOARD_NAME "NUCLEO-F401RE"\n')
    (stock / "mpconfigboard.mk").write_text("MCU_SERIES = f4\nLD_FILES = boards/stm32f401xe.ld boards/common_ifs.ld\n"
                                            "TEXT0_ADDR = 0x08000000\nTEXT1_ADDR = 0x08020000\n")
    (stock / "pins.csv").write_text("D7,PA8\nA3,PB0")
    (root / "py").mkdir()
    (root / "py" / "mpconfig.h").write_text("#define MICROPY_VERSION_MAJOR 1\n#define MICROPY_VERSION_MINOR 28\n"
                                             "#define MICROPY_VERSION_MICRO 0\n")
    return root


def test_prepare_board_dir_overlays_a_stock_board(tmp_path: Path) -> None:
    out = firmware.prepare_board_dir(_stock_tree(tmp_path / "mp"), tmp_path / "out")
    assert out.name == "NUCLEO_F401RE_SPWF04"
    assert (out / "mpconfigboard.h").read_text().endswith('#include "mpconfigboard_spwf04.h"\n')
    assert "WIFI_RST,PA8" in (out / "pins.csv").read_text().splitlines()
    mk = (out / "mpconfigboard.mk").read_text()
    assert mk.startswith("MCU_SERIES = f4\n") and mk.endswith("include $(BOARD_DIR)/mpconfigboard_spwf04.mk\n")
    for name in firmware.OVERLAY_COPIES:
        assert (out / name).read_bytes() == (OVERLAY / name).read_bytes(), name
    # what deploy compares to leave the frozen code alone (tests/test_deploy_frozen.py)
    assert f'SOURCES = "{source_digest()}"' in (out / f"{BUILD_MODULE}.py").read_text()
    build_manifest = (out / firmware.BUILD_MANIFEST).read_text().splitlines()
    assert build_manifest == [f'include("{OVERLAY / "manifest.py"}")',
                              f'module("{BUILD_MODULE}.py", base_path="{out}")',
                              f'module("{firmware.BOOT_MODULE}", base_path="{OVERLAY}")']


def test_firmware_without_source_tree_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(firmware.FirmwareError, match="not a MicroPython source tree"):
        firmware.prepare_board_dir(tmp_path, tmp_path / "out")
    exe = Path(sys.executable).with_name("spwf04")
    r = subprocess.run([str(exe), "firmware"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "MICROPY_DIR" in r.stderr
