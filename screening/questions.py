"""Turning a candidate's chat reply into a validated answer, one function per question kind.

Candidates type the way people chat ("yep!", "about 4", "45k", "next monday"), so each parser
accepts the common forms and, when it cannot be sure, says what it expected instead of guessing:
a wrong guess on a knockout question would disqualify someone, while a re-ask costs one message.
Everything here is pure (no I/O, ``today`` is passed in) so it is trivially testable.
"""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import dateparser

from nlu.speech.normalize import normalize_dates, normalize_numbers
from screening.job_schema import (
    ChoiceQuestion,
    DateQuestion,
    FreeTextQuestion,
    NumberQuestion,
    Question,
    YesNoQuestion,
)

__all__ = ["Parsed", "format_date", "parse_answer", "parse_yes_no", "prompt_for"]

# Longer replies than this are not plausible for a structured answer; refusing them early also
# keeps the fuzzy matchers and dateparser away from pathological input.
_MAX_STRUCTURED_CHARS = 300

_DATE_EXAMPLES = "for example 'next Monday', '1 March' or '15/03/2027'"


@dataclass(frozen=True)
class Parsed:
    """The outcome of parsing one reply.

    ``value`` is JSON-serialisable (stored as the answer), ``display`` is what the bot echoes
    back, ``error`` is a friendly re-ask when ``ok`` is false, and ``knockout`` tells the
    interview that this answer disqualifies the candidate.
    """

    ok: bool
    value: object = None
    display: str = ""
    error: str | None = None
    knockout: bool = False


def _fail(message: str) -> Parsed:
    return Parsed(ok=False, error=message)


def _fold(text: str) -> str:
    """Case- and accent-insensitive form used for matching ("Sí" -> "si")."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.casefold().replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")


# --------------------------------------------------------------------------------------------
# yes / no
# --------------------------------------------------------------------------------------------


def _phrase_list(text: str) -> tuple[str, ...]:
    """Phrase tables are written as one comma-separated string to keep them readable."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


_YES_PHRASES = _phrase_list(
    "yes, y, yeah, yea, yep, yup, ya, yah, yess, yesss, sure, of course, ofc, correct, "
    "absolutely, definitely, certainly, indeed, i do, i am, i'm, im, i have, i've, i can, "
    "i will, i would, true, affirmative, ja, si, oui, ok, okay, alright, yes please, "
    "that's right, thats right, that is right, no problem, not a problem, no worries, "
    "no doubt, for sure, i don't mind, i dont mind, don't mind, dont mind, "
    # the consent buttons' own words, said on the phone or typed instead of pressed
    "i agree, agree, agreed, i consent"
)
_NO_PHRASES = _phrase_list(
    "no, n, nope, nah, naw, not really, not at all, no way, never, not, i don't, i dont, "
    "i do not, i am not, i'm not, im not, i can't, i cant, i cannot, i can not, i haven't, "
    "i havent, i have not, i won't, i wont, i will not, i wouldn't, i would not, false, "
    "negative, nee, nein, non, no thanks, no thank you, of course not, absolutely not, "
    "definitely not, certainly not, "
    "i do not agree, i don't agree, i dont agree, i disagree, disagree, i do not consent, "
    "i don't consent, i dont consent"
)
_HEDGES = _phrase_list(
    "maybe, perhaps, possibly, probably, unsure, not sure, depends, it depends, dunno, "
    "don't know, dont know, do not know, no idea, kind of, sort of, kinda, sorta, "
    "yes and no, yes or no, either, not yet sure, idk"
)
# Phrases that contain "no"/"not" but mean yes; removed before looking for contradictions.
_YES_IDIOMS = ("no problem", "not a problem", "no worries", "no doubt")
_STRONG_YES = frozenset({"yes", "yeah", "yea", "yep", "yup", "yess", "yesss", "yah"})
_STRONG_NO = frozenset({"no", "nope", "nah", "naw"})
# What may follow a bare "I do" / "I am" without making it something other than a plain yes.
_WEAK_YES_TAIL = _STRONG_YES | {"indeed", "definitely", "absolutely", "certainly", "sure", "please"}
_PRONOUNS = frozenset({"i", "i'm", "im", "i've"})
_FILLERS = frozenset({"um", "uh", "erm", "er", "hmm", "hm", "well", "oh", "ah", "so", "and"})
_EMOJI_WORDS = {
    "\U0001f44d": " yes ",  # thumbs up
    "\u2705": " yes ",  # check mark button
    "\u2714": " yes ",  # heavy check mark
    "\U0001f44e": " no ",  # thumbs down
    "\u274c": " no ",  # cross mark
    "\u2716": " no ",  # heavy multiplication x
}


