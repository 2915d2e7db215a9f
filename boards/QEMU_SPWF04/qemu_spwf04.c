// Board glue for the 32-bit virtual board (MicroPython's qemu port on netduinoplus2), written for this
// project. It gives the qemu port what the NUCLEO_F401RE_SPWF04 firmware has and the port lacks:
// - storage that survives a power cycle: a 48 KiB FAT /flash and a 64 KiB ROMFS partition, both in SRAM
//   outside the MicroPython heap (as flash is outside it on the F401RE), mirrored to host files
//   (flash.img, romfs.img in qemu's working directory) through ARM semihosting;
// - vfs.rom_ioctl, so `mpremote romfs deploy` writes the ROMFS as on stm32;
// - a battery-less RTC: it reads 2015-01-01 at power-up, like the F401RE's, and keeps time across a
//   soft reset;
// - the stm32 boot sequence: /rom, then /flash mounted by the frozen _qemu_boot.py, then boot.py and,
//   in the friendly REPL only, main.py; the NUCLEO firmware's frozen boot step (spwf04_boot.py) in between.
#include <string.h>

#include "py/mperrno.h"
#include "py/runtime.h"
#include "py/mphal.h"
#include "py/objarray.h"
#include "extmod/vfs.h"
#include "shared/runtime/interrupt_char.h"
#include "shared/runtime/pyexec.h"
#include "shared/timeutils/timeutils.h"

extern uint8_t _qemu_spwf04_flash_start, _qemu_spwf04_flash_end;
extern uint8_t _qemu_spwf04_romfs_start, _qemu_spwf04_romfs_end;

#define FLASH_BLOCK_SIZE (512)

// ------------------------------------------------------------------------------------------ semihosting
#define SYS_OPEN (0x01)
#define SYS_WRITE (0x05)
#define SYS_READ (0x06)
#define SYS_SEEK (0x0a)
#define SYS_FLEN (0x0c)
#define OPEN_RB (1)   // "rb"
#define OPEN_RPB (3)  // "r+b"
#define OPEN_WPB (7)  // "w+b"

static uint32_t sh_call(uint32_t num, const void *arg) {
    register uint32_t r0 __asm__ ("r0") = num;
    register const void *r1 __asm__ ("r1") = arg;
    __asm__ __volatile__ ("bkpt 0xAB" : "+r" (r0) : "r" (r1) : "memory");
    return r0;
}

typedef struct _backing_t {
    const char *name;
    uint8_t *start;
    uint8_t *end;
    int handle;  // host file, open for the whole power-on; -1 = none (storage then lives in RAM only)
} backing_t;

static backing_t flash_store = { "flash.img", &_qemu_spwf04_flash_start, &_qemu_spwf04_flash_end, -1 };
static backing_t romfs_store = { "romfs.img", &_qemu_spwf04_romfs_start, &_qemu_spwf04_romfs_end, -1 };
static bool storage_loaded;  // .bss: false at power-up only, so a soft reset keeps RAM as it is

static int sh_open(const char *name, uint32_t mode) {
    uint32_t args[3] = { (uint32_t)name, mode, strlen(name) };
    return (int)sh_call(SYS_OPEN, args);
}

// Power-up: fill the region from its host file, or erase it (0xff, like blank flash) and create the file.
static void backing_load(backing_t *b) {
    size_t len = b->end - b->start;
    memset(b->start, 0xff, len);
    b->handle = sh_open(b->name, OPEN_RPB);
    if (b->handle != -1) {
        uint32_t args[3] = { (uint32_t)b->handle, (uint32_t)b->start, len };
        sh_call(SYS_READ, args);  // a short file leaves the rest erased
        return;
    }
    b->handle = sh_open(b->name, OPEN_WPB);
    if (b->handle != -1) {
        uint32_t args[3] = { (uint32_t)b->handle, (uint32_t)b->start, len };
        sh_call(SYS_WRITE, args);
    }
}

