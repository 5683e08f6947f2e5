"""Tests for speech-transcript normalisation: spoken and typed numbers must agree."""

from __future__ import annotations

import time

import pytest

from nlu.speech.normalize import (
    normalize_dates,
    normalize_for_wer,
    normalize_numbers,
    normalize_text,
    normalize_units,
    word_error_rate,
    words_to_numbers,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("forty five thousand", "45000"),
        ("forty-five thousand", "45000"),
        ("two point five", "2.5"),
        ("three point one four", "3.14"),
        ("zero point five", "0.5"),
        ("a hundred and twenty", "120"),
        ("one hundred and five", "105"),
        ("twenty-one", "21"),
        ("twenty one", "21"),
        ("one million two hundred thousand", "1200000"),
        ("twenty five hundred", "2500"),
        ("a thousand", "1000"),
        ("two point five million", "2500000"),
        ("five years", "5 years"),
        ("I have Five Years of experience.", "I have 5 Years of experience."),
        ("first", "1st"),
        ("twenty-first", "21st"),
        ("the twelfth of May", "the 12th of May"),
        ("one hundred and first", "101st"),
        ("twenty-second", "22nd"),
        ("twenty-third", "23rd"),
        ("eleventh", "11th"),
        # "one" as a pronoun stays a word
        ("one of the best", "one of the best"),
        ("no one knows", "no one knows"),
        ("the one I liked", "the one I liked"),
        ("one another", "one another"),
        ("one's own", "one's own"),
        ("one day", "1 day"),
        ("one of", "one of"),
        # a lone "second" is a time unit, bare scale words are words
        ("wait a second", "wait a second"),
        ("hundreds of people", "hundreds of people"),
        ("a million thanks", "1000000 thanks"),
        ("million", "million"),
        # separate numbers stay separate
        ("one two three", "1 2 3"),
        ("two and three", "2 and 3"),
        ("twenty twenty six", "20 26"),
        ("fifteen five", "15 5"),
        ("one hundred and", "100 and"),
        ("a hundred", "100"),
        ("a cat", "a cat"),
        ("point five", "point 5"),  # a leading "point" is not a decimal
        # signs
        ("minus five", "-5"),
        ("negative two point five", "-2.5"),
        ("five minus three", "5 minus 3"),
        ("minus", "minus"),
        # punctuation and non-number words survive
        ("Forty, five!", "40, 5!"),
        ("someone", "someone"),
        ("théone", "théone"),
        ("ten-year-old", "10-year-old"),
        ("NaN", "NaN"),
        ("1e309", "1e309"),
    ],
)
def test_words_to_numbers(text: str, expected: str) -> None:
    assert words_to_numbers(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("45,000", "45000"),
        ("1,200,000", "1200000"),
        ("45,000.50", "45000.50"),
        ("45 000", "45000"),
        ("45\u00a0000", "45000"),
        ("45\u2009000", "45000"),
        ("45\u202f000 euros", "45000 euros"),
        ("45k", "45000"),
        ("45K", "45000"),
        ("2.5k", "2500"),
        ("€45k", "€45000"),
        ("45 thousand", "45000"),
        ("2.5 million euros", "2500000 euros"),
        ("€2.5m", "€2500000"),
        ("$3bn", "$3000000000"),
        ("2.5m euros", "2500000 euros"),
        ("2.5m", "2.5m"),  # no money context: metres
        ("5m away", "5m away"),
        ("ten percent", "10%"),
        ("10 %", "10%"),
        ("10%", "10%"),
        ("10 percent", "10%"),
        ("10 per cent", "10%"),
        ("ten point five percent", "10.5%"),
        ("forty-five thousand euros", "45000 euros"),
        ("I earn 45k, i.e. forty-five thousand euros", "I earn 45000, i.e. 45000 euros"),
        # lists, decimals and dates are not thousands groups
        ("1,2,3", "1,2,3"),
        ("1,5", "1,5"),
        ("45.000", "45.000"),
        ("1,2345", "1,2345"),
        ("5 May 2026", "5 May 2026"),
        ("05/05/2026", "05/05/2026"),
        ("2026-05-05", "2026-05-05"),
        ("10:30", "10:30"),
        ("at 10:30 on 5 May", "at 10:30 on 5 May"),
        # negatives
        ("-5", "-5"),
        ("-45,000", "-45000"),
        ("\u22125", "-5"),
        ("minus 5 degrees", "-5 degrees"),
        ("5 minus 3", "5 minus 3"),
        # hostile
        ("NaN", "NaN"),
        ("1e309", "1e309"),
        ("inf", "inf"),
        ("\x00\x07forty\x1b", "\x00\x0740\x1b"),
        ("🎉 five 🎉", "🎉 5 🎉"),
        ("9" * 5000 + "k", "9" * 5000 + "000"),
    ],
)
def test_normalize_numbers(text: str, expected: str) -> None:
    assert normalize_numbers(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("   \n\t ", []),
        ("Hello, World!", ["hello", "world"]),
        ("well-known", ["well", "known"]),
        (
            "I earn 45k, i.e. forty-five thousand euros",
            ["i", "earn", "45000", "i", "e", "45000", "euros"],
        ),
        ("€45,000", ["45000", "euros"]),
        ("$5", ["5", "dollars"]),
        ("It's 2.5 million.", ["it's", "2500000"]),
        ("Don’t", ["don't"]),
        ("ten percent", ["10%"]),
        ("10 %", ["10%"]),
        ("the twenty-first", ["the", "21st"]),
        ("5 May 2026", ["5", "may", "2026"]),
        ("10:30", ["10:30"]),
        ("2026-05-05", ["2026-05-05"]),
        ("minus five", ["-5"]),
        ("-3.5", ["-3.5"]),
        ("ten-year-old", ["10", "year", "old"]),
        ("NaN 1e309", ["nan", "1e309"]),
        ("🎉\x00 hi \x1b[0m", ["hi", "0", "m"]),
        ("ＡＢＣ １２", ["abc", "12"]),
        ("a  b\n\nc", ["a", "b", "c"]),
        ("snake_case", ["snake", "case"]),
    ],
)
def test_normalize_for_wer(text: str, expected: list[str]) -> None:
    assert normalize_for_wer(text) == expected


