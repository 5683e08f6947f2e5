"""The privacy notice shown before any question, and its version.

The version is recorded with every consent, so we can always say which text a candidate agreed
to. `NOTICE_VERSION` is the first published version; later versions are published into the
`notice_versions` table (privacy.notices), and the interview shows and records the version in
force (`privacy.notices.current_version`).
"""

from __future__ import annotations

NOTICE_VERSION = "2026-11-22"

NOTICE_SUMMARY = (
    "Privacy notice (version {version}), in short: we store your answers to screen you for this "
    "job and share them only with {organization}. We never sell your data. Personal data is "
    "kept for the hiring process and deleted on request; you can ask to see, export, correct "
    "or delete it at any time. You must be 16 or older."
)

AI_DISCLOSURE = (
    "You are talking to an automated interviewer, and AI is used. For this job it assesses "
    "{assesses}. It never assesses your voice, face, emotions or personality. A person at "
    "{organization} reviews the results, and you can ask for a human at any time (type "
    "'human'). Need an accommodation or an alternative process without AI? Type "
    "/accommodation to reach a person, or /optout to have a person assess your answers "
    "instead. Our latest bias-audit summary: {audit_url}"
)
# Before any audit summary location is known (a deployment without a web gateway URL).
NO_AUDIT_URL = "ask us with /accommodation"


def notice_summary(organization: str, version: str = NOTICE_VERSION) -> str:
    return NOTICE_SUMMARY.format(version=version, organization=organization)


def ai_disclosure(
    organization: str, *, assesses: str = "your answers", audit_url: str | None = None
) -> str:
    """The AI notice: what the tool assesses for this job, that AI is used, how to ask for an
    accommodation or an alternative process, and where the latest bias-audit summary is."""
    return AI_DISCLOSURE.format(
        organization=organization, assesses=assesses, audit_url=audit_url or NO_AUDIT_URL
    )


# Practice runs have their own notice: nothing is shared with the employer, so the general
# notice's "share them only with {organization}" would be wrong. Consent to it is recorded with
# this version (storage.repositories.PRACTICE_CONSENT_SUFFIX), so it can be told apart from
# consent to a real application and deleted with the practice runs.
PRACTICE_NOTICE_VERSION = NOTICE_VERSION + "+practice"

PRACTICE_NOTICE = (
    "Privacy notice for practice runs (version {version}), in short: This is a practice run: "
    "your answers are scored only to give you feedback; employers never see practice runs; "
    "/practice delete removes them. They are never part of an application or a shortlist, "
    "and we never sell your data. You must be 16 or older."
)

PRACTICE_AI_DISCLOSURE = (
    "You are talking to an automated interviewer. In a practice run an AI model scores your "
    "answers only to give you feedback; no one at {organization} sees them."
)


def practice_notice(version: str = PRACTICE_NOTICE_VERSION) -> str:
    return PRACTICE_NOTICE.format(version=version)


def practice_ai_disclosure(organization: str) -> str:
    return PRACTICE_AI_DISCLOSURE.format(organization=organization)