// Write-through: RAM first (what the board reads), then the host file (what the next power-up reads).
static void backing_store(backing_t *b, size_t offset, const void *src, size_t len) {
    if (src != NULL) {
        memcpy(b->start + offset, src, len);
    } else {
        memset(b->start + offset, 0xff, len);
    }
    if (b->handle != -1) {
        uint32_t seek[2] = { (uint32_t)b->handle, offset };
        sh_call(SYS_SEEK, seek);
        uint32_t args[3] = { (uint32_t)b->handle, (uint32_t)(b->start + offset), len };
        sh_call(SYS_WRITE, args);
    }
}

// ----------------------------------------------------------------------------------- /flash block device
typedef struct _flash_bdev_obj_t {
    mp_obj_base_t base;
} flash_bdev_obj_t;

static size_t flash_blocks(void) {
    return (flash_store.end - flash_store.start) / FLASH_BLOCK_SIZE;
}

static mp_obj_t flash_bdev_transfer(mp_obj_t block_in, mp_obj_t buf_in, bool write) {
    size_t block = mp_obj_get_int(block_in);
    mp_buffer_info_t buf;
    mp_get_buffer_raise(buf_in, &buf, write ? MP_BUFFER_READ : MP_BUFFER_WRITE);
    if (buf.len % FLASH_BLOCK_SIZE || block + buf.len / FLASH_BLOCK_SIZE > flash_blocks()) {
        return MP_OBJ_NEW_SMALL_INT(-MP_EINVAL);
    }
    size_t offset = block * FLASH_BLOCK_SIZE;
    if (write) {
        backing_store(&flash_store, offset, buf.buf, buf.len);
    } else {
        memcpy(buf.buf, flash_store.start + offset, buf.len);
    }
    return MP_OBJ_NEW_SMALL_INT(0);
}

static mp_obj_t flash_bdev_readblocks(mp_obj_t self, mp_obj_t block, mp_obj_t buf) {
    return flash_bdev_transfer(block, buf, false);
}
static MP_DEFINE_CONST_FUN_OBJ_3(flash_bdev_readblocks_obj, flash_bdev_readblocks);

static mp_obj_t flash_bdev_writeblocks(mp_obj_t self, mp_obj_t block, mp_obj_t buf) {
    return flash_bdev_transfer(block, buf, true);
}
static MP_DEFINE_CONST_FUN_OBJ_3(flash_bdev_writeblocks_obj, flash_bdev_writeblocks);

static mp_obj_t flash_bdev_ioctl(mp_obj_t self, mp_obj_t op_in, mp_obj_t arg) {
    switch (mp_obj_get_int(op_in)) {
        case MP_BLOCKDEV_IOCTL_BLOCK_COUNT:
            return MP_OBJ_NEW_SMALL_INT(flash_blocks());
        case MP_BLOCKDEV_IOCTL_BLOCK_SIZE:
            return MP_OBJ_NEW_SMALL_INT(FLASH_BLOCK_SIZE);
        default:  // init, deinit, sync: writes are already through
            return MP_OBJ_NEW_SMALL_INT(0);
    }
}
static MP_DEFINE_CONST_FUN_OBJ_3(flash_bdev_ioctl_obj, flash_bdev_ioctl);

static const mp_rom_map_elem_t flash_bdev_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR_readblocks), MP_ROM_PTR(&flash_bdev_readblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_writeblocks), MP_ROM_PTR(&flash_bdev_writeblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_ioctl), MP_ROM_PTR(&flash_bdev_ioctl_obj) },
};
static MP_DEFINE_CONST_DICT(flash_bdev_locals_dict, flash_bdev_locals_dict_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    flash_bdev_type, MP_QSTR_Flash, MP_TYPE_FLAG_NONE,
    locals_dict, &flash_bdev_locals_dict
    );

static const flash_bdev_obj_t flash_bdev_obj = { { &flash_bdev_type } };