@pytest.mark.parametrize(
    ("reference", "hypothesis", "expected"),
    [
        ("", "", 0.0),
        ("", "anything", 1.0),
        ("  ", "!!", 0.0),
        ("hello", "", 1.0),
        ("the cat sat", "the cat sat", 0.0),
        ("The cat sat.", "the cat, sat", 0.0),
        # 1 substitution / 3
        ("the cat sat", "the dog sat", 1 / 3),
        # 1 deletion / 3
        ("the cat sat", "the sat", 1 / 3),
        # 1 insertion / 3
        ("the cat sat", "the fat cat sat", 1 / 3),
        # everything substituted plus one insertion: 4 / 3
        ("a b c", "x y z w", 4 / 3),
        # spoken and typed numbers agree
        ("I earn forty five thousand euros", "i earn €45,000", 0.0),
        ("I earn 45k", "I earn forty-five thousand", 0.0),
        ("ten percent", "10 %", 0.0),
        # "45000 euros" vs "45 euros": 1 substitution / 4 tokens (i earn 45000 euros)
        ("I earn 45k euros", "I earn 45 euros", 1 / 4),
        # kitten/sitting on words: k→s, e→i, +g = 3 / 6
        ("k i t t e n", "s i t t i n g", 3 / 6),
    ],
)
def test_word_error_rate(reference: str, hypothesis: str, expected: float) -> None:
    assert word_error_rate(reference, hypothesis) == pytest.approx(expected)


def test_word_error_rate_is_not_symmetric() -> None:
    # Deleting 1 of 2 reference words is 0.5; inserting 1 word against 1 is 1.0.
    assert word_error_rate("hello world", "hello") == pytest.approx(0.5)
    assert word_error_rate("hello", "hello world") == pytest.approx(1.0)


HUGE = ("I earn forty-five thousand euros, i.e. 45k or 45,000 — 10 % more. " * 2000)[:100_000]


@pytest.mark.parametrize("func", [words_to_numbers, normalize_numbers, normalize_for_wer])
def test_huge_input_is_fast(func) -> None:
    assert len(HUGE) == 100_000
    started = time.perf_counter()
    func(HUGE)
    assert time.perf_counter() - started < 1.0


def test_huge_identical_wer_is_fast() -> None:
    started = time.perf_counter()
    assert word_error_rate(HUGE, HUGE) == 0.0
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize(
    "text",
    [
        "9" * 100_000,
        "1," * 50_000,
        "one " * 25_000,
        "- " * 50_000,
        "and a hundred and " * 5_000,
        "\x00" * 100_000,
        "🎉" * 100_000,
    ],
)
def test_pathological_input_is_fast(text: str) -> None:
    started = time.perf_counter()
    normalize_for_wer(text)
    assert time.perf_counter() - started < 1.0


