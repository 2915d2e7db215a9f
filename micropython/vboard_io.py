# What the virtual boards' stand-ins for hardware share (tcp_uart on the unix port, qemu_usart on the qemu port).
#
# RxBuffer, the receive side of TcpUart (the qemu board receives in its firmware): bytes pulled in but not
# yet taken sit in self._buf[self._start:self._end]; read() and
# readline() behave as the stm32 machine.UART's with timeout=0 (None when nothing has arrived, no waiting).
# A subclass provides _fill() (pull what has arrived into the buffer, never past its end), any() and readinto().
# UartBase is what all virtual UARTs share (TcpUart through RxBuffer, and qemu_usart.Usart).


from micropython import const

_POLLIN = const(0x0001)
_POLLOUT = const(0x0004)


class UartBase:
    """What every virtual UART does as machine.UART does: write() returns once the bytes are sent (so txdone()
    is always True and flush() has nothing to wait for), and select.poll sees it always writable."""

    def txdone(self):
        """True: write() has already sent everything."""
        return True

    def flush(self):
        """Nothing to wait for (write() returns once sent)."""

    def _poll_mask(self, arg, readable):
        # The answer to ioctl(MP_STREAM_POLL, arg): what was asked of POLLIN (if readable) and POLLOUT.
        return (arg & _POLLIN if readable else 0) | (arg & _POLLOUT)


class RxBuffer(UartBase):
    def read(self, nbytes=-1):
        if nbytes is None or nbytes < 0:
            nbytes = self.any() or len(self._buf)
        b = bytearray(nbytes)
        n = self.readinto(b)
        if not n:
            return None
        return bytes(b) if n == nbytes else bytes(b[:n])

    def readline(self):
        self._fill()
        s, e = self._start, self._end
        if s == e:
            return None
        i = self._buf.find(b"\n", s, e)  # in place: copy the line only, not the payload buffered behind it
        if i < 0:
            if e < len(self._buf):
                return None  # no full line yet; like UART(timeout=0) we do not wait
            i = e - 1  # buffer full without a newline: hand it out so nothing stalls
        self._start = i + 1
        return bytes(self._mv[s : i + 1])


class SignalPin:
    """An output pin wired to the simulator's pin port: a level change is a line "RESET 0\n" / "WAKEUP 1\n".
    A subclass provides _send(line) (the wire); a pin the module is not wired to drives nothing."""

    _SIGNALS = {"PA8": b"RESET", "PB0": b"WAKEUP"}

    def __init__(self, name, value=None):
        self.name = name
        self._signal = self._SIGNALS.get(name)
        self._value = None
        if value is not None:
            self.value(value)

    def init(self, mode=None, pull=None, value=None):
        if value is not None:
            self.value(value)

    def value(self, v=None):
        if v is None:
            return self._value
        self._value = 1 if v else 0
        if self._signal is not None:
            self._send(b"%s %d\n" % (self._signal, self._value))

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def __repr__(self):
        return "Pin(%s)" % self.name