MP_DECLARE_CONST_FUN_OBJ_0(qemu_spwf04_cpu_obj);
MP_DECLARE_CONST_FUN_OBJ_1(qemu_spwf04_usart_rx_obj);
MP_DECLARE_CONST_FUN_OBJ_0(qemu_spwf04_usart_any_obj);
MP_DECLARE_CONST_FUN_OBJ_3(qemu_spwf04_usart_readinto_obj);

static const mp_rom_map_elem_t qemu_spwf04_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_qemu_spwf04) },
    { MP_ROM_QSTR(MP_QSTR_flash), MP_ROM_PTR(&flash_bdev_obj) },
    { MP_ROM_QSTR(MP_QSTR_cpu), MP_ROM_PTR(&qemu_spwf04_cpu_obj) },
    { MP_ROM_QSTR(MP_QSTR_usart_rx), MP_ROM_PTR(&qemu_spwf04_usart_rx_obj) },
    { MP_ROM_QSTR(MP_QSTR_usart_any), MP_ROM_PTR(&qemu_spwf04_usart_any_obj) },
    { MP_ROM_QSTR(MP_QSTR_usart_readinto), MP_ROM_PTR(&qemu_spwf04_usart_readinto_obj) },
};
static MP_DEFINE_CONST_DICT(qemu_spwf04_module_globals, qemu_spwf04_module_globals_table);

const mp_obj_module_t qemu_spwf04_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&qemu_spwf04_module_globals,
};
MP_REGISTER_MODULE(MP_QSTR_qemu_spwf04, qemu_spwf04_module);

// ------------------------------------------------------------------------------------------------ ROMFS
static MP_DEFINE_MEMORYVIEW_OBJ(romfs_obj, 'B', 0, 0, NULL);

mp_obj_t mp_vfs_rom_ioctl(size_t n_args, const mp_obj_t *args) {
    mp_int_t cmd = mp_obj_get_int(args[0]);
    size_t len = romfs_store.end - romfs_store.start;
    if (cmd == MP_VFS_ROM_IOCTL_GET_NUMBER_OF_SEGMENTS) {
        return MP_OBJ_NEW_SMALL_INT(1);
    }
    if (n_args < 2 || mp_obj_get_int(args[1]) != 0) {
        return MP_OBJ_NEW_SMALL_INT(-MP_EINVAL);
    }
    if (cmd == MP_VFS_ROM_IOCTL_GET_SEGMENT) {
        mp_obj_memoryview_init(&romfs_obj, 'B', 0, len, romfs_store.start);
        return MP_OBJ_FROM_PTR(&romfs_obj);
    }
    if (cmd == MP_VFS_ROM_IOCTL_WRITE_PREPARE && n_args >= 3) {
        size_t n = mp_obj_get_int(args[2]);
        if (n > len) {
            return MP_OBJ_NEW_SMALL_INT(-MP_EINVAL);
        }
        backing_store(&romfs_store, 0, NULL, n);  // erase, as the stm32 port erases flash sectors
        return MP_OBJ_NEW_SMALL_INT(4);  // minimum write size, as for internal flash
    }
    if (cmd == MP_VFS_ROM_IOCTL_WRITE && n_args >= 4) {
        size_t offset = mp_obj_get_int(args[2]);
        mp_buffer_info_t buf;
        mp_get_buffer_raise(args[3], &buf, MP_BUFFER_READ);
        if (offset + buf.len > len) {
            return MP_OBJ_NEW_SMALL_INT(-MP_EINVAL);
        }
        backing_store(&romfs_store, offset, buf.buf, buf.len);
        return MP_OBJ_NEW_SMALL_INT(0);
    }
    if (cmd == MP_VFS_ROM_IOCTL_WRITE_COMPLETE) {
        return MP_OBJ_NEW_SMALL_INT(0);
    }
    return MP_OBJ_NEW_SMALL_INT(-MP_EINVAL);
}

// -------------------------------------------------------------------------------------------------- RTC
// Seconds since 2000-01-01 at the tick count rtc_ticks_ms; the F401RE's RTC reads 2015-01-01 00:00:00 after a
// power-up without a battery (the stm32 port initialises it to that date).
#define RTC_POWER_UP (473385600)  // 2015-01-01T00:00:00 in seconds since 2000
static mp_uint_t rtc_base;
static mp_uint_t rtc_ticks_ms;
static bool rtc_running;

