# UTC calendar arithmetic without time.mktime/gmtime: ports differ in their epoch (stm32 counts from 2000,
# unix from 1970) and the board's RTC may be unset. Pure: F401RE, unix port, CPython.
# Days <-> civil date after H. Hinnant's proleptic Gregorian algorithms.


def days(y, m, d):
    """Days since 1970-01-01 of a UTC date."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def civil(n):
    """(Y, M, D) of day n since 1970-01-01."""
    z = n + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (m <= 2), m, doy - (153 * mp + 2) // 5 + 1