def test_huge_digit_run_passes_through_exactly() -> None:
    digits = "9" * 100_000
    assert normalize_numbers(digits) == digits


# --------------------------------------------------------------------------- dates and times


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        # every way of saying or writing the same date gives one form
        ("the fifth of May twenty twenty six", "5 May 2026"),
        ("the fifth of May, twenty twenty six", "5 May 2026"),
        ("May 5th, 2026", "5 May 2026"),
        ("May fifth 2026", "5 May 2026"),
        ("5 May 2026", "5 May 2026"),
        ("5th of May 2026", "5 May 2026"),
        ("May the fifth", "5 May"),
        ("on the fifth of May", "on 5 May"),
        ("on May 5", "on 5 May"),
        ("05 May", "5 May"),
        ("Sept. 3rd", "3 September"),
        ("the 1st of Jan.", "1 January"),
        ("the thirty-first of December nineteen ninety nine", "31 December 1999"),
        ("on Tuesday, May the 5th", "on Tuesday, 5 May"),
        ("MAY 5", "5 May"),
        # "second" is a day only in an unmistakable date
        ("the second of May", "2 May"),
        ("May second", "2 May"),
        ("second May", "second May"),
        ("wait a second", "wait a second"),
        # month and year, no day
        ("May twenty twenty six", "May 2026"),
        ("May of 2026", "May 2026"),
        ("May 2026 and June 2027", "May 2026 and June 2027"),
        ("May twenty twenty", "May 2020"),
        # a day next to a month and a spoken year
        ("May twenty, twenty twenty six", "20 May 2026"),
        ("May twentieth twenty twenty six", "20 May 2026"),
        ("May twenty twenty twenty six", "20 May 2026"),
        # spoken years need a date context
        ("in nineteen ninety nine", "in 1999"),
        ("I was born in nineteen eighty-four", "I was born in 1984"),
        ("since two thousand and five", "since 2005"),
        ("in nineteen oh five", "in 1905"),
        ("In twenty twenty-one I", "In 2021 I"),
        ("year twenty twenty", "year 2020"),
        ("twenty twenty six", "20 26"),
        ("nineteen oh five", "19 oh 5"),
        ("the class of twenty twenty", "the class of 20 20"),
        ("in twelve fifteen", "in 12 15"),
        ("in twenty, twenty six", "in 20, 26"),
        # not dates
        ("on the 5th", "on the 5th"),
        ("5 of May", "5 of May"),
        ("first may I ask", "1st may I ask"),
        ("you may 1 day", "you may 1 day"),
        ("I met Jan", "I met Jan"),
        ("March on", "March on"),
        ("May 45", "May 45"),
        ("May 5.5", "May 5.5"),
        # numeric dates are left alone (ambiguous slash dates; ISO is never spoken)
        ("2026-05-05", "2026-05-05"),
        ("05/05/2026", "05/05/2026"),
        ("5/5", "5/5"),
        # times: 24-hour H:MM
        ("ten thirty am", "10:30"),
        ("10:30 a.m.", "10:30"),
        ("10.30am", "10:30"),
        ("10 a. m.", "10:00"),
        ("7 a.m", "7:00"),
        ("3 pm", "15:00"),
        ("three p.m.", "15:00"),
        ("3PM", "15:00"),
        ("ten oh five pm", "22:05"),
        ("12 am", "0:00"),
        ("twelve pm", "12:00"),
        ("12:30 pm", "12:30"),
        ("ten o'clock", "10:00"),
        ("ten o’clock pm", "22:00"),
        ("12 noon", "12:00"),
        ("12 midnight", "0:00"),
        ("half past ten", "10:30"),
        ("half past ten pm", "22:30"),
        ("a quarter past three", "3:15"),
        ("quarter to ten", "9:45"),
        ("quarter to one", "12:45"),
        ("twenty five past nine in the morning", "9:25 in the morning"),
        ("ten minutes to ten", "9:50"),
        ("at ten thirty", "at 10:30"),
        ("at ten oh five", "at 10:05"),
        ("09:45", "9:45"),
        ("10:30", "10:30"),
        ("2026-05-05 09:45", "2026-05-05 9:45"),
        ("at 5 am I woke", "at 5:00 I woke"),
        # not times
        ("five to ten years", "5 to 10 years"),
        ("half to ten", "half to 10"),
        ("ten thirty", "10 30"),
        ("I am 10", "I am 10"),
        ("13:00 pm", "13:00 pm"),
        ("0 am", "0 am"),
        ("10 apples", "10 apples"),
        ("12:30:15", "12:30:15"),
    ],
)
def test_normalize_dates(text: str, expected: str) -> None:
    assert normalize_dates(text) == expected


