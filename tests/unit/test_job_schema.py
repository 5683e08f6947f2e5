"""Job definitions: loading, validation errors that name file, question and field, hashing."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from screening.job_schema import (
    QUESTION_KINDS,
    ChoiceQuestion,
    DateQuestion,
    FreeTextQuestion,
    JobDefinition,
    JobFileError,
    NumberQuestion,
    YesNoQuestion,
    assessed_kind,
    content_hash,
    is_scored,
    load_job_file,
    load_job_path,
)

JOBS_DIR = Path(__file__).resolve().parents[2] / "jobs"

VALID_JOB = """\
id: backend
organization:
  id: acme
  name: Acme Corp
  contact_email: jobs@acme.example
  website: https://acme.example
title: Backend Engineer
location: Remote
description: Build APIs.
questions:
  - id: right_to_work
    kind: yes_no
    prompt: Do you have the right to work in the EU?
    knockout_answer: false
  - id: explain
    kind: free_text
    prompt: Explain an index.
    reference_answer: A data structure that speeds up lookups.
    key_points: [speeds up reads, costs writes]
  - id: years_experience
    kind: number
    prompt: How many years?
    min: 0
    max: 40
    unit: years
    knockout_below: 2
  - id: stack
    kind: choice
    prompt: Preferred stack?
    options: [Python, Go, Rust]
    knockout_options: [Rust]
  - id: start_date
    kind: date
    prompt: When can you start?
