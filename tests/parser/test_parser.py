"""The streaming AT parser on CPython: classification, fragmentation independence, payload mode, bounded
memory and resynchronisation. The same vectors run on the MicroPython unix port (test_parser_unix.py)."""
import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spwf04_tools import device_path

device_path()  # the device package (micropython/) on CPython

import vectors as V  # noqa: E402
from spwf04 import parser as P


@pytest.mark.parametrize("raw,want", V.LINES, ids=[l.decode("latin-1")[:40] for l, _ in V.LINES])
def test_classifies_each_line(raw, want):
    evs = P.parse(raw + b"\r\n")
    assert len(evs) == 1
    e = evs[0]
    assert (e.kind, e.text, e.number, e.code, list(e.params)) == want
    assert e.line == raw.decode()


def test_whole_stream_events():
    evs, p = V.run([V.stream()])
    kinds = [e[0] for e in evs]
    # boot winds, echo, OK, Var, WIND 55, OK, Reading, payload, OK, garbage+OK, garbage (too long), WIND 58,
    # Reading, payload, verbose OK, garbage + ERROR, Certificate Error, ERROR
    assert kinds == [P.WIND, P.WIND, P.ECHO, P.OK, P.INFO, P.WIND, P.OK, P.INFO, "payload", P.OK,
                     P.GARBAGE, P.OK, P.GARBAGE, P.WIND, P.INFO, "payload", P.OK, P.GARBAGE, P.ERROR,
                     P.INFO, P.ERROR]
    pay = [e for e in evs if e[0] == "payload"]
    assert pay[0] == ("payload", len(V.PAYLOAD), V.PAYLOAD)
    assert pay[1] == ("payload", 5, b"abcde")
    assert evs[10][3] == 8  # eight garbage bytes before the resynchronised AT-S.OK
    assert evs[12][2] == "line too long"
    assert evs[17][2] == "garbage" and evs[18][4] == 78
    assert p.payload_left == 0 and p.held == 0


def test_every_two_and_three_way_split_gives_the_same_events():
    data = V.stream()
    want, _ = V.run([data])
    n = len(data)
    for a in range(n + 1):
        assert V.run(V.splits(data, [a]))[0] == want, a
    # three-way splits around the interesting places (all pairs would be ~1.6M runs)
    rng = random.Random(7)
    for _ in range(3000):
        a = rng.randrange(n + 1)
        b = rng.randrange(a, n + 1)
        assert V.run(V.splits(data, [a, b]))[0] == want, (a, b)


@pytest.mark.parametrize("data", [
    b"AT-S.OK\r\n",
    b"+WIND:55:Pending Data::0:5:5\r\nAT-S.Reading:3:3\r\n\r\n\nAT-S.OK\r\n",
    b"\xffAT-S.OK\r\n\r\n",
    b"AT-S.On:1.2.3.4:0\rAT-S.OK\r\n",
    b"AT-S.Reading:3:3\rc\r\nAT-S.OK\r\n",
])
def test_every_fragmentation_of_small_inputs(data):
    """All 2^(n-1) ways to cut a small input (every possible fragmentation) give the same events."""
    sizes = [3]
    want, _ = V.run([data], sizes=sizes)
    n = len(data)
    for mask in range(1 << (n - 1)) if n <= 16 else []:
        cuts = [i + 1 for i in range(n - 1) if mask >> i & 1]
        assert V.run(V.splits(data, cuts), sizes=[3])[0] == want, cuts
    if n > 16:
        for cuts in itertools.combinations(range(1, n), 3):
            assert V.run(V.splits(data, list(cuts)), sizes=[3])[0] == want, cuts


def test_random_fragmentation_of_a_large_stream():
    data = V.stream() * 40
    sizes = V.SIZES * 40
    want, _ = V.run([data], sizes=sizes)
    for seed in range(50):
        assert V.run(V.lcg_chunks(data, seed, 1 + seed % 97), sizes=sizes)[0] == want, seed


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=400))
def test_hypothesis_fragmentation(lengths):
    data = V.stream()
    want, _ = V.run([data])
    chunks, i = [], 0
    for n in itertools.cycle(lengths):
        if i >= len(data):
            break
        chunks.append(data[i : i + n])
        i += n
    assert V.run(chunks)[0] == want


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.integers(min_value=1, max_value=17))
def test_arbitrary_bytes_never_crash_and_memory_stays_bounded(data, step):
    evs = []
    p = P.Parser(evs.append, 64)
    for i in range(0, len(data), step):
        p.feed(data[i : i + step])
    assert len(p._buf) == 64 and p.held <= 64
    p.feed(b"\r\nAT-S.OK\r\n")  # always resynchronises
    assert evs[-1].kind == P.OK