def _phrases(items: tuple[str, ...]) -> list[tuple[str, ...]]:
    return sorted({tuple(item.split()) for item in items}, key=len, reverse=True)


_YES = _phrases(_YES_PHRASES)
_NO = _phrases(_NO_PHRASES)
_HEDGE = _phrases(_HEDGES)
_IDIOMS = _phrases(_YES_IDIOMS)


def _yes_no_tokens(text: str) -> list[str]:
    for emoji, word in _EMOJI_WORDS.items():
        text = text.replace(emoji, word)
    folded = re.sub(r"[^a-z0-9']+", " ", _fold(text))
    return [token for token in (t.strip("'") for t in folded.split()) if token]


def _match_at(tokens: list[str], start: int) -> tuple[bool | None, int]:
    """Longest yes/no phrase starting at ``start``: (polarity, length) or (None, 0)."""
    best: tuple[bool | None, int] = (None, 0)
    for polarity, table in ((False, _NO), (True, _YES)):
        for phrase in table:
            size = len(phrase)
            if size > best[1] and tuple(tokens[start : start + size]) == phrase:
                best = (polarity, size)
                break  # tables are sorted longest first
    return best


def _contains(tokens: list[str], phrase: tuple[str, ...]) -> bool:
    size = len(phrase)
    return any(tuple(tokens[i : i + size]) == phrase for i in range(len(tokens) - size + 1))


def _remove_phrases(tokens: list[str], phrases: list[tuple[str, ...]]) -> list[str]:
    result: list[str] = []
    i = 0
    while i < len(tokens):
        for phrase in phrases:
            if tuple(tokens[i : i + len(phrase)]) == phrase:
                i += len(phrase)
                break
        else:
            result.append(tokens[i])
            i += 1
    return result


def parse_yes_no(text: str) -> bool | None:
    """Read a yes or a no from a chat reply; None when absent or ambiguous.

    The reply's opening words decide ("Yes, I do", "no I don't", "Absolutely not"); trailing
    words are tolerated unless they contradict the opening with another bare yes/no ("yes and
    no") or hedge ("yes, probably"). With no recognised opening, the whole reply is scanned and
    accepted only if every yes/no phrase in it agrees ("I would say yes").
    """
    tokens = _yes_no_tokens(text)
    if not tokens or any(_contains(tokens, hedge) for hedge in _HEDGE):
        return None
    start = 0
    while start < len(tokens) - 1 and tokens[start] in _FILLERS:
        start += 1
    polarity, size = _match_at(tokens, start)
    if polarity and tokens[start] in _PRONOUNS:
        # "I am" / "I have" alone answer the question, but "I'm 17" or "I have a student visa"
        # say something else that merely starts like a yes: those are only read as a yes if a
        # real yes word follows ("I would say yes"), in the scan below.
        rest = [t for t in tokens[start + size :] if t not in _FILLERS]
        if all(t in _WEAK_YES_TAIL for t in rest):
            return True
        polarity = None
    if polarity is not None:
        # Single letters only count as a whole reply: "n" inside prose is not a no.
        if tokens[start] in ("y", "n") and len(tokens) > start + 1:
            return None
        rest = tokens[start + size :]
        if polarity and rest[:1] in (["not"], ["never"]):
            return False  # "sure not", "yes never" read as refusals
        rest = _remove_phrases(rest, _IDIOMS)
        opposite = _STRONG_NO if polarity else _STRONG_YES
        if any(token in opposite for token in rest):
            return None
        return polarity
    # No opening phrase: accept only if all yes/no phrases anywhere agree.
    found: set[bool] = set()
    i = 0
    while i < len(tokens):
        match, size = _match_at(tokens, i)
        weak = match is True and tokens[i] in _PRONOUNS
        # Mid-sentence "no"/"not" qualify a noun ("I have no visa"); only a final one answers.
        qualifier = size == 1 and tokens[i] in ("no", "not") and i != len(tokens) - 1
        if match is not None and not weak and not qualifier and tokens[i] not in ("y", "n"):
            found.add(match)
            i += size
        else:
            i += 1
    return found.pop() if len(found) == 1 else None


