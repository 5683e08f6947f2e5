"""Tests for speech-transcript normalisation: spoken and typed numbers must agree."""

from __future__ import annotations

import time

import pytest

from nlu.speech.normalize import (
    normalize_for_wer,
    normalize_numbers,
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
