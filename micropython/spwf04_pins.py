# The pin map of the X-NUCLEO-IDW04A1 on a NUCLEO-F401RE, in one place.
# Read by wifi_board.py on the device and by the firmware board definition check on the host
# (tests/test_boards.py), so the two cannot drift apart.
# Names are CPU pin names: Pin('A3') would be the Arduino A3 (= PB0), see spec section 1.1.
try:
    from micropython import const
except ImportError:  # CPython, for host-side checks

    def const(x):
        return x


UART_ID = const(1)  # USART1 on PA9 (TX, to module RXD, Arduino D8) / PA10 (RX, from module TXD, D2)
UART_TX = "PA9"
UART_RX = "PA10"
UART_BAUD = const(115200)
# One SOCKR carries up to 730 payload bytes plus framing; the stm32 default of 64 bytes would overflow.
UART_RXBUF = const(2048)
RESET_PIN = "PA8"  # active low, Arduino D7
WAKEUP_PIN = "PB0"  # high = awake, Arduino A3

# Option B for the stock NUCLEO_F401RE firmware (which has no UART(1)): USART6 on PC6/PC7, jumper
# wires to D8/D2. Select it with wifi_board.uart(uart_id=STOCK_UART_ID).
STOCK_UART_ID = const(6)
STOCK_UART_TX = "PC6"
STOCK_UART_RX = "PC7"
