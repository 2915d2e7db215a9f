// The qemu port's configuration, then what the NUCLEO_F401RE_SPWF04 firmware has and the qemu port lacks.
// This file shadows ports/qemu/mpconfigport.h (our include directory comes first) and includes it, so the
// MicroPython tree stays untouched.
#include_next <mpconfigport.h>

// asyncio's C core, as on stm32 (the qemu port builds without it; pure-Python asyncio uses more heap).
#undef MICROPY_PY_ASYNCIO
#define MICROPY_PY_ASYNCIO (1)

// FAT options of the stm32 port (/flash is FAT there).
#define MICROPY_FATFS_ENABLE_LFN (1)
#define MICROPY_FATFS_LFN_CODE_PAGE 437
#define MICROPY_FATFS_USE_LABEL (1)
#define MICROPY_FATFS_RPATH (2)
#define MICROPY_FATFS_MULTI_PARTITION (1)

// ROMFS with the rom_ioctl interface mpremote's `romfs` command writes through, as on stm32.
#undef MICROPY_VFS_ROM_IOCTL
#define MICROPY_VFS_ROM_IOCTL (1)

// time.time()/gmtime()/localtime()/mktime() from an RTC, epoch 2000, as on stm32.
#define MICROPY_PY_TIME_GMTIME_LOCALTIME_MKTIME (1)
#define MICROPY_PY_TIME_TIME_TIME_NS (1)
#define MICROPY_PY_TIME_INCLUDEFILE "qemu_spwf04_time.h"

// machine.RTC (datetime get/set) like stm32's.
#define MICROPY_PY_MACHINE_EXTRA_GLOBALS \
    { MP_ROM_QSTR(MP_QSTR_RTC), MP_ROM_PTR(&qemu_spwf04_rtc_type) },

// Boot like the stm32 port: mount /rom and /flash, run boot.py and (friendly REPL only) main.py.
#define MICROPY_PORT_INIT_FUNC qemu_spwf04_boot()
#define MICROPY_PORT_DEINIT_FUNC qemu_spwf04_deinit()

// Ctrl-C while code runs: the qemu port reads its console only at the prompt; the VM checks it every few
// dozen bytecodes and in every wait instead (qemu_spwf04_poll_interrupt).
#define MICROPY_VM_HOOK_COUNT (32)
#define MICROPY_VM_HOOK_INIT static unsigned int vm_hook_divisor = MICROPY_VM_HOOK_COUNT;
#define MICROPY_VM_HOOK_POLL if (--vm_hook_divisor == 0) { \
        vm_hook_divisor = MICROPY_VM_HOOK_COUNT; \
        qemu_spwf04_poll_interrupt(); \
}
#define MICROPY_VM_HOOK_LOOP MICROPY_VM_HOOK_POLL
#define MICROPY_VM_HOOK_RETURN MICROPY_VM_HOOK_POLL
#define MICROPY_INTERNAL_EVENT_HOOK qemu_spwf04_poll_interrupt()
// Waiting for an event (select.poll, asyncio) sleeps in WFI, as on stm32, counted as idle (qemu_spwf04.c).
#define MICROPY_INTERNAL_WFE(TIMEOUT_MS) qemu_spwf04_wfi()

#ifndef __ASSEMBLER__
void qemu_spwf04_poll_interrupt(void);
void qemu_spwf04_wfi(void);
extern const struct _mp_obj_type_t qemu_spwf04_rtc_type;
void qemu_spwf04_boot(void);
void qemu_spwf04_deinit(void);
#endif