"""


def write(tmp_path: Path, text: str, name: str = "job.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def job_data() -> dict:
    return yaml.safe_load(VALID_JOB)


def write_data(tmp_path: Path, data: dict, name: str = "job.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def load_error(path: Path) -> JobFileError:
    with pytest.raises(JobFileError) as info:
        load_job_file(path)
    return info.value


# --------------------------------------------------------------------------------------------
# valid files
# --------------------------------------------------------------------------------------------


def test_valid_job_loads(tmp_path: Path) -> None:
    job = load_job_file(write(tmp_path, VALID_JOB))
    assert job.id == "backend"
    assert job.organization.name == "Acme Corp"
    assert [q.kind for q in job.questions] == ["yes_no", "free_text", "number", "choice", "date"]
    assert isinstance(job.questions[0], YesNoQuestion)
    assert isinstance(job.questions[1], FreeTextQuestion)
    assert isinstance(job.questions[2], NumberQuestion)
    assert isinstance(job.questions[3], ChoiceQuestion)
    assert isinstance(job.questions[4], DateQuestion)
    assert job.next_steps  # the default
    assert job.employment_type is None


def test_defaults(tmp_path: Path) -> None:
    job = load_job_file(write(tmp_path, VALID_JOB))
    free_text = job.questions[1]
    assert isinstance(free_text, FreeTextQuestion)
    assert free_text.weight == 1.0
    assert free_text.max_chars == 4000
    assert free_text.min_chars == 2
    assert free_text.optional is False
    date = job.questions[4]
    assert isinstance(date, DateQuestion)
    assert date.allow_past is False
    assert date.max_days_ahead == 730


def test_has_knockout(tmp_path: Path) -> None:
    job = load_job_file(write(tmp_path, VALID_JOB))
    assert [q.has_knockout for q in job.questions] == [True, False, True, True, False]


def test_get_question(tmp_path: Path) -> None:
    job = load_job_file(write(tmp_path, VALID_JOB))
    assert job.get_question("stack").kind == "choice"
    with pytest.raises(KeyError):
        job.get_question("nope")


def test_reference_answer_may_be_empty_and_key_points_empty(tmp_path: Path) -> None:
    data = job_data()
    data["questions"][1]["reference_answer"] = ""
    data["questions"][1]["key_points"] = []
    job = load_job_file(write_data(tmp_path, data))
    assert job.questions[1].reference_answer == ""
    # Without a rubric a free-text answer is the candidate's note: never AI-scored.
    assert not job.questions[1].scored
    assert not is_scored(job.questions[1]) and assessed_kind(job.questions[1]) == "note"


def test_only_free_text_with_a_rubric_and_no_profile_tag_is_scored(tmp_path: Path) -> None:
    job = load_job_file(write(tmp_path, VALID_JOB))
    free = job.questions[1]
    assert isinstance(free, FreeTextQuestion) and free.scored and is_scored(free)
    assert assessed_kind(free) == "free_text"
    tagged = free.model_copy(update={"profile": "location"})
    assert not tagged.scored  # where someone lives is matched, never scored
    assert all(not is_scored(q) for q in job.questions if not isinstance(q, FreeTextQuestion))
    assert {assessed_kind(q) for q in job.questions if not isinstance(q, FreeTextQuestion)} <= (
        set(QUESTION_KINDS)
    )


def test_knockout_option_matched_case_insensitively_and_canonicalised(tmp_path: Path) -> None:
    data = job_data()
    data["questions"][3]["knockout_options"] = ["rust"]
    job = load_job_file(write_data(tmp_path, data))
    assert job.questions[3].knockout_options == ["Rust"]


def test_round_trip_through_json(tmp_path: Path) -> None:
    job = load_job_file(write(tmp_path, VALID_JOB))
    again = JobDefinition.model_validate_json(job.model_dump_json())
    assert again == job
    assert content_hash(again) == content_hash(job)


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID_JOB.encode())
    assert load_job_file(path).id == "backend"


# --------------------------------------------------------------------------------------------
# sample jobs shipped in jobs/
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["warehouse-associate.yaml", "backend-engineer.yaml"])
def test_sample_jobs_load_and_use_every_kind(name: str) -> None:
    job = load_job_file(JOBS_DIR / name)
    assert 6 <= len(job.questions) <= 10
    assert {q.kind for q in job.questions} == set(QUESTION_KINDS)
    # Scored screening questions (profile questions only gather facts for job matching; a
    # CV is read by a person, not scored).
    free_texts = [q for q in job.questions if isinstance(q, FreeTextQuestion) and q.scored]
    assert len(free_texts) >= 2
    assert job.matching is not None
    for question in free_texts:
        assert len(question.reference_answer) > 100
        assert 3 <= len(question.key_points) <= 5
    assert any(isinstance(q, YesNoQuestion) and q.knockout_answer is False for q in job.questions)
    assert any(isinstance(q, NumberQuestion) and q.unit for q in job.questions)
    assert any(q.optional for q in job.questions)
    assert job.next_steps
    assert job.next_steps != JobDefinition.model_fields["next_steps"].default


def test_sample_jobs_cover_number_and_choice_knockouts() -> None:
    jobs = [job for _path, job in load_job_path(JOBS_DIR)]
    questions = [q for job in jobs for q in job.questions]
    assert any(isinstance(q, NumberQuestion) and (q.knockout_below is not None) for q in questions)
    assert any(isinstance(q, ChoiceQuestion) and q.knockout_options for q in questions)
    assert len({job.organization.id for job in jobs}) == len(jobs)


def test_load_job_path_directory_sorted() -> None:
    loaded = load_job_path(JOBS_DIR)
    paths = [path for path, _job in loaded]
    assert paths == sorted(paths)
    assert {job.id for _path, job in loaded} >= {"warehouse-associate", "backend-engineer"}


# --------------------------------------------------------------------------------------------
# content hash
# --------------------------------------------------------------------------------------------


def test_content_hash_is_stable_across_loads() -> None:
    path = JOBS_DIR / "backend-engineer.yaml"
    first = content_hash(load_job_file(path))
    assert first == content_hash(load_job_file(path))
    assert len(first) == 64
    assert int(first, 16) >= 0


def test_content_hash_ignores_yaml_formatting_and_key_order(tmp_path: Path) -> None:
    original = load_job_file(write(tmp_path, VALID_JOB, "a.yaml"))
    data = job_data()
    reordered = dict(reversed(list(data.items())))
    reformatted = load_job_file(write_data(tmp_path, reordered, "b.yaml"))
    assert content_hash(original) == content_hash(reformatted)


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.update(title="Senior Backend Engineer"),
        lambda d: d["organization"].update(name="Acme Inc"),
        lambda d: d["questions"][0].update(prompt="Do you have an EU work permit?"),
        lambda d: d["questions"][1]["key_points"].append("locks"),
        lambda d: d["questions"][2].update(knockout_below=3),
        lambda d: d["questions"][3]["options"].reverse(),
        lambda d: d["questions"][4].update(max_days_ahead=90),
        lambda d: d["questions"].reverse(),
        lambda d: d.update(next_steps="We will call you."),
    ],
)
def test_content_hash_changes_on_edit(tmp_path: Path, edit) -> None:
    before = content_hash(load_job_file(write(tmp_path, VALID_JOB, "a.yaml")))
    data = job_data()
    edit(data)
    after = content_hash(load_job_file(write_data(tmp_path, data, "b.yaml")))
    assert before != after


def test_retention_days_defaults_to_a_year_and_is_not_part_of_the_content_hash(
    tmp_path: Path,
) -> None:
    job = load_job_file(write(tmp_path, VALID_JOB, "a.yaml"))
    assert job.organization.retention_days == 365
    data = job_data()
    data["organization"]["retention_days"] = 90
    shorter = load_job_file(write_data(tmp_path, data, "b.yaml"))
    assert shorter.organization.retention_days == 90
    # A policy change is no new job version: the questions asked are the same.
    assert content_hash(shorter) == content_hash(job)


@pytest.mark.parametrize("days", [0, -5, 3651, "a year"])
def test_retention_days_out_of_range_is_refused(tmp_path: Path, days: object) -> None:
    data = job_data()
    data["organization"]["retention_days"] = days
    with pytest.raises(JobFileError) as err:
        load_job_file(write_data(tmp_path, data, "bad.yaml"))
    assert "retention_days" in str(err.value)


# --------------------------------------------------------------------------------------------
# errors naming file, question and field
# --------------------------------------------------------------------------------------------


def assert_names(err: JobFileError, path: Path, question: str | None, field: str | None) -> None:
    message = str(err)
    assert message.startswith(str(path))
    assert err.path == path
    if question is not None:
        assert f"question '{question}'" in message
        assert err.question == question
    if field is not None:
        assert f"field '{field}'" in message
        assert err.field == field
    assert err.errors[0] == message


def test_error_message_format(tmp_path: Path) -> None:
    data = job_data()
    data["questions"][2]["max"] = 0
    data["questions"][2]["knockout_below"] = None
    path = write_data(tmp_path, data, "backend.yaml")
    err = load_error(path)
    assert str(err) == (
        f"{path}: question 'years_experience' (#3): field 'max': must be greater than min (0)"
    )
    assert err.question == "years_experience"
    assert err.question_index == 3
    assert err.field == "max"
    assert err.message == "must be greater than min (0)"


def test_error_is_a_value_error(tmp_path: Path) -> None:
    assert isinstance(load_error(write(tmp_path, "")), ValueError)


def test_unknown_kind_lists_valid_kinds(tmp_path: Path) -> None:
    data = job_data()
    data["questions"][3]["kind"] = "multiple_choice"
    path = write_data(tmp_path, data)
    err = load_error(path)
    assert_names(err, path, "stack", "kind")
    assert "multiple_choice" in err.message
    for kind in QUESTION_KINDS:
        assert kind in err.message


def test_missing_kind(tmp_path: Path) -> None:
    data = job_data()
    del data["questions"][1]["kind"]
    path = write_data(tmp_path, data)
    err = load_error(path)
    assert_names(err, path, "explain", "kind")
    assert "free_text" in err.message


def test_missing_field(tmp_path: Path) -> None:
    data = job_data()
    del data["questions"][1]["prompt"]
    path = write_data(tmp_path, data)
    err = load_error(path)
    assert_names(err, path, "explain", "prompt")
    assert "missing" in err.message


def test_missing_reference_answer_hints_empty_string(tmp_path: Path) -> None:
    data = job_data()
    del data["questions"][1]["reference_answer"]
    err = load_error(write_data(tmp_path, data))
    assert err.field == "reference_answer"
    assert '""' in err.message


def test_missing_top_level_field(tmp_path: Path) -> None:
    data = job_data()
    del data["title"]
    path = write_data(tmp_path, data)
    err = load_error(path)
    assert_names(err, path, None, "title")
    assert err.question is None
    assert "question" not in str(err)


def test_min_greater_than_max(tmp_path: Path) -> None:
    data = job_data()
    data["questions"][2].update(min=50, max=10, knockout_below=None)
    path = write_data(tmp_path, data)
    err = load_error(path)
    assert_names(err, path, "years_experience", "max")
    assert "greater than min (50)" in err.message


def test_knockout_threshold_outside_range(tmp_path: Path) -> None:
    data = job_data()
    data["questions"][2]["knockout_below"] = 45
    path = write_data(tmp_path, data)
    err = load_error(path)
    assert_names(err, path, "years_experience", "knockout_below")
    assert "between min (0) and max (40)" in err.message


def test_knockout_above_below_knockout_below(tmp_path: Path) -> None:
    data = job_data()
    data["questions"][2].update(knockout_below=10, knockout_above=5)
    err = load_error(write_data(tmp_path, data))
    assert err.field == "knockout_above"


def test_infinite_number_rejected(tmp_path: Path) -> None:
    data = job_data()
    data["questions"][2]["max"] = float("inf")
    err = load_error(write_data(tmp_path, data))
    assert err.field == "max"


def test_knockout_option_not_in_options(tmp_path: Path) -> None:
    data = job_data()
    data["questions"][3]["knockout_options"] = ["Haskell"]
    path = write_data(tmp_path, data)
    err = load_error(path)
    assert_names(err, path, "stack", "knockout_options")
    assert "'Haskell' is not one of the options" in err.message
    assert "'Python'" in err.message


def test_every_option_knocked_out(tmp_path: Path) -> None:
    data = job_data()
    data["questions"][3]["knockout_options"] = ["Python", "Go", "Rust"]
    err = load_error(write_data(tmp_path, data))
    assert err.field == "knockout_options"
    assert "every" in err.message


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (["Python"], "at least 2"),
        ([f"Option {i}" for i in range(13)], "at most 12"),
        (["Python", "python"], "duplicates"),
        (["Python", "x" * 61], "at most 60"),
        (["Python", ""], "empty"),
    ],
)
def test_bad_options(tmp_path: Path, options: list[str], fragment: str) -> None:
    data = job_data()
    data["questions"][3]["options"] = options
    data["questions"][3]["knockout_options"] = []
    path = write_data(tmp_path, data)
    err = load_error(path)
    assert_names(err, path, "stack", "options")
    assert fragment in err.message


def test_yaml_boolean_option_explains_quoting(tmp_path: Path) -> None:
    text = VALID_JOB.replace("options: [Python, Go, Rust]", "options: [yes, no, Rust]")
    path = write(tmp_path, text)
    err = load_error(path)
    assert_names(err, path, "stack", "options")
    assert "item #1" in err.message
    assert "quotes" in err.message
    assert len(err.errors) >= 2  # both yes and no


def test_duplicate_question_ids(tmp_path: Path) -> None:
    data = job_data()
    data["questions"][4]["id"] = "explain"
    path = write_data(tmp_path, data)
    err = load_error(path)
    assert_names(err, path, "explain", "id")
    assert err.question_index == 5
    assert "duplicate question id 'explain'" in err.message
    assert "#2" in err.message


def test_extra_unknown_field_in_question(tmp_path: Path) -> None:
    data = job_data()
    data["questions"][2]["maximum"] = 40
    path = write_data(tmp_path, data)
    err = load_error(path)
    assert_names(err, path, "years_experience", "maximum")
    assert "unknown field" in err.message
    assert "did you mean 'max'" in err.message


def test_extra_unknown_field_at_top_level(tmp_path: Path) -> None:
    data = job_data()
    data["titel"] = "Oops"
    path = write_data(tmp_path, data)
    err = load_error(path)
    assert_names(err, path, None, "titel")
    assert "did you mean 'title'" in err.message


def test_extra_unknown_field_in_organization(tmp_path: Path) -> None:
    data = job_data()
    data["organization"]["email"] = "x@y.example"
    path = write_data(tmp_path, data)
    err = load_error(path)
    assert_names(err, path, None, "organization.email")


def test_optional_with_knockout_rejected(tmp_path: Path) -> None:
    data = job_data()
    data["questions"][0]["optional"] = True
    path = write_data(tmp_path, data)
    err = load_error(path)
    assert_names(err, path, "right_to_work", "knockout_answer")
    assert "optional" in err.message


@pytest.mark.parametrize(("index", "field"), [(2, "knockout_below"), (3, "knockout_options")])
def test_optional_with_other_knockouts_rejected(tmp_path: Path, index: int, field: str) -> None:
    data = job_data()
    data["questions"][index]["optional"] = True
    err = load_error(write_data(tmp_path, data))
    assert err.field == field
    assert "optional" in err.message


def test_optional_without_knockout_is_fine(tmp_path: Path) -> None:
    data = job_data()
    data["questions"][0]["knockout_answer"] = None
    data["questions"][0]["optional"] = True
    assert load_job_file(write_data(tmp_path, data)).questions[0].optional


def test_question_without_id_named_by_index(tmp_path: Path) -> None:
    data = job_data()
    del data["questions"][2]["id"]
    path = write_data(tmp_path, data)
    err = load_error(path)
    assert str(err).startswith(f"{path}: question #3: field 'id'")
    assert err.question == 3


def test_question_that_is_not_a_mapping(tmp_path: Path) -> None:
    data = job_data()
    data["questions"].append("What is your name?")
    err = load_error(write_data(tmp_path, data))
    assert err.question == 6
    assert "mapping" in err.message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": "Backend Engineer"}, "id"),
        ({"id": "x"}, "id"),
        ({"title": "  "}, "title"),
        ({"questions": []}, "questions"),
        (
            {"organization": {"id": "acme", "name": "Acme", "contact_email": "nope"}},
            "organization.contact_email",
        ),
        (
            {"organization": {"id": "acme", "name": "Acme", "website": "acme.example"}},
            "organization.website",
        ),
    ],
)
def test_top_level_field_errors(tmp_path: Path, change: dict, field: str) -> None:
    data = job_data()
    data.update(change)
    path = write_data(tmp_path, data)
    err = load_error(path)
    assert_names(err, path, None, field)


@pytest.mark.parametrize(
    ("index", "change", "field"),
    [
        (0, {"id": "Right To Work"}, "id"),
        (0, {"prompt": ""}, "prompt"),
        (0, {"prompt": "x" * 1001}, "prompt"),
        (1, {"weight": 0}, "weight"),
        (1, {"weight": 101}, "weight"),
        (1, {"max_chars": 49}, "max_chars"),
        (1, {"max_chars": 20001}, "max_chars"),
        (1, {"max_chars": 100, "min_chars": 200}, "min_chars"),
        (1, {"key_points": ["ok", ""]}, "key_points"),
        (4, {"max_days_ahead": -1}, "max_days_ahead"),
    ],
)
def test_question_field_errors(tmp_path: Path, index: int, change: dict, field: str) -> None:
    data = job_data()
    data["questions"][index].update(change)
    qid = data["questions"][index]["id"]
    path = write_data(tmp_path, data)
    err = load_error(path)
    assert_names(err, path, qid, field)


def test_too_many_questions(tmp_path: Path) -> None:
    data = job_data()
    data["questions"] = [{"id": f"q{i}", "kind": "yes_no", "prompt": "Ok?"} for i in range(51)]
    err = load_error(write_data(tmp_path, data))
    assert err.field == "questions"
    assert "at most 50" in err.message


def test_all_errors_are_collected(tmp_path: Path) -> None:
    data = job_data()
    del data["title"]
    data["questions"][2]["max"] = -1
    data["questions"][3]["kind"] = "dropdown"
    path = write_data(tmp_path, data)
    err = load_error(path)
    assert len(err.errors) == 3
    assert "field 'title'" in err.errors[0]
    assert any("question 'years_experience' (#3): field 'max'" in e for e in err.errors)
    assert any("question 'stack' (#4): field 'kind'" in e for e in err.errors)
    assert all(e.startswith(str(path)) for e in err.errors)


# --------------------------------------------------------------------------------------------
# file-level errors
# --------------------------------------------------------------------------------------------


def test_yaml_syntax_error_reports_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        id: backend
        title: Backend
        questions:
          - id: a
           kind: yes_no
        """,
    )
    err = load_error(path)
    assert str(err).startswith(str(path))
    assert "YAML syntax error" in err.message
    assert "line 5" in err.message


