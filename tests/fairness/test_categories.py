"""The self-identification vocabulary: stored values, labels and parsing what candidates send."""

from __future__ import annotations

import threading

import pytest

from fairness.categories import (
    DECLINED,
    LABELS,
    RACE_ETHNICITY,
    SEX,
    UNKNOWN,
    parse_race,
    parse_sex,
)


def test_the_categories_are_the_ll144_ones_in_eeo1_order() -> None:
    assert SEX == ("female", "male")
    assert RACE_ETHNICITY == (
        "hispanic_latino",
        "white",
        "black",
        "native_hawaiian_pacific_islander",
        "asian",
        "american_indian_alaska_native",
        "two_or_more",
    )
    assert DECLINED not in SEX + RACE_ETHNICITY
    assert UNKNOWN not in SEX + RACE_ETHNICITY + (DECLINED,)


def test_every_value_has_a_distinct_human_label() -> None:
    values = (*SEX, *RACE_ETHNICITY, DECLINED, UNKNOWN)
    assert set(LABELS) == set(values)
    assert len(set(LABELS.values())) == len(values)
    assert LABELS["hispanic_latino"] == "Hispanic or Latino"
    assert LABELS["black"] == "Black or African American"
    assert LABELS[DECLINED] == "Prefer not to say"


@pytest.mark.parametrize("value", SEX)
def test_sex_values_and_labels_parse_to_themselves(value: str) -> None:
    assert parse_sex(value) == value
    assert parse_sex(LABELS[value]) == value
    assert parse_sex(LABELS[value].upper()) == value
    assert parse_sex(f"  /{value}  ") == value


@pytest.mark.parametrize("value", RACE_ETHNICITY)
def test_race_values_and_labels_parse_to_themselves(value: str) -> None:
    assert parse_race(value) == value
    assert parse_race(LABELS[value]) == value
    assert parse_race(LABELS[value].lower() + "!") == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Woman", "female"),
        ("man", "male"),
        ("F", "female"),
        ("m", "male"),
        ("ｆｅｍａｌｅ", "female"),  # full-width letters fold (NFKC)
        ("1", "female"),
        ("2", "male"),
        ("3", DECLINED),
        ("2.", "male"),
        (" 1) ", "female"),
        ("Prefer not to say", DECLINED),
        ("I'd rather not say", DECLINED),
        ("declined", DECLINED),
    ],
)
def test_sex_synonyms_numbers_and_declining(text: str, expected: str) -> None:
    assert parse_sex(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Latina", "hispanic_latino"),
        ("African American", "black"),
        ("Pacific Islander", "native_hawaiian_pacific_islander"),
        ("Native American", "american_indian_alaska_native"),
        ("multiracial", "two_or_more"),
        ("Two or more races", "two_or_more"),
        ("1", "hispanic_latino"),
        ("2", "white"),
        ("5", "asian"),
        ("7", "two_or_more"),
        ("8", DECLINED),
        ("prefer not to answer", DECLINED),
    ],
)
def test_race_synonyms_numbers_and_declining(text: str, expected: str) -> None:
    assert parse_race(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "0",
        "4",  # sex menu has 3 entries
        "-1",
        "١",  # an Arabic-Indic digit is not a menu number
        "skip",
        "/privacy_self_id",
        "femalex",
        "fe male",
        "white",  # a race answer to the sex question
        "<script>alert(1)</script>",
        "female\x00; DROP TABLE candidates",
        "female " * 100,  # huge: never scanned
        "f" * 10_000,
    ],
)
def test_unrecognised_or_hostile_sex_answers_are_none(text: str) -> None:
    assert parse_sex(text) is None


@pytest.mark.parametrize(
    "text", ["", "9", "0", "10", "female", "skip", "asian" * 50, "white\u202eetihw", "\x1b[31m"]
)
def test_unrecognised_or_hostile_race_answers_are_none(text: str) -> None:
    assert parse_race(text) is None


def test_control_characters_around_a_word_do_not_hide_it() -> None:
    # A pasted answer with a stray tab or newline is still the same word.
    assert parse_sex("\tfemale\n") == "female"
    assert parse_race("white\r\n") == "white"


def test_non_string_input_is_none() -> None:
    assert parse_sex(None) is None  # type: ignore[arg-type]
    assert parse_race(3) is None  # type: ignore[arg-type]


def test_parsing_from_many_threads_gives_the_same_answers() -> None:
    answers: list[tuple[str | None, str | None]] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(200):
            pair = (parse_sex("Woman"), parse_race("8"))
            with lock:
                answers.append(pair)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [("female", DECLINED)] * 1600
