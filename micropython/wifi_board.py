# The board module: gives application code the UART and pins that lead to the SPWF04SA, so that the
# same application runs on the NUCLEO-F401RE and on the virtual board without edits.
#
#   import wifi_board
#   uart = wifi_board.uart()          # machine.UART(1, 115200) on the board, TcpUart on the unix port
#   rst, wake = wifi_board.reset_pin(), wifi_board.wakeup_pin()
import sys

import spwf04_pins as pins

VIRTUAL = sys.platform == "linux"  # the MicroPython unix port = the virtual board
QEMU = sys.platform == "qemu"  # MicroPython's qemu port = the 32-bit virtual board (USART registers)


def uart(uart_id=None, baudrate=pins.UART_BAUD):
    """The UART wired to the module (receive buffer big enough for a whole SOCKR)."""
    if VIRTUAL:
        import tcp_uart

        return tcp_uart.TcpUart(tcp_uart.module_address(), baudrate=baudrate, rxbuf=pins.UART_RXBUF)
    if QEMU:
        import qemu_usart

        return qemu_usart.Usart(baudrate=baudrate, rxbuf=pins.UART_RXBUF)
    from machine import UART

    uid = pins.UART_ID if uart_id is None else uart_id
    try:
        return UART(uid, baudrate, bits=8, parity=None, stop=1, rxbuf=pins.UART_RXBUF, timeout=0)
    except ValueError as e:
        raise ValueError(
            "%s: this firmware has no UART(%d). Flash the SPWF04 board firmware (make firmware), or "
            "wire PC6->D8 and PC7->D2 and call wifi_board.uart(uart_id=%d)" % (e, uid, pins.STOCK_UART_ID)
        )


def _pin(name, value):
    if VIRTUAL:
        import tcp_uart

        return tcp_uart.VirtualPin(name, value)
    if QEMU:
        import qemu_usart

        return qemu_usart.LinePin(name, value)
    from machine import Pin

    return Pin(name, Pin.OUT, value=value)


def reset_pin():
    """Module reset, active low; idles high (module running)."""
    return _pin(pins.RESET_PIN, 1)


def wakeup_pin():
    """Module wakeup; driven high so sleep modes can never stall the console."""
    return _pin(pins.WAKEUP_PIN, 1)


def module(**kw):
    """A ready spwf04.Module on this board's UART and pins (not yet brought up)."""
    from spwf04 import Module

    return Module(uart(), reset_pin=reset_pin(), wakeup_pin=wakeup_pin(), **kw)