static mp_uint_t rtc_seconds(void) {
    if (!rtc_running) {
        rtc_base = RTC_POWER_UP;
        rtc_ticks_ms = mp_hal_ticks_ms();
        rtc_running = true;
    }
    return rtc_base + (mp_hal_ticks_ms() - rtc_ticks_ms) / 1000;
}

uint64_t mp_hal_time_ns(void) {
    uint64_t s = (uint64_t)rtc_seconds() + TIMEUTILS_SECONDS_1970_TO_2000;
    return s * 1000000000ULL + (uint64_t)((mp_hal_ticks_ms() - rtc_ticks_ms) % 1000) * 1000000ULL;
}

void qemu_spwf04_rtc_localtime(timeutils_struct_time_t *tm) {
    timeutils_seconds_since_2000_to_struct_time(rtc_seconds(), tm);
}

mp_obj_t qemu_spwf04_rtc_time(void) {
    return mp_obj_new_int_from_uint(rtc_seconds());
}

// RTC().datetime() -> (year, month, day, weekday, hours, minutes, seconds, subseconds), weekday 1 = Monday,
// as stm32's; RTC().datetime(tuple) sets it (weekday ignored: derived from the date).
static mp_obj_t rtc_datetime(size_t n_args, const mp_obj_t *args) {
    if (n_args == 1) {
        timeutils_struct_time_t tm;
        qemu_spwf04_rtc_localtime(&tm);
        mp_obj_t t[8] = {
            mp_obj_new_int(tm.tm_year), mp_obj_new_int(tm.tm_mon), mp_obj_new_int(tm.tm_mday),
            mp_obj_new_int(tm.tm_wday + 1), mp_obj_new_int(tm.tm_hour), mp_obj_new_int(tm.tm_min),
            mp_obj_new_int(tm.tm_sec), mp_obj_new_int(0),
        };
        return mp_obj_new_tuple(8, t);
    }
    mp_obj_t *items;
    mp_obj_get_array_fixed_n(args[1], 8, &items);
    rtc_base = timeutils_seconds_since_2000(mp_obj_get_int(items[0]), mp_obj_get_int(items[1]),
        mp_obj_get_int(items[2]), mp_obj_get_int(items[4]), mp_obj_get_int(items[5]), mp_obj_get_int(items[6]));
    rtc_ticks_ms = mp_hal_ticks_ms();
    rtc_running = true;
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(rtc_datetime_obj, 1, 2, rtc_datetime);

static mp_obj_t rtc_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args);

static const mp_rom_map_elem_t rtc_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR_datetime), MP_ROM_PTR(&rtc_datetime_obj) },
};
static MP_DEFINE_CONST_DICT(rtc_locals_dict, rtc_locals_dict_table);

MP_DEFINE_CONST_OBJ_TYPE(
    qemu_spwf04_rtc_type, MP_QSTR_RTC, MP_TYPE_FLAG_NONE,
    make_new, rtc_make_new,
    locals_dict, &rtc_locals_dict
    );

static const mp_obj_base_t rtc_obj = { &qemu_spwf04_rtc_type };

static mp_obj_t rtc_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 0, 0, false);
    return MP_OBJ_FROM_PTR(&rtc_obj);  // one RTC, as on stm32
}

// ---------------------------------------------------------------------------------------------- Ctrl-C
// The qemu port reads its console USART only when it wants input, so Ctrl-C could not stop running code.
// As the stm32 port's UART interrupt does, the VM hook (mpconfigport.h) takes what arrives while code runs:
// Ctrl-C raises KeyboardInterrupt, anything else waits in a small buffer for the next read of stdin (the
// port's uart_rx_chr/uart_rx_any are wrapped by the linker: -Wl,--wrap, see mpconfigboard.mk).
#define CONSOLE_SR (*(volatile uint32_t *)0x40011000)
#define CONSOLE_DR (*(volatile uint32_t *)0x40011004)
#define USART_SR_RXNE (1 << 5)
#define STDIN_BUF (256)