def test_payload_after_a_reading_line_ended_by_a_lone_cr_keeps_every_byte():
    """A CR alone ends a line, so after "AT-S.Reading:3:3<CR>" the next three bytes are payload, CR LF
    included. Fed whole, the parser once dropped the CR before the LF (it strips the CR of CR LF before
    looking inside the line), so the payload came out one byte short of the fragmented result (fuzzing
    found it)."""
    data = b"AT-S.Reading:3:3\rc\r\nAT-S.OK\r\n"
    for chunks in ([data], [data[:17], data[17:]], [data[i:i + 1] for i in range(len(data))]):
        evs, p = V.run(chunks, sizes=[3])
        assert [e[0] for e in evs] == [P.INFO, "payload", P.OK], chunks
        assert evs[1] == ("payload", 3, b"c\r\n"), chunks


def test_unbuffered_payload_is_delivered_as_chunks():
    evs, _ = V.run(V.lcg_chunks(V.stream(), 3, 11), buffered=False)
    datas = [e[1] for e in evs if e[0] == "data"]
    assert datas == [V.PAYLOAD, b"abcde"]
    done = [e for e in evs if e[0] == "payload"]
    assert [d[1] for d in done] == [len(V.PAYLOAD), 5]


def test_caller_writes_payload_directly():
    """The driver's zero-copy path: after the Reading line it fills payload_buf itself."""
    evs = []
    p = P.Parser(evs.append)
    buf = bytearray(10)
    p.expect_payload(buf, 10)
    p.feed(b"AT-S.Reading:10:10\r\n")
    assert p.payload_left == 10 and p.payload_pos == 0
    p.payload_buf[0:4] = b"0123"
    p.payload_filled(4)
    p.feed(b"456")  # the rest may still come through feed()
    p.payload_buf[7:10] = b"789"
    p.payload_filled(3)
    assert p.payload_left == 0 and buf == b"0123456789"
    p.feed(b"AT-S.OK\r\n")
    assert [e.kind for e in evs] == [P.INFO, P.PAYLOAD, P.OK]


def test_negative_payload_size_is_refused_and_the_parser_stays_usable():
    evs = []
    p = P.Parser(evs.append)
    with pytest.raises(ValueError, match="payload size -5: must be >= 0"):
        p.expect_payload(bytearray(4), -5)
    p.feed(b"AT-S.Reading:3:3\r\nAT-S.OK\r\n")  # not armed: the Reading line is only a line
    assert [e.kind for e in evs] == [P.INFO, P.OK] and p.payload_left == 0


def test_unarmed_reading_stays_in_line_mode_and_disarm_works():
    evs = []
    p = P.Parser(evs.append)
    p.expect_payload(bytearray(3), 3)
    p.disarm()
    p.feed(b"AT-S.Reading:3:3\r\nAT-S.OK\r\n")
    assert [e.kind for e in evs] == [P.INFO, P.OK]


def test_overlong_line_reports_once_and_resyncs():
    evs = []
    p = P.Parser(evs.append, 32)
    for _ in range(10):
        p.feed(b"Y" * 30)
    p.feed(b"Z\r\n+WIND:33:WiFi Network Lost\r\n")
    assert [e.kind for e in evs] == [P.GARBAGE, P.WIND]
    assert evs[0].text == "line too long" and evs[0].number == 32


def test_line_of_exactly_the_buffer_size_is_fine():
    evs = P.parse(b"A" * 32 + b"\r\n" + b"B" * 33 + b"\r\n", 32)
    # 33 bytes including CR fit? "A"*32 + CR = 33 > 32: too long too - the limit counts the CR
    assert [e.kind for e in evs] == [P.GARBAGE, P.GARBAGE]
    evs = P.parse(b"A" * 31 + b"\r\n", 32)
    assert [e.kind for e in evs] == [P.OTHER]


