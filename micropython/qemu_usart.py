# The 32-bit virtual board's UART to the module, for MicroPython's qemu port (which has no machine.UART):
# qemu's netduinoplus2 wires each STM32 USART to a host character device; `spwf04 board --qemu` connects
# USART2 to the simulator's UART port and USART3 to its pin port. Same interface as the stm32 machine.UART
# with timeout=0 (and tcp_uart.TcpUart): read, readinto and readline return None when nothing has arrived,
# write blocks until sent, any() counts received bytes, ioctl(MP_STREAM_POLL) serves select.poll and asyncio.
#
# Receive is the firmware's, as on the stm32 port: an interrupt moves each byte into a ring buffer of rxbuf
# bytes allocated here from the heap, like machine.UART's (qemu_spwf04.usart_*, boards/QEMU_SPWF04), so bytes
# keep arriving while Python sleeps or is busy. Transmit and the pin lines are register writes in viper
# (native code): machine.mem32 would allocate a big int per access, since peripheral addresses do not fit a
# 32-bit port's small ints.
import micropython
from micropython import const

import qemu_spwf04
from vboard_io import SignalPin, UartBase

USART2 = const(0x40004400)  # to the module's UART (qemu -serial #1); its receive is the firmware's
USART3 = const(0x40004800)  # to the module's RESET and WAKEUP lines (qemu -serial #2)

_SR_TXE = const(0x80)
_CR1_ENABLE = const(0x200C)  # UE | TE | RE: qemu drops received bytes while the USART is disabled
_MP_STREAM_POLL = const(3)


@micropython.viper
def _tx(regs: ptr32, src: ptr8, n: int):
    i = 0
    while i < n:
        while not (regs[0] & _SR_TXE):
            pass
        regs[1] = src[i]
        i += 1


@micropython.viper
def _enable(regs: ptr32):
    regs[3] = _CR1_ENABLE


class Usart(UartBase):
    """USART2, the module's UART: like machine.UART(..., rxbuf=rxbuf, timeout=0) on the stm32 port."""

    def __init__(self, baudrate=115200, rxbuf=2048):
        self.baudrate = baudrate  # qemu's USART ignores BRR: the simulator paces the line (--baud)
        _enable(USART2)
        # One slot of the ring stays empty (as machine.UART allocates rxbuf + 1): rxbuf bytes fit. What arrived
        # before (a module that rebooted over a soft reset) is dropped, as a new stm32 UART starts empty.
        qemu_spwf04.usart_rx(bytearray(rxbuf + 1))

    def init(self, baudrate=None, **kw):
        if baudrate:
            self.baudrate = baudrate

    def deinit(self):
        qemu_spwf04.usart_rx(None)

    def any(self):
        return qemu_spwf04.usart_any()

    def readinto(self, buf, nbytes=None):
        return qemu_spwf04.usart_readinto(buf, len(buf) if nbytes is None else nbytes, False) or None

    def read(self, nbytes=-1):
        if nbytes is None or nbytes < 0:
            nbytes = qemu_spwf04.usart_any()
        b = bytearray(nbytes)
        n = qemu_spwf04.usart_readinto(b, nbytes, False)
        if not n:
            return None
        return bytes(b) if n == nbytes else bytes(b[:n])

    def readline(self):
        # what has arrived up to and with the first LF (no waiting: a partial line as the stm32 UART gives it)
        b = bytearray(qemu_spwf04.usart_any())
        n = qemu_spwf04.usart_readinto(b, len(b), True)
        return bytes(b[:n]) if n else None

    def write(self, buf):
        _tx(USART2, buf, len(buf))
        return len(buf)

    def ioctl(self, req, arg):
        if req == _MP_STREAM_POLL:
            return self._poll_mask(arg, qemu_spwf04.usart_any())
        return 0


class LinePin(SignalPin):
    """An output pin wired to the simulator's pin port through USART3."""

    def __init__(self, name, value=None):
        _enable(USART3)
        super().__init__(name, value)

    def _send(self, line):
        _tx(USART3, line, len(line))
