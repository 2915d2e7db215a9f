// X-NUCLEO-IDW04A1 (SPWF04SA) on a NUCLEO-F401RE: what the stock NUCLEO_F401RE lacks.
// `spwf04 firmware` copies the stock board definition and includes this file from its
// mpconfigboard.h. Must agree with micropython/spwf04_pins.py (checked by tests/test_boards.py).

// USART1 to the module: PA9 = TX -> module RXD (Arduino D8), PA10 = RX <- module TXD (D2).
// The stock board has only UART2 (REPL) and UART6, so UART(1) raises "UART(1) doesn't exist".
#define MICROPY_HW_UART1_TX (pin_A9)
#define MICROPY_HW_UART1_RX (pin_A10)

// ROMFS partition 0 in internal flash, sector 4 (0x08010000, 64 KiB; stm32f401xe_spwf04.ld gives the
// linker symbols _micropy_hw_romfs_part0_start/_size). Enables vfs.rom_ioctl and mounts /rom at boot.
#define MICROPY_HW_ROMFS_ENABLE_INTERNAL_FLASH (1)
#define MICROPY_HW_ROMFS_ENABLE_PART0 (1)

// Run the frozen spwf04_boot.py at every reset, before boot.py: it puts /rom before .frozen on sys.path,
// so a driver deployed to ROMFS replaces the frozen one (see spwf04_boot.py).
#define MICROPY_BOARD_FROZEN_BOOT_FILE "spwf04_boot.py"
