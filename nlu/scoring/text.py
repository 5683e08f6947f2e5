"""Plain-text helpers for scoring: sentence splitting, key-point derivation, content words.

Why: key points are matched against individual answer sentences (so the explanation can quote
the sentence that covers each point), and lexical features must ignore function words and the
words that merely repeat the question. Everything here is deterministic and dependency-free.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Bullets and list markers at the start of a line or fragment.
_BULLET = re.compile(
    r"^\s*(?:[-*•●○◦▪■►–—>]+\s*|\(?\d{1,2}[.)](?:\s+|(?=[A-Za-z]))|\(?[a-zA-Z][)]\s*"
    r"|[ivx]{1,4}[.)](?:\s+|(?=[A-Za-z])))"
)
# An inline list item: " -Acknowledgment number" or " • Flags" in the middle of a line.
_INLINE_BULLET = re.compile(r"\s(?:-|•|●|○|◦|▪)(?=[A-Za-z])")
# Sentence ends: . ! ? followed by whitespace, not after a single letter or common abbreviation.
_SENT_END = re.compile(r"(?<!\b[a-zA-Z])(?<!\be\.g)(?<!\bi\.e)(?<!\betc)(?<!\bvs)([.!?;])\s+")
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)

_STOPWORD_LIST = """
    a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can cannot could couldn't did didn't do does doesn't
    doing don't down during each either else etc few for from further had hadn't has hasn't have
    haven't having he her here hers herself him himself his how however i if in into is isn't it
    it's its itself just let's may me might more most must mustn't my myself no nor not now of off
    on once only or other ought our ours ourselves out over own same shall she should shouldn't so
    some such than that that's the their theirs them themselves then there there's these they
    this those through thus to too under until up upon us very via was wasn't we were weren't what
    when where whether which while who whom whose why will with within without won't would
    wouldn't yes yet you your yours yourself yourselves one two e g i.e eg ie s t"""
STOPWORDS = frozenset(_STOPWORD_LIST.split())


def normalize_space(text: str) -> str:
    """Unicode-normalise (NFKC) and collapse runs of blanks inside lines; keep line breaks."""
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    return "\n".join(lines).strip()


def _strip_bullets(text: str) -> str:
    previous = None
    text = text.strip()
    while previous != text:
        previous, text = text, _BULLET.sub("", text, count=1).strip()
    return text


def _split_line(line: str) -> list[str]:
    parts = _SENT_END.split(line)
    pieces: list[str] = []
    buf = ""
    for part in parts:  # re.split keeps each captured terminator as its own item
        if part in {".", "!", "?", ";"}:
            buf += "" if part == ";" else part
            if buf.strip():
                pieces.append(buf.strip())
            buf = ""
        else:
            buf += part
    if buf.strip():
        pieces.append(buf.strip())
    return pieces


def split_sentences(text: str, max_chars: int = 400) -> list[str]:
    """Sentences and list items of `text`, in order, without bullets; long ones cut at commas.

    Lines are split first (answers and references are often lists), then sentence punctuation.
    A piece longer than `max_chars` is cut at a comma or space so each piece stays a short,
    quotable unit.
    """
    pieces: list[str] = []
    for raw_line in normalize_space(text).split("\n"):
        for item in _INLINE_BULLET.split(raw_line):
            line = _strip_bullets(item)
            if line:
                pieces.extend(_split_line(line))
    out: list[str] = []
    for piece in pieces:
        piece = _strip_bullets(piece)
        while len(piece) > max_chars:
            cut = piece.rfind(", ", 0, max_chars)
            if cut < max_chars // 3:
                cut = piece.rfind(" ", 0, max_chars)
            if cut < max_chars // 3:
                cut = max_chars
            out.append(piece[:cut].strip(" ,"))
            piece = piece[cut:].strip(" ,")
        if (piece and _LETTERS.search(piece)) or any(ch.isdigit() for ch in piece):
            out.append(piece)
    return out