def test_unclosed_quote(tmp_path: Path) -> None:
    err = load_error(write(tmp_path, 'id: "backend\ntitle: x\n'))
    assert "YAML syntax error" in err.message
    assert "line" in err.message


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    err = load_error(write(tmp_path, VALID_JOB + "title: Again\n"))
    assert "duplicate key 'title'" in err.message
    assert "line" in err.message


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    err = load_error(path)
    assert "empty" in err.message
    assert str(err).startswith(str(path))


@pytest.mark.parametrize(
    ("text", "kind"), [("- a\n- b\n", "list"), ("just text\n", "string"), ("42\n", "number")]
)
def test_top_level_not_a_mapping(tmp_path: Path, text: str, kind: str) -> None:
    err = load_error(write(tmp_path, text))
    assert "mapping" in err.message
    assert kind in err.message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    err = load_error(path)
    assert str(err) == f"{path}: file not found"


def test_directory_given_to_load_job_file(tmp_path: Path) -> None:
    err = load_error(tmp_path)
    assert "directory" in err.message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("title: Café\n".encode("latin-1"))
    err = load_error(path)
    assert "UTF-8" in err.message


# --------------------------------------------------------------------------------------------
# load_job_path
# --------------------------------------------------------------------------------------------


def test_load_job_path_single_file(tmp_path: Path) -> None:
    path = write(tmp_path, VALID_JOB)
    [(loaded_path, job)] = load_job_path(path)
    assert loaded_path == path
    assert job.id == "backend"


