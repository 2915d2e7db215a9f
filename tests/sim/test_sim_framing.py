"""Framing, echo, errors, configuration, boot, pins: byte-exact against the spec's exchanges."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import pytest
from sim_helpers import DEFAULT_PASS, Module

from spwf04_tools import at_tables as at

pytestmark = pytest.mark.timeout(60)

# Boot lines as real UART logs show them: FW 1.1 1, 13, 0, 3, 32; WIND 13 with two spaces and no full stop.
COPYRIGHT = b"+WIND:13:Copyright (c) 2012-2017 STMicroelectronics, Inc.  All rights Reserved:SPWF04SA\r\n"
BOOT_11 = (b"+WIND:1:Poweron:171117-0328fe3-SPWF04S\r\n" + COPYRIGHT +
           b"+WIND:0:Console active\r\n"
           b"+WIND:3:Watchdog Running:20\r\n"
           b"+WIND:32:WiFi Hardware Started\r\n")
BOOT_10 = (b"+WIND:1:Poweron:170216-fd39c59-SPWF04S\r\n" + COPYRIGHT +
           b"+WIND:0:Console active\r\n"
           b"+WIND:3:Watchdog Running:20\r\n"
           b"+WIND:32:WiFi Hardware Started\r\n")
# The real FW 1.0 log's order, with 65 and 73 (a fresh flash's first boot in the simulator).
BOOT_10_FIRST = (b"+WIND:1:Poweron:170216-fd39c59-SPWF04S\r\n" + COPYRIGHT +
                 b"+WIND:65:Factory Reset:1\r\n"
                 b"+WIND:73:System Configuration Updated\r\n"
                 b"+WIND:0:Console active\r\n"
                 b"+WIND:3:Watchdog Running:20\r\n"
                 b"+WIND:32:WiFi Hardware Started\r\n")


def test_at_echo_and_ok(module: Module) -> None:
    assert module.link.cmd(b"AT") == b"AT\r\nAT-S.OK\r\n"
    assert module.link.cmd(b"at") == b"at\r\nAT-S.OK\r\n"  # command names are case-insensitive


def test_echo_off_is_itself_echoed(module: Module) -> None:
    link = module.link
    assert link.cmd(b"AT+S.SCFG=console_echo,0") == b"AT+S.SCFG=console_echo,0\r\nAT-S.OK\r\n"
    assert link.cmd(b"AT") == b"AT-S.OK\r\n"
    assert link.cmd(b"AT+S.GCFG=console_echo") == b"AT-S.Var:console_echo=0\r\nAT-S.OK\r\n"


def test_unknown_command_and_variable_errors(module: Module) -> None:
    link = module.link
    assert link.cmd(b"AT+S.NOSUCH") == b"AT+S.NOSUCH\r\nAT-S.ERROR:1:Command not found\r\n"
    assert link.cmd(b"AT+S.GCFG=localecho1") == b"AT+S.GCFG=localecho1\r\nAT-S.ERROR:4:Variable not found\r\n"
    assert link.cmd(b"AT+S.STS=console1_speed") == b"AT+S.STS=console1_speed\r\nAT-S.ERROR:4:Variable not found\r\n"
    assert link.cmd(b"AT+S.SCFG=ip_use_dhcp,1") == b"AT+S.SCFG=ip_use_dhcp,1\r\nAT-S.ERROR:4:Variable not found\r\n"
    assert link.cmd(b"AT+S.SCFG=console_echo") == b"AT+S.SCFG=console_echo\r\nAT-S.ERROR:2:Missing argument(s)\r\n"
    assert link.cmd(b"AT+S.SCFG=console_echo,7") == b"AT+S.SCFG=console_echo,7\r\nAT-S.ERROR:8:Invalid value\r\n"
    assert link.cmd(b"AT+S.GCFG=a,b") == b"AT+S.GCFG=a,b\r\nAT-S.ERROR:6:Too many argument(s)\r\n"


def test_error_shapes_follow_console_errs(module: Module) -> None:
    link = module.link
    link.cmd(b"AT+S.SCFG=console_errs,1")
    assert link.cmd(b"AT+S.NOSUCH") == b"AT+S.NOSUCH\r\nAT-S.ERROR:1\r\n"
    link.cmd(b"AT+S.SCFG=console_errs,0")
    assert link.cmd(b"AT+S.NOSUCH") == b"AT+S.NOSUCH\r\nAT-S.ERROR\r\n"


def test_verbose_ok(module: Module) -> None:
    link = module.link
    assert link.cmd(b"AT+S.GCFG=console_verbose") == b"AT+S.GCFG=console_verbose\r\nAT-S.Var:console_verbose=1\r\nAT-S.OK\r\n"
    link.cmd(b"AT+S.SCFG=console_verbose,2")
    heap = module.sim.status["free_heap"].encode()
    assert link.cmd(b"AT") == b"AT\r\nAT-S.OK:" + heap + b":3\r\n"


def test_gcfg_sts_formats(module: Module) -> None:
    link = module.link
    out = link.cmd(b"AT+S.GCFG=nv_wifi_macaddr")
    assert re.fullmatch(rb"AT\+S\.GCFG=nv_wifi_macaddr\r\nAT-S\.Var:nv_wifi_macaddr=([0-9A-F]{2}:){5}[0-9A-F]{2}\r\nAT-S\.OK\r\n", out)
    assert link.cmd(b"AT+S.STS=fw_version") == b"AT+S.STS=fw_version\r\nAT-S.Var:fw_version=1.1.0\r\nAT-S.OK\r\n"
    assert link.cmd(b"AT+S.STS=ip_ipaddr") == b"AT+S.STS=ip_ipaddr\r\nAT-S.Var:ip_ipaddr=0.0.0.0\r\nAT-S.OK\r\n"
    assert link.cmd(b"AT+S.GCFG=console_wind_off_medium") == (
        b"AT+S.GCFG=console_wind_off_medium\r\nAT-S.Var:console_wind_off_medium=0x00000000\r\nAT-S.OK\r\n")
    # numbers in decimal or 0x hex [confirmed]
    link.cmd(b"AT+S.SCFG=wifi_opr_rate_mask,0x003FFFCF")
    assert link.cmd(b"AT+S.GCFG=wifi_opr_rate_mask") == (
        b"AT+S.GCFG=wifi_opr_rate_mask\r\nAT-S.Var:wifi_opr_rate_mask=0x003fffcf\r\nAT-S.OK\r\n")
    link.cmd(b"AT+S.SCFG=console_wind_off_high,1048576")
    assert b"=0x00100000\r\n" in link.cmd(b"AT+S.GCFG=console_wind_off_high")
    everything = link.cmd(b"AT&V")
    assert everything.count(b"AT-S.Var:") > 40 and everything.endswith(b"AT-S.OK\r\n")
    status = link.cmd(b"AT+S.STS")
    for name in (b"fw_version", b"free_heap", b"wifi_state", b"ip_ipaddr", b"build", b"reset_reason"):
        assert b"AT-S.Var:" + name + b"=" in status


def test_psk_masked_in_gcfg_but_echoed(module: Module) -> None:
    link = module.link
    # The echo of the SCFG line itself is real module behaviour.
    assert link.cmd(b"AT+S.SCFG=wifi_wpa_psk_text,my secret,with comma") == (
        b"AT+S.SCFG=wifi_wpa_psk_text,my secret,with comma\r\nAT-S.OK\r\n")
    assert module.sim.config_vars["wifi_wpa_psk_text"] == "my secret,with comma"
    assert link.cmd(b"AT+S.GCFG=wifi_wpa_psk_text") == (
        b"AT+S.GCFG=wifi_wpa_psk_text\r\nAT-S.Var:wifi_wpa_psk_text=********\r\nAT-S.OK\r\n")
    assert all("secret" not in c.line for c in module.sim.commands)


def test_time_observed_exchange(module10: Module) -> None:
    link = module10.link
    assert module10.sim.clock is None
    assert link.cmd(b"AT+S.TIME=1504170338") == b"AT+S.TIME=1504170338\r\nAT-S.OK\r\n"
    assert link.cmd(b"AT+S.TIME") == b"AT+S.TIME\r\nAT-S.Date:17.08.31:00\r\nAT-S.Time:09.05.38\r\nAT-S.OK\r\n"
    assert abs(module10.sim.clock - 1504170338) <= 2


def test_unset_clock_runs_from_2000(module: Module) -> None:
    out = module.link.cmd(b"AT+S.TIME")
    assert out.startswith(b"AT+S.TIME\r\nAT-S.Date:00.01.01:00\r\nAT-S.Time:00.00.0")


@pytest.mark.parametrize("fw,boot", [("1.1", BOOT_11), ("1.0", BOOT_10)])
def test_boot_sequence_after_at_reset(make_module, fw: str, boot: bytes) -> None:
    m = make_module(fw=fw)
    m.link.send(b"AT+S.RESET\r")
    assert m.link.read_until(b"+WIND:32:WiFi Hardware Started\r\n") == b"AT+S.RESET\r\n" + boot
    assert m.link.cmd(b"AT") == b"AT\r\nAT-S.OK\r\n"
    assert m.sim.status["reset_reason"] == "2"


@pytest.mark.parametrize("fw,boot", [("1.1", BOOT_11), ("1.0", BOOT_10_FIRST)])
def test_first_power_on_boot_lines(fw: str, boot: bytes) -> None:
    """The very first boot of a fresh module, byte for byte from power-on (nothing connected drains it)."""
    from sim_helpers import fast_config

    from spwf04_tools.sim import Simulator
    sim = Simulator(fast_config(fw=fw))
    try:
        host, port = sim.start_tcp()
        sim.wait_ready()
        with socket.create_connection((host, port)) as c:
            c.settimeout(5)
            c.sendall(b"AT\r")  # the UART is plugged in once the module answers over it
            got = b""
            while not got.endswith(b"AT-S.OK\r\n"):
                got += c.recv(4096)
            sim.factory_reset()  # a fresh flash, then power on
            got = b""
            while not got.endswith(b"+WIND:32:WiFi Hardware Started\r\n"):
                got += c.recv(4096)
        assert got == boot
    finally:
        sim.stop()


def test_reset_pin_holds_and_boots(module: Module) -> None:
    host, port = module.sim.pins_address
    pins = socket.create_connection((host, port))
    try:
        pins.sendall(b"RESET 0\n")
        module.sim.wait_for(lambda: not module.sim.engine.powered, 5, "reset held")
        module.link.send(b"AT\r")
        assert module.link.quiet(0.3) == b""  # held in reset: nothing answers
        pins.sendall(b"WAKEUP 1\nRESET 1\n")
        assert module.link.read_until(b"+WIND:32:WiFi Hardware Started\r\n") == BOOT_11
        assert module.link.cmd(b"AT") == b"AT\r\nAT-S.OK\r\n"
        assert module.sim.status["reset_reason"] == "1"
    finally:
        pins.close()


def test_reset_drops_sockets_and_state(module: Module, peer) -> None:
    module.join()
    link = module.link
    link.cmd(b"AT+S.TIME=1504170338")
    assert link.cmd(b"AT+S.SOCKON=127.0.0.1,%d,NULL,t" % peer.port) == b"AT+S.SOCKON=127.0.0.1,%d,NULL,t\r\nAT-S.On:127.0.0.1:0\r\nAT-S.OK\r\n" % peer.port
    conn = peer.wait_connections()
    module.sim.reset()
    link.read_until(b"+WIND:32:WiFi Hardware Started\r\n")
    assert module.sim.sockets == {} and module.sim.clock is None
    assert_peer_closed(conn)
    # The saved configuration made it rejoin.
    link.read_until(b"+WIND:24:WiFi Up:0:192.168.1.100\r\n")
    assert link.cmd(b"AT+S.SOCKQ=0") == b"AT+S.SOCKQ=0\r\nAT-S.ERROR:76:Illegal Socket ID\r\n"


def assert_peer_closed(conn: socket.socket) -> None:
    """The peer's end sees the connection gone (RST or FIN) within 2 s."""
    conn.settimeout(2)
    try:
        data = conn.recv(10)
    except ConnectionResetError:
        return
    assert data == b""