# Where a long sentence may be cut into clauses: punctuation, and conjunctions that usually
# start a new statement ("..., and the receiver ...", "... while UDP ...").
_CLAUSE_CUT = re.compile(
    r"\s*[,:;()]\s+|\s+(?:and|but|while|whereas|because|so that|so|which|however|also|"
    r"additionally|furthermore|moreover|then|since|unlike)\s+",
    re.IGNORECASE,
)
_LEADING_LINK = re.compile(
    r"^(?:and|but|while|whereas|because|so|which|however|also|then|since|unlike)\s+",
    re.IGNORECASE,
)
CLAUSE_MIN_SENTENCE_WORDS = 12  # shorter sentences are one statement already
CLAUSE_MIN_WORDS = 3  # shorter pieces are merged into the previous clause


def split_clauses(sentence: str) -> list[str]:
    """The clauses of a long sentence (in order; [] if it is short or has only one clause).

    Why: one long sentence often covers several key points ("UDP has a fixed 8-byte header,
    while TCP's is variable and it adds sequence numbers"); matched as a whole, only the point
    it matches best is credited and quoted. Clauses are extra, finer units for key-point
    matching; the sentence itself stays a unit too. Pieces are substrings of `sentence`.
    """
    if len(sentence.split()) < CLAUSE_MIN_SENTENCE_WORDS:
        return []
    pieces: list[str] = []
    pos = 0
    for m in _CLAUSE_CUT.finditer(sentence):
        piece = sentence[pos : m.start()].strip()
        if piece:
            pieces.append(piece)
        pos = m.end()
    tail = sentence[pos:].strip(" .!?")
    if tail:
        pieces.append(tail)
    pieces = [_LEADING_LINK.sub("", p) or p for p in pieces]
    clauses: list[str] = []
    for piece in pieces:
        if clauses and len(piece.split()) < CLAUSE_MIN_WORDS:
            start = sentence.find(clauses[-1])
            end = sentence.find(piece, start + len(clauses[-1])) + len(piece)
            clauses[-1] = sentence[start:end]  # glue the fragment (and what is between) on
        else:
            clauses.append(piece)
    if clauses and len(clauses[0].split()) < CLAUSE_MIN_WORDS and len(clauses) > 1:
        start = sentence.find(clauses[0])
        end = sentence.find(clauses[1], start) + len(clauses[1])
        clauses[:2] = [sentence[start:end]]
    return clauses if len(clauses) > 1 else []


def derive_key_points(reference: str, limit: int = 16) -> list[str]:
    """Key points from a reference answer: its sentences / list items, minus bare headings.

    A short fragment ending in a colon ("Possible differences:") introduces a list and is not a
    point in itself. Duplicates are dropped; at most `limit` points are kept (the first ones).
    """
    points: list[str] = []
    seen: set[str] = set()
    for piece in split_sentences(reference, max_chars=300):
        stripped = piece.rstrip()
        if stripped.endswith(":") and len(stripped.split()) < 8:
            continue
        stripped = stripped.rstrip(":").strip()
        if len(content_words(stripped)) == 0 and len(stripped) < 3:
            continue
        key = stripped.lower()
        if key in seen:
            continue
        seen.add(key)
        points.append(stripped)
        if len(points) >= limit:
            break
    return points


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A light suffix stripper (plural, -ing, -ed, -ly) so 'collisions' meets 'collision'."""
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("ly", ""),
                         ("es", ""), ("s", "")):  # fmt: skip
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + keep
    return word


def words(text: str) -> list[str]:
    """Lower-case word tokens (letters and digits)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower().replace("’", "'"))


def content_words(text: str) -> list[str]:
    """Stemmed non-stopword tokens, in order (duplicates kept)."""
    return [stem(w) for w in words(text) if (w not in STOPWORDS and len(w) > 1) or w.isdigit()]
