# Exceptions of the spwf04 driver and the small tables that go with them. Pure: F401RE, unix port, CPython.
#
# The module sends its own error texts (AT-S.ERROR:<code>:<text>), so no error-text table lives here; only
# the mapping of the socket-level codes to errno values, and the redaction rule for secrets.
import errno

# AT-S.ERROR codes that mean a socket-level condition -> the errno a socket user expects (spec section 4).
_ERRNO = {
    44: errno.EHOSTUNREACH,  # Wait for Connection Up (no Wi-Fi yet)
    60: errno.EHOSTUNREACH,  # IP not ready to send
    63: errno.EHOSTUNREACH,  # DNS busy
    64: errno.EHOSTUNREACH,  # DNS start failed
    65: errno.EHOSTUNREACH,  # DNS address failure
    71: errno.ENOTCONN,  # Closing socket
    72: errno.ENOTCONN,  # Closed socket
    74: errno.ECONNREFUSED,  # Failed to open socket (connect, DNS or TLS failure)
    75: errno.ENOBUFS,  # Too many sockets
    76: errno.EBADF,  # Illegal Socket ID
    78: errno.ENOTCONN,  # Socket not connected
    91: errno.ENOMEM,  # Low Memory
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
        self.details = details or []
        self.diagnosis = diagnosis
        super().__init__(_ERRNO.get(code, errno.EIO), self._message())

    def _message(self):
        msg = "%s: AT-S.ERROR:%s:%s" % (self.command, self.code, self.text)
        if self.details:
            msg += " (after %s)" % ", ".join(self.details[-3:])
        if self.diagnosis:
            msg += "; likely: " + self.diagnosis
        return msg


class ModuleReset(OSError):
    """The module rebooted (boot indication or hard fault) while the driver did not expect it.

    Every socket of the module is invalid; the Wi-Fi link, module clock and TLS store are unknown.
    Fix: call module.init() (and join again)."""


class CertError(ValueError):
    """X.509 parse or pre-flight failure; the message names the problem and the fix. code: short tag
    (malformed, expired, not_yet_valid, clock_unset, clock_implausible, not_ca, key_unsupported, too_large,
    no_ca)."""

    def __init__(self, msg, code="malformed"):
        super().__init__(msg)
        self.code = code


def timeout(what):
    return OSError(errno.ETIMEDOUT, what)


# Variables whose values are secrets (Wi-Fi passphrase, WEP keys): never shown in traces, errors, repr.
def _secret_var(name):
    name = name.lower()
    return "psk" in name or "key" in name


def redact(line):
    """A command or module line with secret values replaced by '***' (SCFG=<secret var>,<value> and
    AT-S.Var:<secret var>=<value>)."""
    if not line:
        return line
    up = line[:10].upper()
    if up.startswith("AT+S.SCFG="):
        i = line.find(",")
        if i > 0 and _secret_var(line[10:i]):
            return line[: i + 1] + "***"
    elif up.startswith("AT-S.VAR:"):
        i = line.find("=")
        if i > 0 and _secret_var(line[9:i]):
            return line[: i + 1] + "***"
    return line