# --------------------------------------------------------------------------- units


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("5 years", "5 years"),
        ("five yrs", "5 years"),
        ("5yrs", "5 years"),
        ("1 yr", "1 year"),
        ("1 yrs", "1 year"),
        ("6 mths", "6 months"),
        ("2 wks", "2 weeks"),
        ("40h", "40 hours"),
        ("40 hrs", "40 hours"),
        ("1.5 hrs", "1.5 hours"),
        ("30 mins", "30 minutes"),
        ("10 secs ago", "10 seconds ago"),
        ("5 km", "5 kilometres"),
        ("5KM", "5 kilometres"),
        ("five kilometers", "5 kilometres"),
        ("100 meters", "100 metres"),
        ("20 cm", "20 centimetres"),
        ("5 kg", "5 kilograms"),
        ("two kilos", "2 kilograms"),
        ("3 lbs", "3 pounds"),
        ("6 ft", "6 feet"),
        ("50 km/h", "50 kilometres per hour"),
        ("30 mph", "30 miles per hour"),
        # hyphenated: an adjective, singular; one-letter units never join with a hyphen
        ("a 5-yr contract", "a 5-year contract"),
        ("ten-year-old", "10-year-old"),
        ("4-H club", "4-H club"),
        # ambiguous abbreviations stay
        ("5m", "5m"),
        ("5 m", "5 m"),
        ("the 1990s", "the 1990s"),
        ("5G network", "5G network"),
        ("€2.5m", "€2500000"),
        # no number, no unit
        ("hrs", "hrs"),
        ("the km marker", "the km marker"),
        ("x5km", "x5km"),
        # rates
        ("40 hrs/week", "40 hours per week"),
        ("40h/wk", "40 hours per week"),
        ("forty hours a week", "40 hours per week"),
        ("€15/h", "€15 per hour"),
        ("fifteen euros an hour", "15 euros per hour"),
        ("€45k p.a.", "€45000 per year"),
        ("45k per annum", "45000 per year"),
        ("3 times a week", "3 times per week"),
        ("10 % a year", "10% per year"),
        ("2 months a year ago", "2 months a year ago"),
        ("twice a week", "twice a week"),
        ("24/7", "24/7"),
        # experience
        ("5 years' experience", "5 years experience"),
        ("five year's experience", "5 years experience"),
        ("1 year's experience", "1 year experience"),
        ("5 years’ experience", "5 years experience"),
        ("two and a half years", "2.5 years"),
        ("one and a half hrs", "1.5 hours"),
        # temperature
        ("20°C", "20 degrees Celsius"),
        ("-5 °C", "-5 degrees Celsius"),
        ("70 °F", "70 degrees Fahrenheit"),
        ("90°", "90 degrees"),
        # currency
        ("EUR 45000", "45000 euros"),
        ("45,000 EUR", "45000 euros"),
        ("45000 Euro", "45000 euros"),
        ("1 euro", "1 euro"),
        ("100 USD", "100 dollars"),
        ("45000€", "€45000"),
        ("45 000 €", "€45000"),
        ("45k€", "€45000"),
        ("5 $10", "5 $10"),
        ("europe", "europe"),
    ],
)
def test_normalize_units(text: str, expected: str) -> None:
    assert normalize_units(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        (
            "I'd like to start on the first of June twenty twenty six at nine a.m.",
            "I'd like to start on 1 June 2026 at 9:00",
        ),
        (
            "I have five yrs' experience and want forty-five thousand EUR a year",
            "I have 5 years experience and want 45000 euros per year",
        ),
        (
            "Available from June 1st, 2026, 40h/week",
            "Available from 1 June 2026, 40 hours per week",
        ),
    ],
)
def test_normalize_text(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


SAMPLES = [
    "the fifth of May twenty twenty six at half past ten pm",
    "May 5th, 2026 — 40 hrs/wk, €45k p.a., 5 yrs' experience",
    "I can start in nineteen ninety nine, since 20 26, on the 2nd of Feb.",
    "at ten thirty, 12 noon, quarter to one, 10.30am, 45 000 € a year",
    "ninety nine 2026-05-05 05/05/2026 9:45 4-H 5m 1e309 NaN",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_normalize_text_is_idempotent(text: str) -> None:
    # Normalising twice must not move anything further (both sides of a comparison may
    # already be normalised once).
    once = normalize_text(text)
    assert normalize_text(once) == once


@pytest.mark.parametrize(
    ("reference", "hypothesis", "expected"),
    [
        ("I can start on the fifth of May", "I can start on May 5", 0.0),
        ("I can start on the fifth of May twenty twenty six", "I can start on May 5th, 2026.", 0.0),
        ("on the second of May", "on May 2nd", 0.0),
        ("see you at half past three in the afternoon", "see you at 3:30 in the afternoon", 0.0),
        ("the interview is at three p.m.", "The interview is at 3 PM.", 0.0),
        ("at ten thirty am", "at 10:30 a.m.", 0.0),
        ("I graduated in nineteen ninety nine", "I graduated in 1999", 0.0),
        ("forty hours a week", "40h/wk", 0.0),
        ("five years of experience", "5 yrs of experience", 0.0),
        ("five years' experience", "5 years experience", 0.0),
        ("fifteen euros an hour", "€15/h", 0.0),
        ("forty five thousand euros", "45 000 €", 0.0),
        ("forty five thousand euros", "EUR 45,000", 0.0),
        ("I live five kilometres away", "I live 5km away", 0.0),
        ("twenty degrees celsius", "20°C", 0.0),
        # a wrong day is one substitution of four tokens (on 5 may 2026)
        ("on the fifth of May twenty twenty six", "on May 6, 2026", 1 / 4),
    ],
)
def test_word_error_rate_dates_and_units(reference: str, hypothesis: str, expected: float) -> None:
    assert word_error_rate(reference, hypothesis) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("on the fifth of May", ["on", "5", "may"]),
        ("10:30 p.m.", ["22:30"]),
        ("45000€", ["45000", "euros"]),
        ("5 yrs", ["5", "years"]),
    ],
)
def test_normalize_for_wer_dates_and_units(text: str, expected: list[str]) -> None:
    assert normalize_for_wer(text) == expected


