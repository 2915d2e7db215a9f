# NUCLEO_F401RE_SPWF04: included at the end of the stock NUCLEO_F401RE mpconfigboard.mk by `spwf04 firmware`.
# Our linker script: /flash on sectors 1-3 (48 KiB), ROMFS on sector 4 (64 KiB), text on 5-7 as stock.
LD_FILES = $(BOARD_DIR)/stm32f401xe_spwf04.ld boards/common_ifs.ld
