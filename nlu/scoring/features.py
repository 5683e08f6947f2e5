"""Answer features: key-point coverage, question-demoted alignment, length — from one encoder pass.

Why these features: raw answer-to-reference cosine mostly measures "talks about the same topic",
which every on-topic answer does, and its level differs from question to question (on SAF,
leave-one-question-out r = 0.04 for real answers). The four features below are built to carry
over to questions never seen in calibration, and each one only ever raises the score. (Adding
whole-answer cosines to the reference and the question was measured: +0.015 grouped-CV r, but
with a negative weight on "similar to the reference" that no candidate could make sense of, so
they are left out.)

* keypoint_coverage — each key point is matched against every answer sentence, every clause
  of a long sentence (`split_clauses`: one sentence often covers several points), and the
  whole answer; its best cosine is measured *relative to the key point's similarity to the
  question*, `(best - kp·q) / (1 - kp·q)`, so restating the question earns nothing. Averaged
  over the better-covered half of the key points: references often list more points or
  alternatives than a full-marks answer needs ("state at least 4 of ...").
* keypoint_term_alignment — BERTScore-style recall: each content word piece of a key point finds
  its most similar word piece in the answer; word pieces that occur in the question are dropped
  on both sides (question demoting). Same better-half average.
* answer_precision — the reverse direction against the whole reference: how much of the answer's
  own (question-demoted) content is about the reference; it keeps padding from paying.
* length_vs_reference — log of answer length over reference length (specificity).

Per question, everything about the question, reference and key points is computed once and
cached (`ContextCache`), so an answer costs one unpadded encoder pass plus a few small matrix
products.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from nlu.embeddings import SentenceEncoder, TokenStates
from nlu.scoring.text import (
    content_words,
    derive_key_points,
    normalize_space,
    split_clauses,
    split_sentences,
    words,
)

FEATURES: tuple[str, ...] = (
    "keypoint_coverage",
    "keypoint_term_alignment",
    "answer_precision",
    "length_vs_reference",
)
FEATURE_LABELS: dict[str, str] = {
    "keypoint_coverage": "how closely the answer's sentences match the key points",
    "keypoint_term_alignment": "terms of the key points found in the answer",
    "answer_precision": "how much of the answer is about the reference content",
    "length_vs_reference": "length compared with the reference answer",
}
EVIDENCE_TOLERANCE = 0.03  # cosine a shorter quoted unit may give up against the best one
MAX_KQ = 0.9  # cap on a key point's similarity to the question, so the rescaling stays stable


@dataclass(frozen=True)
class QuestionContext:
    """Everything about one (question, reference, key points) triple that answers reuse."""

    question: str
    reference: str
    key_points: tuple[str, ...]
    mode: str  # "reference" | "key_points" | "question_only"
    q_vec: np.ndarray
    ref_vec: np.ndarray
    kp_vecs: np.ndarray  # (k, d) unit rows
    kp_q: np.ndarray  # (k,) key point · question (0 in question_only mode)
    ref_tokens: np.ndarray  # (n, d) unit rows: reference content word pieces, question demoted
    kp_tokens: np.ndarray  # (m, d) unit rows: key point content word pieces, question demoted
    kp_token_segments: np.ndarray  # (k,) start row of each key point in kp_tokens (-1: none)
    question_ids: frozenset[int]
    question_words: frozenset[str]
    topic_words: frozenset[str]  # content words of question + reference + key points
    reference_words: int
    kp_phrases: tuple[frozenset[tuple[str, str]], ...] = ()  # see `key_point_phrases`


@dataclass(frozen=True)
class KeyPointMatch:
    """The best answer sentence for one key point."""

    point: str
    similarity: float  # cosine between the key point and the evidence sentence
    coverage: float  # question-relative coverage in [0, 1] (the feature's per-point value)
    evidence: str | None  # the answer sentence that matches best
    margin: float  # similarity minus the evidence sentence's similarity to the question
    term_recall: float  # share of the key point's terms found in the answer (soft, 0..1)
    term_evidence: str | None  # the answer sentence holding most of those terms
    phrase_evidence: str | None = None  # a unit that repeats one of the point's phrases


def _bigrams(text: str) -> list[tuple[str, str]]:
    """Consecutive content-word pairs (stemmed, stopwords dropped) of a text."""
    seq = content_words(text)
    return list(pairwise(seq))


def phrase_index(units: list[str]) -> list[tuple[str, set[tuple[str, str]]]]:
    """Each unit with its content-word pairs, shortest unit first (computed once per answer,
    then shared by every key point)."""
    return [(unit, set(_bigrams(unit))) for unit in sorted(units, key=len)]


def key_point_phrases(point: str, question_words: frozenset[str]) -> frozenset[tuple[str, str]]:
    """The key point's two-word phrases that can count as evidence (once per question).

    Why: "EXPLAIN ANALYZE" or "slow query log" written out in the answer is the strongest
    evidence a key point is covered, yet a short technical key point can fall just short of
    the semantic and term thresholds. A phrase counts when at least one of its two words is
    not in the question (repeating the question's own phrases proves nothing).
    """
    return frozenset(
        b for b in _bigrams(point) if not (b[0] in question_words and b[1] in question_words)
    )


def shared_phrase(
    wanted: frozenset[tuple[str, str]], units: list[tuple[str, set[tuple[str, str]]]]
) -> str | None:
    """The first (shortest) unit of `phrase_index(...)` that repeats one of `wanted`."""
    if not wanted:
        return None
    for unit, pairs in units:  # the shortest unit that has it: a clause if possible
        if wanted & pairs:
            return unit
    return None


@dataclass(frozen=True)
class AnswerAnalysis:
    """Features and per-key-point matches of one answer against one question context."""

    features: dict[str, float]
    matches: tuple[KeyPointMatch, ...]
    relevance: float  # best cosine to question / reference / any key point, clipped to [0, 1]
    shared_words: int  # content words shared with the question, reference and key points
    sentences: tuple[str, ...]
    windows: int


def _rows_unit(mat: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(mat, axis=1, keepdims=True)
    return (mat / np.maximum(norms, 1e-12)).astype(np.float32)


class ContentTokens:
    """Which word pieces count as content (not [CLS]/[SEP], not punctuation, not stopwords)."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        from nlu.scoring.text import STOPWORDS

        vocab = encoder.tokenizer.get_vocab()
        size = max(vocab.values()) + 1
        keep = np.zeros(size, dtype=bool)
        for piece, idx in vocab.items():
            bare = piece[2:] if piece.startswith("##") else piece
            keep[idx] = (
                not (piece.startswith("[") and piece.endswith("]"))
                and any(ch.isalnum() for ch in bare)
                and piece not in STOPWORDS
            )
        self.keep = keep
        self.words = frozenset(p for p in vocab if p.isalpha() and not p.startswith("##"))

    def mask(self, ids: np.ndarray, demote: frozenset[int] = frozenset()) -> np.ndarray:
        keep = self.keep[np.clip(ids, 0, len(self.keep) - 1)]
        if demote:
            keep &= np.fromiter((i not in demote for i in ids.tolist()), dtype=bool, count=len(ids))
        return keep


class ContextCache:
    """Builds question contexts and keeps the most recent ones (LRU, thread-safe)."""

    def __init__(self, encoder: SentenceEncoder, tokens: ContentTokens, size: int = 512) -> None:
        self.encoder = encoder
        self.tokens = tokens
        self.size = size
        self._items: OrderedDict[tuple[str, str, tuple[str, ...]], QuestionContext] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, question: str, reference: str, key_points: tuple[str, ...]) -> QuestionContext:
        key = (question, reference, key_points)
        with self._lock:
            ctx = self._items.get(key)
            if ctx is not None:
                self._items.move_to_end(key)
                return ctx
        ctx = self._build(question, reference, key_points)
        with self._lock:
            self._items[key] = ctx
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return ctx

    def _build(self, question: str, reference: str, key_points: tuple[str, ...]) -> QuestionContext:
        enc, tok = self.encoder, self.tokens
        question = normalize_space(question)
        reference = normalize_space(reference)
        points = tuple(p for p in (normalize_space(k) for k in key_points) if p)
        if reference:
            mode = "reference"
            points = points or tuple(derive_key_points(reference)) or (reference,)
        elif points:
            mode = "key_points"
            reference = "\n".join(points)
        else:
            mode = "question_only"
            reference = question
            points = (question,)
        q_ids = enc.tokenizer(question, add_special_tokens=False, verbose=False)["input_ids"]
        demote = (
            frozenset() if mode == "question_only" else frozenset(i for i in q_ids if tok.keep[i])
        )
        vecs = enc.encode_cached([question, reference, *points])
        q_vec, ref_vec, kp_vecs = vecs[0], vecs[1], vecs[2:]
        kp_q = np.zeros(len(points), dtype=np.float32)
        if mode != "question_only":
            kp_q = np.clip(kp_vecs @ q_vec, -1.0, MAX_KQ).astype(np.float32)
        ref_states = enc.encode_tokens(reference)
        ref_tokens = _rows_unit(ref_states.states[tok.mask(ref_states.ids, demote)])
        seg_rows: list[np.ndarray] = []
        starts: list[int] = []
        row = 0
        for point in points:
            states = enc.encode_tokens(point)
            kept = _rows_unit(states.states[tok.mask(states.ids, demote)])
            starts.append(row if len(kept) else -1)
            row += len(kept)
            seg_rows.append(kept)
        kp_tokens = np.concatenate(seg_rows) if row else np.zeros((0, enc.dim), dtype=np.float32)
        q_words = frozenset(content_words(question))
        topic = frozenset(content_words(" ".join([question, reference, *points])))
        return QuestionContext(
            question=question,
            reference=reference,
            key_points=points,
            mode=mode,
            q_vec=q_vec,
            ref_vec=ref_vec,
            kp_vecs=kp_vecs,
            kp_q=kp_q,
            ref_tokens=ref_tokens,
            kp_tokens=kp_tokens,
            kp_token_segments=np.asarray(starts, dtype=np.int64),
            question_ids=demote,
            question_words=q_words if mode != "question_only" else frozenset(),
            topic_words=topic,
            reference_words=len(words(reference)),
            kp_phrases=tuple(
                key_point_phrases(p, q_words if mode != "question_only" else frozenset())
                for p in points
            ),
        )


