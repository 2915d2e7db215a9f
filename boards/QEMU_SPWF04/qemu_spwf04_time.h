// time.localtime()/time.time() from the board glue's RTC (included into extmod/modtime.c, as stm32's
// ports/stm32/modtime.c is).
#include "shared/timeutils/timeutils.h"

void qemu_spwf04_rtc_localtime(timeutils_struct_time_t *tm);
mp_obj_t qemu_spwf04_rtc_time(void);

static void mp_time_localtime_get(timeutils_struct_time_t *tm) {
    qemu_spwf04_rtc_localtime(tm);
}

static mp_obj_t mp_time_time_get(void) {
    return qemu_spwf04_rtc_time();
}
