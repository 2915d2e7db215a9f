# The 32-bit virtual board's UART to the module: an STM32 USART driven through its registers, for
# MicroPython's qemu port (which has no machine.UART). qemu's netduinoplus2 wires each USART to a host
# character device; `spwf04 board --qemu` connects USART2 to the simulator's UART port and USART3 to its
# pin port. Same interface as the stm32 machine.UART with timeout=0 (and tcp_uart.TcpUart): read, readinto
# and readline return None when nothing has arrived, write blocks until sent, any() counts received bytes,
# ioctl(MP_STREAM_POLL) serves select.poll and asyncio.
#
# Register access is viper (native code): machine.mem32 would allocate a big int per access, since
# peripheral addresses do not fit a 32-bit port's small ints. Received bytes are moved from the data
# register into a buffer of the size the stm32 UART gets from wifi_board (rxbuf) whenever any(), read*()
# or poll() run; the USART holds one byte and qemu holds the rest back meanwhile, so unlike the F401RE's
# interrupt-fed ring buffer nothing overruns while the board is busy (docs/virtual-boards.md).
import micropython
from micropython import const
from vboard_io import RxBuffer, SignalPin

USART2 = const(0x40004400)  # to the module's UART (qemu -serial #1)
USART3 = const(0x40004800)  # to the module's RESET and WAKEUP lines (qemu -serial #2)

_SR_RXNE = const(0x20)
_SR_TXE = const(0x80)
_CR1_ENABLE = const(0x200C)  # UE | TE | RE: qemu drops received bytes while the USART is disabled
_SPIN = const(64)  # empty status reads after the last byte before giving up: covers qemu's delivery gap
_MP_STREAM_POLL = const(3)
_POLLIN = const(0x0001)
_POLLOUT = const(0x0004)


@micropython.viper
def _rx(regs: ptr32, dst: ptr8, off: int, n: int) -> int:
    # Move up to n received bytes to dst[off:]; returns how many.
    got = 0
    idle = 0
    while got < n:
        if regs[0] & _SR_RXNE:
            dst[off + got] = regs[1]
            got += 1
            idle = 0
        else:
            idle += 1
            if idle > _SPIN:
                break
    return got


@micropython.viper
def _tx(regs: ptr32, src: ptr8, n: int):
    i = 0
    while i < n:
        while not (regs[0] & _SR_TXE):
            pass
        regs[1] = src[i]
        i += 1


@micropython.viper
def _ready(regs: ptr32) -> int:
    return regs[0] & _SR_RXNE


@micropython.viper
def _enable(regs: ptr32):
    regs[3] = _CR1_ENABLE


@micropython.viper
def _discard(regs: ptr32):
    # Drop what arrived before this object existed (the register keeps its state over a soft reset).
    idle = 0
    while idle <= _SPIN:
        if regs[0] & _SR_RXNE:
            regs[1]  # reading the data register takes the byte
            idle = 0
        else:
            idle += 1


class PolledUsart(RxBuffer):
    def __init__(self, base=USART2, baudrate=115200, rxbuf=2048):
        self._regs = base
        self.baudrate = baudrate  # qemu's USART ignores BRR: the simulator paces the line (--baud)
        self._buf = bytearray(rxbuf)
        self._mv = memoryview(self._buf)
        self._start = 0
        self._end = 0
        # The stm32 port turns its UARTs off at a soft reset and a new UART starts empty; this USART stays on
        # over a soft reset, so bytes from before (a module that rebooted meanwhile) would still be waiting.
        _enable(base)
        _discard(base)

    def init(self, baudrate=None, **kw):
        if baudrate:
            self.baudrate = baudrate

    def deinit(self):
        pass

    def _fill(self):
        if self._start == self._end:
            self._start = self._end = 0
        room = len(self._buf) - self._end
        if room:
            self._end += _rx(self._regs, self._buf, self._end, room)

    def any(self):
        self._fill()
        return self._end - self._start

    def readinto(self, buf, nbytes=None):
        want = len(buf) if nbytes is None else min(nbytes, len(buf))
        got = self._end - self._start
        if got:
            got = min(got, want)
            buf[:got] = self._mv[self._start : self._start + got]
            self._start += got
        if got < want:
            # Straight from the data register into the caller's buffer: no intermediate copy.
            got += _rx(self._regs, buf, got, want - got)
        return got or None

    def write(self, buf):
        _tx(self._regs, buf, len(buf))
        return len(buf)

    def txdone(self):
        return True

    def flush(self):
        pass

    def ioctl(self, req, arg):
        if req == _MP_STREAM_POLL:
            ret = 0
            if arg & _POLLIN and (self._end > self._start or _ready(self._regs)):
                ret |= _POLLIN
            if arg & _POLLOUT:
                ret |= _POLLOUT
            return ret
        return 0


class LinePin(SignalPin):
    """An output pin wired to the simulator's pin port through USART3."""

    def __init__(self, name, value=None):
        _enable(USART3)
        super().__init__(name, value)

    def _send(self, line):
        _tx(USART3, line, len(line))
