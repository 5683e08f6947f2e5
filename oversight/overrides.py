"""A person overriding the tool: reinstate a knocked-out application, set its score, pin its
place in the shortlist — each with a reason.

Why on top of `employers.decisions.DecisionService`: an override is a decision by a person at
the employer, and it must pass the same rules in the same order as every other one — the
application is of their organization and a real application (else denied and audited), the
role may act (viewers may not), the candidate is still in the process, and the standing row
is locked so two people (or a double click) cannot both change it. Reusing the service's
gate, lock and record keeps one implementation of those rules; what is new here is only what
each override changes on `application_reviews`.

Every override needs a reason (1 to 1,000 characters, control characters removed); it is
stored sealed in `employer_decisions` and in the decision log (oversight/decision_log.py,
written by the service's `_decide`), together with who decided and what the tool had said.
The override never rewrites what the tool computed: the AI score and the knockout stay in
their rows, the shortlist reads the override next to them.

An open human review still blocks any rejection (employers.decisions): overriding a score
or a rank does not resolve a review, and reinstating a knockout is never a rejection.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from employers.decisions import (
    FINISHED,
    MAX_REASON_CHARS,
    DecisionService,
    Outcome,
    _ai_overall,
    _lock,
    _pct,
    _ref,
    clean_text,
    parse_override,
)
from employers.orgs import Employer
from oversight.decision_log import KNOCKOUT_OVERRIDE, RANK_OVERRIDE, SCORE_OVERRIDE
from storage.models import Application

log = logging.getLogger(__name__)

# employer_audit.action
ACTION_OVERRIDE_KNOCKOUT = "override_knockout"
ACTION_OVERRIDE_SCORE = "override_score"
ACTION_OVERRIDE_RANK = "override_rank"

MAX_RANK = 1000  # a shortlist shows at most this many (employers.shortlist.MAX_TOP)
KNOCKED_OUT = "knocked_out"

REASON_NEEDED = (
    f"Please give a reason for the override (1 to {MAX_REASON_CHARS:,} characters). "
    "Nothing was changed."
)


def parse_rank(value: object) -> tuple[int | None, str | None]:
    """A pinned position as people give it: a whole number from 1 (top) to `MAX_RANK`
    (text from a form or the terminal is accepted). Returns (rank, problem)."""
    problem = f"The rank must be a whole number from 1 to {MAX_RANK}."
    if isinstance(value, bool) or value is None:
        return None, problem
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"\d{1,4}", text):
            return None, problem
        value = int(text)
    if not isinstance(value, int) or not 1 <= value <= MAX_RANK:
        return None, problem
    return value, None


class OverrideService(DecisionService):
    """Knockout, score and rank overrides by a recruiter or admin (see the module
    docstring). Each call is one transaction; each returns an `Outcome`."""

    def _reason(
        self, s: Session, employer: Employer, app: Application, action: str, reason: str
    ) -> tuple[str | None, Outcome | None]:
        """The cleaned reason, or the refusal (recorded) when it is missing or unusable:
        every override needs one."""
        note = clean_text(reason)
        if note is None:
            return None, self._invalid(
                s, employer, app, action, "missing or bad reason", REASON_NEEDED
            )
        return note, None

    def override_knockout(self, employer: Employer, application_id: str, reason: str) -> Outcome:
        """Reinstate an application the knockout rules stopped: the shortlist ranks it as not
        knocked out from now on (its AI score stays what the model gave; a person may set
        one with a score override). Only for an application that was knocked out."""
        with self.db.transaction() as s:
            app, refused = self._gate(s, employer, application_id, ACTION_OVERRIDE_KNOCKOUT)
            if refused is not None:
                return refused
            assert app is not None
            note, refused = self._reason(s, employer, app, ACTION_OVERRIDE_KNOCKOUT, reason)
            if refused is not None:
                return refused
            if app.status != KNOCKED_OUT:
                status = app.status.replace("_", " ")
                return self._invalid(
                    s,
                    employer,
                    app,
                    ACTION_OVERRIDE_KNOCKOUT,
                    "not knocked out",
                    f"Application {_ref(app.id)} was not knocked out (it is {status}): there "
                    "is no knockout to override. Nothing was changed.",
                )
            standing = _lock(s, app.id)
            if standing.knockout_overridden_at is not None:
                return self._same(
                    s,
                    employer,
                    app,
                    ACTION_OVERRIDE_KNOCKOUT,
                    f"Already reinstated: the knockout of application "
                    f"{_ref(app.id)} was overridden before.",
                )
            standing.knockout_overridden_at = datetime.now(UTC)
            standing.knockout_override_by = employer.actor[:200]
            self._decide(s, employer, app, KNOCKOUT_OVERRIDE, reason=note)
            self._allowed(s, employer, app, ACTION_OVERRIDE_KNOCKOUT, "knockout overridden")
            return Outcome(
                True,
                f"Knockout overridden: application {_ref(app.id)} ({app.job.title}) is ranked "
                "as not knocked out from now on; its AI score stays as computed. The candidate "
                "has not been told: advance or invite them to book to move on.",
                changed=True,
            )

    def override_score(
        self, employer: Employer, application_id: str, score: object, reason: str
    ) -> Outcome:
        """Set the score a person decided (0–100) instead of the AI's, without a review
        (a review, when one is open, is resolved with `resolve_review`)."""
        with self.db.transaction() as s:
            app, refused = self._gate(s, employer, application_id, ACTION_OVERRIDE_SCORE)
            if refused is not None:
                return refused
            assert app is not None
            note, refused = self._reason(s, employer, app, ACTION_OVERRIDE_SCORE, reason)
            if refused is not None:
                return refused
            value, problem = parse_override(score)
            if value is None:
                return self._invalid(
                    s,
                    employer,
                    app,
                    ACTION_OVERRIDE_SCORE,
                    "bad score",
                    f"{problem or 'Give the score: a whole number from 0 to 100.'} "
                    "Nothing was changed.",
                )
            if app.status not in FINISHED:
                return self._invalid(
                    s,
                    employer,
                    app,
                    ACTION_OVERRIDE_SCORE,
                    "not finished",
                    f"The interview of application {_ref(app.id)} is not finished yet; set "
                    "its score once it is. Nothing was changed.",
                )
            standing = _lock(s, app.id)
            new_score = value / 100
            if (
                standing.override_score is not None
                and abs(standing.override_score - new_score) < 1e-9
            ):
                return self._same(
                    s,
                    employer,
                    app,
                    ACTION_OVERRIDE_SCORE,
                    f"Already done: the score of application {_ref(app.id)} is {value}/100.",
                )
            ai = _ai_overall(s, app.id)
            standing.override_score = new_score
            standing.override_by = employer.actor[:200]
            self._decide(
                s, employer, app, SCORE_OVERRIDE, reason=note, old_score=ai, new_score=new_score
            )
            self._allowed(s, employer, app, ACTION_OVERRIDE_SCORE, "score overridden")
            return Outcome(
                True,
                f"Score of application {_ref(app.id)} set to {value}/100 (AI score: {_pct(ai)}).",
                changed=True,
            )

    def override_rank(
        self,
        employer: Employer,
        application_id: str,
        rank: object,
        reason: str,
        *,
        clear: bool = False,
    ) -> Outcome:
        """Pin the application at `rank` (1 = top) of the job's shortlist, whatever its
        score; `clear=True` removes the pin (the score decides again). Both need a reason."""
        with self.db.transaction() as s:
            app, refused = self._gate(s, employer, application_id, ACTION_OVERRIDE_RANK)
            if refused is not None:
                return refused
            assert app is not None
            note, refused = self._reason(s, employer, app, ACTION_OVERRIDE_RANK, reason)
            if refused is not None:
                return refused
            value: int | None = None
            if not clear:
                value, problem = parse_rank(rank)
                if value is None:
                    return self._invalid(
                        s,
                        employer,
                        app,
                        ACTION_OVERRIDE_RANK,
                        "bad rank",
                        f"{problem} Nothing was changed.",
                    )
            standing = _lock(s, app.id)
            if standing.pinned_rank == value:
                message = (
                    f"Application {_ref(app.id)} has no pinned rank; nothing to clear."
                    if value is None
                    else f"Already done: application {_ref(app.id)} is pinned at rank {value}."
                )
                return self._same(s, employer, app, ACTION_OVERRIDE_RANK, message)
            standing.pinned_rank = value
            standing.rank_pinned_by = employer.actor[:200] if value is not None else None
            self._decide(s, employer, app, RANK_OVERRIDE, reason=note)
            self._allowed(
                s,
                employer,
                app,
                ACTION_OVERRIDE_RANK,
                f"pinned at {value}" if value is not None else "pin cleared",
            )
            if value is None:
                return Outcome(
                    True,
                    f"Pin cleared: application {_ref(app.id)} is ranked by its score again.",
                    changed=True,
                )
            return Outcome(
                True,
                f"Application {_ref(app.id)} ({app.job.title}) is pinned at rank {value} of "
                "its shortlist.",
                changed=True,
            )
