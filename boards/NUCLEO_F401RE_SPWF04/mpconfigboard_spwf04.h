// X-NUCLEO-IDW04A1 (SPWF04SA) on a NUCLEO-F401RE: what the stock NUCLEO_F401RE lacks.
// `spwf04 firmware` copies the stock board definition and includes this file from its
// mpconfigboard.h. Must agree with micropython/spwf04_pins.py (checked by tests/test_boards.py).

// USART1 to the module: PA9 = TX -> module RXD (Arduino D8), PA10 = RX <- module TXD (D2).
// The stock board has only UART2 (REPL) and UART6, so UART(1) raises "UART(1) doesn't exist".
#define MICROPY_HW_UART1_TX (pin_A9)
#define MICROPY_HW_UART1_RX (pin_A10)
