"""The answer scorer: a calibrated, explained score in [0, 1] for a free-text answer, or a reason.

Why: employers need every free-text answer scored the same way, and candidates are entitled to
know why (GDPR art. 22). The score is a small, regularised linear model over a handful of
interpretable features (see `features.py`), fitted by `python -m nlu.scoring.calibrate` and
stored in `calibration.json`; each score carries the key points covered (quoting the answer
sentence), those missing, its relevance, each feature's contribution and a one-sentence summary.

Content only: the scorer sees the question, the reference answer, the key points and the answer
text (plus, for the guard, the transcript confidence the caller passes in). It infers nothing
about emotion, personality, accent, voice or demographics, and has no input through which such
information could reach it: identical text always gets an identical score.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from nlu.embeddings import SentenceEncoder, get_encoder
from nlu.scoring import explain
from nlu.scoring.features import (
    FEATURE_LABELS,
    FEATURES,
    AnswerAnalysis,
    ContentTokens,
    ContextCache,
    KeyPointMatch,
    QuestionContext,
    analyse,
)
from nlu.scoring.guard import GuardResult, off_topic, precheck
from nlu.scoring.text import normalize_space, words

SCORER_VERSION = "1.1.0"
CALIBRATION_PATH = Path(__file__).with_name("calibration.json")
EVIDENCE_MIN_SIM = 0.5  # a unit this close to a key point is about it (for quoting evidence)
MAX_ANSWER_CHARS = 3000  # ~700 word pieces; longer answers are cut (with a note)

Status = Literal["scored", "insufficient_data"]
_Key = tuple[str, str, tuple[str, ...], str]  # question, reference, key points, answer text


@dataclass(frozen=True)
class KeyPointResult:
    """One key point: whether the answer covers it, how closely, and the sentence that does."""

    point: str
    covered: bool
    similarity: float
    evidence: str | None
    coverage: float = 0.0  # question-relative coverage in [0, 1] (what the score uses)
    margin: float = 0.0  # similarity minus the evidence sentence's similarity to the question
    term_recall: float = 0.0  # share of the key point's terms found in the answer (soft)


@dataclass(frozen=True)
class ScoreInput:
    """One answer to score. `key_points` may be empty (they are then derived from the reference).

    `transcript_confidence` is the speech recogniser's confidence for a spoken answer (None for
    typed text); it only feeds the insufficient-data guard.
    """

    question: str
    reference_answer: str
    key_points: tuple[str, ...]
    answer: str
    transcript_confidence: float | None = None


@dataclass(frozen=True)
class AnswerScore:
    """A score with its explanation, or `insufficient_data` with a reason (never a number)."""

    status: Status
    score: float | None
    reason: str | None
    key_points: tuple[KeyPointResult, ...]
    relevance: float
    summary: str
    needs_review: bool
    notes: tuple[str, ...]
    model_name: str
    model_version: str
    scorer_version: str
    reason_code: str | None = None
    contributions: tuple[tuple[str, float], ...] = ()
    baseline_score: float | None = None  # the calibration's average answer; see `contributions`
    features: tuple[tuple[str, float], ...] = field(default=(), compare=False)

    def explanation(self) -> dict[str, Any]:
        """JSON-serialisable explanation (what a candidate or employer is shown)."""
        covered = [
            {
                "point": k.point,
                "similarity": round(k.similarity, 3),
                "coverage": round(k.coverage, 3),
                "term_recall": round(k.term_recall, 3),
                "evidence": k.evidence,
            }
            for k in self.key_points
            if k.covered
        ]
        missing = [
            {
                "point": k.point,
                "similarity": round(k.similarity, 3),
                "coverage": round(k.coverage, 3),
                "term_recall": round(k.term_recall, 3),
            }
            for k in self.key_points
            if not k.covered
        ]
        doc: dict[str, Any] = {
            "status": self.status,
            "score": None if self.score is None else round(self.score, 4),
            "summary": self.summary,
            "reason": self.reason,
            "reason_code": self.reason_code,
            "needs_review": self.needs_review,
            "relevance": round(self.relevance, 3),
            "key_points_covered": covered,
            "key_points_missing": missing,
            "baseline_score": (
                None if self.baseline_score is None else round(self.baseline_score, 4)
            ),
            "factors_note": (
                "each factor's contribution is how far it moves the score away from the score "
                "of an average calibration answer (baseline_score); the sum is clipped to [0, 1]"
            ),
            "factors": [
                {
                    "feature": name,
                    "description": FEATURE_LABELS.get(name, name),
                    "contribution": round(value, 4),
                }
                for name, value in self.contributions
            ],
            "notes": list(self.notes),
            "model": {"name": self.model_name, "version": self.model_version},
            "scorer_version": self.scorer_version,
        }
        return doc


@dataclass(frozen=True)
class Calibration:
    """The fitted linear model: score = clip(intercept + Σ coef·(x − mean)/scale, 0, 1)."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    similarity_threshold: float
    margin_threshold: float
    term_threshold: float
    source: str
    encoder_version: str | None = None  # the encoder the features were computed with

    def covered_by_sentence(self, similarity: float, margin: float) -> bool:
        """An answer sentence matches the key point closely, and more closely than it matches
        the question (it says more than the question did)."""
        return similarity >= self.similarity_threshold and margin >= self.margin_threshold

    def covers(self, similarity: float, margin: float, term_recall: float) -> bool:
        """Whether a key point counts as covered in the explanation: by a matching sentence,
        or because the answer contains (nearly) all of its terms — the only way a terse key
        point such as "sequence number" can be recognised."""
        return self.covered_by_sentence(similarity, margin) or term_recall >= self.term_threshold

    @classmethod
    def load(cls, path: Path = CALIBRATION_PATH) -> Calibration:
        doc = json.loads(path.read_text(encoding="utf-8"))
        feats = tuple(doc["features"])
        if feats != FEATURES:
            raise ValueError(f"{path}: features {feats} do not match the scorer's {FEATURES}")
        return cls(
            features=feats,
            mean=np.asarray(doc["mean"], dtype=np.float64),
            scale=np.asarray(doc["scale"], dtype=np.float64),
            coef=np.asarray(doc["coef"], dtype=np.float64),
            intercept=float(doc["intercept"]),
            similarity_threshold=float(doc["similarity_threshold"]),
            margin_threshold=float(doc["margin_threshold"]),
            term_threshold=float(doc["term_threshold"]),
            source=str(path),
            encoder_version=(doc.get("encoder") or {}).get("version"),
        )

    def contributions(self, features: dict[str, float]) -> np.ndarray:
        x = np.array([features[n] for n in self.features], dtype=np.float64)
        return self.coef * (x - self.mean) / self.scale

    def predict(self, features: dict[str, float]) -> float:
        return float(np.clip(self.intercept + self.contributions(features).sum(), 0.0, 1.0))


