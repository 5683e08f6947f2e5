"""Job definitions: the YAML files a recruiter writes, validated before any candidate sees them.

A job file is edited by hand by people who are not programmers, and a mistake in it (a typo in a
field name, a knockout threshold outside the allowed range, a choice option YAML silently turned
into ``true``) would otherwise only surface in the middle of a candidate's interview, or worse,
silently disqualify candidates. So every model here forbids unknown fields, every cross-field rule
is checked at load time, and every error is reported as a :class:`JobFileError` that names the
file, the question and the field in words a recruiter can act on.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "DEFAULT_NEXT_STEPS",
    "QUESTION_KINDS",
    "ChoiceQuestion",
    "DateQuestion",
    "FreeTextQuestion",
    "JobDefinition",
    "JobFileError",
    "NumberQuestion",
    "Organization",
    "Question",
    "YesNoQuestion",
    "content_hash",
    "load_job_file",
    "load_job_path",
]

#: The valid values of a question's ``kind``, in the order they are listed in error messages.
QUESTION_KINDS: tuple[str, ...] = ("free_text", "yes_no", "number", "choice", "date")

#: What a candidate is told once they have answered everything, unless the job says otherwise.
DEFAULT_NEXT_STEPS = (
    "Thank you for completing the screening. The hiring team will review your answers and "
    "contact you about the next steps."
)

_JOB_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_QUESTION_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL_RE = re.compile(r"^https?://[^\s/]+\.[^\s]+$")

_OPTIONAL_KNOCKOUT_MESSAGE = (
    "a question with a knockout rule cannot be optional (a candidate could skip it and avoid "
    "the knockout); remove 'optional: true' or the knockout rule"
)


# --------------------------------------------------------------------------------------------
# Field types
# --------------------------------------------------------------------------------------------


def _job_slug(value: str) -> str:
    """Ids end up in URLs, database keys and log lines, so they are kept to a boring slug."""
    if not _JOB_SLUG_RE.match(value):
        raise ValueError(
            f"{value!r} is not a valid id: use 2-63 lowercase letters, digits and hyphens, "
            "starting with a letter or digit (for example 'backend-engineer')"
        )
    return value


def _question_slug(value: str) -> str:
    """Question ids key stored answers, so they must stay stable and machine-friendly."""
    if not _QUESTION_SLUG_RE.match(value):
        raise ValueError(
            f"{value!r} is not a valid question id: use up to 63 lowercase letters, digits, "
            "'_' and '-', starting with a letter or digit (for example 'years_experience')"
        )
    return value


def _email(value: str | None) -> str | None:
    """Only a sanity check: the address is shown to candidates, not used to send mail here."""
    if value is not None and not _EMAIL_RE.match(value):
        raise ValueError(f"{value!r} does not look like an email address")
    return value


def _url(value: str | None) -> str | None:
    """Websites are rendered as links, so require an explicit http(s) scheme."""
    if value is not None and not _URL_RE.match(value):
        raise ValueError(f"{value!r} is not a web address starting with http:// or https://")
    return value


JobSlug = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_job_slug)]
QuestionSlug = Annotated[
    str, StringConstraints(strip_whitespace=True), AfterValidator(_question_slug)
]
NonEmptyText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
PromptText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
OptionText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


def _fmt(value: float) -> str:
    """Render a threshold the way the recruiter probably typed it (``0`` rather than ``0.0``)."""
    return str(int(value)) if float(value).is_integer() else str(value)


def _fold_option(option: str) -> str:
    """Options are matched case-insensitively, so they must also be unique that way."""
    return " ".join(option.casefold().split())


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


#: Profile fields a question's answer can fill, and the question kinds that can fill each.
PROFILE_FIELDS: dict[str, tuple[str, ...]] = {
    "skills": ("free_text", "choice"),
    "years_experience": ("number",),
    "location": ("free_text", "choice"),
    "work_mode": ("choice",),
    "salary_expectation": ("number",),
    "availability": ("date",),
}
ProfileField = Literal[
    "skills", "years_experience", "location", "work_mode", "salary_expectation", "availability"
]
WorkMode = Literal["onsite", "hybrid", "remote"]


class _StrictModel(BaseModel):
    """Base for every job-file model: unknown keys are errors, so typos cannot go unnoticed."""

    model_config = ConfigDict(extra="forbid")


class Organization(_StrictModel):
    """The employer, shown to candidates so they know who is interviewing them."""

    model_config = ConfigDict(extra="forbid")

    id: JobSlug
    name: ShortText
    contact_email: Annotated[str | None, AfterValidator(_email)] = None
    website: Annotated[str | None, AfterValidator(_url)] = None
    #: Days an application's data is kept after the application ended (the organization's
    #: retention policy, enforced by the purge job). One day to ten years.
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 365


class _QuestionBase(_StrictModel):
    """Fields shared by every question kind."""

    model_config = ConfigDict(extra="forbid")

    id: QuestionSlug
    prompt: PromptText
    #: Whether the candidate may skip the question. Knockout questions may never be skipped.
    optional: bool = False
    #: Which part of the candidate's profile the answer fills (used for job matching).
    profile: ProfileField | None = None

    @property
    def has_knockout(self) -> bool:
        """Whether some answer to this question disqualifies the candidate."""
        return False


def _reject_optional_knockout(info: ValidationInfo) -> None:
    if info.data.get("optional"):
        raise ValueError(_OPTIONAL_KNOCKOUT_MESSAGE)


class FreeTextQuestion(_QuestionBase):
    """An open question, scored later against a reference answer and key points."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["free_text"] = "free_text"
    #: A model answer for the scorer. Required (so it is never forgotten) but may be "".
    reference_answer: str
    #: Points a good answer should mention; the scorer checks for each of them.
    key_points: list[NonEmptyText] = Field(default_factory=list)
    #: Relative weight of this question in the overall score.
    weight: float = Field(1.0, gt=0, le=100)
    max_chars: int = Field(4000, ge=50, le=20000)
    min_chars: int = Field(2, ge=1, le=20000)
    #: The answer may be a résumé file (PDF or DOCX) sent on Telegram; its extracted text
    #: becomes the answer. On other channels the candidate types or pastes it.
    accepts_document: bool = False

    @property
    def scored(self) -> bool:
        """Whether the AI scorer assesses this question: only against a rubric (a reference
        answer or key points), and never a profile question. Profile answers (where you
        live, your salary, your tools list) feed job matching; scoring them would rate who or
        where the candidate is rather than what they know."""
        return self.profile is None and bool(self.reference_answer.strip() or self.key_points)

    @field_validator("min_chars")
    @classmethod
    def _min_below_max(cls, value: int, info: ValidationInfo) -> int:
        max_chars = info.data.get("max_chars")
        if max_chars is not None and value > max_chars:
            raise ValueError(f"must not be greater than max_chars ({max_chars})")
        return value


