"""The answer scorer: scores, explanations, the insufficient-data guard, content-only scoring."""

from __future__ import annotations

import dataclasses
import json

import pytest

from nlu.scoring import SCORER_VERSION, AnswerScore, ScoreInput, Scorer
from nlu.scoring.text import split_sentences

QUESTION = "What requirement has to be met so that you can use the piggybacking extension?"
REFERENCE = (
    "Piggybacking only makes sense if there is a full-duplex connection between sender and "
    "receiver, so that data flows in both directions. The receiver must also have data of its "
    "own to send, so that acknowledgements can be attached to outgoing data frames."
)
GOOD = (
    "The channel has to be full-duplex, so both sides send data to each other. "
    "Then the acknowledgement can be attached to a data frame going back to the sender."
)
POOR = "You need a sliding window protocol and some extension for it to work."


def item(answer: str, **kw: object) -> ScoreInput:
    base: dict[str, object] = {
        "question": QUESTION, "reference_answer": REFERENCE, "key_points": (), "answer": answer,
    }  # fmt: skip
    base.update(kw)
    return ScoreInput(**base)  # type: ignore[arg-type]


def assert_not_scored(res: AnswerScore) -> None:
    assert res.status == "insufficient_data"
    assert res.score is None
    assert res.reason
    assert res.needs_review
    assert res.summary.startswith("Not scored")
    assert res.explanation()["score"] is None


def test_good_answer_scores_higher_than_poor(scorer: Scorer) -> None:
    good, poor = scorer.score_batch([item(GOOD), item(POOR)])
    assert good.status == poor.status == "scored"
    assert good.score is not None and poor.score is not None
    assert 0.0 <= poor.score < good.score <= 1.0
    assert good.score - poor.score > 0.1
    assert good.model_name == "all-MiniLM-L6-v2"
    assert good.scorer_version == SCORER_VERSION


def test_covered_key_points_quote_an_answer_sentence(scorer: Scorer) -> None:
    points = (
        "the connection must be full-duplex",
        "acknowledgements are attached to outgoing data frames",
        "the sender must use a timer to retransmit lost frames",
    )
    res = scorer.score(item(GOOD, key_points=points))
    assert [k.point for k in res.key_points] == list(points)
    covered = [k for k in res.key_points if k.covered]
    missing = [k for k in res.key_points if not k.covered]
    assert covered and missing
    assert "the sender must use a timer to retransmit lost frames" in [k.point for k in missing]
    sentences = split_sentences(GOOD)
    for k in covered:  # a sentence, or a clause of a long one: always the answer's own words
        assert k.evidence and any(k.evidence in sent for sent in sentences)
    for k in missing:
        assert k.evidence is None
    doc = res.explanation()
    json.dumps(doc)
    assert {m["point"] for m in doc["key_points_missing"]} == {k.point for k in missing}
    assert all(c["evidence"] for c in doc["key_points_covered"])
    assert f"covers {len(covered)} of 3 key points" in res.summary
    assert "not covered" in res.summary
    assert {f["feature"] for f in doc["factors"]} >= {"keypoint_coverage", "length_vs_reference"}
    assert 0.0 <= res.relevance <= 1.0


def test_one_long_sentence_can_cover_several_key_points(scorer: Scorer) -> None:
    """Clauses are matched on their own, so each point it covers is credited and quoted."""
    question = "What are the differences between the UDP and the TCP header?"
    reference = (
        "The UDP header has a fixed length of 8 bytes, while the TCP header has a variable "
        "length of 20 to 60 bytes. TCP has sequence and acknowledgement numbers, UDP has not."
    )
    points = (
        "the UDP header has a fixed length of 8 bytes",
        "the TCP header has a variable length",
        "TCP headers carry sequence and acknowledgement numbers",
    )
    answer = (
        "The UDP header always has a fixed length of eight bytes, while the TCP header length "
        "varies between 20 and 60 bytes because of options, and only TCP carries sequence and "
        "acknowledgement numbers."
    )
    res = scorer.score(item(answer, question=question, reference_answer=reference,
                            key_points=points))  # fmt: skip
    covered = {k.point: k.evidence for k in res.key_points if k.covered}
    assert set(covered) == set(points), res.explanation()
    assert len(set(covered.values())) >= 2  # not the same whole sentence quoted three times
    for evidence in covered.values():
        assert evidence and evidence in answer


def test_batch_workers_do_not_change_scores(scorer: Scorer) -> None:
    items = [item(GOOD), item(POOR), item("Full duplex and data to send back."), item(REFERENCE)]
    items = items * 3
    single = [scorer.score(i) for i in items]
    for workers in (1, 2):
        batch = scorer.score_batch(items, workers=workers, batch_size=5)
        assert [b.explanation() for b in batch] == [s.explanation() for s in single]


def test_identical_text_scores_identically_anywhere(scorer: Scorer) -> None:
    """Content only: channel, voice and candidate never reach the scorer; text alone decides."""
    assert {f.name for f in dataclasses.fields(ScoreInput)} == {
        "question", "reference_answer", "key_points", "answer", "transcript_confidence",
    }  # fmt: skip
    submissions = [
        {"channel": "web", "candidate": "c-001", "voice": None, "text": GOOD},
        {"channel": "phone", "candidate": "c-002", "voice": "deep, accented", "text": GOOD},
        {"channel": "telegram", "candidate": "c-003", "voice": None, "text": GOOD},
    ]
    inputs = [item(s["text"]) for s in submissions]  # metadata has no way in
    single = [scorer.score(i) for i in inputs]
    mixed = scorer.score_batch([item(POOR), inputs[0], item("Duplex is needed."), inputs[1],
                                item(REFERENCE), inputs[2]])  # fmt: skip
    again = scorer.score_batch([inputs[2]], batch_size=1)
    ref = single[0].score
    assert ref is not None
    for res in [*single, mixed[1], mixed[3], mixed[5], *again]:
        assert res.score == pytest.approx(ref, abs=1e-6)
        assert res.explanation() == single[0].explanation()


