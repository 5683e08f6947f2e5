"""The insufficient-data guard: answers that cannot be scored fairly get a reason, not a number.

Why: an empty, placeholder, garbled, non-English or off-topic answer, or a speech transcript the
recogniser itself doubts, tells us nothing about what the candidate knows. Scoring it would
silently turn "we could not tell" into "the candidate is weak". Such answers get
`insufficient_data` with a plain-language reason and go to a person for review.

The checks look at the text only (and at the transcript confidence the caller passes in). The
pre-checks run before the encoder, so they cost nothing; the off-topic check needs the
answer's similarity to the question, reference and key points and runs after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlu.scoring.text import STOPWORDS, content_words, words

MIN_TRANSCRIPT_CONFIDENCE = 0.6
# Off-topic: no content word shared with the question, reference or key points AND a best
# cosine similarity below this. Real SAF answers: 1st percentile of that similarity is 0.29.
OFF_TOPIC_MAX_SIMILARITY = 0.2
# An answer whose best similarity is this low is off-topic even if it shares a word.
OFF_TOPIC_HARD_SIMILARITY = 0.05
MIN_KNOWN_WORD_SHARE = 0.4  # share of alphabetic words that are English word pieces

_NON_ANSWER = re.compile(
    r"(?:(?:no|empty|blank|missing) (?:response|submission|answer|reply)|empty|blank"
    r"|(?:i )?(?:do not|don'?t|dont) know|idk|no idea|not sure|n a|na|pass|skip(?:ped)?"
    r"|no comment|nothing to say)"
)
# Frequent function words of other languages the model was not trained on.
_FOREIGN_LIST = """
    der die das und ist nicht ich ein eine einen mit von zu auf für sie wir es sich auch
    dem den des im zum zur bei nach wird werden wurde kann muss sein sind hat haben damit wenn
    oder aber nur noch wie wo weil dass durch über unter
    le la les et est une un il elle nous vous pas pour dans sur avec qui que ce sont
    el los las es y una lo del por con para como pero muy está son debe puede cuando
    il lo gli della che non sono per una con come anche
    het een niet ook zijn maar voor dat deze
    o os um uma não com para são mas"""
_FOREIGN = frozenset(_FOREIGN_LIST.split())


@dataclass(frozen=True)
class GuardResult:
    """Why an answer cannot be scored (`reason`), with a short machine-readable `code`."""

    code: str
    reason: str


_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][A-Za-z]*[a-z][A-Za-z]*\b")


def _names(text: str) -> set[str]:
    """Capitalised words that do not start a sentence: product and place names such as
    "PostgreSQL" or "Kubernetes" in "Python, Go, PostgreSQL". Keyboard mashing is rarely
    capitalised mid-sentence; where it is, the off-topic check still applies."""
    return {m.group(0).lower() for m in _NAME.finditer(text.strip())}


def precheck(
    answer: str,
    reference_words: int,
    transcript_confidence: float | None,
    vocabulary: frozenset[str] | set[str] | None = None,
) -> GuardResult | None:
    """Checks that need no model: empty, placeholder, too short, garbled, foreign, low ASR.

    `reference_words` is the length of the reference (or key points): a one-word answer is
    only acceptable when the expected answer is itself that short. `vocabulary` is the
    encoder's word-piece vocabulary, used to tell words from keyboard mashing.
    """
    if transcript_confidence is not None and transcript_confidence < MIN_TRANSCRIPT_CONFIDENCE:
        return GuardResult(
            "low_transcript_confidence",
            f"the speech transcript's confidence ({transcript_confidence:.2f}) is below "
            f"{MIN_TRANSCRIPT_CONFIDENCE:.2f}, so the words may not be what the candidate said",
        )
    text = answer.strip()
    tokens = words(text)
    if not tokens:
        return GuardResult("empty", "the answer is empty or has no words")
    if _NON_ANSWER.fullmatch(" ".join(tokens)):
        return GuardResult("no_answer", "the candidate did not attempt an answer")
    if len(tokens) < 2 and reference_words > 3:
        return GuardResult("too_short", "the answer is too short to assess (a single word)")
    alpha = [w for w in tokens if w.isalpha()]
    if len(alpha) >= 4:
        english = sum(w in STOPWORDS for w in alpha) / len(alpha)
        foreign = sum(w in _FOREIGN for w in alpha) / len(alpha)
        if foreign >= 0.2 and english < foreign / 2:
            return GuardResult(
                "not_english",
                "the answer does not appear to be in English; the scorer only assesses English",
            )
    if vocabulary is not None and alpha:
        names = _names(text)  # "PostgreSQL", "Kubernetes": real words the vocabulary lacks
        known = sum(w in vocabulary or w in names for w in alpha) / len(alpha)
        if known < MIN_KNOWN_WORD_SHARE:
            return GuardResult("garbled", "the answer does not consist of recognisable words")
    if not content_words(text):
        return GuardResult("too_short", "the answer has no content words to assess")
    return None


def off_topic(
    best_similarity: float, shared_words: int, question_only: bool = False
) -> GuardResult | None:
    """Off-topic: semantically unrelated to the question, reference and every key point.

    With nothing but the question to compare with (`question_only`), a correct answer often
    shares no word with it and is only loosely similar, so only the hard threshold applies.
    """
    if best_similarity < OFF_TOPIC_HARD_SIMILARITY or (
        not question_only and shared_words == 0 and best_similarity < OFF_TOPIC_MAX_SIMILARITY
    ):
        return GuardResult(
            "off_topic",
            "the answer does not address the question (unrelated to the question, the "
            "reference answer and every key point)",
        )
    return None