# --------------------------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------------------------

_UNITS = {
    word: n
    for n, word in enumerate(
        _phrase_list("zero, one, two, three, four, five, six, seven, eight, nine")
    )
}
_UNITS.update(nil=0, none=0)
_TEENS = {
    word: n
    for n, word in enumerate(
        _phrase_list(
            "ten, eleven, twelve, thirteen, fourteen, fifteen, sixteen, seventeen, "
            "eighteen, nineteen"
        ),
        start=10,
    )
}
_TENS = {
    word: 10 * n
    for n, word in enumerate(
        _phrase_list("twenty, thirty, forty, fifty, sixty, seventy, eighty, ninety"), start=2
    )
}
_TENS["fourty"] = 40  # a common misspelling
_SCALES = {"thousand": 1000, "million": 1_000_000}
_NUMBER_WORDS = frozenset({*_UNITS, *_TEENS, *_TENS, "hundred", *_SCALES})

_NUMBER_TOKEN_RE = re.compile(
    r"(?P<num>(?:(?<![\w.,\-])-)?(?:\d+(?:[.,]\d+)*|(?<!\d)\.\d+))(?P<k>k(?![a-z]))?"
    r"|(?P<word>[a-z]+)"
)


@dataclass(frozen=True)
class _Num:
    value: float
    alt: float | None = None  # the other reading of "45.000" / "4,500"


def _numeric(literal: str) -> _Num | None:
    """Read "45,000", "3,5", "1.234,5" and friends; None when the separators make no sense."""
    negative = literal.startswith("-")
    body = literal.lstrip("-")
    sign = -1.0 if negative else 1.0
    if "," in body and "." in body:
        decimal = "," if body.rfind(",") > body.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        whole, _, frac = body.rpartition(decimal)
        groups = whole.split(thousands)
        if decimal in whole or any(len(g) != 3 for g in groups[1:]):
            return None
        return _Num(sign * float("".join(groups) + "." + frac))
    separator = "," if "," in body else "." if "." in body else None
    if separator is None:
        return _Num(sign * float(body))
    parts = body.split(separator)
    if len(parts) == 2:
        whole, frac = parts
        as_decimal = sign * float(f"{whole or 0}.{frac}")
        if len(frac) == 3 and whole:
            as_thousands = sign * float(whole + frac)
            # "45,000" is forty-five thousand; "45.000" is usually 45 (but see ``alt``).
            if separator == ",":
                return _Num(as_thousands, alt=as_decimal)
            return _Num(as_decimal, alt=as_thousands)
        return _Num(as_decimal)
    if all(len(group) == 3 for group in parts[1:]) and parts[0]:
        return _Num(sign * float("".join(parts)))
    return None


def _number_tokens(text: str) -> list[tuple[str, Any]] | None:
    folded = _fold(text).replace("\u2212", "-")
    tokens: list[tuple[str, Any]] = []
    for match in _NUMBER_TOKEN_RE.finditer(folded):
        if match["num"]:
            num = _numeric(match["num"])
            if num is None:
                return None
            if match["k"]:
                num = _Num(num.value * 1000)
            tokens.append(("num", num))
        else:
            tokens.append(("word", match["word"]))
    return tokens


