"""Text helpers of the scorer: clause splitting for key-point matching."""

from __future__ import annotations

import pytest

from nlu.scoring.text import split_clauses


def test_long_sentence_splits_into_its_statements() -> None:
    sentence = (
        "UDP has a fixed 8-byte header, while the TCP header is variable and it adds sequence "
        "numbers for reliability."
    )
    clauses = split_clauses(sentence)
    assert clauses == [
        "UDP has a fixed 8-byte header",
        "the TCP header is variable",
        "it adds sequence numbers for reliability",
    ]
    assert all(c in sentence for c in clauses)


@pytest.mark.parametrize(
    "sentence",
    [
        "",
        "Short, and sweet.",
        "A sentence with no cut points at all that is nevertheless quite long indeed yes",
        ", , , , , , , , , , , , , , ,",
    ],
)
def test_short_or_uncuttable_sentences_give_no_clauses(sentence: str) -> None:
    assert split_clauses(sentence) == []


def test_tiny_fragments_are_glued_to_a_neighbour() -> None:
    sentence = "Yes, the receiver must have its own data to send back, so acks ride along it."
    clauses = split_clauses(sentence)
    assert clauses and all(len(c.split()) >= 3 for c in clauses)
    assert all(c in sentence for c in clauses)


def test_hostile_and_huge_input() -> None:
    huge = ("word, and " * 5000).strip()
    clauses = split_clauses(huge)
    assert all(c in huge for c in clauses)
    assert split_clauses("<script>alert(1)</script>, and DROP TABLE answers; while 1=1 --") == []


def test_shared_phrase_is_evidence_unless_it_only_repeats_the_question() -> None:
    from nlu.scoring.features import key_point_phrases, phrase_index, shared_phrase

    question = frozenset({"api", "endpoint", "slow", "database", "query"})
    units = phrase_index(["I would check the slow query log", "run EXPLAIN ANALYZE on the query"])
    point = key_point_phrases("Uses EXPLAIN / EXPLAIN ANALYZE to read the actual query plan",
                              question)  # fmt: skip
    assert shared_phrase(point, units) == "run EXPLAIN ANALYZE on the query"
    rollback = phrase_index(["I'd roll back first"])
    # stems meet: "rolls back" / "roll back"
    assert shared_phrase(key_point_phrases("Rolls back the release", frozenset()), rollback) == (
        "I'd roll back first"
    )
    # "slow query" is the question's own phrase: repeating it proves nothing.
    own = key_point_phrases("Finds the slow query", question)
    assert ("slow", "query") not in own
    assert shared_phrase(own, phrase_index(["the slow query is bad"])) is None
    assert shared_phrase(key_point_phrases("", question), units) is None
    assert shared_phrase(point, []) is None