def test_new_uart_connection_keeps_state(module: Module) -> None:
    module.link.cmd(b"AT+S.SCFG=console_echo,0")
    boots = module.sim.boot_count
    link = module.reconnect()
    assert link.cmd(b"AT") == b"AT-S.OK\r\n"  # echo still off: same module state
    assert module.sim.boot_count == boots


def test_payload_waits_for_exact_length(module: Module) -> None:
    link = module.link
    link.send(b"AT+S.FSC=/a.txt,10\r12345")
    assert link.read_line() == b"AT+S.FSC=/a.txt,10\r\n"
    assert link.quiet(0.3) == b""  # waits for the rest
    link.send(b"\r\nAT\r")  # CR, LF and a command line are payload bytes too
    assert link.read_final() == b"AT-S.OK\r\n"
    assert module.sim.files["a.txt"] == b"12345\r\nAT\r"
    assert module.sim.commands[-1].payload_len == 10


def test_lost_payload_bytes_swallow_next_command(module: Module) -> None:
    link = module.link
    link.send(b"AT+S.FSC=/b.txt,6\rabc")  # 3 bytes lost on the way
    link.read_line()
    link.send(b"AT\r")  # becomes the payload's last 3 bytes
    assert link.read_final() == b"AT-S.OK\r\n"
    assert module.sim.files["b.txt"] == b"abcAT\r"
    assert link.cmd(b"AT") == b"AT\r\nAT-S.OK\r\n"


