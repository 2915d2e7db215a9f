"""Commands the firmware has (spec 6.15) but the simulator does not model.

They answer `AT-S.ERROR:1:Command not found` (the simulator's choice, listed in docs/simulator.md). Payload
commands among them still take their payload first (length = last parameter, a guess), so that the payload
bytes are not run as commands.
"""

from __future__ import annotations

from ... import at_tables as at
from ..engine import Cmd, Command, Engine

NOT_SIMULATED = (
    "PMS", "PYTHON", "NVW", "MFGTEST", "RANDOM", "GPIOC", "GPIOR", "GPIOW", "DAC", "ADC", "PWM", "WPAECERT",
    "CMDREQ", "BYPASS", "WPS", "RENEW", "SOCKDON", "SOCKDQ", "SOCKDC", "SOCKDW", "SOCKDR", "SOCKDL",
    "SELFTEST", "TFTPGET", "TFTPPUT", "SMTP", "HTTPPOST", "FWUPDATE", "FSUPDATE", "INPUTSSI", "MQTTCONN",
    "MQTTSUB", "MQTTPUB", "MQTTUNSUB", "MQTTDISC", "WSOCKON", "WSOCKQ", "WSOCKC", "WSOCKW", "WSOCKR", "WSOCKL",
    "FSM", "FSU", "HASH",
)
PAYLOAD_COMMANDS = ("SOCKDW", "WPAECERT", "CMDREQ", "BYPASS", "SMTP", "MQTTPUB", "WSOCKW", "INPUTSSI")


def _last_param_len(params: list[str]) -> int | None:
    if not params:
        return None
    try:
        n = int(params[-1].strip())
    except ValueError:
        return None
    return n if n >= 0 else None


def cmd_not_simulated(eng: Engine, cmd: Cmd) -> None:
    eng.error(at.ERR_COMMAND_NOT_FOUND)


COMMANDS: dict[str, Command] = {
    name: Command(cmd_not_simulated, payload_len=_last_param_len if name in PAYLOAD_COMMANDS else None,
                  help="(exists in the firmware; not simulated)")
    for name in NOT_SIMULATED
}
