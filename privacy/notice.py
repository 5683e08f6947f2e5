"""The privacy notice shown before any question, and its version.

The version is recorded with every consent, so we can always say which text a candidate agreed
to. Publishing new versions (and asking for re-consent on major changes) is the Privacy issue.
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
    "You are talking to an automated interviewer. Your answers are scored by an AI model, a "
    "person at {organization} reviews the results, and you can ask for a human at any time "
    "(type 'human')."
)


def notice_summary(organization: str) -> str:
    return NOTICE_SUMMARY.format(version=NOTICE_VERSION, organization=organization)


def ai_disclosure(organization: str) -> str:
    return AI_DISCLOSURE.format(organization=organization)