def test_512_byte_line_limit(module: Module) -> None:
    link = module.link
    ok_line = b"AT+S.SSIDTXT=" + b"x" * 20
    assert link.cmd(ok_line).endswith(b"AT-S.OK\r\n")
    at512 = b"AT+S.HELP=" + b"Z" * (512 - 10)
    assert link.cmd(at512).endswith(b"AT-S.ERROR:1:Command not found\r\n")  # 512 bytes: parsed
    too_long = b"AT+S.HELP=" + b"Z" * 600
    out = link.cmd(too_long)
    assert out == too_long[:512] + b"\r\nAT-S.ERROR:32:Argument exceeds allowed size\r\n"


def test_lf_ignored_and_empty_lines_silent(module: Module) -> None:
    assert module.link.cmd(b"\r\n\rAT\n") == b"AT\r\nAT-S.OK\r\n"


def test_wifi_on_off(module: Module) -> None:
    link = module.link
    assert link.cmd(b"AT+S.WIFI=1") == b"AT+S.WIFI=1\r\nAT-S.ERROR:17:Radio enabled\r\n"
    assert link.cmd(b"AT+S.WIFI=0") == b"AT+S.WIFI=0\r\nAT-S.OK\r\n"
    assert link.read_line() == b"+WIND:38:WiFi Powered Down\r\n"
    assert link.cmd(b"AT+S.WIFI=0") == b"AT+S.WIFI=0\r\nAT-S.ERROR:18:Radio not running\r\n"
    assert link.cmd(b"AT+S.SCAN=s,") == b"AT+S.SCAN=s,\r\nAT-S.ERROR:18:Radio not running\r\n"
    assert link.cmd(b"AT+S.WIFI=1") == b"AT+S.WIFI=1\r\nAT-S.OK\r\n"
    assert link.read_line() == b"+WIND:32:WiFi Hardware Started\r\n"


