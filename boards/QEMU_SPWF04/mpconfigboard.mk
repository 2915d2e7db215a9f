# The 32-bit virtual board: MicroPython's qemu port on qemu-system-arm's netduinoplus2 (STM32F405,
# Cortex-M4), configured to behave like a NUCLEO-F401RE running the NUCLEO_F401RE_SPWF04 firmware where
# it matters to this project: the same raw heap (61,804 B), the driver frozen into flash, a 48 KiB FAT
# /flash and a 64 KiB ROMFS partition, a battery-less RTC reading 2015 at power-up, and the module's UART
# reached through STM32 USART registers. Built by `spwf04 qemu-firmware` (make qemu-firmware).
QEMU_ARCH = arm
QEMU_MACHINE = netduinoplus2

# The F401RE's heap as a stock NUCLEO_F401RE build gives it (RAM 80 KiB - .data/.bss - 16 KiB stack):
# measured on that build, 61,804 B raw; gc.mem_free() at the REPL reads about 60,3xx B.
MICROPY_HEAP_SIZE = 61804

CFLAGS += -mthumb -mcpu=cortex-m4 -mfloat-abi=soft
CFLAGS += -DQEMU_SOC_STM32
CFLAGS += -DMICROPY_HW_MCU_NAME='"STM32F405 (qemu, as NUCLEO-F401RE)"'
# qemu's netduinoplus2 clocks the SoC at 168 MHz; SysTick counts CPU cycles, so the port's tick
# (default 25 MHz) must match or guest time runs 6.7 times too fast.
CFLAGS += -DCPU_FREQ_HZ=168000000u
# Our mpconfigport.h wrapper comes first on the include path (see include/mpconfigport.h).
CFLAGS += -I$(BOARD_DIR)/include -I$(BOARD_DIR)

LDSCRIPT = $(BOARD_DIR)/qemu_spwf04.ld
# Console reads go through the board glue's type-ahead buffer (qemu_spwf04.c, Ctrl-C); delays sleep in WFI
# and count their idle time (qemu_spwf04.c, CPU time).
LDFLAGS += -Wl,--wrap=uart_rx_chr -Wl,--wrap=uart_rx_any -Wl,--wrap=mp_hal_delay_ms

SRC_BOARD_O = shared/runtime/gchelper_native.o shared/runtime/gchelper_thumb2.o
SRC_C += shared/timeutils/timeutils.c $(BOARD_DIR)/qemu_spwf04.c

# /flash is FAT, as on the stm32 port.
MICROPY_VFS_FAT = 1

MPY_CROSS_FLAGS += -march=armv7emsp