@lru_cache(maxsize=1)
def _default_calibration() -> Calibration:
    return Calibration.load()


def truncate_answer(answer: str, limit: int = MAX_ANSWER_CHARS) -> tuple[str, str | None]:
    """The answer cut at a word boundary to `limit` characters, and a note if it was cut."""
    if len(answer) <= limit:
        return answer, None
    cut = answer.rfind(" ", int(limit * 0.8), limit)
    cut = cut if cut > 0 else limit
    note = f"answer truncated to {cut} of {len(answer)} characters; only the first part was scored"
    return answer[:cut], note


def default_workers() -> int:
    """How many answers `score_batch` encodes at once: one per CPU core, at most four."""
    return min(os.cpu_count() or 1, 4)


class Scorer:
    """Scores answers; load once (`get_scorer()`) and reuse: question contexts are cached."""

    def __init__(
        self, encoder: SentenceEncoder | None = None, calibration: Calibration | None = None
    ) -> None:
        self.encoder = encoder if encoder is not None else get_encoder()
        self.calibration = calibration if calibration is not None else _default_calibration()
        self.tokens = ContentTokens(self.encoder)
        self.contexts = ContextCache(self.encoder, self.tokens)
        self.model_note: tuple[str, ...] = ()
        fitted_with = self.calibration.encoder_version
        if fitted_with and fitted_with != self.encoder.model_version:
            self.model_note = (
                f"calibrated with encoder {fitted_with}, scored with "
                f"{self.encoder.model_version}: re-run `python -m nlu.scoring.calibrate`",
            )

    # -- public API -------------------------------------------------------------------------

    def score(self, item: ScoreInput) -> AnswerScore:
        """Score one answer."""
        return self.score_batch([item])[0]

    def score_batch(
        self, items: Sequence[ScoreInput], batch_size: int = 128, workers: int | None = None
    ) -> list[AnswerScore]:
        """Score many answers; identical answers to the same question are encoded once.

        Each answer is encoded on its own (unpadded), so its score does not depend on the rest
        of the batch; `batch_size` only bounds how many analyses are held at once. `workers`
        answers are encoded at once, each on one CPU thread (default: one per core, for more
        than a handful of answers): on two cores that is ~1.5x the throughput of one answer
        at a time on two threads, because a single short sequence cannot keep both busy.
        """
        results: list[AnswerScore] = []
        batch_size = max(1, int(batch_size))
        if workers is None:
            workers = default_workers() if len(items) >= 8 else 1
        workers = max(1, int(workers))
        if workers == 1:
            for start in range(0, len(items), batch_size):
                results.extend(self._score_chunk(items[start : start + batch_size], None))
            return results
        torch = self.encoder._torch
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with ThreadPoolExecutor(workers, thread_name_prefix="scorer") as pool:
                for start in range(0, len(items), batch_size):
                    results.extend(self._score_chunk(items[start : start + batch_size], pool))
        finally:
            torch.set_num_threads(threads)
        return results

    # -- internals --------------------------------------------------------------------------

    def analyse(self, item: ScoreInput) -> tuple[QuestionContext, AnswerAnalysis, str] | None:
        """Context, analysis and encoded text of an answer (None if it has nothing to analyse).

        Used by the calibration script, which needs the features of every answer.
        """
        ctx = self._context(item)
        if ctx is None:
            return None
        text, _ = truncate_answer(normalize_space(item.answer or ""))
        return ctx, analyse(ctx, text, self.encoder.encode_tokens(text), self.tokens), text

    def _context(self, item: ScoreInput) -> QuestionContext | None:
        question = item.question or ""
        reference = item.reference_answer or ""
        points = tuple(p for p in (item.key_points or ()) if p and p.strip())
        if not (question.strip() or reference.strip() or points):
            return None
        return self.contexts.get(question, reference, points)

    def _score_chunk(
        self, items: Sequence[ScoreInput], pool: ThreadPoolExecutor | None
    ) -> list[AnswerScore]:
        out: list[AnswerScore | None] = [None] * len(items)
        # Each distinct (question, answer) once: its context, text, notes and the rows it fills.
        todo: dict[_Key, tuple[QuestionContext, str, tuple[str, ...], list[int]]] = {}
        for i, item in enumerate(items):
            ctx = self._context(item)
            text, note = truncate_answer(normalize_space(item.answer or ""))
            notes = (note,) if note else ()
            if ctx is None:
                out[i] = self._insufficient(
                    GuardResult("no_question", "there is no question, reference answer or key "
                                "points to score the answer against"), notes)  # fmt: skip
                continue
            ref_words = len(words(ctx.reference)) if ctx.mode != "question_only" else 10**6
            guard = precheck(text, ref_words, item.transcript_confidence, self.tokens.words)
            if guard is not None:
                out[i] = self._insufficient(guard, notes)
                continue
            key = (ctx.question, ctx.reference, ctx.key_points, text)
            todo.setdefault(key, (ctx, text, notes, []))[3].append(i)

        def run(job: tuple[QuestionContext, str, tuple[str, ...], list[int]]) -> AnswerScore:
            ctx, text, notes, _ = job
            analysis = analyse(ctx, text, self.encoder.encode_tokens(text), self.tokens)
            return self._from_analysis(ctx, analysis, notes)

        jobs = list(todo.values())
        scored = list(pool.map(run, jobs)) if pool is not None else [run(j) for j in jobs]
        for (_, _, _, rows), result in zip(jobs, scored, strict=True):
            for i in rows:
                out[i] = result
        return [r for r in out if r is not None]

    def _meta(self) -> dict[str, str]:
        return {
            "model_name": self.encoder.model_name,
            "model_version": self.encoder.model_version,
            "scorer_version": SCORER_VERSION,
        }

    def _insufficient(
        self, guard: GuardResult, notes: tuple[str, ...], relevance: float = 0.0,
        key_points: tuple[KeyPointResult, ...] = (),
    ) -> AnswerScore:  # fmt: skip
        return AnswerScore(
            status="insufficient_data",
            score=None,
            reason=guard.reason,
            key_points=key_points,
            relevance=relevance,
            summary=explain.insufficient_summary(guard.reason),
            needs_review=True,
            notes=notes,
            reason_code=guard.code,
            **self._meta(),
        )

    def _key_point(self, m: KeyPointMatch) -> KeyPointResult:
        cal = self.calibration
        covered = cal.covers(m.similarity, m.margin, m.term_recall)
        evidence = None
        if not covered and m.phrase_evidence is not None:  # the answer repeats its wording
            covered, evidence = True, m.phrase_evidence
        elif covered:
            by_sentence = cal.covered_by_sentence(m.similarity, m.margin)
            # Covered by its terms alone: quote the closest unit if it is about the point at
            # all, else the unit that holds most of the terms.
            semantic = by_sentence or m.term_evidence is None or m.similarity >= EVIDENCE_MIN_SIM
            evidence = m.evidence if semantic else m.term_evidence
        return KeyPointResult(
            point=m.point,
            covered=covered,
            similarity=round(m.similarity, 6),
            evidence=evidence,
            coverage=round(m.coverage, 6),
            margin=round(m.margin, 6),
            term_recall=round(m.term_recall, 6),
        )

    def _from_analysis(
        self, ctx: QuestionContext, analysis: AnswerAnalysis, notes: tuple[str, ...]
    ) -> AnswerScore:
        cal = self.calibration
        results = tuple(self._key_point(m) for m in analysis.matches)
        guard = off_topic(
            analysis.relevance, analysis.shared_words, question_only=ctx.mode == "question_only"
        )
        if guard is not None:
            return self._insufficient(
                guard, notes, relevance=analysis.relevance, key_points=tuple(
                    dataclasses.replace(r, covered=False, evidence=None)
                    for r in results
                ),
            )  # fmt: skip
        contributions = cal.contributions(analysis.features)
        score = float(np.clip(cal.intercept + contributions.sum(), 0.0, 1.0))
        question_only = ctx.mode == "question_only"
        extra: tuple[str, ...] = ()
        if question_only:
            extra = ("no reference answer or key points: scored on the question alone",)
        elif ctx.mode == "key_points":
            extra = ("no reference answer: scored against the key points",)
        summary = explain.scored_summary(
            score,
            [r.point for r in results if r.covered],
            [r.point for r in results if not r.covered],
            analysis.relevance,
            question_only,
        )
        return AnswerScore(
            status="scored",
            score=round(score, 6),
            reason=None,
            key_points=results,
            relevance=round(analysis.relevance, 6),
            summary=summary,
            needs_review=question_only,
            notes=notes + extra + self.model_note,
            contributions=tuple(
                (n, round(float(c), 6)) for n, c in zip(cal.features, contributions, strict=True)
            ),
            baseline_score=cal.intercept,
            features=tuple((n, round(v, 6)) for n, v in analysis.features.items()),
            **self._meta(),
        )


_SCORER: Scorer | None = None
_SCORER_LOCK = threading.Lock()


def get_scorer() -> Scorer:
    """The process-wide scorer (loads the model on first use; thread-safe)."""
    global _SCORER
    if _SCORER is None:
        with _SCORER_LOCK:
            if _SCORER is None:
                _SCORER = Scorer()
    return _SCORER