def test_spoken_answer_with_good_confidence_scores_like_typed(scorer: Scorer) -> None:
    typed = scorer.score(item(GOOD))
    spoken = scorer.score(item(GOOD, transcript_confidence=0.93))
    assert spoken.score == typed.score


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("🙂", "empty"),
        ("asdf qwer", "garbled"),
        ("No response.", "no_answer"),
        ("I don't know", "no_answer"),
        ("Duplex", "too_short"),
        ("I like pizza and my favourite football team is Arsenal.", "off_topic"),
        (
            "Die Verbindung muss voll duplex sein, damit die Bestätigung mitgesendet wird.",
            "not_english",
        ),
    ],
)
def test_insufficient_data_never_gets_a_number(scorer: Scorer, answer: str, code: str) -> None:
    res = scorer.score(item(answer))
    assert_not_scored(res)
    assert res.reason_code == code


def test_a_list_of_tool_names_is_not_garbled(scorer: Scorer) -> None:
    """Names the encoder's vocabulary lacks ("PostgreSQL", "Kubernetes") are still words."""
    res = scorer.score(
        ScoreInput(
            question="Which languages, databases and tools do you know well?",
            reference_answer="Python or Go, PostgreSQL, Redis, Docker and Kubernetes.",
            key_points=("a backend language", "a relational database", "container tooling"),
            answer="Python, Go, PostgreSQL, Redis, Docker, Kubernetes",
        )
    )
    assert res.status == "scored", res.reason
    assert res.score is not None and res.score > 0.5
    mashed = scorer.score(item("asdf qwer zxcv hjkl"))
    assert_not_scored(mashed)
    assert mashed.reason_code == "garbled"


def test_low_transcript_confidence_is_insufficient(scorer: Scorer) -> None:
    res = scorer.score(item(GOOD, transcript_confidence=0.31))
    assert_not_scored(res)
    assert res.reason_code == "low_transcript_confidence"
    assert "0.31" in (res.reason or "")


def test_long_answer_is_truncated_with_a_note(scorer: Scorer) -> None:
    answer = (GOOD + " ") * (20_000 // len(GOOD) + 1)
    answer = answer[:20_000]
    res = scorer.score(item(answer))
    assert res.status == "scored"
    assert any("truncated" in n and "20000" in n for n in res.notes)
    assert any("truncated" in n for n in res.explanation()["notes"])


def test_without_reference_answer(scorer: Scorer) -> None:
    with_points = scorer.score(
        item(
            GOOD,
            reference_answer="",
            key_points=(
                "the connection must be full-duplex",
                "acknowledgements ride on data frames",
            ),
        )
    )
    assert with_points.status == "scored" and with_points.score is not None
    assert len(with_points.key_points) == 2
    question_only = scorer.score(item(GOOD, reference_answer="", key_points=()))
    assert question_only.status == "scored" and question_only.score is not None
    assert question_only.needs_review
    assert any("question alone" in n for n in question_only.notes)
    nothing = scorer.score(ScoreInput("", "", (), GOOD))
    assert_not_scored(nothing)


def test_blank_key_points_fall_back_to_reference(scorer: Scorer) -> None:
    res = scorer.score(item(GOOD, key_points=("", "  ")))
    assert res.status == "scored"
    assert len(res.key_points) >= 2  # derived from the reference's sentences


@pytest.mark.parametrize(
    "answer",
    [
        "def piggyback(frame, ack):\n    frame.ack = ack\n    return frame  # needs duplex",
        "SELECT * FROM frames WHERE ack IS NOT NULL; -- duplex link",
        "La conexión debe ser full-duplex para que el receptor envíe datos y confirmaciones.",
        "Соединение должно быть полнодуплексным.",
        "全双工连接是必需的。",
        "duplex " * 50,
        "\x00\x01 duplex connection \ufffd needed",
    ],
)
def test_odd_input_does_not_crash(scorer: Scorer, answer: str) -> None:
    res = scorer.score(item(answer))
    assert res.status in {"scored", "insufficient_data"}
    if res.status == "scored":
        assert res.score is not None and 0.0 <= res.score <= 1.0
    else:
        assert res.score is None
    json.dumps(res.explanation())


def test_key_point_whose_wording_the_answer_repeats_is_covered(scorer: Scorer) -> None:
    """A technical point written out ("EXPLAIN ANALYZE") is credited and quoted."""
    res = scorer.score(
        ScoreInput(
            question="An API endpoint has become slow and you suspect a database query. "
            "How would you find the cause?",
            reference_answer="",
            key_points=(
                "Uses EXPLAIN / EXPLAIN ANALYZE to read the actual query plan",
                "Considers application patterns such as N+1 queries",
            ),
            answer="I would check the slow query log and run EXPLAIN ANALYZE on the query, "
            "and I would look at whether an index is missing.",
        )
    )
    explain_point, n_plus_one = res.key_points
    assert explain_point.covered and "EXPLAIN ANALYZE" in (explain_point.evidence or "")
    assert not n_plus_one.covered and n_plus_one.evidence is None