@pytest.mark.parametrize("func", [normalize_dates, normalize_units, normalize_text])
def test_new_rules_on_huge_input_are_fast(func) -> None:
    text = ("I start on the fifth of May twenty twenty six at 10:30 a.m., 40 hrs/wk. " * 2000)[
        :100_000
    ]
    started = time.perf_counter()
    func(text)
    assert time.perf_counter() - started < 1.0


# Repeated fragments that each nearly complete a date, time or unit rule: a rule that
# backtracked across them would be quadratic and take minutes at this size, not milliseconds.
# 30 000 characters keep the suite fast; the 100 000-character cases above cover the rest.
PATHOLOGICAL_SIZE = 30_000


@pytest.mark.parametrize(
    "fragment",
    [
        "9",
        "May ",
        "May 5 ",
        "the 5th of ",
        "20 ",
        "in 20 ",
        "10 30 am ",
        "half past ",
        "5/",
        "1:",
        "1-",
        "5°",
        "5€",
        "5 a ",
        "a.m. ",
        "1 and a ",
        "5\u00a0",
        "Jan 1 ",
        "5 hrs/",
    ],
)
def test_new_rules_on_pathological_input_are_fast(fragment: str) -> None:
    text = (fragment * PATHOLOGICAL_SIZE)[:PATHOLOGICAL_SIZE]
    started = time.perf_counter()
    normalize_for_wer(text)  # runs every number, date, time and unit rule
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    "text",
    [
        "5" + " " * 100_000 + "May",
        "May" + " " * 100_000 + "5",
        "at 10" + " " * 100_000,
        "5" + " " * 100_000 + "h",
        "5 hours" + " " * 100_000 + "/x",
        "10" + " " * 100_000 + "am",
    ],
)
def test_long_gaps_inside_a_rule_are_fast(text: str) -> None:
    started = time.perf_counter()
    normalize_for_wer(text)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    "text",
    [
        "\x00May\x005\x00",
        "May\u200b5",
        "５ May ２０２６",
        "🎉 the fifth of May 🎉",
        "May 5" + "th" * 1000,
        "Mai 5",  # not English: untouched
        "\ud800 May 5",  # lone surrogate
        "NaN am",
        "1e309 km",
    ],
)
def test_malformed_input_does_not_raise(text: str) -> None:
    assert isinstance(normalize_text(text), str)
    assert isinstance(normalize_for_wer(text), list)


def test_huge_digit_run_passes_through_dates_and_units_exactly() -> None:
    digits = "9" * 100_000
    assert normalize_text(digits) == digits
    assert normalize_text(digits + " km") == digits + " kilometres"