def test_join_sequence(module: Module) -> None:
    out = module.join()
    # Two WIND:24 lines, IPv4 then IPv6 link-local (a real FW 1.0 log; the address spelling is inference)
    assert out == (b"AT+S.RESET\r\n" + BOOT_11 + b"+WIND:21:WiFi Scanning\r\n+WIND:35:WiFi Scan Complete:00\r\n"
                   b"+WIND:19:WiFi Join:02:53:50:57:46:01\r\n+WIND:25:WiFi Association successful:SPWF04-SIM\r\n"
                   b"+WIND:24:WiFi Up:0:192.168.1.100\r\n+WIND:24:WiFi Up::fe80::280:e1ff:feb7:c82a\r\n")
    link = module.link
    assert link.cmd(b"AT+S.STS=ip_ipaddr") == b"AT+S.STS=ip_ipaddr\r\nAT-S.Var:ip_ipaddr=192.168.1.100\r\nAT-S.OK\r\n"
    assert link.cmd(b"AT+S.STS=wifi_state") == b"AT+S.STS=wifi_state\r\nAT-S.Var:wifi_state=10\r\nAT-S.OK\r\n"
    assert link.cmd(b"AT+S.PEERS=0,rx_rssi") == b"AT+S.PEERS=0,rx_rssi\r\nAT-S.Var:0.rx_rssi=-45\r\nAT-S.OK\r\n"