def _read_numbers(tokens: list[tuple[str, Any]]) -> list[_Num]:
    """Collect every number mentioned, combining digits and number words into values."""
    values: list[_Num] = []
    i = 0
    n = len(tokens)

    def word(j: int) -> str | None:
        return tokens[j][1] if 0 <= j < n and tokens[j][0] == "word" else None

    def half_follows(j: int) -> int:
        """Length of "and a half" / "a half" / "and half" starting at j, else 0."""
        seq = [word(j + k) for k in range(3)]
        if seq[:3] == ["and", "a", "half"]:
            return 3
        if seq[:2] in (["and", "half"], ["a", "half"]):
            return 2
        return 0

    while i < n:
        kind, item = tokens[i]
        total = 0.0
        current = 0.0
        alt: float | None = None
        last: str | None = None  # the class of the previous token in this number
        if kind == "num":
            current, alt, last = item.value, item.alt, "num"
            i += 1
        elif item == "half" or (item == "a" and word(i + 1) == "half"):
            values.append(_Num(0.5))  # "half a year"
            i += 1 if item == "half" else 2
            continue
        elif not (
            item in _NUMBER_WORDS
            or (item == "a" and word(i + 1) in ("hundred", "thousand", "million"))
        ):
            i += 1
            continue
        start = i
        while i < n:
            w = word(i)
            if w is None:
                break
            if w == "a" and last is None and word(i + 1) in ("hundred", "thousand", "million"):
                current, last = 1.0, "unit"
                i += 1
            elif w in _UNITS and last in (None, "tens", "hundred", "and"):
                current += _UNITS[w]
                last = "unit"
                i += 1
            elif w in _TEENS and last in (None, "hundred", "and"):
                current += _TEENS[w]
                last = "teen"
                i += 1
            elif w in _TENS and last in (None, "hundred", "and"):
                current += _TENS[w]
                last = "tens"
                i += 1
            elif w == "hundred" and last in ("unit", "teen", "tens", "num"):
                current *= 100
                alt = None
                last = "hundred"
                i += 1
            elif w in _SCALES and last in ("unit", "teen", "tens", "hundred", "num"):
                total += current * _SCALES[w]
                current, alt, last = 0.0, None, "scale"
                i += 1
            elif w == "k" and last == "num":
                current *= 1000
                alt, last = None, "scale"
                i += 1
            elif w == "and" and last in ("hundred", "scale") and word(i + 1) in _NUMBER_WORDS:
                last = "and"
                i += 1
            elif last in ("unit", "teen", "tens", "num") and (size := half_follows(i)):
                current += 0.5  # "two and a half"
                alt = None
                i += size
                break
            else:
                break
        if last is None:  # a lone "hundred"/"thousand": not a number on its own
            i = start + 1
            continue
        values.append(_Num(total + current, alt if total == 0 else None))
    return values


def _fmt_number(value: float) -> str:
    value = round(float(value), 6)
    if value.is_integer():
        return f"{int(value):,}"
    return f"{value:,}"


def _with_unit(value: float, unit: str | None) -> str:
    text = _fmt_number(value)
    if not unit:
        return text
    if abs(value) == 1 and unit.endswith("s") and not unit.endswith("ss") and " " not in unit:
        unit = unit[:-1]  # "1 year", not "1 years"
    return f"{text} {unit}"


def _range_phrase(question: NumberQuestion) -> str:
    noun = "whole number" if question.integer else "number"
    unit = f" ({question.unit})" if question.unit else ""
    return f"a {noun} between {_fmt_number(question.min)} and {_fmt_number(question.max)}{unit}"


def _parse_number(question: NumberQuestion, text: str) -> Parsed:
    expected = f"Please reply with {_range_phrase(question)}."
    if len(text) > _MAX_STRUCTURED_CHARS:
        return _fail(f"That's a long answer. {expected}")
    tokens = _number_tokens(text)
    if tokens is None:
        return _fail(f"I couldn't read that number. {expected}")
    numbers = _read_numbers(tokens)
    distinct: list[_Num] = []
    for num in numbers:
        if all(round(num.value, 6) != round(seen.value, 6) for seen in distinct):
            distinct.append(num)
    if not distinct:
        return _fail(f"I couldn't find a number in your answer. {expected}")
    if len(distinct) > 1:
        listed = " and ".join(_fmt_number(n.value) for n in distinct[:3])
        return _fail(
            f"I found more than one number ({listed}). Please reply with a single "
            f"{_range_phrase(question)[2:]}."
        )
    value, alt = distinct[0].value, distinct[0].alt

    def in_range(v: float) -> bool:
        return question.min <= v <= question.max

    if not in_range(value) and alt is not None and in_range(alt):
        value = alt
    value = round(value, 6)
    if not in_range(value):
        return _fail(
            f"{_with_unit(value, question.unit)} is outside the range I can accept. {expected}"
        )
    if question.integer and not value.is_integer():
        return _fail(f"{_fmt_number(value)} isn't a whole number. {expected}")
    result: int | float = int(value) if value.is_integer() else value
    knockout = (question.knockout_below is not None and value < question.knockout_below) or (
        question.knockout_above is not None and value > question.knockout_above
    )
    return Parsed(
        ok=True, value=result, display=_with_unit(value, question.unit), knockout=knockout
    )