static uint8_t stdin_buf[STDIN_BUF];
static volatile uint16_t stdin_head, stdin_tail;

int __real_uart_rx_chr(void);
int __real_uart_rx_any(void);

void qemu_spwf04_poll_interrupt(void) {
    while (mp_interrupt_char != -1 && (CONSOLE_SR & USART_SR_RXNE)) {
        int c = CONSOLE_DR & 0xff;
        if (c == mp_interrupt_char) {
            stdin_head = stdin_tail = 0;  // as stm32 does, a Ctrl-C also discards what was typed ahead
            mp_sched_keyboard_interrupt();
            return;
        }
        uint16_t next = (stdin_head + 1) % STDIN_BUF;
        if (next != stdin_tail) {
            stdin_buf[stdin_head] = c;
            stdin_head = next;
        }
    }
}

int __wrap_uart_rx_chr(void) {
    if (stdin_tail != stdin_head) {
        int c = stdin_buf[stdin_tail];
        stdin_tail = (stdin_tail + 1) % STDIN_BUF;
        return c;
    }
    return __real_uart_rx_chr();
}

int __wrap_uart_rx_any(void) {
    return stdin_tail != stdin_head || __real_uart_rx_any();
}

// ------------------------------------------------------------------------------------------------ CPU time
// Waiting sleeps, as on the stm32 port (MICROPY_INTERNAL_WFE is __WFI there): time.sleep_ms and every other
// mp_hal_delay_ms call is wrapped (-Wl,--wrap, mpconfigboard.mk) into a loop of WFI until the next SysTick,
// handling Ctrl-C and pending callbacks between ticks. The port's own delay spins, which makes a wait cost
// instructions and a qemu process burn a host core while the board sleeps.
//
// The time spent in WFI is counted in SysTick cycles (CPU_FREQ_HZ), so qemu_spwf04.cpu() can tell busy time
// from idle time: under `qemu-system-arm -icount shift=0` one instruction is 1 ns of guest time, so busy
// nanoseconds are executed instructions (the bench's CPU cost per payload byte, docs/virtual-boards.md).
#define SYST_RVR (*(volatile uint32_t *)0xE000E014)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018)

static uint64_t idle_cycles;

void qemu_spwf04_wfi(void);

// SysTick cycles since power-up: the tick count and the down-counter, read consistently around a tick.
static uint64_t cycles_now(void) {
    for (;;) {
        mp_uint_t ms = mp_hal_ticks_ms();
        uint32_t cvr = SYST_CVR;
        if (mp_hal_ticks_ms() == ms) {
            return (uint64_t)ms * (SYST_RVR + 1) + (SYST_RVR - cvr);
        }
    }
}

void __wrap_mp_hal_delay_ms(mp_uint_t ms) {
    mp_uint_t start = mp_hal_ticks_ms();
    for (;;) {
        qemu_spwf04_poll_interrupt();
        mp_handle_pending(true);
        if (mp_hal_ticks_ms() - start >= ms) {
            return;
        }
        qemu_spwf04_wfi();
    }
}

// Sleep until the next interrupt (SysTick: at most 1 ms), the time counted as idle. Also the port's
// MICROPY_INTERNAL_WFE (include/mpconfigport.h), so select.poll and asyncio's waits sleep too.
void qemu_spwf04_wfi(void) {
    uint64_t t0 = cycles_now();
    __asm volatile ("wfi");
    idle_cycles += cycles_now() - t0;
}

// cpu() -> (cycles, idle_cycles): SysTick cycles (CPU_FREQ_HZ) since power-up, and how many of them the CPU
// slept in WFI. Their difference over a region is the busy time.
static mp_obj_t qemu_spwf04_cpu(void) {
    mp_obj_t items[3] = {
        mp_obj_new_int_from_ull(cycles_now()),
        mp_obj_new_int_from_ull(idle_cycles),
        mp_obj_new_int_from_uint(CPU_FREQ_HZ),
    };
    return mp_obj_new_tuple(3, items);
}
MP_DEFINE_CONST_FUN_OBJ_0(qemu_spwf04_cpu_obj, qemu_spwf04_cpu);