def _sentence_spans(text: str, sentences: list[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = 0
    for sent in sentences:
        start = text.find(sent, pos)
        if start < 0:
            start = text.find(sent[:24], pos)
        if start < 0:
            spans.append((-1, -1))
            continue
        end = start + len(sent)
        spans.append((start, end))
        pos = end
    return spans


def _alignment_recall(target: np.ndarray, answer: np.ndarray) -> np.ndarray:
    """For each target row, its best cosine with any answer row (0 if the answer has none)."""
    if len(target) == 0:
        return np.zeros(0, dtype=np.float32)
    if len(answer) == 0:
        return np.zeros(len(target), dtype=np.float32)
    return np.clip((target @ answer.T).max(axis=1), 0.0, 1.0)


def analyse(
    ctx: QuestionContext, text: str, states: TokenStates, tokens: ContentTokens
) -> AnswerAnalysis:
    """Features and key-point matches of an answer (`text` is what was encoded)."""
    sentences = split_sentences(text) or [text]
    spans = _sentence_spans(text, sentences)
    whole = states.sentence_vector()
    sent_vecs: list[np.ndarray] = []
    sent_text: list[str] = []
    leaf_spans: list[tuple[int, int]] = []  # leaf units (clauses, else sentences) for terms
    leaf_text: list[str] = []
    unit_vecs: list[np.ndarray] = []  # clauses of long sentences: finer units for matching
    unit_text: list[str] = []
    for sent, (start, end) in zip(sentences, spans, strict=True):
        vec = states.span_vector(start, end) if start >= 0 else None
        if vec is not None:
            sent_vecs.append(vec)
            sent_text.append(sent)
            at = 0
            clause_spans: list[tuple[str, int, int]] = []
            for clause in split_clauses(sent):
                c_start = sent.find(clause, at)
                at = c_start + len(clause)
                c_vec = states.span_vector(start + c_start, start + at)
                if c_vec is not None:
                    unit_vecs.append(c_vec)
                    unit_text.append(clause)
                    clause_spans.append((clause, start + c_start, start + at))
            # Term evidence is quoted from the smallest unit: a clause where there are some.
            for leaf, l_start, l_end in clause_spans or [(sent, start, end)]:
                leaf_spans.append((l_start, l_end))
                leaf_text.append(leaf)
    units = [*sent_text, *unit_text]  # every quotable unit: sentences, then clauses
    columns = np.vstack([*sent_vecs, *unit_vecs, whole]) if units else whole[None, :]
    sims = ctx.kp_vecs @ columns.T  # (k, units + 1)
    best = sims.max(axis=1)
    coverage = np.clip((best - ctx.kp_q) / (1.0 - ctx.kp_q), 0.0, 1.0)
    raw_cov = (best - ctx.kp_q) / (1.0 - ctx.kp_q)
    sent_q = columns[: len(units)] @ ctx.q_vec if units else np.zeros(0)

    keep = tokens.mask(states.ids, ctx.question_ids)
    answer_tokens = _rows_unit(states.states[keep])
    # Which leaf unit each kept answer token lies in (-1: none), for term evidence.
    token_sentence = np.full(len(answer_tokens), -1, dtype=np.int64)
    kept_starts = states.offsets[keep][:, 0]
    for j, (start, end) in enumerate(leaf_spans):
        token_sentence[(kept_starts >= start) & (kept_starts < end)] = j
    if len(ctx.kp_tokens) and len(answer_tokens):
        token_sims = ctx.kp_tokens @ answer_tokens.T
        kp_recall_rows = np.clip(token_sims.max(axis=1), 0.0, 1.0)
        kp_best_token = token_sims.argmax(axis=1)
    else:
        kp_recall_rows = np.zeros(len(ctx.kp_tokens), dtype=np.float32)
        kp_best_token = np.zeros(len(ctx.kp_tokens), dtype=np.int64)
    per_kp = np.zeros(len(ctx.key_points), dtype=np.float64)
    term_evidence: list[str | None] = [None] * len(ctx.key_points)
    starts = ctx.kp_token_segments.tolist()
    for i, start in enumerate(starts):
        if start < 0:
            continue
        end = next((s for s in starts[i + 1 :] if s >= 0), len(ctx.kp_tokens))
        per_kp[i] = float(kp_recall_rows[start:end].mean())
        where = token_sentence[kp_best_token[start:end]] if len(answer_tokens) else []
        votes = np.bincount(
            where[where >= 0], weights=kp_recall_rows[start:end][where >= 0],
            minlength=len(leaf_text),
        ) if len(where) else np.zeros(0)  # fmt: skip
        if len(votes) and votes.max() > 0:
            term_evidence[i] = leaf_text[int(votes.argmax())]

    phrases = phrase_index(units)
    matches: list[KeyPointMatch] = []
    for i, point in enumerate(ctx.key_points):
        evidence, sim, margin = None, float(best[i]), 0.0
        if units:
            row = sims[i, : len(units)]
            top = int(np.argmax(row))
            # A clause of the best sentence that is about as close: quote just that part.
            near = [u for u in np.flatnonzero(row >= row[top] - EVIDENCE_TOLERANCE).tolist()
                    if units[u] in units[top]]  # fmt: skip
            j = min(near, key=lambda u: (len(units[u]), -row[u]))
            evidence, sim = units[j], float(row[j])
            margin = sim - float(sent_q[j]) if ctx.mode != "question_only" else sim
        clipped = float(np.clip(sim, 0.0, 1.0))
        phrase = shared_phrase(ctx.kp_phrases[i], phrases) if ctx.kp_phrases else None
        matches.append(KeyPointMatch(point, clipped, float(coverage[i]), evidence, margin,
                                     float(per_kp[i]), term_evidence[i], phrase))  # fmt: skip

    precision = _alignment_recall(answer_tokens, ctx.ref_tokens)
    half = max(1, (len(ctx.key_points) + 1) // 2)
    features = {
        "keypoint_coverage": float(np.sort(raw_cov)[-half:].mean()),
        "keypoint_term_alignment": float(np.sort(per_kp)[-half:].mean()),
        "answer_precision": float(precision.mean()) if len(precision) else 0.0,
        "length_vs_reference": math.log((1 + len(words(text))) / (1 + ctx.reference_words)),
    }
    a_words = set(content_words(text))
    relevance = max(
        float(whole @ ctx.q_vec), float(whole @ ctx.ref_vec), float(best.max(initial=-1.0))
    )
    return AnswerAnalysis(
        features=features,
        matches=tuple(matches),
        relevance=float(np.clip(relevance, 0.0, 1.0)),
        shared_words=len(a_words & ctx.topic_words),
        sentences=tuple(sent_text),
        windows=states.windows,
    )
