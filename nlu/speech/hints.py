"""Transcription hints built from the question being answered.

Why: Whisper decodes each answer with a language model of its own, and a few words of context
shift it towards the words the candidate is likely to use and towards their usual spelling
("PostgreSQL", not "post gress Q L"; "Kubernetes", not "cooper nets"). The interview knows the
question and its key points before the answer arrives, so they cost nothing to pass on:

* `prompt` — the question itself, as if it were the transcript just before the answer (which
  it is, in the conversation). Whisper was trained with the previous text as a prompt, so a
  question in plain sentence form is what it expects there.
* `hotwords` — the names and jargon of the key points (capitalised words, words with digits
  or symbols: "CMR", "PostgreSQL", "20 kg" stays out) and any domain terms (a job's skills,
  say) that the question or its key points name, with their canonical spelling.
  faster-whisper puts them in the same prompt slot, ahead of the question. Decision: never
  the key points' sentences themselves — steering a transcript towards the expected answer
  would put words in a candidate's mouth that the scorer then credits (measured: the jargon
  alone keeps most of the gain; README, "Speech recognition").

Prompts can be hallucinated into silence ("Thank you." or the prompt repeated back); the
transcriber's voice-activity detection drops silent audio before decoding, so a silent answer
still gives an empty transcript (tested in tests/nlu/test_speech.py).

Hints are capped in length: Whisper keeps at most 223 prompt tokens, and a long prompt costs
decoding time on every segment while adding little.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_PROMPT_CHARS = 300
MAX_HOTWORD_CHARS = 200

# Words and names interview answers use that Whisper base often splits or misspells. Only the
# ones the question, key points or given terms mention are passed on (a full list would steer
# every answer towards technology words).
DOMAIN_TERMS = (
    "PostgreSQL", "MySQL", "MongoDB", "Redis", "SQL", "Kubernetes", "Docker", "Helm",
    "Terraform", "Ansible", "AWS", "Azure", "Google Cloud", "Python", "Django", "FastAPI",
    "Flask", "pytest", "Java", "JavaScript", "TypeScript", "Node.js", "React", "Go", "Rust",
    "Kotlin", "Swift", "C++", "C#", ".NET", "Linux", "Debian", "Ubuntu", "macOS", "iOS",
    "Android", "Git", "GitHub", "GitHub Actions", "GitLab", "Jenkins", "Kafka", "RabbitMQ",
    "Prometheus", "Grafana", "Elasticsearch", "Jest", "pandas", "NumPy", "PyTorch",
    "TensorFlow", "scikit-learn", "Spark", "Airflow", "GraphQL", "REST", "CI/CD", "DevOps",
    "SRE", "microservices", "single sign-on",
)  # fmt: skip

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Hints:
    prompt: str | None
    hotwords: str | None

    def as_kwargs(self) -> dict[str, str | None]:
        """For `Transcriber.transcribe(audio, **hints.as_kwargs())`."""
        return {"prompt": self.prompt, "hotwords": self.hotwords}


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _key(term: str) -> str:
    return re.sub(r"[^a-z0-9+#]", "", term.lower())


def _mentioned(term: str, text: str) -> bool:
    """Whether `term` occurs in `text` as a whole word or phrase, case-insensitively (so "Go"
    is not found in "good", while "GitHub Actions" is found in "github actions")."""
    pattern = r"(?<![\w.+#])" + re.escape(term.lower()) + r"(?![\w+#])"
    return re.search(pattern, text.lower()) is not None


def domain_terms_in(text: str, terms: Iterable[str] = DOMAIN_TERMS) -> list[str]:
    """The domain terms `text` mentions, in their canonical spelling."""
    return [term for term in terms if _mentioned(term, text)]


_TERM = re.compile(r"[A-Za-z][A-Za-z0-9+#.\-]{1,40}")
_PLAIN_WORDS = (
    "the a an and or of to in on for with at by from as is are be it this that your you "
    "how what which when why who have has do does can could would should will about into "
    "if then than so not no yes"
)
_PLAIN = frozenset(_PLAIN_WORDS.split())


def jargon_in(texts: Iterable[str], limit: int = 24) -> list[str]:
    """Names and jargon in `texts`: words that start with a capital (not sentence-initial
    plain words) or hold digits or symbols ("CMR", "PostgreSQL", "C#", "Node.js")."""
    found: dict[str, str] = {}
    for text in texts:
        for n, word in enumerate(_TERM.findall(text)):
            word = word.strip(".-")
            key = word.lower()
            if len(key) < 2 or key in _PLAIN or key in found:
                continue
            capital = word[0].isupper() and (n > 0 or word[1:] != word[1:].lower())
            symbol = any(c.isdigit() or c in "+#." for c in word[1:])
            if capital or symbol:
                found[key] = word
    return list(found.values())[:limit]


def build_hints(
    question: str | None,
    key_points: Iterable[str] = (),
    terms: Iterable[str] = (),
) -> Hints:
    """Hints for transcribing the answer to `question`.

    `key_points` are the question's expected points; `terms` are extra words worth spelling
    right (the job's skills). Everything is whitespace-normalised, de-duplicated (case- and
    punctuation-insensitively) and capped in length.
    """
    question = _clean(question or "")
    points = [_clean(p) for p in key_points if p and _clean(p)]
    extra = [_clean(t) for t in terms if t and _clean(t)]
    context = " ".join([question, *points, *extra])
    words: list[str] = []
    seen: set[str] = set()
    for word in [*jargon_in(points), *extra, *domain_terms_in(context)]:
        key = _key(word)
        if key and key not in seen:
            seen.add(key)
            words.append(word)
    hotwords = ""
    for word in words:
        joined = f"{hotwords}, {word}" if hotwords else word
        if len(joined) > MAX_HOTWORD_CHARS:
            break
        hotwords = joined
    prompt = question
    if len(prompt) > MAX_PROMPT_CHARS:  # cut at a word boundary
        prompt = prompt[:MAX_PROMPT_CHARS].rsplit(" ", 1)[0]
    return Hints(prompt=prompt or None, hotwords=hotwords or None)
