"""Text normalisation for speech transcripts and typed answers.

Why: a candidate who *says* "forty five thousand euros" and one who *types* "45,000 euros" gave
the same answer. The speech recogniser may also write either form for the same audio. Scoring
and word-error-rate (WER) measurement must not count such differences, so both sides are
brought to one canonical form here: digits, no thousands separators, "%" for percentages.

Everything is pure Python and linear in the input length (regexes without nested quantifiers,
one pass over the words), because transcripts are user-controlled and may be long or hostile.
Numbers are handled as *strings* wherever they come from digits, never via ``float``/``int``:
"1e309" or a 100 000-digit run must pass through unchanged instead of overflowing, rounding or
hitting Python's int/str conversion limit.

Decisions (each one is a trade-off; the rule is chosen so both sides of a comparison get the
same treatment, which matters more than always guessing the speaker's intent):

* A lone "one" stays a word when it is used as a pronoun: followed by "of", "another" or "'s"
  ("one of the best", "one another", "one's"), or preceded by "no", "the", "this", "that",
  "which", "every", "any", "each" or "a" ("no one", "the one"). Otherwise it becomes "1".
* A lone "second" stays a word ("wait a second", "second to none"); inside a compound
  ("twenty-second") it is an ordinal ("22nd"). Other ordinals convert alone: "first" → "1st".
* "hundred", "thousand", "million", ... need a quantifier ("a hundred", "two million"), so a
  bare "million" stays a word; "a million thanks" does become "1000000 thanks".
* A leading "point" is not a decimal: "point five" → "point 5" (only "zero point five" → "0.5").
* "and" joins only after "hundred"/a scale word and before a smaller number ("a hundred and
  twenty" → "120"); "two and three" stays "2 and 3".
* Sequences that are not one well-formed number stay separate: "one two three" → "1 2 3",
  "twenty twenty six" → "20 26". Years spoken in pairs are joined only in a date context, by
  :func:`normalize_dates` (see Dates below); alone they could as well be two counts.
* "minus"/"negative" before a number becomes a sign ("minus five" → "-5") unless a number
  comes right before it ("five minus three" stays an expression: "5 minus 3").
* Digit forms: "45,000" and "45 000" (space, no-break space or thin space between groups of
  exactly three digits) → "45000". A dot is always a decimal point ("45.000" stays), since the
  European thousands dot cannot be told apart from a decimal.
* "k"/"K" glued to a number always means thousand ("45k" → "45000"), the usual salary form.
  "m"/"mn"/"M" (million) and "b"/"bn"/"B" (billion) are expanded only in a money context — a
  currency symbol before or a currency word after ("€2.5m", "2.5m euros") — because "5m" alone
  is far more often five metres.
* Percentages: "10 %", "10 percent", "10 per cent", "ten percent" → "10%".
* Currency words stay words ("euros"). Only for WER does a currency symbol before a number
  become the word after it ("€45000" → "45000 euros"), matching how it is spoken.
* :func:`normalize_numbers` leaves dates and times alone ("5 May 2026", "10:30"); the rules
  below live in :func:`normalize_dates` and :func:`normalize_units`, which run it first.
  :func:`normalize_text` applies all three and :func:`normalize_for_wer` uses it on both sides.

Dates (:func:`normalize_dates`, applied after the number rules, so "fifth" is already "5th"):

* Canonical form "<day> <Month> <year>", each part only when present: "the fifth of May twenty
  twenty six", "May 5th, 2026", "May fifth 2026", "5th of May 2026" → "5 May 2026"; "May 5" and
  "on the fifth of May" → "5 May"; "May of 2026" → "May 2026". The day loses its ordinal suffix
  and leading zero, the month is spelled out and capitalised ("Sept." → "September"), a "the"
  before the day and the "of" after it are dropped, so "on the fifth of May" and "on May 5"
  give identical tokens (WER 0). This form, not ISO, because a date without a year has no ISO
  form and the words are what a speaker says and the recogniser writes.
* Numeric dates are left alone: "2026-05-05" and "05/05/2026" stay as they are. Slash dates
  are ambiguous (5 May or May 5?), and nobody speaks an ISO date, so a recogniser never writes
  one; turning ISO into words would only make typed ISO answers differ from their own
  established WER tokens. Typed answers with a date are parsed into ISO by the interview
  parsers, not here.
* A day needs a month right next to it ("the 5th" alone stays). "5 of May" needs "the" or an
  ordinal ("the 5 of May", "5th of May"); the word "second" is a day only as "the second of
  May" or "May (the) second" ("second May" stays). A lowercase "may" without a year that is
  followed by a word is the verb, not the month ("first may I ask" stays "1st may I ask").
  Month names are otherwise matched case-insensitively and are only touched next to a day or
  year, so "March" the verb or "Jan" the name survive on their own. Day validity is not
  checked ("31 February" is normalised, not rejected): this is about form, not calendars.
* Spoken years: "twenty twenty six" → "2026", "nineteen ninety nine" → "1999", "nineteen oh
  five" → "1905" — but only after a month ("May twenty twenty six" → "May 2026", "5 May ...")
  or after "in", "since", "until", "till", "by", "from", "during", "before", "after", "year".
  The first half must be 15–20 (years 1500–2099), so "in twelve fifteen" stays "in 12 15". "two
  thousand and five" is already "2005" by the number rules. "May twenty twenty six" reads as
  May 2026, not 20 May '26; "May twenty, twenty twenty six" is 20 May 2026.

Times (part of :func:`normalize_dates`): 24-hour "H:MM", hour without a leading zero.

* With am/pm (any of "am", "a.m.", "AM", "a.m", glued or not): "ten thirty am", "10:30 a.m.",
  "10.30am" → "10:30"; "3 pm", "three p.m." → "15:00"; "12 am" → "0:00", "12 pm" → "12:00".
* "ten o'clock" → "10:00"; "12 noon"/"12 midday" → "12:00", "12 midnight" → "0:00".
* "half past ten" → "10:30", "(a) quarter past/to ten" → "10:15"/"9:45", "twenty past ten" →
  "10:20", "ten minutes to ten" → "9:50". "five to ten" stays: without "minutes" it is far more
  often a range ("five to ten years"). "half ten" (British 10:30) stays, also being ambiguous.
  Any of these followed by am/pm shifts to the afternoon ("half past ten pm" → "22:30").
* "at ten thirty" → "at 10:30" ("at" makes "10 30" a time); elsewhere "ten thirty" stays
  "10 30". "09:45" → "9:45". A time without am/pm is not moved to the afternoon ("3:00" stays).
  "in the afternoon" and the like are left as words.
* Known risk: "am"/"PM" after an hour is always read as a time ("at 5 am I woke" → "at 5:00 I
  woke"), even in the rare "5 PM" meaning five project managers.

Units (:func:`normalize_units`, only right after a number, glued or spaced: "5km", "5 km"):

* Each unit has one spelling, the full British word, singular only after exactly "1":
  "yr"/"yrs" → "years", "mo"/"mth(s)" → "months", "wk(s)" → "weeks", "h"/"hr(s)" → "hours",
  "min(s)" → "minutes", "sec(s)" → "seconds", "km"/"kilometers" → "kilometres", "meters" →
  "metres", "cm", "mm", "kg"/"kilos" → "kilograms", "lb(s)" → "pounds", "ft" → "feet",
  "km/h"/"kph" → "kilometres per hour", "mph" → "miles per hour". Full words already in
  canonical spelling keep the speaker's number ("a 5 year contract" stays), hyphenated
  abbreviations stay adjectives in the singular ("5-yr" → "5-year"; "4-H" stays).
* Left alone as ambiguous: "m" (metres, minutes, months or million — money context is handled
  by the number rules), "s" ("1990s", "5s"), "d", "g" ("5G"), "in", "mi".
  "min" is taken as minutes, though it can mean "minimum".
* Rates: "/h", "/hr", "/week", "/wk", "/month", "/yr", " a week", " an hour", " per annum",
  " p.a."/" pa" after a number (or a number and its unit or currency word) → " per <period>":
  "40 hrs/wk" and "forty hours a week" → "40 hours per week", "€15/h" → "€15 per hour".
  Not when followed by "ago"/"earlier"/"later"/"before"/"back" ("2 months a year ago").
* Possessive units lose the apostrophe: "5 years' experience" and "5 year's experience" →
  "5 years experience" ("of" is not inserted or removed: that is a different spoken word).
* "two and a half years" → "2.5 years"; "20°C" → "20 degrees Celsius", "20°" → "20 degrees".
* Currency: codes read as words ("EUR 45000", "45000 EUR", "45000 Euro" → "45000 euros"); a
  symbol after the number moves before it ("45 000 €" → "€45000"), so the WER rule above
  makes it "45000 euros" like the spoken form. Symbols otherwise stay symbols in text.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "normalize_dates",
    "normalize_for_wer",
    "normalize_numbers",
    "normalize_text",
    "normalize_units",
    "word_error_rate",
    "words_to_numbers",
]

# --------------------------------------------------------------------------- vocabulary

_ONES = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
_ZEROS = {"zero", "nought", "naught"}
_TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {"thousand": 3, "million": 6, "billion": 9, "trillion": 12}  # power of ten

_ORD_ONES = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
}
_ORD_TEENS = {
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
}
_ORD_TENS = {
    "twentieth": 20,
    "thirtieth": 30,
    "fortieth": 40,
    "fiftieth": 50,
    "sixtieth": 60,
    "seventieth": 70,
    "eightieth": 80,
    "ninetieth": 90,
}
_ORD_SCALES = {"thousandth": 3, "millionth": 6, "billionth": 9, "trillionth": 12}

_TENS_AND_TEENS = {**_TEENS, **_TENS, **_ORD_TEENS, **_ORD_TENS}
_DIGIT_WORDS = {**_ONES, **dict.fromkeys(_ZEROS, 0)}
_SMALL_WORDS = set(_ONES) | set(_TEENS) | set(_TENS) | set(_ORD_ONES) | set(_ORD_TEENS)
_SMALL_WORDS |= set(_ORD_TENS)

# "one" used as a pronoun rather than a number (see module docstring).
_ONE_PRONOUN_NEXT = {"of", "another"}
_ONE_PRONOUN_PREV = {"no", "the", "this", "that", "which", "every", "any", "each", "a"}

_CURRENCY_WORDS = r"(?:euros?|dollars?|pounds?|francs?|eur|usd|gbp|chf)"
_CURRENCY_SYMBOLS = {"€": "euros", "$": "dollars", "£": "pounds"}

# Splits text into alternating gaps and letter runs (any script, so "é" never splits a word
# and exposes a number word hiding inside it).
_WORD_SPLIT = re.compile(r"([^\W\d_]+)")


def _kind(word: str) -> str | None:
    """The grammatical role of a lowercase word in a spoken number, or None."""
    if word in _ONES:
        return "one"
    if word in _ZEROS:
        return "zero"
    if word in _TEENS:
        return "teen"
    if word in _TENS:
        return "tens"
    if word == "hundred":
        return "hundred"
    if word in _SCALES:
        return "scale"
    if word in _ORD_ONES:
        return "ord_one"
    if word in _ORD_TEENS:
        return "ord_teen"
    if word in _ORD_TENS:
        return "ord_tens"
    if word == "hundredth":
        return "ord_hundred"
    if word in _ORD_SCALES:
        return "ord_scale"
    return None


def _ordinal_suffix(n: int) -> str:
    if 11 <= n % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def _shift_decimal(number: str, places: int) -> str:
    """Multiply a plain decimal string ("2.5") by 10**places exactly, without int/float.

    String arithmetic keeps arbitrarily long digit runs exact and avoids Python's limit on
    converting long digit strings to int.
    """
    integer, _, fraction = number.partition(".")
    fraction = fraction.ljust(places, "0")
    integer = (integer + fraction[:places]).lstrip("0") or "0"
    fraction = fraction[places:].rstrip("0")
    return f"{integer}.{fraction}" if fraction else integer


class _Phrase:
    """Incremental parser for one spoken number ("a hundred and twenty-one point five")."""

    def __init__(self) -> None:
        self.total = 0  # value of the completed scale groups
        self.current = 0  # value below the last scale word
        self.last_scale = 99  # power of ten of the last scale word; new ones must be smaller
        self.last: str | None = None  # role of the previous accepted word
        self.fraction = ""  # digits after "point"
        self.shift = 0  # scale applied after a fraction ("two point five million")
        self.ordinal = False
        self.done = False  # nothing may follow (an ordinal, a fraction with its scale)

    def accept(self, word: str, nxt: str | None) -> bool:
        """Consume ``word`` if it continues this number; ``nxt`` is the following word."""
        if self.done:
            return False
        kind = _kind(word)
        last = self.last
        number_words = ("one", "teen", "tens", "hundred", "scale")
        if last == "point" or last == "fraction":
            if word in _DIGIT_WORDS:
                self.fraction += str(_DIGIT_WORDS[word])
                self._take("fraction")
                return True
            if last == "fraction" and kind == "scale" and self.total == 0 and self.current < 1000:
                self.shift = _SCALES[word]
                self.done = True
                self._take("scale")
                return True
            return False
        if word == "a" or word == "an":
            ok = last is None and nxt in ("hundred", *_SCALES)
            if ok:
                self.current = 1
                self._take("a")
            return ok
        if word == "and":
            ok = last in ("hundred", "scale") and nxt in _SMALL_WORDS
            if ok:
                self._take("and")
            return ok
        if word == "point":
            ok = last in (*number_words, "zero") and nxt in _DIGIT_WORDS
            if ok:
                self._take("point")
            return ok
        if kind is None:
            return False
        if kind == "zero":
            if last is not None:
                return False
            self._take("zero")
            return True
        after_group = last in (None, "hundred", "scale", "and")
        if kind in ("one", "ord_one"):
            value = _ONES.get(word) or _ORD_ONES[word]
            if not (after_group or last == "tens"):
                return False
            self.current += value
        elif kind in ("teen", "tens", "ord_teen", "ord_tens"):
            if not after_group:
                return False
            self.current += _TENS_AND_TEENS[word]
        elif kind in ("hundred", "ord_hundred"):
            if last not in ("a", "one", "teen", "tens") or self.current >= 100:
                return False
            self.current *= 100
        else:  # scale / ord_scale
            power = _SCALES.get(word) or _ORD_SCALES[word]
            if last not in ("a", "one", "teen", "tens", "hundred") or power >= self.last_scale:
                return False
            self.total += self.current * 10**power
            self.current = 0
            self.last_scale = power
        if kind.startswith("ord_"):
            self.ordinal = True
            self.done = True
        self._take(kind.removeprefix("ord_"))
        return True

    def _take(self, role: str) -> None:
        self.last = role

    def complete(self) -> bool:
        """Whether the words so far form a number (not a dangling "a"/"and"/"point")."""
        return self.last not in (None, "a", "and", "point")

    def render(self) -> str:
        value = self.total + self.current
        if self.ordinal:
            return f"{value}{_ordinal_suffix(value)}"
        text = f"{value}.{self.fraction}" if self.fraction else str(value)
        return _shift_decimal(text, self.shift) if self.shift else text


def _joinable(gap: str) -> bool:
    """Whether two number words separated by ``gap`` belong to the same number."""
    return gap == "-" or (gap != "" and gap.isspace())


def words_to_numbers(text: str) -> str:
    """Replace English number words in running text by digits, leaving everything else as is.

    "forty five thousand" → "45000", "two point five" → "2.5", "a hundred and twenty" → "120",
    "twenty-first" → "21st", "minus five" → "-5". See the module docstring for the rules on
    "one", "second", bare scale words and signs. Case, punctuation and other words are kept.
    """
    if not text:
        return text
    parts = _WORD_SPLIT.split(text)  # gaps at even indices, words at odd indices
    words = parts[1::2]
    lower = [w.lower() for w in words]
    gaps = parts[0::2]  # gaps[i] precedes words[i]; gaps[-1] trails
    n = len(words)
    out: list[str] = [gaps[0]]
    i = 0
    previous_was_number = False  # the word before position i ended a converted number
    while i < n:
        sign = ""
        first = i
        if (
            lower[i] in ("minus", "negative")
            and i + 1 < n
            and gaps[i + 1].isspace()
            and not previous_was_number
            and not gaps[i].rstrip()[-1:].isdigit()
        ):
            sign, first = "-", i + 1
        end, number = _parse_number(lower, gaps, first)
        if end > first:
            out.append(sign + number)
            out.append(gaps[end])
            previous_was_number = True
            i = end
        else:
            out.append(words[i])
            out.append(gaps[i + 1])
            previous_was_number = False
            i += 1
    return "".join(out)


def _parse_number(lower: list[str], gaps: list[str], start: int) -> tuple[int, str]:
    """End index (exclusive) and digits of the number spoken from word ``start``.

    Returns ``(start, "")`` when no number starts there.
    """
    phrase = _Phrase()
    n = len(lower)
    end = start
    while end < n:
        if end > start and not _joinable(gaps[end]):
            break
        nxt = lower[end + 1] if end + 1 < n and _joinable(gaps[end + 1]) else None
        if not phrase.accept(lower[end], nxt):
            break
        end += 1
    if end == start or not phrase.complete() or _keep_as_word(lower, gaps, start, end):
        return start, ""
    return end, phrase.render()


def _keep_as_word(lower: list[str], gaps: list[str], start: int, end: int) -> bool:
    """Whether a candidate number made of words ``start:end`` is really a plain word."""
    if end - start != 1:
        return False
    word = lower[start]
    if word == "second":
        return True
    if word != "one":
        return False
    after = gaps[start + 1]
    if after.startswith(("'", "’")):
        return True
    if start + 1 < len(lower) and after.isspace() and lower[start + 1] in _ONE_PRONOUN_NEXT:
        return True
    return start > 0 and gaps[start].isspace() and lower[start - 1] in _ONE_PRONOUN_PREV


# --------------------------------------------------------------------------- digit forms

_NUM = r"[0-9]+(?:\.[0-9]+)?"
_GROUP_SEP = "[ \u00a0\u2009\u202f]"
_COMMA_GROUPS = re.compile(r"(?<![0-9.,])([0-9]{1,3})((?:,[0-9]{3})+)(?![0-9]|,[0-9])")
_SPACE_GROUPS = re.compile(
    rf"(?<![0-9.,])([0-9]{{1,3}})((?:{_GROUP_SEP}[0-9]{{3}})+)(?![0-9]|[.,][0-9])"
)
_DIGIT_SCALE = re.compile(
    rf"(?<![0-9.])({_NUM})\s+(hundred|thousand|million|billion|trillion)\b", re.IGNORECASE
)
_K_SUFFIX = re.compile(rf"(?<![\w.])({_NUM})[kK]\b")
_MONEY_SUFFIX_BEFORE = re.compile(rf"([€$£])\s?({_NUM})\s?(mn|bn|[mMbB])\b")
_MONEY_SUFFIX_AFTER = re.compile(
    rf"(?<![\w.])({_NUM})\s?(mn|bn|[mMbB])(\s+{_CURRENCY_WORDS}\b)", re.IGNORECASE
)
_PERCENT = re.compile(rf"(?<![0-9.])({_NUM})\s*(?:%|per[ -]?cent\b)", re.IGNORECASE)
_SIGNED = re.compile(r"(?<![0-9]\s)(?<![0-9])\b(?:minus|negative)\s+(?=[0-9])", re.IGNORECASE)
_UNICODE_MINUS = re.compile(r"[\u2212\u2012\u2013](?=[0-9])")

_POWERS = {"hundred": 2, "thousand": 3, "million": 6, "billion": 9, "trillion": 12}
_SUFFIX_POWERS = {"m": 6, "mn": 6, "b": 9, "bn": 9}


def normalize_numbers(text: str) -> str:
    """Bring every way of writing a number to plain digits, so spoken and typed forms agree.

    Runs :func:`words_to_numbers`, then: "45,000"/"45 000" → "45000", "45 thousand" → "45000",
    "45k" → "45000", "€2.5m"/"2.5m euros" → money in full, "10 %"/"10 percent" → "10%",
    "minus 5"/"−5" → "-5". Dates, times and words are left alone.
    """
    text = words_to_numbers(text)
    text = _UNICODE_MINUS.sub("-", text)
    text = _SIGNED.sub("-", text)
    text = _COMMA_GROUPS.sub(lambda m: m.group(1) + m.group(2).replace(",", ""), text)
    text = _SPACE_GROUPS.sub(lambda m: m.group(1) + re.sub(_GROUP_SEP, "", m.group(2)), text)
    text = _DIGIT_SCALE.sub(lambda m: _shift_decimal(m.group(1), _POWERS[m.group(2).lower()]), text)
    text = _K_SUFFIX.sub(lambda m: _shift_decimal(m.group(1), 3), text)
    text = _MONEY_SUFFIX_BEFORE.sub(
        lambda m: m.group(1) + _shift_decimal(m.group(2), _SUFFIX_POWERS[m.group(3).lower()]),
        text,
    )
    text = _MONEY_SUFFIX_AFTER.sub(
        lambda m: _shift_decimal(m.group(1), _SUFFIX_POWERS[m.group(2).lower()]) + m.group(3),
        text,
    )
    return _PERCENT.sub(r"\1%", text)


# --------------------------------------------------------------------------- dates and times

_MONTH_NAMES = {
    "january": "January",
    "february": "February",
    "march": "March",
    "april": "April",
    "may": "May",
    "june": "June",
    "july": "July",
    "august": "August",
    "september": "September",
    "october": "October",
    "november": "November",
    "december": "December",
}
_MONTH_ABBREVIATIONS = {
    "jan": "January",
    "feb": "February",
    "mar": "March",
    "apr": "April",
    "jun": "June",
    "jul": "July",
    "aug": "August",
    "sep": "September",
    "sept": "September",
    "oct": "October",
    "nov": "November",
    "dec": "December",
}
_MONTHS = {**_MONTH_NAMES, **_MONTH_ABBREVIATIONS}
# Only an abbreviation may carry a dot ("Jan. 5"); "May." is the end of a sentence.
_MONTH_ALTERNATIVES = (
    "|".join(sorted(_MONTH_NAMES, key=len, reverse=True))
    + r")\b|(?:"
    + "|".join(sorted(_MONTH_ABBREVIATIONS, key=len, reverse=True))
    + r")\b\.?"
)
# Nothing glued to a date part: not a letter/digit, and no ".5", ",5", ":5", "/5", "-5" after.
_END = r"(?![^\W_]|[.,:/-][0-9])"
_START = r"(?<![\w.,:/-])"


def _month(tag: str) -> str:
    return rf"\b(?P<{tag}m>(?:{_MONTH_ALTERNATIVES})"


def _day(tag: str) -> str:
    """A day of the month: "5", "05", "5th", or the word "second" (kept a word elsewhere)."""
    return (
        rf"{_START}(?:(?P<{tag}d>3[01]|[12][0-9]|0?[1-9])(?P<{tag}s>st|nd|rd|th)?"
        rf"|(?P<{tag}w>second)){_END}"
    )


def _year(tag: str, four_digits: bool = True) -> str:
    """A year: four digits, or a spoken pair as words_to_numbers leaves it ("20 26", "19 oh 5")."""
    pair = rf"(?P<{tag}c>1[5-9]|20)\s+(?:o(?:h)?\s+(?P<{tag}o>[1-9])|(?P<{tag}p>[1-9][0-9]))"
    if four_digits:
        return rf"{_START}(?:(?P<{tag}y>[12][0-9]{{3}})|{pair}){_END}"
    return rf"{_START}{pair}{_END}"


_YEAR_CONTEXT = r"in|since|until|till|by|from|during|before|after|year"
_DATE = re.compile(
    # A: day first — "the 5th of May 2026", "5 May", "the second of May, 20 26"
    rf"(?:\b(?P<Athe>the)\s+)?{_day('A')}(?:\s+(?P<Aof>of))?\s+{_month('A')}"
    rf"(?:,?\s+{_year('A')})?"
    # B: month first — "May 5th, 2026", "May the fifth", "May 20 26", "May of 2026", "May 5"
    rf"|{_month('B')},?\s+(?:(?:the\s+)?{_day('B')},?\s+{_year('B')}"
    rf"|(?:of\s+)?{_year('C')}|(?P<Bthe>the\s+)?{_day('D')})"
    # E: a spoken year after a word that announces one — "since 19 99", "in 20 26"
    rf"|\b(?P<Ew>{_YEAR_CONTEXT})\s+{_year('E', four_digits=False)}",
    re.IGNORECASE,
)


def _year_text(m: re.Match[str], tag: str) -> str | None:
    if tag != "E" and m.group(f"{tag}y"):  # E matches spoken pairs only
        return m.group(f"{tag}y")
    if m.group(f"{tag}c"):
        tail = m.group(f"{tag}p") or "0" + m.group(f"{tag}o")
        return m.group(f"{tag}c") + tail
    return None


def _date_text(day: int | None, month: str, year: str | None) -> str:
    parts = [str(day)] if day is not None else []
    parts.append(_MONTHS[month.lower().rstrip(".")])
    if year:
        parts.append(year)
    return " ".join(parts)


def _modal_may(m: re.Match[str], month: str, year: str | None) -> bool:
    """Whether a lowercase "may" with no year, followed by a word, is the verb ("first may I")."""
    return month == "may" and not year and m.string[m.end() :].lstrip()[:1].isalpha()


def _replace_date(m: re.Match[str]) -> str:
    if m.group("Ew"):
        return f"{m.group('Ew')} {_year_text(m, 'E')}"
    if m.group("Am"):
        word_day = m.group("Aw") is not None
        # "the second of May" is a date, "second May" is not; "5 of May" needs "the" or "5th".
        if word_day and not (m.group("Athe") and m.group("Aof")):
            return m.group(0)
        if m.group("Aof") and not (m.group("Athe") or m.group("As")):
            return m.group(0)
        year = _year_text(m, "A")
        if not m.group("Aof") and _modal_may(m, m.group("Am"), year):
            return m.group(0)
        day = 2 if word_day else int(m.group("Ad"))
        return _date_text(day, m.group("Am"), year)
    month = m.group("Bm")
    if m.group("Bd") or m.group("Bw"):
        day = 2 if m.group("Bw") else int(m.group("Bd"))
        return _date_text(day, month, _year_text(m, "B"))
    if m.group("Cy") or m.group("Cc"):
        return _date_text(None, month, _year_text(m, "C"))
    if _modal_may(m, month, None):
        return m.group(0)
    day = 2 if m.group("Dw") else int(m.group("Dd"))
    return _date_text(day, month, None)


_MERIDIEM = r"(?P<mer>[ap])(?:\.\s?m\b\.?|m\b\.?)"
_HOUR = r"(?P<h>1[0-2]|0?[1-9])"
_O_CLOCK = re.compile(rf"{_START}{_HOUR}\s+o['’]?\s?clock\b", re.IGNORECASE)
_NOON = re.compile(rf"{_START}12\s+(?P<w>noon|midday|midnight)\b", re.IGNORECASE)
_PAST_TO = re.compile(
    r"(?:\b(?:a\s+)?(?P<q>quarter|half)"
    rf"|{_START}(?P<n>[12][0-9]|[1-9])(?P<min>\s+minutes?)?)"
    rf"\s+(?P<dir>past|to)\s+{_HOUR}{_END}",
    re.IGNORECASE,
)
_AT_HOUR_MINUTES = re.compile(
    rf"\b(?P<at>at)\s+{_HOUR}\s+(?:(?P<mm>[1-5][0-9])|o(?:h)?\s+(?P<m0>[1-9])){_END}",
    re.IGNORECASE,
)
_CLOCK_MERIDIEM = re.compile(
    rf"{_START}{_HOUR}(?:[:.](?P<m1>[0-5][0-9])|\s+(?P<m2>[1-5][0-9])|\s+o(?:h)?\s+(?P<m3>[1-9]))?"
    rf"\s*{_MERIDIEM}(?![^\W_])",
    re.IGNORECASE,
)
_LEADING_ZERO_TIME = re.compile(r"(?<![\w.:/-])0([0-9]:[0-5][0-9])(?![^\W_]|[.:][0-9])")


def _past_to(m: re.Match[str]) -> str:
    hour = int(m.group("h"))
    if m.group("q"):
        minutes = 15 if m.group("q").lower() == "quarter" else 30
    else:
        minutes = int(m.group("n"))
    if m.group("dir").lower() == "past":
        return f"{hour}:{minutes:02d}"
    # "half to" is not English; "5 to 10" is a range unless "minutes" says it is a time.
    if (m.group("q") or "").lower() == "half" or (m.group("n") and not m.group("min")):
        return m.group(0)
    return f"{hour - 1 or 12}:{60 - minutes:02d}"


def _clock_meridiem(m: re.Match[str]) -> str:
    hour = int(m.group("h")) % 12
    if m.group("mer").lower() == "p":
        hour += 12
    minutes = m.group("m1") or m.group("m2") or ("0" + m.group("m3") if m.group("m3") else "00")
    return f"{hour}:{minutes}"


def _times(text: str) -> str:
    lower = text.lower()  # cheap keyword checks skip whole passes over long transcripts
    if "clock" in lower:
        text = _O_CLOCK.sub(lambda m: f"{int(m.group('h'))}:00", text)
    if "12" in text:
        text = _NOON.sub(lambda m: "0:00" if m.group("w").lower() == "midnight" else "12:00", text)
    if "past" in lower or "to" in lower:
        text = _PAST_TO.sub(_past_to, text)
    text = _AT_HOUR_MINUTES.sub(
        lambda m: f"{m.group('at')} {int(m.group('h'))}:{m.group('mm') or '0' + m.group('m0')}",
        text,
    )
    text = _CLOCK_MERIDIEM.sub(_clock_meridiem, text)
    return _LEADING_ZERO_TIME.sub(r"\1", text)


def _dates(text: str) -> str:
    """Dates and times of text whose numbers are already digits (see normalize_dates)."""
    # Times first: "at 11 30 am" must become "11:30" before "11 30" could read as a year pair.
    return _DATE.sub(_replace_date, _times(text))


def normalize_dates(text: str) -> str:
    """Bring spoken and typed dates and times to one form, so "the fifth of May twenty twenty
    six", "May 5th, 2026" and "5 May 2026" all read "5 May 2026".

    Runs :func:`normalize_numbers` first. Dates become "<day> <Month> <year>" (each part only
    when given: "5 May", "May 2026"); times with am/pm, "o'clock", "half past ten" and the like
    become 24-hour "H:MM" ("ten thirty pm" → "22:30"). Numeric dates ("2026-05-05",
    "05/05/2026") are left alone; see the module docstring for this and the other rules.
    """
    return _dates(normalize_numbers(text))


# --------------------------------------------------------------------------- units

# Abbreviation or spelling variant after a number → (singular, plural) canonical spelling.
_UNITS: dict[str, tuple[str, str]] = {
    **dict.fromkeys(("yr", "yrs"), ("year", "years")),
    **dict.fromkeys(("mo", "mos", "mth", "mths", "mnth", "mnths"), ("month", "months")),
    **dict.fromkeys(("wk", "wks"), ("week", "weeks")),
    **dict.fromkeys(("h", "hr", "hrs"), ("hour", "hours")),
    **dict.fromkeys(("min", "mins"), ("minute", "minutes")),
    **dict.fromkeys(("sec", "secs"), ("second", "seconds")),
    **dict.fromkeys(
        ("km", "kms", "kilometer", "kilometers", "kilometre", "kilometres"),
        ("kilometre", "kilometres"),
    ),
    **dict.fromkeys(("meter", "meters", "metre", "metres"), ("metre", "metres")),
    **dict.fromkeys(
        ("cm", "cms", "centimeter", "centimeters", "centimetre", "centimetres"),
        ("centimetre", "centimetres"),
    ),
    **dict.fromkeys(
        ("mm", "millimeter", "millimeters", "millimetre", "millimetres"),
        ("millimetre", "millimetres"),
    ),
    **dict.fromkeys(("kg", "kgs", "kilo", "kilos"), ("kilogram", "kilograms")),
    **dict.fromkeys(("lb", "lbs"), ("pound", "pounds")),
    "ft": ("foot", "feet"),
    **dict.fromkeys(("km/h", "kmh", "kph"), ("kilometre per hour", "kilometres per hour")),
    "mph": ("mile per hour", "miles per hour"),
    # Currency codes are read out as words; "45000 Euro" is the usual continental spelling.
    **dict.fromkeys(("eur", "euro", "euros"), ("euro", "euros")),
    "usd": ("dollar", "dollars"),
    "gbp": ("pound", "pounds"),
    "chf": ("franc", "francs"),
}
_CURRENCY_CODES = {"eur": "euros", "usd": "dollars", "gbp": "pounds", "chf": "francs"}
# Possessive: a number is never re-read shorter, so a 100 000-digit run costs one scan.
_SIGNED_NUM = r"-?[0-9]++(?:\.[0-9]++)?+"
_UNIT = re.compile(
    rf"(?<![\w.])(?P<n>{_SIGNED_NUM})(?P<gap>\s*|-)"
    rf"(?P<u>{'|'.join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))})"
    r"(?![^\W_])",
    re.IGNORECASE,
)
_CODE_BEFORE = re.compile(
    rf"\b(?P<c>{'|'.join(_CURRENCY_CODES)})\s?(?P<n>{_SIGNED_NUM})(?![^\W_]|[.,][0-9])",
    re.IGNORECASE,
)
_SYMBOL_AFTER = re.compile(rf"(?<![\w.])(?P<n>{_SIGNED_NUM})\s?(?P<s>[€$£])(?![0-9])")
_POSSESSIVE = re.compile(
    rf"(?<![\w.])(?P<n>{_SIGNED_NUM})\s+(?P<u>year|month|week|day|hour)s?(?:['’]s?)(?![^\W_])",
    re.IGNORECASE,
)
_DEGREES = re.compile(
    rf"(?<![\w.])(?P<n>{_SIGNED_NUM})\s?[°º]\s?(?:(?P<c>C)|(?P<f>F))?(?![^\W_])", re.IGNORECASE
)
_AND_A_HALF = re.compile(r"(?<![\w.])([0-9]+)\s+and\s+a\s+half\b", re.IGNORECASE)
_PERIODS = {
    **dict.fromkeys(("h", "hr", "hour"), "hour"),
    "day": "day",
    **dict.fromkeys(("wk", "week"), "week"),
    **dict.fromkeys(("mo", "mth", "month"), "month"),
    **dict.fromkeys(("yr", "year", "annum", "pa", "p.a."), "year"),
}
_RATE_WORDS = (
    "years?|months?|weeks?|days?|hours?|minutes?|times|shifts?|euros?|dollars?|pounds?|francs?"
)
_RATE = re.compile(
    rf"(?<![\w.])(?P<lead>{_SIGNED_NUM}%?(?:\s*(?:{_RATE_WORDS})\b)?)"
    r"(?:\s*/\s*(?P<abbr>hr|h|wk|mo|mth|yr|hour|day|week|month|year)"
    r"|\s+(?:a|an|per)\s+(?P<word>hour|day|week|month|year|annum)"
    r"|\s+(?P<pa>p\.a\.|pa)(?![^\W_]))"
    r"(?![^\W_]|\s+(?:ago|earlier|later|before|back)\b)",
    re.IGNORECASE,
)


def _unit(m: re.Match[str]) -> str:
    unit = m.group("u").lower()
    # "4-H" is a club, not four hours; a one-letter unit never joins with a hyphen.
    if m.group("gap") == "-" and len(unit) == 1:
        return m.group(0)
    singular, plural = _UNITS[unit]
    number = m.group("n")
    if m.group("gap") == "-":  # "a 5-yr contract": an adjective, always singular
        return f"{number}-{singular}"
    return f"{number} {singular if number in ('1', '-1') else plural}"


def _rate(m: re.Match[str]) -> str:
    period = _PERIODS[(m.group("abbr") or m.group("word") or m.group("pa")).lower()]
    return f"{m.group('lead')} per {period}"


def _possessive(m: re.Match[str]) -> str:
    """ "5 years' experience" / "5 year's experience" → "5 years experience"."""
    plural = "" if m.group("n") in ("1", "-1") else "s"
    return f"{m.group('n')} {m.group('u').lower()}{plural}"


def _degrees(m: re.Match[str]) -> str:
    scale = " Celsius" if m.group("c") else " Fahrenheit" if m.group("f") else ""
    return f"{m.group('n')} degrees{scale}"


def _units(text: str) -> str:
    """Units of text whose numbers are already digits (see normalize_units)."""
    lower = text.lower()  # cheap keyword checks skip whole passes over long transcripts
    if "half" in lower:
        text = _AND_A_HALF.sub(r"\1.5", text)
    text = _CODE_BEFORE.sub(
        lambda m: f"{m.group('n')} {_CURRENCY_CODES[m.group('c').lower()]}", text
    )
    text = _SYMBOL_AFTER.sub(r"\g<s>\g<n>", text)
    text = _UNIT.sub(_unit, text)
    text = _POSSESSIVE.sub(_possessive, text)
    if "°" in text or "º" in text:
        text = _DEGREES.sub(_degrees, text)
    return _RATE.sub(_rate, text)


def normalize_units(text: str) -> str:
    """Bring abbreviated and spelled-out units to one spelling, so "5 yrs" = "five years".

    Runs :func:`normalize_numbers` first. After a number: "yrs" → "years", "40h" → "40 hours",
    "km" → "kilometres", "EUR 45000" → "45000 euros", "45000 €" → "€45000", "40 hrs/week" and
    "40 hours a week" → "40 hours per week", "5 years' experience" → "5 years experience",
    "2 and a half" → "2.5". See the module docstring for what is deliberately left alone.
    """
    return _units(normalize_numbers(text))


def normalize_text(text: str) -> str:
    """Numbers, dates, times and units all normalised: the form to compare two answers in."""
    return _units(_dates(normalize_numbers(text)))


# --------------------------------------------------------------------------- WER

_CURRENCY_BEFORE_NUMBER = re.compile(rf"([€$£])\s?(-?{_NUM})")
# A number token keeps its sign, decimal point, "%" and the ":" "/" "-" of times and dates;
# an ordinal keeps its suffix ("21st"); a word token keeps inner apostrophes ("don't" and
# "dont" are different words).
_TOKEN = re.compile(
    r"(?<![^\W_])-?[0-9]+(?:[.:/-][0-9]+)*(?:e[+-]?[0-9]+)?(?:(?:st|nd|rd|th)(?![^\W_]))?%?"
    r"|[^\W_]+(?:'[^\W_]+)*"
)


def normalize_for_wer(text: str) -> list[str]:
    """Tokens for WER: lowercase, :func:`normalize_text` applied (numbers, dates, times, units),
    punctuation dropped, compounds split.

    NFKC first folds look-alike characters (full-width digits, ligatures, odd spaces) so they
    cannot create spurious errors. Hyphenated words split ("well-known" → "well", "known") but
    numbers keep their inner "-", ":", "/" and "." ("2026-05-05", "10:30", "2.5").
    """
    text = unicodedata.normalize("NFKC", text).replace("’", "'")
    text = normalize_text(text).lower()
    text = _CURRENCY_BEFORE_NUMBER.sub(
        lambda m: f"{m.group(2)} {_CURRENCY_SYMBOLS[m.group(1)]}", text
    )
    return _TOKEN.findall(text)


def _edit_distance(a: list[str], b: list[str]) -> int:
    """Levenshtein distance over tokens (substitution, insertion, deletion all cost 1)."""
    # Common prefix/suffix cost nothing; trimming them keeps long, mostly equal texts fast.
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    a, b = a[start:end_a], b[start:end_b]
    if not a or not b:
        return len(a) + len(b)
    previous = list(range(len(b) + 1))
    for i, token_a in enumerate(a, 1):
        current = [i]
        for j, token_b in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (token_a != token_b))
            )
        previous = current
    return previous[-1]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` after :func:`normalize_for_wer`.

    (substitutions + deletions + insertions) / number of reference tokens; may exceed 1.0 when
    the hypothesis adds many words. An empty reference gives 0.0 for an empty hypothesis and
    1.0 otherwise (any output for silence is wholly wrong).
    """
    ref = normalize_for_wer(reference)
    hyp = normalize_for_wer(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return _edit_distance(ref, hyp) / len(ref)
