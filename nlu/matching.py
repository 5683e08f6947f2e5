"""Job matching: how well a candidate's profile fits a job, with every factor explained.

Transparent on purpose: each factor is a plain comparison a candidate or recruiter can check
("you have 3 of 4 skills"), weighted and averaged. A factor the candidate gave no information
for is left out of the average and reported as unknown, so silence never counts against them.
Only what the candidate said about skills, experience, place of work, salary and availability
is used — nothing about who they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from screening.job_schema import Matching

WEIGHTS = {"skills": 0.4, "experience": 0.25, "place": 0.2, "salary": 0.15}


@dataclass
class CandidateProfile:
    """What a candidate told us about themselves, gathered from profile-tagged answers."""

    skills: list[str] = field(default_factory=list)
    years_experience: float | None = None
    location: str | None = None
    work_mode: str | None = None  # onsite | hybrid | remote (normalised)
    salary_expectation: float | None = None
    availability: date | None = None

    def is_empty(self) -> bool:
        return not (
            self.skills
            or self.years_experience is not None
            or self.location
            or self.work_mode
            or self.salary_expectation is not None
        )


@dataclass(frozen=True)
class Factor:
    name: str
    score: float | None  # None = unknown (left out of the average)
    reason: str


@dataclass(frozen=True)
class JobMatch:
    job_id: str
    title: str
    score: float
    factors: tuple[Factor, ...]

    def reasons(self) -> list[str]:
        return [f.reason for f in self.factors]


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9+#]+", " ", text.lower()).strip()


def _has_skill(candidate_text: str, skill: str) -> bool:
    """A job skill is matched by a whole-word mention, or by its first five letters for long
    names (so "postgres" matches "PostgreSQL" and "kubernetes/k8s" style variants)."""
    words = _norm(skill).split()
    if not words:
        return False
    if re.search(rf"(^| ){re.escape(' '.join(words))}( |$)", candidate_text):
        return True
    head = words[0]
    return len(head) >= 6 and re.search(rf"(^| ){re.escape(head[:5])}", candidate_text) is not None


def work_mode_of(text: str) -> str | None:
    lowered = text.lower()
    for mode, cues in (
        ("remote", ("remote", "from home", "anywhere")),
        ("hybrid", ("hybrid", "mix", "partly")),
        ("onsite", ("on-site", "onsite", "on site", "office", "in person")),
    ):
        if any(cue in lowered for cue in cues):
            return mode
    return None


def _skills(profile: CandidateProfile, wanted: list[str]) -> Factor:
    if not wanted:
        return Factor("skills", None, "The job lists no specific skills.")
    if not profile.skills:
        return Factor("skills", None, "You haven't told us your skills yet.")
    text = " " + _norm(" ".join(profile.skills)) + " "
    have = [s for s in wanted if _has_skill(text, s)]
    missing = [s for s in wanted if s not in have]
    reason = f"You mention {len(have)} of {len(wanted)} skills the job asks for"
    reason += f" ({', '.join(have)})" if have else ""
    reason += f"; not mentioned: {', '.join(missing)}." if missing else "."
    return Factor("skills", len(have) / len(wanted), reason)


def _experience(profile: CandidateProfile, min_years: float) -> Factor:
    if profile.years_experience is None:
        return Factor("experience", None, "You haven't told us your years of experience yet.")
    years = profile.years_experience
    if min_years <= 0 or years >= min_years:
        return Factor("experience", 1.0, f"{years:g} years of experience meets the requirement.")
    return Factor(
        "experience",
        years / min_years,
        f"{years:g} years of experience; the job asks for {min_years:g}.",
    )


def _place(profile: CandidateProfile, matching: Matching) -> Factor:
    if matching.work_mode == "remote":
        return Factor("place", 1.0, "The job is fully remote.")
    mode = profile.work_mode
    if mode == "remote":
        return Factor("place", 0.2, f"You prefer remote work; this job is {matching.work_mode}.")
    if profile.location and matching.city:
        same = _norm(matching.city).split()[0] in _norm(profile.location)
        if same:
            return Factor("place", 1.0, f"You are based in or near {matching.city}.")
        return Factor("place", 0.4, f"The job is in {matching.city}; you said {profile.location}.")
    if mode is not None:
        return Factor("place", 1.0 if mode == matching.work_mode else 0.6,
                      f"You prefer {mode} work; this job is {matching.work_mode}.")  # fmt: skip
    return Factor("place", None, "You haven't told us where you'd like to work yet.")


def _salary(profile: CandidateProfile, matching: Matching) -> Factor:
    if matching.salary_max is None:
        return Factor("salary", None, "The job has no published budget.")
    if profile.salary_expectation is None:
        return Factor("salary", None, "You haven't told us your salary expectation.")
    want, top = profile.salary_expectation, matching.salary_max
    if want <= top:
        return Factor("salary", 1.0, f"Your expectation ({want:,.0f} {matching.currency}) fits.")
    over = (want - top) / top
    return Factor(
        "salary",
        max(0.0, 1.0 - 2 * over),
        f"Your expectation is {over:.0%} above the budget ({top:,.0f} {matching.currency}).",
    )


def match(profile: CandidateProfile, job_id: str, title: str, matching: Matching) -> JobMatch:
    factors = (
        _skills(profile, matching.skills),
        _experience(profile, matching.min_years),
        _place(profile, matching),
        _salary(profile, matching),
    )
    known = [(WEIGHTS[f.name], f.score) for f in factors if f.score is not None]
    total = sum(w for w, _ in known)
    score = sum(w * (s or 0.0) for w, s in known) / total if total else 0.0
    return JobMatch(job_id, title, round(score, 4), factors)