def test_wrong_passphrase_failure_winds(make_module) -> None:
    m = make_module()
    m.sim.reconfigure(behaviour=m.sim.config.behaviour.__class__(join_retries=0))
    link = m.link
    link.cmd(b"AT+S.SCFG=wifi_wpa_psk_text,not-the-passphrase")
    link.cmd(b"AT+S.SSIDTXT=SPWF04-SIM")
    link.cmd(b"AT+S.SCFG=wifi_priv_mode,2")
    link.cmd(b"AT+S.SCFG=wifi_mode,1")
    link.cmd(b"AT+S.WCFG")
    link.send(b"AT+S.RESET\r")
    link.read_until(b"+WIND:32:WiFi Hardware Started\r\n")
    assert link.read_until(b"+WIND:41:WiFi Disassociation:2\r\n") == (
        b"+WIND:21:WiFi Scanning\r\n+WIND:35:WiFi Scan Complete:00\r\n+WIND:19:WiFi Join:02:53:50:57:46:01\r\n"
        b"+WIND:25:WiFi Association successful:SPWF04-SIM\r\n+WIND:41:WiFi Disassociation:2\r\n")
    assert link.quiet(0.3) == b""
    assert link.cmd(b"AT+S.SOCKON=127.0.0.1,1,NULL,t").endswith(b"AT-S.ERROR:44:Wait for Connection Up\r\n")


def test_scan_output(module: Module) -> None:
    assert module.link.cmd(b"AT+S.SCAN=s,") == (
        b"AT+S.SCAN=s,\r\nAT-S.Parsing Networks:1\r\n"
        b"1:\t BSS 02:53:50:57:46:01 CHAN: 06 RSSI: -45 SSID: 'SPWF04-SIM' CAPS: 0431 WPA2 \r\nAT-S.OK\r\n")


def test_network_loss_and_restore(module: Module, peer) -> None:
    module.join()
    link = module.link
    link.cmd(b"AT+S.SOCKON=127.0.0.1,%d,NULL,t" % peer.port)
    module.sim.lose_network()
    assert link.read_until(b"+WIND:58:Socket Closed:0:3\r\n") == b"+WIND:33:WiFi Network Lost\r\n+WIND:58:Socket Closed:0:3\r\n"
    assert link.cmd(b"AT+S.SOCKW=0,1", b"x").endswith(b"AT-S.ERROR:78:Socket not connected\r\n")
    assert link.cmd(b"AT+S.SOCKC=0").endswith(b"AT-S.OK\r\n")
    module.sim.restore_network()
    link.read_until(b"+WIND:24:WiFi Up:0:192.168.1.100\r\n")


def test_fcfg_factory_reset_wind_and_defaults(module10: Module) -> None:
    link = module10.link
    link.cmd(b"AT+S.SCFG=console_echo,0")
    link.cmd(b"AT+S.WCFG")
    assert link.cmd(b"AT+S.FCFG") == b"AT-S.OK\r\n"
    assert module10.sim.saved_config is None
    link.send(b"AT+S.RESET\r")
    out = link.read_until(b"+WIND:32:WiFi Hardware Started\r\n")
    assert out == (b"AT+S.RESET\r\n+WIND:1:Poweron:170216-fd39c59-SPWF04S\r\n" + COPYRIGHT +
                   b"+WIND:65:Factory Reset:1\r\n+WIND:0:Console active\r\n+WIND:3:Watchdog Running:20\r\n"
                   b"+WIND:32:WiFi Hardware Started\r\n")


def test_saved_config_survives_simulator_restart(make_module, tmp_path: Path) -> None:
    state = tmp_path / "flash.json"
    from sim_helpers import fast_config
    m = make_module(fast_config(state_file=state))
    m.join()
    m.link.cmd(b"AT+S.SCFG=console_echo,0")
    m.link.cmd(b"AT+S.WCFG")
    m.sim.stop()
    assert state.stat().st_mode & 0o077 == 0  # holds the passphrase: owner only
    m2 = make_module(fast_config(state_file=state))
    assert m2.sim.config_vars["console_echo"] == 0
    assert m2.sim.config_vars["wifi_wpa_psk_text"] == DEFAULT_PASS.decode()
    m2.sim.wait_joined()  # stored station credentials: joins at boot
    m2.sim.power_cycle()  # RAM lost, saved config kept
    m2.sim.wait_ready()
    assert m2.sim.config_vars["console_echo"] == 0