class YesNoQuestion(_QuestionBase):
    """A yes/no question, optionally with one disqualifying answer."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["yes_no"] = "yes_no"
    #: The answer that disqualifies, e.g. ``false`` for "Do you have the right to work here?".
    knockout_answer: bool | None = None

    @field_validator("knockout_answer")
    @classmethod
    def _not_optional(cls, value: bool | None, info: ValidationInfo) -> bool | None:
        if value is not None:
            _reject_optional_knockout(info)
        return value

    @property
    def has_knockout(self) -> bool:
        return self.knockout_answer is not None


class NumberQuestion(_QuestionBase):
    """A numeric answer within a range, optionally disqualifying below or above a threshold."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["number"] = "number"
    min: FiniteFloat
    max: FiniteFloat
    #: Shown to the candidate ("5 years"); plural form, as in "a number of years".
    unit: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    integer: bool = False
    knockout_below: FiniteFloat | None = None
    knockout_above: FiniteFloat | None = None

    @field_validator("max")
    @classmethod
    def _max_above_min(cls, value: float, info: ValidationInfo) -> float:
        low = info.data.get("min")
        if low is not None and value <= low:
            raise ValueError(f"must be greater than min ({_fmt(low)})")
        return value

    @field_validator("knockout_below", "knockout_above")
    @classmethod
    def _threshold_in_range(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is None:
            return value
        _reject_optional_knockout(info)
        low, high = info.data.get("min"), info.data.get("max")
        if low is not None and high is not None and not low <= value <= high:
            raise ValueError(f"must lie between min ({_fmt(low)}) and max ({_fmt(high)})")
        below = info.data.get("knockout_below")
        if info.field_name == "knockout_above" and below is not None and value < below:
            raise ValueError(
                f"must not be less than knockout_below ({_fmt(below)}), "
                "or every answer would be a knockout"
            )
        return value

    @property
    def has_knockout(self) -> bool:
        return self.knockout_below is not None or self.knockout_above is not None


class ChoiceQuestion(_QuestionBase):
    """Pick one of a short list of options (rendered as buttons where the channel allows)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["choice"] = "choice"
    options: list[OptionText] = Field(min_length=2, max_length=12)
    #: Options that disqualify; each must be spelled like one of ``options`` (any case).
    knockout_options: list[str] = Field(default_factory=list)

    @field_validator("options")
    @classmethod
    def _unique_options(cls, value: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        for option in value:
            key = _fold_option(option)
            if key in seen:
                raise ValueError(
                    f"option {option!r} duplicates {seen[key]!r} (options must differ by more "
                    "than upper/lower case)"
                )
            seen[key] = option
        return value

    @field_validator("knockout_options")
    @classmethod
    def _knockouts_are_options(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if not value:
            return value
        _reject_optional_knockout(info)
        options = info.data.get("options")
        if options is None:  # options themselves were invalid; that error is reported instead
            return value
        canonical = {_fold_option(option): option for option in options}
        result: list[str] = []
        for item in value:
            match = canonical.get(_fold_option(item))
            if match is None:
                raise ValueError(
                    f"{item!r} is not one of the options ({', '.join(map(repr, options))})"
                )
            if match not in result:
                result.append(match)
        if len(result) == len(options):
            raise ValueError("cannot knock out every option; every candidate would fail")
        return result

    @property
    def has_knockout(self) -> bool:
        return bool(self.knockout_options)


class DateQuestion(_QuestionBase):
    """A calendar date, typically the earliest start date."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["date"] = "date"
    allow_past: bool = False
    #: Dates further ahead than this are rejected as probably mistyped; None means no limit.
    max_days_ahead: int | None = Field(730, ge=0)


Question = Annotated[
    FreeTextQuestion | YesNoQuestion | NumberQuestion | ChoiceQuestion | DateQuestion,
    Field(discriminator="kind"),
]
"""Any question; the YAML ``kind`` key selects the model."""

_KIND_MODELS: dict[str, type[BaseModel]] = {
    "free_text": FreeTextQuestion,
    "yes_no": YesNoQuestion,
    "number": NumberQuestion,
    "choice": ChoiceQuestion,
    "date": DateQuestion,
}


class Matching(_StrictModel):
    """The job's side of job matching: skills, experience, place of work and budget."""

    skills: list[ShortText] = Field(default_factory=list, max_length=40)
    min_years: Annotated[float, Field(ge=0, le=60)] = 0
    work_mode: WorkMode = "onsite"
    #: City or region of the workplace (ignored for fully remote jobs).
    city: ShortText | None = None
    salary_max: Annotated[float, Field(gt=0)] | None = None
    currency: Annotated[str, StringConstraints(min_length=3, max_length=3)] = "EUR"


class Scheduling(_StrictModel):
    """Booking the next interview from the chat (scheduling/): who is invited, and what the
    calendar invite says. Interviewers and their calendars are set with `parley calendars`."""

    #: Overall score (0–1) a completed application needs for an automatic invitation to book.
    #: Candidates below it, knocked out, or waiting for a human review are not invited
    #: automatically; an employer can still invite anyone (`parley bookings invite`).
    invite_min_score: Annotated[float, Field(ge=0, le=1)] = 0.5
    #: What the interview is, as the candidate's calendar shows it.
    interview_title: ShortText = "Interview"
    #: Where it happens ("Video call, link follows by email", an address …).
    location: ShortText | None = None


class JobDefinition(_StrictModel):
    """One job opening and its screening questions, exactly as loaded from a job file."""

    model_config = ConfigDict(extra="forbid")

    id: JobSlug
    organization: Organization
    title: ShortText
    location: ShortText
    description: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10000)
    ]
    employment_type: ShortText | None = None
    #: Told to the candidate after the last answer, so they know what happens next.
    next_steps: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
    ] = DEFAULT_NEXT_STEPS
    questions: list[Question] = Field(min_length=1, max_length=50)
    #: What the job asks for, compared with candidates' profiles ("which jobs fit me?").
    matching: Matching | None = None
    #: Booking the next interview from the chat; without it nobody is invited automatically.
    scheduling: Scheduling | None = None

    @field_validator("questions")
    @classmethod
    def _profile_kinds(cls, value: list[Any]) -> list[Any]:
        for question in value:
            allowed = PROFILE_FIELDS.get(question.profile or "")
            if allowed and question.kind not in allowed:
                raise PydanticCustomError(
                    "profile_kind",
                    "question '{question_id}' fills profile field '{field}', which needs a "
                    "{allowed} question, not {kind}",
                    {
                        "question_id": question.id,
                        "field": question.profile,
                        "allowed": " or ".join(allowed),
                        "kind": question.kind,
                    },
                )
        return value

    @field_validator("questions")
    @classmethod
    def _unique_question_ids(cls, value: list[Any]) -> list[Any]:
        first_index: dict[str, int] = {}
        for index, question in enumerate(value, start=1):
            if question.id in first_index:
                raise PydanticCustomError(
                    "duplicate_question_id",
                    "duplicate question id '{question_id}' (already used by question #{first})",
                    {"question_id": question.id, "first": first_index[question.id], "index": index},
                )
            first_index[question.id] = index
        return value

    def get_question(self, question_id: str) -> Question:
        """Look a question up by id; raises KeyError if the job has no such question."""
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class JobFileError(ValueError):
    """A job file that cannot be used, described so that a recruiter can fix it.

    ``question`` is the question's id when the file gives one, else its 1-based position;
    ``question_index`` is always the 1-based position (or None). ``errors`` holds every problem
    found (each a complete message like ``str(self)``), the first being this one, so a CLI can
    list them all in one go instead of making the user fix them one at a time.
    """

    def __init__(
        self,
        path: Path | str,
        message: str,
        *,
        question: str | int | None = None,
        question_index: int | None = None,
        field: str | None = None,
        errors: list[str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.message = message
        self.question = question
        self.question_index = question_index
        self.field = field
        super().__init__(self._render())
        self.errors: list[str] = list(errors) if errors else [self._render()]

    def _render(self) -> str:
        parts = [str(self.path)]
        if isinstance(self.question, str):
            where = f"question '{self.question}'"
            if self.question_index is not None:
                where += f" (#{self.question_index})"
            parts.append(where)
        elif self.question is not None:
            parts.append(f"question #{self.question}")
        if self.field:
            parts.append(f"field '{self.field}'")
        parts.append(self.message)
        return ": ".join(parts)

    def __str__(self) -> str:
        return self._render()


def _describe_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _friendly_message(
    err: dict[str, Any], model: type[BaseModel] | None, field: str | None, kind_label: str
) -> str:
    """Turn one pydantic error into a sentence; keeps pydantic's wording where it is clear."""
    etype = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if etype == "union_tag_invalid":
        return f"unknown kind {ctx.get('tag')!r}; valid kinds are: {', '.join(QUESTION_KINDS)}"
    if etype == "union_tag_not_found":
        return f"missing 'kind'; valid kinds are: {', '.join(QUESTION_KINDS)}"
    if etype == "extra_forbidden":
        allowed = sorted(model.model_fields) if model is not None else []
        hint = ""
        close = difflib.get_close_matches(field or "", allowed, n=1, cutoff=0.6)
        if close:
            hint = f"; did you mean '{close[0]}'?"
        listing = f" (allowed fields{kind_label}: {', '.join(allowed)})" if allowed else ""
        return f"unknown field{hint}{listing}"
    if etype == "missing":
        if field and field.endswith("reference_answer"):
            return 'is required (use reference_answer: "" if there is no model answer)'
        return "is required but missing"
    if etype == "string_type":
        if isinstance(value, bool) or value is None:
            return (
                f"must be text, but YAML read {_describe_value(value)}: put the value in quotes "
                "(YAML turns unquoted yes/no/on/off/true/false/null into non-text values)"
            )
        if isinstance(value, int | float):
            return f"must be text, got the number {value!r}: put the value in quotes"
        return f"must be text, got {type(value).__name__}"
    if etype == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if etype == "string_too_long":
        length = len(value) if isinstance(value, str) else "?"
        return f"is too long: at most {ctx.get('max_length')} characters (got {length})"
    if etype == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s), got {ctx.get('actual_length')}"
    if etype == "too_long":
        return f"must have at most {ctx.get('max_length')} items, got {ctx.get('actual_length')}"
    if etype in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a mapping of fields, got {_describe_value(value)}"
    if etype == "list_type":
        return f"must be a list, got {_describe_value(value)}"
    message: str = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message


def _error_from_pydantic(path: Path, data: Any, err: dict[str, Any]) -> JobFileError:
    """Locate one pydantic error in the job file: which question, which field."""
    loc = list(err["loc"])
    question: str | int | None = None
    question_index: int | None = None
    model: type[BaseModel] | None = JobDefinition
    kind_label = ""
    ctx = err.get("ctx") or {}
    if err["type"] == "duplicate_question_id":
        # Raised on the whole list; point at the second question that uses the id.
        question_index = int(ctx["index"])
        return JobFileError(
            path,
            f"duplicate question id '{ctx['question_id']}' (already used by question "
            f"#{ctx['first']})",
            question=ctx["question_id"],
            question_index=question_index,
            field="id",
        )
    if len(loc) >= 2 and loc[0] == "questions" and isinstance(loc[1], int):
        question_index = loc[1] + 1
        question = question_index
        raw = None
        if isinstance(data, dict) and isinstance(data.get("questions"), list):
            items = data["questions"]
            raw = items[loc[1]] if loc[1] < len(items) else None
        if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"].strip():
            question = raw["id"].strip()
        loc = loc[2:]
        model = None
        if loc and loc[0] in _KIND_MODELS:
            model = _KIND_MODELS[str(loc[0])]
            kind_label = f" for a {loc[0]} question"
            loc = loc[1:]
        if not loc and err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = ["kind"]
    elif loc and loc[0] == "organization":
        model = Organization
        kind_label = " for organization"

    item_suffix = ""
    while loc and isinstance(loc[-1], int):
        item_suffix = f"item #{loc[-1] + 1}: " + item_suffix
        loc = loc[:-1]
    field = ".".join(str(part) for part in loc) or None
    last_field = str(loc[-1]) if loc else None
    message = item_suffix + _friendly_message(err, model, last_field, kind_label)
    return JobFileError(
        path, message, question=question, question_index=question_index, field=field
    )


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys.

    Plain YAML keeps the last of two identical keys, so a copy-pasted ``prompt:`` would silently
    replace the first one; in a job file that is always a mistake.
    """


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:  # unhashable key; let the normal constructor report it
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise JobFileError(path, "file not found") from None
    except IsADirectoryError:
        raise JobFileError(path, "is a directory, not a job file") from None
    except OSError as exc:
        raise JobFileError(path, f"cannot read file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JobFileError(
            path, f"file is not valid UTF-8 text (bad byte at offset {exc.start})"
        ) from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        if problem.startswith("found duplicate key"):
            key = problem.removeprefix("found duplicate key ")
            raise JobFileError(
                path, f"duplicate key {key}{where}: each key may appear only once per mapping"
            ) from None
        raise JobFileError(
            path, f"YAML syntax error{where}: {problem} (check indentation and quoting)"
        ) from None
    except yaml.YAMLError as exc:
        raise JobFileError(path, f"YAML syntax error: {exc}") from None


def load_job_file(path: Path | str) -> JobDefinition:
    """Load and validate one job file.

    Raises :class:`JobFileError` describing the first problem, with every problem found in
    ``errors``.
    """
    path = Path(path)
    data = _read_yaml(path)
    if data is None:
        raise JobFileError(path, "file is empty; expected a job definition (id, title, ...)")
    if not isinstance(data, dict):
        raise JobFileError(
            path,
            "the top level must be a mapping of job fields (id, organization, title, ...), "
            f"not a {_yaml_type_name(data)}",
        )
    try:
        return JobDefinition.model_validate(data)
    except ValidationError as exc:
        problems = [_error_from_pydantic(path, data, err) for err in exc.errors(include_url=False)]
        first = problems[0]
        first.errors = [str(problem) for problem in problems]
        raise first from None


def _yaml_type_name(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "plain string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def load_job_path(path: Path | str) -> list[tuple[Path, JobDefinition]]:
    """Load a single job file, or every ``*.yaml``/``*.yml`` file in a directory (sorted).

    All files are validated before anything is raised, so the raised error's ``errors`` lists the
    problems of every broken file. Two files defining the same job id are an error, because the
    id is what links stored interviews back to their job.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(
            p for p in path.iterdir() if p.is_file() and p.suffix.lower() in (".yaml", ".yml")
        )
        if not files:
            raise JobFileError(path, "directory contains no *.yaml or *.yml job files")
    elif path.exists():
        files = [path]
    else:
        raise JobFileError(path, "no such file or directory")

    loaded: list[tuple[Path, JobDefinition]] = []
    failures: list[JobFileError] = []
    owner: dict[str, Path] = {}
    for file in files:
        try:
            job = load_job_file(file)
        except JobFileError as exc:
            failures.append(exc)
            continue
        if job.id in owner:
            failures.append(
                JobFileError(
                    file,
                    f"duplicate job id '{job.id}': already defined in {owner[job.id]}",
                    field="id",
                )
            )
            continue
        owner[job.id] = file
        loaded.append((file, job))
    if failures:
        first = failures[0]
        first.errors = [message for failure in failures for message in failure.errors]
        raise first
    return loaded


def content_hash(job: JobDefinition) -> str:
    """SHA-256 of the job's canonical JSON.

    Stored with each interview so that answers can be tied to the exact questions that were asked,
    and so that an edited job file is noticed. Insensitive to YAML formatting and key order.
    """
    # The organization's retention policy is not part of what was asked: changing it updates
    # the organization row on import without making a new job version.
    dumped = job.model_dump(mode="json", exclude={"organization": {"retention_days"}})
    canonical = json.dumps(dumped, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def is_scored(question: Any) -> bool:
    """Whether a question's answer gets an AI score (see `FreeTextQuestion.scored`)."""
    return isinstance(question, FreeTextQuestion) and question.scored


def assessed_kind(question: Any) -> str:
    """The question's kind as feedback and reports treat it: a free-text question that is not
    scored (no rubric, or a profile question) is a "note"."""
    if question.kind == "free_text" and not is_scored(question):
        return "note"
    return str(question.kind)
