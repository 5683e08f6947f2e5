"""`/parley-override`: what the recruiter typed, read into one override request, and the
application reference resolved to one application of their organization.

Why separate from the Slack handler: the parsing runs before Slack's 3-second
acknowledgement and must not touch the database, and both halves are rules worth testing
on their own (what a reference may look like, which applications it may name). The
override itself — permissions, organization, the standing row's lock, the decision log,
the audit — is `oversight.overrides.OverrideService`; nothing here decides anything.

A reference is what the shortlist shows: the first 8 hex characters of the application id
(`employers.decisions._ref`), or the full id (as in the shortlist's button values). Only
lowercase hex of 6 to 32 characters is accepted, so nothing typed ever reaches a query or a
reply except a string of hex digits. A shorter reference is matched as a prefix among the
applications the organization may see (`employers.shortlist.visible_conditions`), so a
reference never tells anyone that another organization's application exists; a full id
goes to the service as it is, whose gate denies and audits another organization's
application exactly as it does for a forged button.

Messages here are plain text: the Slack side escapes whatever it sends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from employers.decisions import MAX_REASON_CHARS
from employers.shortlist import visible_conditions
from storage.models import Application, Candidate, Job

COMMAND = "/parley-override"
KNOCKOUT = "knockout"
SCORE = "score"
RANK = "rank"
UNPIN = "unpin"
ACTIONS = (KNOCKOUT, SCORE, RANK, UNPIN)

REF_RE = re.compile(r"^[0-9a-f]{6,32}$")
FULL_ID_LENGTH = 32
SCORE_RE = re.compile(r"^\d{1,3}$")
RANK_RE = re.compile(r"^\d{1,4}$")
MAX_RANK = 1000  # oversight.overrides.MAX_RANK (not imported: it would load the service)

USAGE = (
    f"Usage: `{COMMAND} <application> <override> <reason>`\n"
    "• `<application>` — the reference the shortlist shows (e.g. `3f9a1c2e`) or the full id\n"
    "• `knockout <reason>` — reinstate an application the knockout rules stopped\n"
    "• `score <0-100> <reason>` — set the score instead of the AI's\n"
    f"• `rank <1-{MAX_RANK}> <reason>` — pin the application at that place in its shortlist\n"
    "• `unpin <reason>` — remove a pinned rank (the score decides again)\n"
    f"Every override needs a reason (up to {MAX_REASON_CHARS:,} characters); it is kept in "
    "the decision log."
)
REASON_MISSING = "Please give a reason for the override. Nothing was changed."
SCORE_PROBLEM = "The score must be a whole number from 0 to 100. Nothing was changed."
RANK_PROBLEM = f"The rank must be a whole number from 1 to {MAX_RANK}. Nothing was changed."


class OverrideUsage(ValueError):
    """The command could not be understood; the message (plain text, never an echo of
    what was typed) says why and shows the usage. `asked` is True for an explicit request
    for the usage (empty or `help`), which is not a mistake worth auditing."""

    def __init__(self, problem: str = "", *, asked: bool = False) -> None:
        self.problem = problem
        self.asked = asked
        super().__init__(f"{problem}\n{USAGE}" if problem else USAGE)


class UnknownRef(LookupError):
    """No application of the organization matches the reference (or, for a prefix, more
    than one does: `ambiguous`)."""

    def __init__(self, ref: str, *, ambiguous: bool = False) -> None:
        self.ref = ref
        self.ambiguous = ambiguous
        if ambiguous:
            message = (
                f"More than one application starts with `{ref}`; please give more characters "
                "of the reference (or the full id). Nothing was changed."
            )
        else:
            message = f"No application `{ref}` in your organization's shortlists."
        super().__init__(message)


@dataclass(frozen=True)
class OverrideRequest:
    """One override as typed: the reference (validated hex), the kind (`knockout`,
    `score`, `rank`, `unpin`), its number for `score`/`rank`, and the reason as typed
    (the service removes control characters and checks its length)."""

    ref: str
    action: str
    value: int | None
    reason: str


def parse(text: object) -> OverrideRequest:
    """`<ref> knockout|score N|rank N|unpin <reason…>`. Raises OverrideUsage for anything
    else: empty or `help` (the usage), a malformed reference or override, a number out of
    range, a missing reason. Pure: no I/O, so it runs before the acknowledgement."""
    if not isinstance(text, str):
        raise OverrideUsage()
    words = text.strip().split(None, 2)
    if not words or (len(words) == 1 and words[0].lower() == "help"):
        raise OverrideUsage(asked=True)
    raw_ref = words[0]
    ref = raw_ref.lower() if raw_ref.isascii() else raw_ref
    if not REF_RE.fullmatch(ref):
        raise OverrideUsage(
            "The application reference is 6 to 32 hex characters, as the shortlist shows it."
        )
    if len(words) < 2:
        raise OverrideUsage("Say which override: knockout, score, rank or unpin.")
    action = words[1].lower() if words[1].isascii() else ""
    if action not in ACTIONS:
        raise OverrideUsage("Say which override: knockout, score, rank or unpin.")
    rest = words[2] if len(words) > 2 else ""
    value: int | None = None
    if action in (SCORE, RANK):
        parts = rest.split(None, 1)
        number = parts[0] if parts else ""
        rest = parts[1] if len(parts) > 1 else ""
        if action == SCORE:
            if not SCORE_RE.fullmatch(number) or int(number) > 100:
                raise OverrideUsage(SCORE_PROBLEM)
        elif not RANK_RE.fullmatch(number) or not 1 <= int(number) <= MAX_RANK:
            raise OverrideUsage(RANK_PROBLEM)
        value = int(number)
    reason = rest.strip()
    if not reason:
        raise OverrideUsage(REASON_MISSING)
    return OverrideRequest(ref=ref, action=action, value=value, reason=reason)


def resolve_ref(s: Session, organization_id: int, ref: str) -> str:
    """The id of the one application of the organization that `ref` names. A full id is
    returned as it is (the service's gate checks it, and denies and audits another
    organization's); a shorter reference must be the prefix of exactly one application the
    organization may see, else UnknownRef (`ambiguous` when several match)."""
    if not REF_RE.fullmatch(ref):
        raise UnknownRef(ref[:8] if ref.isascii() and ref.isalnum() else "?")
    if len(ref) == FULL_ID_LENGTH:
        return ref
    found = list(
        s.scalars(
            select(Application.id)
            .join(Candidate, Candidate.id == Application.candidate_id)
            .join(Job, Job.id == Application.job_id)
            .where(
                Application.id.startswith(ref, autoescape=True),
                Job.organization_id == organization_id,
                *visible_conditions(),
            )
            .order_by(Application.id)
            .limit(2)
        )
    )
    if not found:
        raise UnknownRef(ref)
    if len(found) > 1:
        raise UnknownRef(ref, ambiguous=True)
    return found[0]
