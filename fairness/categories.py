"""The voluntary self-identification categories, shared by the chat, storage and the bias audit.

The categories are the ones NYC Local Law 144's rules (6 RCNY §5-301) ask a bias audit to report:
sex (female, male) and the EEO-1 race/ethnicity categories. They live in one module so that what
the chat stores, what the storage accepts and what the audit counts can never drift apart.

"Prefer not to say" is stored as `DECLINED`, so a candidate can see that they answered; the audit
groups it with "never answered" as `UNKNOWN`, because neither tells us a category.
"""

from __future__ import annotations

import re
import unicodedata

SEX: tuple[str, ...] = ("female", "male")

# The EEO-1 order, which is also the order of the chat menu (numbers 1..7, 8 = prefer not to say).
RACE_ETHNICITY: tuple[str, ...] = (
    "hispanic_latino",
    "white",
    "black",
    "native_hawaiian_pacific_islander",
    "asian",
    "american_indian_alaska_native",
    "two_or_more",
)

DECLINED = "declined"
UNKNOWN = "unknown"

LABELS: dict[str, str] = {
    "female": "Female",
    "male": "Male",
    "hispanic_latino": "Hispanic or Latino",
    "white": "White",
    "black": "Black or African American",
    "native_hawaiian_pacific_islander": "Native Hawaiian or Other Pacific Islander",
    "asian": "Asian",
    "american_indian_alaska_native": "American Indian or Alaska Native",
    "two_or_more": "Two or More Races",
    DECLINED: "Prefer not to say",
    UNKNOWN: "Unknown",
}

# Longer than any answer we accept: a huge message is not an answer, and we never scan it.
_MAX_ANSWER = 120

_DECLINED_WORDS = (
    "declined",
    "decline",
    "i decline",
    "decline to answer",
    "decline to say",
    "decline to state",
    "prefer not to say",
    "prefer not to answer",
    "prefer not to disclose",
    "i prefer not to say",
    "i d prefer not to say",
    "i d rather not say",
    "rather not say",
    "i would rather not say",
    "no answer",
    "do not wish to answer",
    "i do not wish to answer",
    "don t wish to answer",
    "i don t wish to answer",
)

_SEX_WORDS: dict[str, tuple[str, ...]] = {
    "female": ("female", "f", "woman", "women", "a woman", "girl", "feminine"),
    "male": ("male", "m", "man", "men", "a man", "boy", "masculine"),
}

_RACE_WORDS: dict[str, tuple[str, ...]] = {
    "hispanic_latino": (
        "hispanic_latino",
        "hispanic or latino",
        "hispanic latino",
        "hispanic",
        "latino",
        "latina",
        "latinx",
        "latine",
        "hispanic or latina",
    ),
    "white": ("white", "caucasian", "white caucasian"),
    "black": (
        "black",
        "black or african american",
        "african american",
        "black african american",
    ),
    "native_hawaiian_pacific_islander": (
        "native_hawaiian_pacific_islander",
        "native hawaiian or other pacific islander",
        "native hawaiian or pacific islander",
        "native hawaiian pacific islander",
        "native hawaiian",
        "pacific islander",
        "hawaiian",
    ),
    "asian": ("asian", "asian american"),
    "american_indian_alaska_native": (
        "american_indian_alaska_native",
        "american indian or alaska native",
        "american indian alaska native",
        "american indian",
        "alaska native",
        "alaskan native",
        "native american",
    ),
    "two_or_more": (
        "two_or_more",
        "two or more races",
        "two or more",
        "two or more race",
        "multiracial",
        "multi racial",
        "mixed",
        "mixed race",
        "biracial",
    ),
}


def _normalise(text: str) -> str | None:
    """Fold an answer to lowercase words separated by single spaces (None if it can't be one).

    Button payloads ("female", "/female"), typed words ("Black or African American!") and
    compatibility characters (full-width letters) all fold to the same key, and control or
    punctuation characters can't smuggle anything into the match.
    """
    if not isinstance(text, str) or len(text) > _MAX_ANSWER:
        return None
    folded = unicodedata.normalize("NFKC", text).casefold()
    # Underscores are kept apart from other punctuation only long enough to match stored values.
    words = re.sub(r"[^\w]+|_", " ", folded).split()
    if not words:
        return None
    return " ".join(words)


def _lookup(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Index a synonyms table by normalised phrase (stored values and labels included)."""
    index: dict[str, str] = {}
    for value, phrases in table.items():
        for phrase in (value, LABELS[value], *phrases):
            key = _normalise(phrase)
            if key is not None:
                index[key] = value
    for phrase in (DECLINED, LABELS[DECLINED], *_DECLINED_WORDS):
        key = _normalise(phrase)
        if key is not None:
            index[key] = DECLINED
    return index


_MENU_NUMBER = re.compile(r"\s*([0-9]{1,2})\s*[.)]?\s*")
_SEX_INDEX = _lookup(_SEX_WORDS)
_RACE_INDEX = _lookup(_RACE_WORDS)
_SEX_MENU = (*SEX, DECLINED)
_RACE_MENU = (*RACE_ETHNICITY, DECLINED)


def _parse(text: str, index: dict[str, str], menu: tuple[str, ...]) -> str | None:
    key = _normalise(text)
    if key is None:
        return None
    if key.isdigit():
        # A menu number as typed ("2", "2." or "2)"), nothing else: "-1" is not option 1.
        number = _MENU_NUMBER.fullmatch(text)
        position = int(number.group(1)) if number else 0
        return menu[position - 1] if 1 <= position <= len(menu) else None
    return index.get(key)


def parse_sex(text: str) -> str | None:
    """The stored sex value (or DECLINED) for a button payload or typed answer; None if unclear.

    Menu numbers follow the chat's order: 1 Female, 2 Male, 3 Prefer not to say. We never guess
    from partial words: an answer we don't recognise is not stored.
    """
    return _parse(text, _SEX_INDEX, _SEX_MENU)


def parse_race(text: str) -> str | None:
    """The stored race/ethnicity value (or DECLINED) for an answer; None if unclear.

    Menu numbers follow RACE_ETHNICITY's (EEO-1) order 1..7, and 8 is "Prefer not to say".
    """
    return _parse(text, _RACE_INDEX, _RACE_MENU)
