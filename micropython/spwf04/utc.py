# UTC calendar arithmetic without time.mktime/gmtime: ports differ in their epoch (stm32 counts from 2000,
# unix from 1970) and the board's RTC may be unset. Pure: F401RE, unix port, CPython; imports nothing from the
# package, so the module clock (spwf04.module), the TLS store's dates (spwf04.tls) and the X.509 loader
# (spwf04.cert) share it without loading each other.
# Days <-> civil date after H. Hinnant's proleptic Gregorian algorithms (years counted from March, so the
# leap day is the last day of a year; an era is 400 years = 146097 days; 719468: days 0000-03-01..1970-01-01).
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


# The clock floor (UNIX seconds of 2017-01-01, before SPWF04 FW 1.0 was built): a module or board clock earlier
# than this was never set (a module after boot, an F401RE RTC after power-up reads 2015), whatever it says.
CLOCK_MIN = const(1483228800)


def to_epoch(t):
    """(Y, M, D, h, m, s) UTC (any sequence of 6 numbers) -> UNIX seconds."""
    y, m, d, hh, mi, ss = t
    era, yoe = divmod(y - (m <= 2), 400)
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1  # day of the March-based year
    return ((era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468) * 24 + hh) * 3600 + mi * 60 + ss


def from_epoch(s):
    """UNIX seconds -> (Y, M, D, h, m, s) UTC."""
    z, s = divmod(s, 86400)
    era, doe = divmod(z + 719468, 146097)
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - 365 * yoe - yoe // 4 + yoe // 100
    mp = (5 * doy + 2) // 153  # month of the March-based year, 0..11
    m = (mp + 2) % 12 + 1
    return yoe + era * 400 + (m <= 2), m, doy - (153 * mp + 2) // 5 + 1, s // 3600, s // 60 % 60, s % 60


def ymd(s):
    """'YYYY-MM-DD' of UNIX seconds (UTC)."""
    return "%04d-%02d-%02d" % from_epoch(s)[:3]