def test_corrupt_state_file_reports_configuration_failure(make_module, tmp_path: Path) -> None:
    from sim_helpers import fast_config
    state = tmp_path / "flash.json"
    state.write_text("{not json")
    m = make_module(fast_config(state_file=state))
    m.link.send(b"AT+S.RESET\r")
    assert m.link.read_until(b"+WIND:32:WiFi Hardware Started\r\n").startswith(b"AT+S.RESET\r\n+WIND:1:")
    m.sim.stop()
    # The first boot (before the link) reported it; the file was rewritten with factory values.
    assert '"version": 1' in state.read_text()


def test_wind_masks_drop_indications(module: Module) -> None:
    link = module.link
    link.cmd(b"AT+S.SCFG=console_wind_off_medium,0x00000001")  # bit 0 of medium = WIND 32
    link.cmd(b"AT+S.WIFI=0")
    assert link.read_line() == b"+WIND:38:WiFi Powered Down\r\n"
    link.cmd(b"AT+S.WIFI=1")
    assert link.quiet(0.3) == b""
    assert module.sim.engine.radio == "on"


def test_error_table_matches_spec() -> None:
    spec = _spec_text()
    table = spec.split("## 4. AT-S.ERROR codes", 1)[1].split("Which situation", 1)[0]
    cells = re.findall(r"\|\s*(\d+)\s*\|\s*([^|]+?)\s*(?=\|)", table)
    assert len(cells) >= 60
    for code_text, text in cells:
        code = int(code_text)
        if code == 59:
            assert at.error_text(59, "1.1") == "Unable to (un)mount volume"
            assert at.error_text(59, "1.0") == "Unable to unmount volume"
        elif code == 71:
            assert at.error_text(71, "1.1") == "Closing socket" and at.error_text(71, "1.0") is None
        else:
            expected = text.strip("`")
            assert at.error_text(code, "1.0") == expected == at.error_text(code, "1.1")
    listed = {int(c) for c, _ in cells}
    assert set(at.ERROR_TEXTS["1.1"]) == listed  # no invented codes


def test_wind_table_matches_spec() -> None:
    spec = _spec_text()
    table = spec.split("### 5.1", 1)[1].split("### 5.2", 1)[0]
    for n, form in re.findall(r"^\| (\d+) \| `([^`]+)`", table, re.M):
        w = at.WINDS[int(n)]
        prefix = form.split("<")[0].split("[")[0].split("...")[0]
        if w.uncertain:
            continue
        assert f"+WIND:{n}:{w.text}".startswith(prefix.rstrip(":")), (n, form)
    others = spec.split("### 5.2", 1)[1].split("### 5.3", 1)[0]
    for n, text in re.findall(r"(\d+) `([^`]+)`", others):
        assert at.WINDS[int(n)].text == text.split(":<")[0].split(" <")[0], (n, text)
    assert at.wind_line(55, "", 3, 12, 40) == "+WIND:55:Pending Data::3:12:40"
    assert at.parse_wind("+WIND:55:Pending Data::3:12:40") == (55, "Pending Data", ("", "3", "12", "40"))
    assert at.parse_wind("+WIND:19:WiFi Join:98:DE:D0:EA:4C:62").params == ("98:DE:D0:EA:4C:62",)


def _spec_text() -> str:
    """The project's AT reference (tables in sections 4 and 5), inside the repository."""
    return (Path(__file__).resolve().parents[2] / "docs" / "at-protocol.md").read_text("utf-8")


def test_char_echo_for_terminals(make_module) -> None:
    from sim_helpers import fast_config
    cfg = fast_config()
    cfg.behaviour.char_echo = True
    m = make_module(cfg)
    m.link.send(b"AT+S.ST")
    assert m.link.read_until(b"AT+S.ST", 2) == b"AT+S.ST"
    m.link.send(b"X\x7fS=fw_version\r")
    assert m.link.read_final() == b"X\x08 \x08S=fw_version\r\nAT-S.Var:fw_version=1.1.0\r\nAT-S.OK\r\n"