def test_load_job_path_directory_yaml_and_yml(tmp_path: Path) -> None:
    write(tmp_path, VALID_JOB, "b.yaml")
    write(tmp_path, VALID_JOB.replace("id: backend", "id: backend-two"), "a.yml")
    write(tmp_path, "not a job", "notes.txt")
    loaded = load_job_path(tmp_path)
    assert [p.name for p, _job in loaded] == ["a.yml", "b.yaml"]


def test_load_job_path_duplicate_job_ids_name_both_files(tmp_path: Path) -> None:
    first = write(tmp_path, VALID_JOB, "a.yaml")
    second = write(tmp_path, VALID_JOB, "b.yaml")
    with pytest.raises(JobFileError) as info:
        load_job_path(tmp_path)
    message = str(info.value)
    assert str(first) in message
    assert str(second) in message
    assert "duplicate job id 'backend'" in message
    assert info.value.field == "id"


def test_load_job_path_collects_errors_of_all_files(tmp_path: Path) -> None:
    write(tmp_path, "", "a.yaml")
    write(tmp_path, VALID_JOB.replace("kind: date", "kind: datetime"), "b.yaml")
    write(tmp_path, VALID_JOB.replace("id: backend", "id: fine"), "c.yaml")
    with pytest.raises(JobFileError) as info:
        load_job_path(tmp_path)
    assert info.value.path.name == "a.yaml"
    assert len(info.value.errors) == 2
    assert "a.yaml" in info.value.errors[0]
    assert "b.yaml: question 'start_date' (#5): field 'kind'" in info.value.errors[1]


def test_load_job_path_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(JobFileError, match=r"no .*job files"):
        load_job_path(tmp_path)


def test_load_job_path_missing(tmp_path: Path) -> None:
    with pytest.raises(JobFileError, match="no such file or directory"):
        load_job_path(tmp_path / "missing")
