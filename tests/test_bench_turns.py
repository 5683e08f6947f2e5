"""The pure parts of `parley bench turns` (no Rasa is started here)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from parley.bench_turns import (
    Conversation,
    check_database,
    generate_answer,
    interview_conversation,
    latency_summary,
    percentile,
    starter_conversation,
)
from screening.job_schema import (
    ChoiceQuestion,
    DateQuestion,
    FreeTextQuestion,
    NumberQuestion,
    YesNoQuestion,
    load_job_path,
)
from screening.questions import parse_answer
from storage.db import Database
from storage.migrate import upgrade
from storage.models import (
    Answer,
    Application,
    Candidate,
    ChannelIdentity,
    Job,
    Organization,
)

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 11, 22)  # a Sunday


# ------------------------------------------------------------------------------- percentiles
def test_percentile_interpolates_linearly() -> None:
    values = [40.0, 10.0, 30.0, 20.0]
    assert percentile(values, 0) == 10.0
    assert percentile(values, 100) == 40.0
    assert percentile(values, 50) == pytest.approx(25.0)
    assert percentile(values, 95) == pytest.approx(38.5)
    assert percentile(list(range(1, 101)), 99) == pytest.approx(99.01)


def test_percentile_edge_cases() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_latency_summary_reports_milliseconds() -> None:
    summary = latency_summary([0.1, 0.2, 0.3, 0.4, 1.0])
    assert summary == {"p50": 300.0, "p95": 880.0, "p99": 976.0, "max": 1000.0}
    assert latency_summary([]) == {"p50": None, "p95": None, "p99": None, "max": None}


# ------------------------------------------------------------------------------- answers
def _sample_jobs():  # type: ignore[no-untyped-def]
    jobs = [job for _, job in load_job_path(ROOT / "jobs")]
    assert jobs, "the sample jobs in jobs/ are missing"
    return jobs


@pytest.mark.parametrize("variant", range(6))
def test_generated_answers_are_valid_and_never_knock_out(variant: int) -> None:
    for job in _sample_jobs():
        for question in job.questions:
            text = generate_answer(question, today=TODAY, variant=variant)
            parsed = parse_answer(question, text, today=TODAY)
            assert parsed.ok, (job.id, question.id, text, parsed.error)
            assert not parsed.knockout, (job.id, question.id, text)
            assert text == text.strip() and not text.startswith("/")


EDGE_QUESTIONS = [
    YesNoQuestion(id="criminal_record", prompt="Any convictions?", knockout_answer=True),
    YesNoQuestion(id="plain", prompt="Do you like tea?"),
    NumberQuestion(
        id="hours",
        prompt="Hours?",
        min=0,
        max=60,
        knockout_below=20,
        knockout_above=40,
        integer=True,
    ),
    NumberQuestion(id="ratio", prompt="Ratio?", min=0, max=1),
    NumberQuestion(id="salary", prompt="Salary?", min=20000, max=250000, knockout_above=30000),
    ChoiceQuestion(
        id="shift",
        prompt="Shift?",
        options=["Office hours only", "Night", "Early"],
        knockout_options=["office hours ONLY"],
    ),
    DateQuestion(id="soon", prompt="Start?", max_days_ahead=3),
    DateQuestion(id="start", prompt="Start?"),
    FreeTextQuestion(id="why", prompt="Why?", reference_answer="", key_points=[]),
    FreeTextQuestion(id="long", prompt="Tell us.", reference_answer="", min_chars=300),
    FreeTextQuestion(id="cmd", prompt="?", reference_answer="", key_points=["Go back", "Help"]),
]


@pytest.mark.parametrize("question", EDGE_QUESTIONS, ids=lambda q: q.id)
def test_generated_answers_for_each_kind_and_knockout_rule(question) -> None:  # type: ignore[no-untyped-def]
    for variant in range(4):
        text = generate_answer(question, today=TODAY, variant=variant)
        parsed = parse_answer(question, text, today=TODAY)
        assert parsed.ok and not parsed.knockout, (question.id, text, parsed)


def test_specific_answer_choices() -> None:
    yes_no, plain, hours, *_ = EDGE_QUESTIONS
    assert generate_answer(yes_no, today=TODAY) == "no"
    assert generate_answer(plain, today=TODAY) == "yes"
    assert 20 <= int(generate_answer(hours, today=TODAY)) <= 40
    choice = EDGE_QUESTIONS[5]
    assert generate_answer(choice, today=TODAY) == "Night"
    assert generate_answer(EDGE_QUESTIONS[7], today=TODAY) == "next Monday"


def test_interview_conversation_scripts_a_whole_interview() -> None:
    job = _sample_jobs()[0]
    conv = interview_conversation("web:bench-0-x", job, today=TODAY)
    texts = [t.text for t in conv.turns]
    assert texts[:3] == [f'/start{{"job_id":"{job.id}"}}', "yes", "yes"]
    assert len(conv.turns) == 3 + len(job.questions)
    assert list(conv.answers) == [q.id for q in job.questions]
    assert texts[3:] == list(conv.answers.values())
    assert conv.turns[-1].expect == "is complete"
    assert len(starter_conversation("web:b", len(conv.turns)).turns) == len(conv.turns)
    assert starter_conversation("web:b", 5).turns[-1].text == "bye"


# ------------------------------------------------------------------------------- database check
def test_check_database_counts_lost_duplicated_and_incomplete(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    upgrade(url)
    db = Database(url)
    answers = {"q1": "yes", "q2": "12", "q3": "next Monday"}
    complete = Conversation("web:bench-0-t", [], "acme-job", dict(answers))
    dup_and_lost = Conversation("web:bench-1-t", [], "acme-job", dict(answers))
    missing = Conversation("web:bench-2-t", [], "acme-job", dict(answers))
    with db.transaction() as s:
        org = Organization(slug="acme", name="Acme")
        s.add(org)
        s.flush()
        job = Job(
            organization_id=org.id,
            slug="acme-job",
            version=1,
            is_current=True,
            content_hash="x",
            title="Job",
            location="Here",
            definition={},
        )
        s.add(job)
        s.flush()

        def application(sender: str, status: str) -> Application:
            candidate = Candidate()
            candidate.identities.append(ChannelIdentity(sender_id=sender, channel="web"))
            s.add(candidate)
            s.flush()
            app = Application(candidate_id=candidate.id, job_id=job.id, status=status)
            s.add(app)
            s.flush()
            return app

        def answer(app: Application, qid: str, text: str, revision: int = 1) -> None:
            s.add(
                Answer(
                    application_id=app.id,
                    question_id=qid,
                    question_kind="x",
                    status="answered",
                    raw_text=text,
                    channel="web",
                    revision=revision,
                )
            )

        ok = application(complete.sender, "completed")
        for qid, text in answers.items():
            answer(ok, qid, text)
        bad = application(dup_and_lost.sender, "in_progress")
        answer(bad, "q1", "yes", revision=2)  # processed twice: duplicated
        answer(bad, "q2", "13")  # wrong text: lost
        # q3 never stored: lost
        answer(bad, "zz", "stray")  # a question never asked: duplicated

    check = check_database(db, [complete, dup_and_lost, missing])
    db.dispose()
    assert check.expected == 9
    assert check.found == 3 + 1
    assert check.lost == 2 + 3
    assert check.duplicated == 2
    assert check.incomplete == [dup_and_lost.sender, missing.sender]


# ---------------------------------------------------------------- drive(), both ways of sending
def _echo_replies(sender: str, message: str) -> list[dict[str, object]]:
    return [{"recipient_id": sender, "text": f"ok: {message}"}]


def _two_turns(sender: str) -> Conversation:
    from parley.bench_turns import Turn

    return Conversation(sender, [Turn("hello", expect="ok: hello"), Turn("bye", expect="ok: bye")])


@pytest.mark.parametrize("via_gateway", [False, True])
def test_drive_times_every_turn_and_checks_replies(via_gateway: bool) -> None:
    import asyncio

    from parley.bench_turns import drive
    from tests.web.fake_rasa import FakeRasa

    rasa = FakeRasa(_echo_replies).start()
    try:
        convs = [_two_turns(f"web:drive-{n}") for n in range(5)]
        stats = asyncio.run(
            drive(rasa.url, convs, 3, via_gateway=via_gateway, echo=lambda _m: None)
        )
    finally:
        rasa.stop()
    assert len(stats.latencies_s) == 10 and stats.errors == 0 and stats.unexpected_replies == 0
    assert sorted(rasa.messages()) == sorted(["hello", "bye"] * 5)
    assert rasa.overlaps == []  # one message per conversation at a time


@pytest.mark.parametrize("via_gateway", [False, True])
def test_drive_counts_an_error_and_stops_that_conversation(via_gateway: bool) -> None:
    import asyncio

    from parley.bench_turns import drive
    from tests.web.fake_rasa import FakeRasa

    rasa = FakeRasa(_echo_replies).start()
    rasa.fail = True
    try:
        stats = asyncio.run(
            drive(
                rasa.url, [_two_turns("web:drive-x")], 1, via_gateway=via_gateway, echo=print
            )
        )
    finally:
        rasa.stop()
    assert stats.errors == 1 and stats.aborted == {"web:drive-x"} and stats.latencies_s == []
    # The gateways' client resends a 5xx once with the same id; a plain POST does not.
    assert rasa.messages() == (["hello", "hello"] if via_gateway else ["hello"])
