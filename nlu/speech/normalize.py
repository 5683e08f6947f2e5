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
  "twenty twenty six" → "20 26" (years spoken in pairs are not joined).
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
* Dates and times are left alone ("5 May 2026", "10:30", "2026-05-05").
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "normalize_for_wer",
    "normalize_numbers",
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
    """Tokens for WER: lowercase, numbers normalised, punctuation dropped, compounds split.

    NFKC first folds look-alike characters (full-width digits, ligatures, odd spaces) so they
    cannot create spurious errors. Hyphenated words split ("well-known" → "well", "known") but
    numbers keep their inner "-", ":", "/" and "." ("2026-05-05", "10:30", "2.5").
    """
    text = unicodedata.normalize("NFKC", text).replace("’", "'")
    text = normalize_numbers(text).lower()
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
