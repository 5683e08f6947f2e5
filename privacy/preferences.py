"""The candidate's privacy settings: who may hear recordings, who may see the profile, how
long recordings are kept, and the region that decides their legal deadlines.

Defaults are the privacy-friendly choice (employers get transcripts only; only employers of
jobs applied to see the profile; recordings kept 12 months), so a candidate who never opens
the settings is protected. Each change is logged as a `settings` request, because changing
what an employer may see is the candidate exercising a right. The `employer_may_*` helpers are
what employer-facing views (the Slack issue) must ask before showing anything.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy.requests import CCPA_REGIONS, DEADLINE_DAYS, Kind, complete, law_for, open_request
from storage.db import Database
from storage.models import Application, Candidate, Job
from storage.repositories import CandidateRepository, channel_of

NOTHING_STORED = "I have nothing stored about you, so there are no settings to change yet."

TRANSCRIPTS_ONLY = "transcripts_only"
RECORDINGS = "recordings"
APPLIED_ONLY = "applied_only"
ALL_EMPLOYERS = "all_employers"

MIN_RETENTION_MONTHS = 1
MAX_RETENTION_MONTHS = 24
DEFAULT_RETENTION_MONTHS = 12

REGIONS = ("eu", "uk", "us-ca", "us", "other")
REGION_NAMES = {
    "eu": "the European Union",
    "uk": "the United Kingdom",
    "us-ca": "California (USA)",
    "us": "the USA (outside California)",
    "other": "another country",
}
# What people type for each region.
_REGION_ALIASES = {
    "europe": "eu",
    "european union": "eu",
    "gb": "uk",
    "great britain": "uk",
    "united kingdom": "uk",
    "england": "uk",
    "scotland": "uk",
    "wales": "uk",
    "northern ireland": "uk",
    "california": "us-ca",
    "ca": "us-ca",
    "us-california": "us-ca",
    "usa": "us",
    "united states": "us",
    "america": "us",
    "elsewhere": "other",
}


def _candidate(s: Session, sender_id: str) -> Candidate | None:
    candidate = CandidateRepository(s).by_sender(sender_id)
    if candidate is None or candidate.erased_at is not None:
        return None
    return candidate


def _change(
    db: Database, sender_id: str, setting: str, value: object, already: str, done: str
) -> str:
    """Set one candidate column; a setting that already has the value changes nothing."""
    with db.transaction() as s:
        candidate = _candidate(s, sender_id)
        if candidate is None:
            return NOTHING_STORED
        before = getattr(candidate, setting)
        if before == value:
            return already
        setattr(candidate, setting, value)
        request = open_request(
            s,
            candidate,
            Kind.SETTINGS,
            channel_of(sender_id),
            detail={"setting": setting, "from": before, "to": value},
        )
        complete(request)
        return done


def set_recordings_access(db: Database, sender_id: str, allow: bool) -> str:
    """Whether employers may listen to the recordings of spoken answers (default: no, they
    get the transcripts only)."""
    if allow:
        return _change(
            db,
            sender_id,
            "recordings_access",
            RECORDINGS,
            "Employers you apply to can already listen to your recordings.",
            "Done — employers you apply to may now listen to the recordings of your spoken "
            "answers, as well as read the transcripts. Say 'transcripts only' to undo it.",
        )
    return _change(
        db,
        sender_id,
        "recordings_access",
        TRANSCRIPTS_ONLY,
        "Employers already get transcripts only: no one listens to your recordings.",
        "Done — employers get the transcripts of your spoken answers only, never the recordings.",
    )


def set_visibility(db: Database, sender_id: str, all_employers: bool) -> str:
    """Whether employers of jobs the candidate did not apply to may see their profile
    (default: no — only the employers they applied to)."""
    if all_employers:
        return _change(
            db,
            sender_id,
            "profile_visibility",
            ALL_EMPLOYERS,
            "Your profile is already visible to employers of other jobs too.",
            "Done — employers of jobs you haven't applied to may now see your profile, so "
            "they can invite you. Say 'hide my profile' to undo it.",
        )
    return _change(
        db,
        sender_id,
        "profile_visibility",
        APPLIED_ONLY,
        "Your profile is already visible only to the employers you applied to.",
        "Done — only the employers you applied to can see your profile.",
    )


def set_recording_retention(db: Database, sender_id: str, months: int) -> str:
    """How many months recordings are kept (1–24, default 12); the purge job deletes older
    ones, so shortening it deletes recordings that are now too old at the next run."""
    if isinstance(months, bool) or not isinstance(months, int):
        return (
            f"Please tell me a whole number of months between {MIN_RETENTION_MONTHS} and "
            f"{MAX_RETENTION_MONTHS}."
        )
    if not MIN_RETENTION_MONTHS <= months <= MAX_RETENTION_MONTHS:
        return (
            f"Recordings can be kept for {MIN_RETENTION_MONTHS} to {MAX_RETENTION_MONTHS} "
            f"months (the default is {DEFAULT_RETENTION_MONTHS}), so I can't set {months}. "
            "Nothing was changed. To delete your recordings now, say 'delete my recordings'."
        )
    unit = "month" if months == 1 else "months"
    return _change(
        db,
        sender_id,
        "recording_retention_months",
        months,
        f"Your recordings are already kept for {months} {unit}.",
        f"Done — your recordings will be kept for {months} {unit} and then deleted "
        "automatically (older ones go at the next clean-up).",
    )


def normalise_region(region: str | None) -> str | None:
    """'California' → 'us-ca'; None when it names no region we know."""
    key = " ".join((region or "").strip().lower().replace("_", "-").split())
    if key in REGIONS:
        return key
    return _REGION_ALIASES.get(key.replace("-", " ")) or _REGION_ALIASES.get(key)


def set_region(db: Database, sender_id: str, region: str) -> str:
    """Where the candidate lives: it decides which law's deadline applies to their
    requests (45 days under the CCPA for California, otherwise the GDPR's 30). Requests
    already received keep the deadline they were given."""
    code = normalise_region(region)
    if code is None:
        options = ", ".join(f"'{r}'" for r in REGIONS)
        return f"I don't know that region. Please choose one of {options}. Nothing was changed."
    days = DEADLINE_DAYS[law_for(code)]
    return _change(
        db,
        sender_id,
        "region",
        code,
        f"Your region is already set to {REGION_NAMES[code]}.",
        f"Done — your region is {REGION_NAMES[code]}: we answer your privacy requests within "
        f"{days} days.",
    )


def describe(db: Database, sender_id: str) -> str:
    """All of the candidate's privacy settings, in words."""
    with db.transaction() as s:
        candidate = _candidate(s, sender_id)
        if candidate is None:
            return (
                "I have nothing stored about you. When you apply, the defaults are: employers "
                "get transcripts only (no recordings), only employers you apply to see your "
                f"profile, and recordings are kept {DEFAULT_RETENTION_MONTHS} months."
            )
        recordings = (
            "employers you apply to may listen to your recordings"
            if candidate.recordings_access == RECORDINGS
            else "employers get transcripts only, never your recordings"
        )
        visibility = (
            "employers of other jobs may see your profile too"
            if candidate.profile_visibility == ALL_EMPLOYERS
            else "only the employers you applied to see your profile"
        )
        months = candidate.recording_retention_months
        region = candidate.region if candidate.region in REGIONS else "other"
        law = "CCPA" if region in CCPA_REGIONS else "GDPR"
        ai = (
            "opted out — a person reviews your answers"
            if candidate.ai_opt_out
            else "on — the model scores your answers and a person reviews the results"
        )
        consent = (
            "withdrawn — we don't process your data"
            if candidate.consent_withdrawn_at is not None
            else "given"
        )
        return "\n".join(
            [
                "Your privacy settings:",
                f"• Recordings: {recordings}.",
                f"• Profile: {visibility}.",
                f"• Recordings are kept {months} month{'s' if months != 1 else ''}.",
                f"• Region: {REGION_NAMES[region]} ({law}: requests answered within "
                f"{DEADLINE_DAYS[law_for(region)]} days).",
                f"• AI scoring: {ai}.",
                f"• Consent: {consent}.",
            ]
        )


# --------------------------------------------------------------------------- employer side
def employer_may_hear_recordings(candidate: Candidate) -> bool:
    """May an employer play this candidate's recordings (rather than read transcripts)?"""
    return candidate.erased_at is None and candidate.recordings_access == RECORDINGS


def employer_may_see_profile(s: Session, candidate: Candidate, organization_id: int) -> bool:
    """May this organization see the candidate's profile? Always for a real application to
    one of its jobs; for anyone else only if the candidate made the profile visible to all
    employers. Never after "delete everything" or a withdrawn consent."""
    if candidate.erased_at is not None or candidate.consent_withdrawn_at is not None:
        return False
    applied = s.scalar(
        select(Application.id)
        .join(Job, Job.id == Application.job_id)
        .where(
            Application.candidate_id == candidate.id,
            Application.mode == "application",
            Job.organization_id == organization_id,
        )
        .limit(1)
    )
    return applied is not None or candidate.profile_visibility == ALL_EMPLOYERS