def test_garbage_resyncs_at_wind_prefix():
    evs = P.parse(b"\x00\x01+WIND:32:WiFi Hardware Started\r\n")
    assert [(e.kind, e.number) for e in evs] == [(P.GARBAGE, 2), (P.WIND, 32)]


def test_event_repr_and_tail():
    e = P.parse(b"AT-S.Var:nv_wifi_macaddr=00:80:E1:B7:C8:2A\r\n")[0]
    assert e.tail() == "nv_wifi_macaddr=00:80:E1:B7:C8:2A"
    assert "info" in repr(e)


def test_reset_forgets_partial_state():
    evs = []
    p = P.Parser(evs.append)
    p.expect_payload(bytearray(4), 4)
    p.feed(b"AT-S.Reading:4:4\r\nab")
    p.reset()
    p.feed(b"AT-S.OK\r\n")
    assert [e.kind for e in evs] == [P.INFO, P.OK]


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200), st.integers(min_value=16, max_value=80), st.integers(min_value=1, max_value=9))
def test_arbitrary_bytes_same_events_for_any_split_and_small_buffer(data, size, step):
    """Garbage and over-long lines too: the events (previews included) do not depend on the split."""
    data = data + b"\r\nAT-S.Reading:3:3\r\nabcAT-S.OK\r\n" + data
    want, _ = V.run([data], size=size, sizes=[3])
    chunks = [data[i : i + step] for i in range(0, len(data), step)]
    assert V.run(chunks, size=size, sizes=[3])[0] == want
    assert V.run([data[i : i + 1] for i in range(len(data))], size=size, sizes=[3])[0] == want


# ------------------------------------------------------------------ answer mode (the driver's data path)
def _answer(chunks, head=b"AT-S.Reading:5:", n=5):
    evs: list = []
    p = P.Parser(evs.append)
    buf = bytearray(n)
    p.expect(head, memoryview(buf) if n else None, n)
    for c in chunks:
        p.take(c, len(c))
    return p, bytes(buf), evs


def test_answer_mode_frames_the_usual_answer_without_events():
    p, data, evs = _answer([b"AT-S.Reading:5:5\r\nhel", b"lo", b"AT-S.OK\r\n"])
    assert (p.answer, data, evs, p.fields) == (P.ANSWER_DONE, b"hello", [], b"")
    p, _, evs = _answer([b"AT-S.Query:979\r\nAT-S.OK\r\n"], b"AT-S.Query:", 0)
    assert (p.answer, p.fields, evs) == (P.ANSWER_DONE, b"979", [])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 12), min_size=1, max_size=20), st.booleans())
def test_answer_mode_any_split_same_answer(cuts, wind_first):
    stream = (b"+WIND:55:Pending Data::0:5:5\r\n" if wind_first else b"") + b"AT-S.Reading:5:5\r\nhello\r\nAT-S.OK\r\n"
    chunks, i, k = [], 0, 0
    while i < len(stream):
        chunks.append(stream[i : i + cuts[k % len(cuts)]])
        i += cuts[k % len(cuts)]
        k += 1
    p, data, evs = _answer(chunks)
    # however it was split: the payload whole, the answer complete (quietly, or its final line as an event)
    assert data == b"hello"
    assert p.answer == P.ANSWER_DONE or (p.answer == P.ANSWER_HEAD and [e.kind for e in evs][-1] == P.OK)
    assert all(e.kind in (P.WIND, P.INFO, P.OK) for e in evs), evs


def test_answer_mode_short_read_and_lost_framing():
    p, data, evs = _answer([b"AT-S.Reading:3:3\r\nabcAT-S.OK\r\n"])  # fewer bytes announced than asked
    assert (p.answer, p.short, data[:3]) == (P.ANSWER_SHORT, 3, b"abc") and evs[-1].kind == P.OK
    p, data, evs = _answer([b"AT-S.Reading:5:5\r\nhello", b"junk\r\nAT-S.OK\r\n"])  # text after the payload
    assert p.answer == P.ANSWER_LOST and evs[-1].kind == P.OK
    p, data, evs = _answer([b"AT-S.OK\r\n"])  # no head line at all
    assert p.answer == P.ANSWER_WAIT and evs == [P.OK_EV]


def test_module_compares_with_the_parsers_answer_values():
    from spwf04 import module as M

    assert (M._ANSWER_HEAD, M._ANSWER_DONE) == (P.ANSWER_HEAD, P.ANSWER_DONE)