def test_unsimulated_payload_command_takes_its_payload(module: Module) -> None:
    assert module.link.cmd(b"AT+S.MQTTPUB=0,t,0,0,4", b"AT\r\r") == (
        b"AT+S.MQTTPUB=0,t,0,0,4\r\nAT-S.ERROR:1:Command not found\r\n")
    assert module.link.cmd(b"AT") == b"AT\r\nAT-S.OK\r\n"


def test_help_and_files(module: Module) -> None:
    link = module.link
    assert link.cmd(b"AT+S.HELP=SOCKON").startswith(b"AT+S.HELP=SOCKON\r\nAT+S.SOCKON -- ")
    assert link.cmd(b"AT+S.FSC=/f.bin,4", b"\x00\x01\r\n") == b"AT+S.FSC=/f.bin,4\r\nAT-S.OK\r\n"
    assert link.cmd(b"AT+S.FSC=/f.bin,2", b"zz") == b"AT+S.FSC=/f.bin,2\r\nAT-S.OK\r\n"  # appends
    assert link.cmd(b"AT+S.FSL") == b"AT+S.FSL\r\nAT-S.File:/f.bin:6\r\nAT-S.OK\r\n"
    assert link.cmd(b"AT+S.FSP=/f.bin,,") == b"AT+S.FSP=/f.bin,,\r\n\x00\x01\r\nzz\r\nAT-S.OK\r\n"
    assert link.cmd(b"AT+S.FSD=/f.bin") == b"AT+S.FSD=/f.bin\r\nAT-S.OK\r\n"
    assert link.cmd(b"AT+S.FSD=/f.bin") == b"AT+S.FSD=/f.bin\r\nAT-S.ERROR:56:Unable to delete file\r\n"
    assert link.cmd(b"AT+S.FSP=/f.bin,,") == b"AT+S.FSP=/f.bin,,\r\nAT-S.ERROR:51:Unable to open file\r\n"
    module.sim.power_cycle()  # RAM file system
    module.sim.wait_ready()
    assert module.sim.files == {}


def test_commands_record(module: Module) -> None:
    module.sim.clear_commands()
    module.link.cmd(b"AT+S.FSC=/x,3", b"abc")
    module.link.cmd(b"AT")
    rec = module.sim.commands
    assert [(c.line, c.payload_len) for c in rec] == [("AT+S.FSC=/x,3", 3), ("AT", None)]
    assert rec[0].t <= rec[1].t <= time.monotonic()


def test_reconfigure_firmware_profile(module: Module) -> None:
    module.sim.reconfigure(fw="1.0")
    module.sim.wait_ready()
    module.link.drain(0.1)
    assert module.link.cmd(b"AT+S.STS=fw_version") == b"AT+S.STS=fw_version\r\nAT-S.Var:fw_version=1.0.0\r\nAT-S.OK\r\n"
    assert module.link.cmd(b"AT+S.GCFG=console_verbose").endswith(b"console_verbose=0\r\nAT-S.OK\r\n")


def test_variables_as_observed(make_module) -> None:
    """Accepted on FW 1.1 in a real log (wifi_tx_power, ip_use_v6, ip_use_tftpd) or in the firmware's table
    (ip_use_dhcpd); the simulator's former inventions are unknown variables (error 4)."""
    link = make_module().link
    link.cmd(b"AT+S.SCFG=console_echo,0")
    for name in (b"wifi_tx_power", b"ip_use_v6", b"ip_use_tftpd", b"ip_use_dhcpd"):
        out = link.cmd(b"AT+S.GCFG=" + name)
        assert out.startswith(b"AT-S.Var:" + name + b"=") and out.endswith(b"AT-S.OK\r\n"), out
    assert link.cmd(b"AT+S.SCFG=wifi_tx_power,10") == b"AT-S.OK\r\n"
    assert link.cmd(b"AT+S.SCFG=ip_use_tftpd,1") == b"AT-S.OK\r\n"
    for name in (b"ip_use_dhcps", b"wind_off_reserved", b"wifi_dtim_wakeup", b"ip_sockd_timeout"):
        assert link.cmd(b"AT+S.GCFG=" + name) == b"AT-S.ERROR:4:Variable not found\r\n"
        assert link.cmd(b"AT+S.SCFG=" + name + b",1") == b"AT-S.ERROR:4:Variable not found\r\n"