// ------------------------------------------------------------------------------------- the module's UART
// USART2 (to the simulator) receives as the stm32 port's UART does: the RXNE interrupt moves each byte into a
// ring buffer of rxbuf bytes taken from the heap (machine.UART(..., rxbuf=) allocates it there too), and code
// reads the ring. While the ring is full the interrupt is held and the byte waits in the data register, as in
// the stm32 port's uart.c; there the USART then overruns and loses bytes, here qemu holds them back
// (docs/virtual-boards.md). Transmit and the pin lines stay in Python (micropython/qemu_usart.py, viper).
#define USART2_SR (*(volatile uint32_t *)0x40004400)
#define USART2_DR (*(volatile uint32_t *)0x40004404)
#define USART2_CR1 (*(volatile uint32_t *)0x4000440C)
#define USART_CR1_RXNEIE (1 << 5)
#define USART2_IRQN (38)  // STM32F4 position of USART2 in the NVIC
#define NVIC_ISER ((volatile uint32_t *)0xE000E100)
#define NVIC_ICER ((volatile uint32_t *)0xE000E180)
#define SCB_VTOR (*(volatile uint32_t *)0xE000ED08)
#define VECTORS (16 + 64)

// The port's vector table has the 16 system exceptions only: a copy in RAM gets the USART2 entry.
static uint32_t vectors[VECTORS] __attribute__((aligned(512)));

static struct {
    uint8_t *buf;  // NULL: not receiving
    uint32_t size;  // ring slots: rxbuf + 1 (one stays empty)
    volatile uint32_t head, tail;
} rx;

MP_REGISTER_ROOT_POINTER(mp_obj_t qemu_spwf04_rx_buf);

void USART2_IRQHandler(void) {
    if (!(USART2_SR & USART_SR_RXNE)) {
        return;
    }
    uint32_t next = (rx.head + 1) % rx.size;
    if (rx.buf == NULL || next == rx.tail) {
        // Full: the byte stays in the register until code makes room. The interrupt is held back in the NVIC,
        // not with RXNEIE: qemu keeps the USART's line raised until the data register is read.
        NVIC_ICER[USART2_IRQN / 32] = 1u << (USART2_IRQN % 32);
        return;
    }
    rx.buf[rx.head] = USART2_DR;
    rx.head = next;
}

static void rx_stop(void) {
    USART2_CR1 &= ~USART_CR1_RXNEIE;
    NVIC_ICER[USART2_IRQN / 32] = 1u << (USART2_IRQN % 32);
    rx.buf = NULL;
    MP_STATE_PORT(qemu_spwf04_rx_buf) = MP_OBJ_NULL;
}

// usart_rx(bytearray of rxbuf + 1 bytes): receive into it from now on (what arrived before is dropped);
// usart_rx(None): stop.
static mp_obj_t qemu_spwf04_usart_rx(mp_obj_t buf_in) {
    rx_stop();
    if (buf_in == mp_const_none) {
        return mp_const_none;
    }
    mp_buffer_info_t b;
    mp_get_buffer_raise(buf_in, &b, MP_BUFFER_WRITE);
    if (b.len < 2) {
        mp_raise_ValueError(MP_ERROR_TEXT("rxbuf too small"));
    }
    while (USART2_SR & USART_SR_RXNE) {
        (void)USART2_DR;  // bytes from before (the register keeps its state over a soft reset)
    }
    const uint32_t *table = (const uint32_t *)SCB_VTOR;
    if (table != vectors) {
        for (int i = 0; i < 16; ++i) {
            vectors[i] = table[i];
        }
        vectors[16 + USART2_IRQN] = (uint32_t)USART2_IRQHandler;
        SCB_VTOR = (uint32_t)vectors;
    }
    MP_STATE_PORT(qemu_spwf04_rx_buf) = buf_in;
    rx.size = b.len;
    rx.head = rx.tail = 0;
    rx.buf = b.buf;
    NVIC_ISER[USART2_IRQN / 32] = 1u << (USART2_IRQN % 32);
    USART2_CR1 |= USART_CR1_RXNEIE;
    return mp_const_none;
}
MP_DEFINE_CONST_FUN_OBJ_1(qemu_spwf04_usart_rx_obj, qemu_spwf04_usart_rx);