# --------------------------------------------------------------------------------------------
# choice
# --------------------------------------------------------------------------------------------

_NEGATIONS = frozenset({"not", "no", "don't", "dont", "never", "except", "without", "but"})
_INDEX_RE = re.compile(r"^(?:option|number|nr|no|choice|#)?\s*(\d{1,2})(?:st|nd|rd|th)?$")


def _option_key(text: str) -> str:
    return " ".join(re.sub(r"[^\w']+|_", " ", _fold(text)).replace("'", "").split())


_STOPWORDS = frozenset(
    {"the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "with", "only"}
)


def _mentioned_options(options: list[str], keys: list[str], words: list[str]) -> list[str]:
    """Options named by a word that no other option contains ("the night shift" -> Night).

    A plural in the reply also names a singular option word ("nights" -> "Night").
    """
    option_words = [
        {w for w in key.split() if len(w) >= 3 and not w.isdigit() and w not in _STOPWORDS}
        for key in keys
    ]
    reply_words = set(words) | {w[:-1] for w in words if w.endswith("s")}
    mentioned: list[str] = []
    for index, own in enumerate(option_words):
        others = set().union(*(ws for j, ws in enumerate(option_words) if j != index))
        if (own - others) & reply_words:
            mentioned.append(options[index])
    return mentioned


def _choice_error(question: ChoiceQuestion, lead: str = "") -> Parsed:
    listed = ", ".join(f"{i}. {option}" for i, option in enumerate(question.options, start=1))
    return _fail(
        f"{lead}Please choose one of these options: {listed}. "
        "You can tap a button, type the option or its number."
    )


def _match_choice(question: ChoiceQuestion, text: str) -> str | None:
    options = list(question.options)
    keys = [_option_key(option) for option in options]
    reply = _option_key(text)
    if not reply:
        return None
    if reply in keys:
        return options[keys.index(reply)]
    index = _INDEX_RE.match(reply)
    if index:
        position = int(index.group(1))
        return options[position - 1] if 1 <= position <= len(options) else None
    if len(reply) >= 3:
        prefixed = [
            option for option, key in zip(options, keys, strict=True) if key.startswith(reply)
        ]
        if len(prefixed) == 1:
            return prefixed[0]
        if len(prefixed) > 1:
            return None
    words = reply.split()
    if not _NEGATIONS.intersection(words):
        padded = f" {reply} "
        contained = [
            option
            for option, key in zip(options, keys, strict=True)
            if key and f" {key} " in padded
        ]
        if contained:
            longest = max(contained, key=lambda option: len(_option_key(option)))
            if all(_option_key(o) in _option_key(longest) for o in contained):
                return longest
            return None
        mentioned = _mentioned_options(options, keys, words)
        if len(mentioned) == 1:
            return mentioned[0]
    if len(reply) > 120:
        return None
    reply_words = len(reply.split())

    def similarity(key: str) -> float:
        score = difflib.SequenceMatcher(None, reply, key).ratio()
        head = " ".join(key.split()[:reply_words])
        if head != key and len(reply) >= 4:  # "nigth" vs the "night" of "Night (22:00-06:00)"
            score = max(score, difflib.SequenceMatcher(None, reply, head).ratio())
        return score

    scores = sorted(
        ((similarity(key), option) for option, key in zip(options, keys, strict=True)),
        key=lambda pair: pair[0],
        reverse=True,
    )
    best_score, best = scores[0]
    if best_score >= 0.8 and (len(scores) == 1 or scores[1][0] < best_score):
        return best
    return None


def _parse_choice(question: ChoiceQuestion, text: str) -> Parsed:
    if len(text) > _MAX_STRUCTURED_CHARS:
        return _choice_error(question, "That's a long answer. ")
    option = _match_choice(question, text)
    if option is None:
        lead = "Sorry, I didn't catch which option you mean. " if text.strip() else ""
        return _choice_error(question, lead)
    return Parsed(
        ok=True, value=option, display=option, knockout=option in question.knockout_options
    )


# --------------------------------------------------------------------------------------------
# dates
# --------------------------------------------------------------------------------------------

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAY_LOOKUP = {
    **{name.lower(): i for i, name in enumerate(_WEEKDAYS)},
    **{name.lower()[:3]: i for i, name in enumerate(_WEEKDAYS)},
    "tues": 1,
    "weds": 2,
    "thur": 3,
    "thurs": 3,
}
_ASAP = (
    "asap",
    "a s a p",
    "now",
    "right now",
    "today",
    "immediately",
    "right away",
    "straight away",
    "straightaway",
    "as soon as possible",
    "anytime",
    "any time",
    "whenever",
    "from today",
    "starting today",
)
_LEAD_IN_RE = re.compile(
    r"^(?:(?:i|we)\s+(?:can|could|would|will|should)\s+(?:be\s+able\s+to\s+)?"
    r"(?:start|begin|join)(?:\s+working)?|i'?m\s+(?:available|free)|i\s+am\s+(?:available|free)"
    r"|available|free|starting|start|from|on|as\s+of|by|earliest|the\s+earliest|probably)\b\s*"
)
_TRAIL_RE = re.compile(
    r"\s*(?:at\s+the\s+earliest|please|if\s+possible|or\s+later|onwards?|i\s+think"
    r"|(?:'s|of)?\s*notice(?:\s+period)?)$"
)
_OFFSET_RE = re.compile(
    r"^(?:in\s+|after\s+|within\s+)?(?P<n>[a-z0-9 -]+?)\s+(?P<unit>day|week|month|year)s?"
    r"(?:\s+(?:from\s+(?:now|today)|time))?$"
)
_WEEKDAY_RE = re.compile(
    r"^(?:(?P<which>next|this|coming|the\s+coming|this\s+coming)\s+)?"
    r"(?P<day>[a-z]+)$"
)
_DATEPARSER_SETTINGS_BASE: dict[str, Any] = {
    "PREFER_DATES_FROM": "future",
    "DATE_ORDER": "DMY",
    "RETURN_AS_TIMEZONE_AWARE": False,
    # No 'timestamp' or 'no-spaces-time': they turn stray digit strings into dates.
    "PARSERS": ["relative-time", "custom-formats", "absolute-time"],
}


def format_date(day: dt.date) -> str:
    """'Monday 1 March 2027' - independent of the process locale."""
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def _add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _small_number(text: str) -> int | None:
    text = text.strip()
    if text in ("a", "an", "one"):
        return 1
    if text == "a couple of" or text == "couple of" or text == "a couple":
        return 2
    tokens = _number_tokens(text)
    if not tokens:
        return None
    numbers = _read_numbers(tokens)
    if len(numbers) != 1 or not float(numbers[0].value).is_integer():
        return None
    consumed = {w for kind, w in tokens if kind == "word"} - _NUMBER_WORDS - {"and"}
    if consumed:
        return None
    value = int(numbers[0].value)
    return value if 0 <= value <= 1000 else None


def _next_day_of_month(day: int, today: dt.date) -> dt.date | None:
    """ "The 5th": the next date with that day of the month, today included."""
    if not 1 <= day <= 31:
        return None
    first = today.replace(day=1)
    for months in range(3):
        month = _add_months(first, months)
        if day <= calendar.monthrange(month.year, month.month)[1]:
            candidate = month.replace(day=day)
            if candidate >= today:
                return candidate
    return None


def _own_date(text: str, today: dt.date) -> dt.date | None:
    """The phrases dateparser gets wrong or does not know, given the whole normalised reply."""
    if text in _ASAP:
        return today
    if text == "tomorrow":
        return today + dt.timedelta(days=1)
    if text in ("the day after tomorrow", "day after tomorrow"):
        return today + dt.timedelta(days=2)
    if text == "next week":
        return today + dt.timedelta(days=7 - today.weekday())
    if text == "next month":
        return _add_months(today.replace(day=1), 1)
    if text == "next year":
        return dt.date(today.year + 1, 1, 1)
    weekday = _WEEKDAY_RE.match(text)
    if weekday and weekday["day"] in _WEEKDAY_LOOKUP:
        target = _WEEKDAY_LOOKUP[weekday["day"]]
        ahead = (target - today.weekday()) % 7
        which = weekday["which"] or ""
        if ahead == 0 and not which.startswith("this"):
            ahead = 7  # "next Sunday" said on a Sunday means a week from today
        return today + dt.timedelta(days=ahead)
    offset = _OFFSET_RE.match(text)
    if offset:
        count = _small_number(offset["n"])
        if count is None:
            return None
        unit = offset["unit"]
        if unit == "day":
            return today + dt.timedelta(days=count)
        if unit == "week":
            return today + dt.timedelta(weeks=count)
        if unit == "month":
            return _add_months(today, count)
        return _add_months(today, 12 * count)
    day_only = re.match(r"^(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)$|^the\s+(\d{1,2})$", text)
    if day_only:
        return _next_day_of_month(int(day_only[1] or day_only[2]), today)
    iso = re.match(r"^(\d{4})-(\d{1,2})-(\d{1,2})$", text)
    if iso:
        try:
            return dt.date(int(iso[1]), int(iso[2]), int(iso[3]))
        except ValueError:
            return None
    return None


def _dateparser(text: str, today: dt.date, day_of_month: str) -> dt.date | None:
    settings = dict(_DATEPARSER_SETTINGS_BASE)
    settings["RELATIVE_BASE"] = dt.datetime.combine(today, dt.time())
    settings["PREFER_DAY_OF_MONTH"] = day_of_month
    try:
        parsed = dateparser.parse(text, languages=["en"], settings=settings)
    except Exception:  # dateparser raises assorted errors on odd input; treat as unparseable
        return None
    return parsed.date() if parsed else None


def _read_date(text: str, today: dt.date) -> dt.date | None:
    folded = _fold(text)
    folded = re.sub(r"[!?;]+", " ", folded)
    folded = " ".join(folded.split()).strip(" .,")
    core = folded
    for _ in range(4):
        stripped = _TRAIL_RE.sub("", _LEAD_IN_RE.sub("", core)).strip(" .,")
        if stripped == core:
            break
        core = stripped
    if not core:
        return None
    own = _own_date(core, today)
    if own is not None:
        return own
    if re.fullmatch(r"\d{1,2}|(?:the\s+)?\d+(?:st|nd|rd|th)|the\s+\d+", core):
        # A bare "5" could be days, weeks or a day of the month: ask again rather than guess.
        # An impossible "the 40th" must not reach dateparser, which reads it as a year.
        return None
    day_of_month = "first"
    end = re.match(r"^(?:the\s+)?end\s+of\s+(.+)$", core)
    start = re.match(r"^(?:the\s+)?(?:start|beginning|begin)\s+of\s+(.+)$", core)
    middle = re.match(r"^mid(?:dle\s+of)?[\s-]+(.+)$", core)
    if middle:
        month = _dateparser(middle[1], today, "first")
        return month.replace(day=15) if month else None
    if end:
        core, day_of_month = end[1], "last"
    elif start:
        core = start[1]
    own = _own_date(core, today) if day_of_month == "first" else None
    if own is not None:
        return own
    if core == "next month" and day_of_month == "last":
        first = _add_months(today.replace(day=1), 1)
        return _add_months(first, 1) - dt.timedelta(days=1)
    found = _dateparser(core, today, day_of_month)
    if found is None and core != folded:
        found = _dateparser(folded, today, day_of_month)
    if found is None:
        # "I can start immediately, I'm free" - an unambiguous keyword anywhere, unless the
        # reply ties it to something later ("immediately after my exams").
        padded = " " + " ".join(re.sub(r"[^\w']+", " ", folded).split()) + " "
        keywords = (
            "asap",
            "immediately",
            "right away",
            "straight away",
            "as soon as possible",
            "whenever",
            "anytime",
            "any time",
        )
        later = (" after ", " once ", " when ", " until ", " following ")
        if any(f" {w} " in padded for w in keywords) and not any(w in padded for w in later):
            return today
    return found


def _parse_date(question: DateQuestion, text: str, today: dt.date) -> Parsed:
    if len(text) > _MAX_STRUCTURED_CHARS:
        return _fail(f"That's a long answer. Please reply with just a date, {_DATE_EXAMPLES}.")
    day = _read_date(text, today)
    if day is None:
        # Spoken dates arrive in words ("the first of March", "March the fifth twenty
        # twenty seven"): the speech normaliser brings them to "1 March" form first.
        spoken = normalize_dates(normalize_numbers(text))
        day = _read_date(spoken, today) if spoken != text else None
    if day is None:
        return _fail(
            f"Sorry, I couldn't read that as a date. Please reply with a date, {_DATE_EXAMPLES}."
        )
    if day < today and not question.allow_past:
        return _fail(
            f"{format_date(day)} is in the past. Please give a date from today "
            f"({format_date(today)}) onwards, {_DATE_EXAMPLES}."
        )
    if question.max_days_ahead is not None and (day - today).days > question.max_days_ahead:
        limit = today + dt.timedelta(days=question.max_days_ahead)
        return _fail(
            f"{format_date(day)} is too far ahead. Please give a date no later than "
            f"{format_date(limit)}."
        )
    return Parsed(ok=True, value=day.isoformat(), display=format_date(day))


# --------------------------------------------------------------------------------------------
# free text
# --------------------------------------------------------------------------------------------


def _parse_free_text(question: FreeTextQuestion, text: str) -> Parsed:
    # NUL characters are removed because PostgreSQL text columns cannot store them; everything
    # else is kept verbatim (the answer is evidence, and is escaped wherever it is displayed).
    answer = text.replace("\x00", "").strip()
    if not answer:
        return _fail("I didn't get an answer there. Please reply in a few words or sentences.")
    if not any(ch.isalnum() for ch in answer):
        return _fail("Please answer in words - a few sentences in your own words is perfect.")
    if len(answer) < question.min_chars:
        return _fail(
            f"That's a bit short. Please answer in at least {question.min_chars} characters."
        )
    if len(answer) > question.max_chars:
        return _fail(
            f"Your answer is {len(answer):,} characters long, but the limit is "
            f"{question.max_chars:,}. Please shorten it and send it again."
        )
    return Parsed(ok=True, value=answer, display=answer)


# --------------------------------------------------------------------------------------------
# public entry points
# --------------------------------------------------------------------------------------------


def parse_answer(question: Question, text: str, *, today: dt.date) -> Parsed:
    """Parse a reply to ``question`` (any question model from :mod:`screening.job_schema`).

    Never raises for bad input: a reply that cannot be used comes back with ``ok=False`` and a
    re-ask message. ``today`` is the candidate's local date, used for relative dates.
    """
    if text is None:
        text = ""
    if isinstance(question, FreeTextQuestion):
        return _parse_free_text(question, text)
    if isinstance(question, YesNoQuestion):
        if len(text) > _MAX_STRUCTURED_CHARS:
            return _fail("That's a long answer. Please answer yes or no.")
        value = parse_yes_no(text)
        if value is None:
            return _fail("Sorry, I need a clear answer here. Please answer yes or no.")
        knockout = question.knockout_answer is not None and value == question.knockout_answer
        return Parsed(ok=True, value=value, display="Yes" if value else "No", knockout=knockout)
    if isinstance(question, NumberQuestion):
        return _parse_number(question, text)
    if isinstance(question, ChoiceQuestion):
        return _parse_choice(question, text)
    if isinstance(question, DateQuestion):
        return _parse_date(question, text, today)
    raise TypeError(f"unsupported question type: {type(question).__name__}")


def prompt_for(question: Question) -> tuple[str, list[tuple[str, str]]]:
    """The text to send for ``question`` and its quick-reply buttons as (title, payload).

    Structured kinds get a short hint so the candidate knows what form of answer works even on
    channels that do not render buttons.
    """
    prompt = question.prompt
    if isinstance(question, YesNoQuestion):
        return f"{prompt} (yes or no)", [("Yes", "yes"), ("No", "no")]
    if isinstance(question, NumberQuestion):
        noun = "a whole number" if question.integer else "a number"
        if question.unit:
            noun += f" of {question.unit}"
        low, high = _fmt_number(question.min), _fmt_number(question.max)
        return f"{prompt} ({noun} between {low} and {high})", []
    if isinstance(question, ChoiceQuestion):
        buttons = [(option, option) for option in question.options]
        return f"{prompt} (pick one of the options, or type its number)", buttons
    if isinstance(question, DateQuestion):
        return f"{prompt} (for example 'next Monday' or '1 March')", []
    return prompt, []
