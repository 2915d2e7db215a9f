# Exceptions of the spwf04 driver and the small rules that go with them. Pure: F401RE, unix port, CPython.
#
# The module sends its own error texts (AT-S.ERROR:<code>:<text>), so no error-text table lives here; only
# the mapping of the socket-level codes to errno values, and the redaction rule for secrets.
import errno

# AT-S.ERROR codes that mean a socket-level condition -> the errno a socket user expects (spec 4); any other
# code is EIO. 44 wait for connection up (no Wi-Fi yet), 60 IP not ready to send, 63..65 DNS busy / start
# failed / address failure; 71 closing, 72 closed, 78 not connected; 74 failed to open socket (connect, DNS or
# TLS failure); 75 too many sockets; 76 illegal socket ID; 91 low memory.
SOCKET_ERRNO = {
    44: errno.EHOSTUNREACH, 60: errno.EHOSTUNREACH, 63: errno.EHOSTUNREACH, 64: errno.EHOSTUNREACH,
    65: errno.EHOSTUNREACH,
    71: errno.ENOTCONN, 72: errno.ENOTCONN, 78: errno.ENOTCONN,
    74: errno.ECONNREFUSED,
    75: errno.ENOBUFS,
    76: errno.EBADF,
    91: errno.ENOMEM,
}


class ModuleError(OSError):
    """The module answered AT-S.ERROR[:<code>[:<text>]].

    code: int or None, text: the module's own text ('' when console_errs hides it), command: the command
    with secrets redacted, details: the AT-S. lines seen before the error (e.g. 'Certificate Error:3'),
    diagnosis: likely causes (str) for failures the driver can reason about (TLS), else None.
    errno (args[0]) is the socket-level errno for socket codes (74 -> ECONNREFUSED, ...), else EIO."""

    def __init__(self, code, text, command=None, details=None, diagnosis=None):
        self.code = code
        self.text = text
        self.command = command
        self.details = details = details or []
        self.diagnosis = diagnosis
        msg = "%s: AT-S.ERROR:%s:%s" % (command, code, text)
        if details:
            msg += " (after %s)" % ", ".join(details[-3:])
        if diagnosis:
            msg += "; likely: " + diagnosis
        super().__init__(SOCKET_ERRNO.get(code, errno.EIO), msg)


class ModuleReset(OSError):
    """The module rebooted (boot indication or hard fault) while the driver did not expect it.

    Every socket of the module is invalid; the Wi-Fi link, module clock and TLS store are unknown.
    Fix: call module.init() (and join again)."""


class CertError(ValueError):
    """X.509 parse or pre-flight failure; the message names the problem and the fix. code: short tag
    (malformed, expired, not_yet_valid, clock_unset, clock_implausible, not_ca, key_unsupported, too_large,
    no_ca, private_key)."""

    def __init__(self, msg, code="malformed"):
        super().__init__(msg)
        self.code = code


def redact(line):
    """A command or module line with secret values replaced by '***': SCFG=<secret var>,<value> and
    AT-S.Var:<secret var>=<value>, where a secret variable (Wi-Fi passphrase, WEP keys) has 'psk' or 'key' in
    its name. Such values never show in traces, errors or repr."""
    if line:
        up = line[:10].upper()
        # the value starts after the first ',' (SCFG) or '=' (Var) past the 9-character prefix
        i = line.find(",", 9) if up.startswith("AT+S.SCFG=") else line.find("=", 9) if up.startswith(
            "AT-S.VAR:") else -1
        if i > 0:
            name = line[9:i].lower()
            if "psk" in name or "key" in name:
                return line[:i + 1] + "***"
    return line