static mp_obj_t qemu_spwf04_usart_any(void) {
    return MP_OBJ_NEW_SMALL_INT(rx.buf == NULL ? 0 : (rx.head + rx.size - rx.tail) % rx.size);
}
MP_DEFINE_CONST_FUN_OBJ_0(qemu_spwf04_usart_any_obj, qemu_spwf04_usart_any);

// usart_readinto(buf, nbytes, line) -> count: up to nbytes received bytes into buf (line: stop after a LF).
static mp_obj_t qemu_spwf04_usart_readinto(mp_obj_t buf_in, mp_obj_t nbytes_in, mp_obj_t line_in) {
    mp_buffer_info_t b;
    mp_get_buffer_raise(buf_in, &b, MP_BUFFER_WRITE);
    size_t want = mp_obj_get_int(nbytes_in);
    if (want > b.len) {
        want = b.len;
    }
    bool line = mp_obj_is_true(line_in);
    size_t got = 0;
    uint8_t *dst = b.buf;
    while (rx.buf != NULL && got < want && rx.tail != rx.head) {
        uint32_t t = rx.tail;
        size_t k = (rx.head >= t ? rx.head : rx.size) - t;  // the contiguous part
        if (k > want - got) {
            k = want - got;
        }
        if (line) {
            const uint8_t *lf = memchr(rx.buf + t, '\n', k);
            if (lf != NULL) {
                k = lf - (rx.buf + t) + 1;
                want = got + k;
            }
        }
        memcpy(dst + got, rx.buf + t, k);
        got += k;
        rx.tail = (t + k) % rx.size;
    }
    if (rx.buf != NULL) {
        NVIC_ISER[USART2_IRQN / 32] = 1u << (USART2_IRQN % 32);  // room again: a byte held in the register comes in
    }
    return MP_OBJ_NEW_SMALL_INT(got);
}
MP_DEFINE_CONST_FUN_OBJ_3(qemu_spwf04_usart_readinto_obj, qemu_spwf04_usart_readinto);

// At a soft reset the heap goes and the ring with it: stop the interrupt before (MICROPY_PORT_DEINIT_FUNC).
void qemu_spwf04_deinit(void) {
    rx_stop();
}

// ------------------------------------------------------------------------------------------------- boot
void qemu_spwf04_boot(void) {
    if (!storage_loaded) {
        backing_load(&flash_store);
        backing_load(&romfs_store);
        storage_loaded = true;
    }
    mp_vfs_mount_romfs_protected();  // mp_init tries again after this hook; that second mount fails quietly
    pyexec_frozen_module("_qemu_boot.py", false);
    pyexec_frozen_module("spwf04_boot.py", false);  // as NUCLEO_F401RE_SPWF04's MICROPY_BOARD_FROZEN_BOOT_FILE
    pyexec_file_if_exists("boot.py");
    if (pyexec_mode_kind == PYEXEC_MODE_FRIENDLY_REPL) {
        pyexec_file_if_exists("main.py");
    }
}

// FAT timestamps from the RTC (oofatfs asks the port), packed as FatFs wants them.
uint32_t get_fattime(void) {
    timeutils_struct_time_t tm;
    qemu_spwf04_rtc_localtime(&tm);
    return ((tm.tm_year - 1980) << 25) | ((tm.tm_mon) << 21) | ((tm.tm_mday) << 16) |
           ((tm.tm_hour) << 11) | ((tm.tm_min) << 5) | (tm.tm_sec / 2);
}
