"""The booking dialogue: time zone, offered slots, picking or proposing a time, booking,
rescheduling and cancelling — from any channel, driven by rows in the database.

Why the dialogue state lives in `booking_invitations` and not in Rasa slots: the candidate may
answer days later, on another linked channel, after restarts, and the worker sends proactive
messages about it (the calendar is back, an employer's invitation). Rasa only routes messages
here (actions/scheduling.py, and `action_route` for answers to a waiting question).

Offered slots are stored with short random refs; buttons send `slot <ref>`, so a press on an
old list never books a time the candidate did not see. Times are shown in the candidate's
zone, with the interviewer's local time beside them when it differs.
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select

from privacy.consent import processing_allowed
from scheduling.booking import (
    BOOKED,
    AlreadyBooked,
    BookingService,
    CalendarDown,
    NotBookable,
    SchedulingError,
    Slot,
    SlotTaken,
    event_uid,
)
from scheduling.intervals import stored_utc
from scheduling.interviewers import Interviewers
from scheduling.invites import event_ics
from scheduling.proposals import parse_proposal
from scheduling.timezones import describe_slot, guess_timezone, parse_timezone, zone_name_ok
from screening.interview import Reply, definition_of
from storage.db import Database
from storage.models import (
    Application,
    ApplicationScore,
    Booking,
    BookingInvitation,
    ChannelIdentity,
    HumanReview,
    Interviewer,
)

log = logging.getLogger(__name__)

# Invitation states.
ASK_TZ = "ask_timezone"
CONFIRM_TZ = "confirm_timezone"
CHOOSING = "choosing"
CONFIRM_SLOT = "confirm_slot"
CONFIRM_CANCEL = "confirm_cancel"
BOOKED_STATE = "booked"
NO_TIME = "no_time"
CALENDAR_DOWN = "calendar_down"
CLOSED = "closed"
INVITED = "invited"  # told by a proactive message; the candidate starts with /book
WAITING = (ASK_TZ, CONFIRM_TZ, CHOOSING, CONFIRM_SLOT, CONFIRM_CANCEL)
OPEN = (*WAITING, BOOKED_STATE, NO_TIME, CALENDAR_DOWN, INVITED)

NOTHING_TO_BOOK = Reply(
    "There's no interview for you to book at the moment. When an employer would like to talk "
    "with you, you'll get an invitation here."
)
OFFER_COUNT = 5
PER_DAY = 2
MAX_INPUT = 300
# Candidate-friendly local hours, preferred when offering (others still shown if needed).
FRIENDLY_HOURS = range(7, 21)

_YES = re.compile(
    r"^\s*(y|yes|yeah|yep|yup|sure|ok|okay|correct|right|that'?s right|confirm|book it|"
    r"yes,? .*)\s*[.!]*\s*$",
    re.IGNORECASE,
)
_NO = re.compile(r"^\s*(n|no|nope|nah|not really|wrong|no,? .*)\s*[.!]*\s*$", re.IGNORECASE)
_MORE = re.compile(r"\b(more|other|different|later|else|another)\b.*\b(times?|slots?|options?|"
                   r"days?|dates?)\b|^\s*(more|next)\s*[.!]?\s*$", re.IGNORECASE)
_CHANGE_TZ = re.compile(r"\b(time ?zone|timezone|tz)\b", re.IGNORECASE)
_SLOT_REF = re.compile(r"^\s*slot\s+([a-f0-9]{6})\s*$", re.IGNORECASE)
_NUMBER = re.compile(r"^\s*(?:#|no\.?|number|option|slot)?\s*([1-9])\s*[.)]?\s*$", re.IGNORECASE)
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "1st": 1, "2nd": 2,
             "3rd": 3, "4th": 4, "5th": 5}
_ORDINAL = re.compile(r"^\s*(?:the\s+)?(first|second|third|fourth|fifth|1st|2nd|3rd|4th|5th)"
                      r"(?:\s+(?:one|slot|option|time))?(?:\s+please)?\s*[.!]?\s*$", re.I)
_SCHEDULE_WORDS = {
    "cancel": re.compile(r"\b(cancel|call off|can'?t make it|cannot make it)\b", re.I),
    "reschedule": re.compile(r"\b(re-?schedule|move|change|another time|different time)\b", re.I),
    "show": re.compile(r"\b(when is|what time is|show|details|my interview\??$)\b", re.I),
}


@dataclass(frozen=True)
class Attachment:
    """A file for the candidate's channel (the gateways render it: a download, a document)."""

    filename: str
    mime: str
    data: bytes
    caption: str

    def as_json(self) -> dict[str, Any]:
        return {
            "parley": "attachment",
            "filename": self.filename,
            "mime": self.mime,
            "data": base64.b64encode(self.data).decode(),
            "caption": self.caption,
        }


ChatOutput = Reply | Attachment


class Notifier(Protocol):
    def no_availability(self, org_email: str | None, job_title: str, application_ref: str) -> None:
        ...



def _short(start: datetime, tz: str) -> str:
    local = start.astimezone(ZoneInfo(tz))
    return local.strftime("%a %d %b %H:%M").replace(" 0", " ")


class SchedulingChat:
    def __init__(
        self,
        db: Database,
        booking: BookingService | None = None,
        *,
        notifier: Notifier | None = None,
        score_refresh: Callable[[str], Any] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.score_refresh = score_refresh
        self.booking = booking or BookingService(db, Interviewers(db), clock=clock)
        self.notifier = notifier
        self.clock = clock

    # ------------------------------------------------------------------ entry points
    def after_interview(self, sender_id: str, tz_hint: str | None = None) -> list[ChatOutput]:
        """Right after an interview ends: invite a candidate who passed the job's threshold
        to book the next interview (nothing for anyone else). On the phone the call is
        over: the invitation goes to the candidate's linked text chat, if they have one."""
        with self.db.transaction() as s:
            candidate_id = self._candidate(s, sender_id)
            if candidate_id is None:
                return []
            app = s.scalars(
                select(Application)
                .where(Application.candidate_id == candidate_id, Application.mode == "application")
                .order_by(Application.updated_at.desc())
            ).first()
            if app is None or app.status != "completed":
                return []
            app_id = app.id
        if self.score_refresh is not None:
            self.score_refresh(app_id)  # the overall score of the finished interview
        with self.db.transaction() as s:
            app = s.get(Application, app_id)
            assert app is not None
            if not self._passes(s, app) or s.scalars(
                select(BookingInvitation).where(BookingInvitation.application_id == app.id)
            ).first():
                return []
        if sender_id.startswith("voice:"):
            outcome = self.invite(app_id, reason="threshold")
            log.info("booking invitation after a phone interview: %s", outcome)
            return []
        with self.db.transaction() as s:
            app = s.get(Application, app_id)
            assert app is not None
            invitation = BookingInvitation(
                candidate_id=app.candidate_id,
                application_id=app.id,
                sender_id=sender_id,
                reason="threshold",
                status=ASK_TZ,
            )
            s.add(invitation)
            s.flush()
            org = app.job.organization.name
            intro = Reply(
                f"Good news: {org} would like to talk with you. You can book your "
                f"{self._title(app)} right here, at a time that suits you."
            )
            return [intro, *self._ask_timezone(invitation, sender_id, tz_hint)]

    def invite(self, application_id: str, *, reason: str = "employer") -> str:
        """An employer invites a candidate to book (any completed application): the
        invitation arrives through the candidate's channel. Returns what happened."""
        from privacy.outbox import enqueue

        with self.db.transaction() as s:
            app = s.get(Application, application_id)
            if app is None or app.mode != "application":
                return "unknown application"
            if app.status != "completed":
                return f"the application is {app.status}, not completed"
            if not processing_allowed(app.candidate):
                return "the candidate withdrew consent or asked for deletion"
            if not Interviewers.for_job(s, app.job):
                return "no active interviewer holds interviews for this job (parley calendars add)"
            existing = s.scalars(
                select(BookingInvitation).where(BookingInvitation.application_id == app.id)
            ).first()
            if existing is not None and existing.status in OPEN:
                return f"already invited ({existing.status})"
            sender = self._reply_channel(s, app.candidate_id)
            if sender is None:
                return "the candidate has no chat channel to receive the invitation"
            if existing is None:
                existing = BookingInvitation(
                    candidate_id=app.candidate_id, application_id=app.id, sender_id=sender,
                    reason=reason, status=INVITED,
                )
                s.add(existing)
            existing.status, existing.reason, existing.offers = INVITED, reason, None
            org = app.job.organization.name
            enqueue(
                s, app.candidate_id, sender, "booking_invitation",
                f"Good news: {org} would like to talk with you about {app.job.title}. "
                "Send /book to choose a time for your interview.",
            )
            return "invited"

    def is_waiting(self, sender_id: str) -> bool:
        with self.db.transaction() as s:
            return self._open_invitation(s, sender_id, WAITING) is not None

    def pending_input(
        self, sender_id: str, text: str, intent: str | None = None, tz_hint: str | None = None
    ) -> list[ChatOutput] | None:
        """Answer what the booking dialogue waits for; None when it waits for nothing (or
        the message is clearly about something else)."""
        if intent in ("list_jobs", "job_fit", "start", "practice", "help"):
            return None
        text = (text or "").strip()[:MAX_INPUT]
        with self.db.transaction() as s:
            invitation = self._open_invitation(s, sender_id, WAITING)
            if invitation is None:
                return None
            inv_id = invitation.id
            status = invitation.status
        if status in (ASK_TZ, CONFIRM_TZ):
            return self._timezone_answer(inv_id, sender_id, text, intent, tz_hint)
        if status == CONFIRM_CANCEL:
            return self._cancel_answer(inv_id, sender_id, text, intent)
        if status == CONFIRM_SLOT:
            return self._slot_confirmation(inv_id, sender_id, text, intent)
        return self._choice(inv_id, sender_id, text)

    def command(
        self, sender_id: str, what: str, text: str = "", tz_hint: str | None = None
    ) -> list[ChatOutput]:
        """`/book`, `/reschedule`, `/cancel_interview`, `/interview`, or the same in words."""
        what = what if what in ("book", "reschedule", "cancel", "show") else self._guess(text)
        with self.db.transaction() as s:
            invitation = self._open_invitation(s, sender_id, OPEN)
            if invitation is None:
                return [NOTHING_TO_BOOK]
            inv_id, status, tz = invitation.id, invitation.status, invitation.timezone
            booking = self._active_booking(s, invitation.application_id)
            booking_id = booking.id if booking else None
        if what == "show":
            if booking_id is None:
                return [Reply("You have no interview booked yet. Send /book to choose a time.")]
            return [self._booking_summary(booking_id)]
        if what == "cancel":
            if booking_id is None:
                return [Reply("You have no interview booked, so there is nothing to cancel.")]
            self._set(inv_id, status=CONFIRM_CANCEL)
            return [
                Reply(
                    f"Cancel your interview on {self._when(booking_id)}?",
                    (("Yes, cancel it", "yes"), ("No, keep it", "no")),
                )
            ]
        if what == "book" and booking_id is not None:
            return [
                self._booking_summary(booking_id),
                Reply("To move it send /reschedule; to cancel it, /cancel_interview."),
            ]
        if tz is None or status in (ASK_TZ, CONFIRM_TZ):
            with self.db.transaction() as s:
                invitation = s.get(BookingInvitation, inv_id)
                assert invitation is not None
                return self._ask_timezone(invitation, sender_id, tz_hint)
        self._set(inv_id, status=CHOOSING, offered_until=None)
        lead = "Let's find a new time." if booking_id else "Let's find a time."
        return [Reply(lead), *self._offer(inv_id, sender_id)]

    # ------------------------------------------------------------------ time zone
    def _ask_timezone(
        self, invitation: BookingInvitation, sender_id: str, tz_hint: str | None
    ) -> list[ChatOutput]:
        guess = guess_timezone(sender_id, tz_hint)
        invitation.timezone_guess = guess
        if guess:
            invitation.status = CONFIRM_TZ
            now = self.clock().astimezone(ZoneInfo(guess)).strftime("%H:%M")
            return [
                Reply(
                    f"First, your time zone: it looks like {guess} (where it is {now} now). "
                    "Is that right?",
                    ((f"Yes, {guess}", "yes"), ("Another time zone", "another time zone")),
                )
            ]
        invitation.status = ASK_TZ
        return [
            Reply(
                "First, which time zone are you in? Type your city or time zone, for example "
                "London, New York, Europe/Berlin or UTC+2."
            )
        ]

    def _timezone_answer(
        self, inv_id: int, sender_id: str, text: str, intent: str | None, tz_hint: str | None
    ) -> list[ChatOutput]:
        with self.db.transaction() as s:
            invitation = s.get(BookingInvitation, inv_id)
            assert invitation is not None
            guess = invitation.timezone_guess
            if invitation.status == CONFIRM_TZ and guess:
                if _YES.match(text) or (intent == "affirm" and not parse_timezone(text).zone):
                    invitation.timezone = guess
                    invitation.status = CHOOSING
                    invitation.offered_until = None
                    zone = guess
                elif _NO.match(text) or intent == "deny" or _CHANGE_TZ.search(text):
                    invitation.status = ASK_TZ
                    return [Reply("Which time zone are you in? Type your city or time zone, "
                                  "for example London, New York, Europe/Berlin or UTC+2.")]
                else:
                    zone = ""
            else:
                zone = ""
            if not zone:
                match = parse_timezone(text)
                if match.zone and zone_name_ok(match.zone):
                    invitation.timezone = match.zone
                    invitation.status = CHOOSING
                    invitation.offered_until = None
                    zone = match.zone
                elif match.choices:
                    return [
                        Reply(
                            match.message or "Which of these do you mean?",
                            tuple((c, c) for c in match.choices[:5]),
                        )
                    ]
                else:
                    return [
                        Reply(
                            (match.message or "I don't know that time zone.")
                            + " Type a city or a zone such as Europe/Berlin, or UTC+2."
                        )
                    ]
        return [Reply(f"Thanks, I'll show times in {zone}."), *self._offer(inv_id, sender_id)]

    # ------------------------------------------------------------------ offering
    def _offer(
        self, inv_id: int, sender_id: str, *, lead: str | None = None,
        within: tuple[datetime, datetime] | None = None,
    ) -> list[ChatOutput]:
        from scheduling.intervals import Interval

        with self.db.transaction() as s:
            invitation = s.get(BookingInvitation, inv_id)
            assert invitation is not None
            app = s.get(Application, invitation.application_id)
            assert app is not None
            job_id, tz = app.job_id, invitation.timezone or "UTC"
            after = stored_utc(invitation.offered_until) if invitation.offered_until else None
            booking = self._active_booking(s, app.id)
            exclude = booking.id if booking else None
        try:
            slots = self.booking.free_slots(
                job_id, within=Interval(*within) if within else None, exclude_booking=exclude
            )
        except CalendarDown as exc:
            self._set(inv_id, status=CALENDAR_DOWN)
            return [Reply(str(exc) + " I'll message you here when it's back.")]
        if after is not None and within is None:
            slots = [x for x in slots if x.start > after]
        if not slots:
            if within is not None:
                return [Reply("Nothing is free then."), *self._offer(inv_id, sender_id)]
            if after is not None:
                self._set(inv_id, offered_until=None)
                return [Reply("Those were the last free times I have; here they are again "
                              "from the start."), *self._offer(inv_id, sender_id)]
            return self._no_time(inv_id)
        chosen = self._pick(slots, tz)
        offers = [
            {"ref": secrets.token_hex(3), "interviewer_id": x.interviewer_id,
             "start": x.start.isoformat(), "end": x.end.isoformat()}
            for x in chosen
        ]
        with self.db.transaction() as s:
            invitation = s.get(BookingInvitation, inv_id)
            assert invitation is not None
            # Earlier lists stay bookable (the candidate saw those times too); numbers and
            # "the second one" refer to the newest list only.
            earlier = [{**o, "current": False} for o in invitation.offers or []
                       if o.get("ref") not in {n["ref"] for n in offers}]
            invitation.offers = [*({**o, "current": True} for o in offers), *earlier][:40]
            invitation.offered_until = chosen[-1].start if within is None else None
            invitation.status = CHOOSING
            invitation.pending_slot = None
            people = {x.interviewer_id for x in chosen}
            zones = dict(s.execute(select(Interviewer.id, Interviewer.timezone)
                                   .where(Interviewer.id.in_(people))).tuples().all())
        lines = []
        for i, x in enumerate(chosen, start=1):
            length = int((x.end - x.start).total_seconds() // 60)
            lines.append(f"{i}. " + describe_slot(x.start, tz, zones[x.interviewer_id], length))
        text = (lead or "These times are free (shown in your time zone, " + tz + "):") + "\n" + (
            "\n".join(lines)
        ) + ("\nPick one, ask for more times, or type a time that suits you, for example "
             "“next Tuesday after 3pm”.")
        buttons = tuple((f"{i}. {_short(x.start, tz)}", f"slot {o['ref']}")
                        for i, (x, o) in enumerate(zip(chosen, offers, strict=True), start=1))
        return [Reply(text, (*buttons, ("More times", "more times")))]

    @staticmethod
    def _pick(slots: list[Slot], tz: str, n: int = OFFER_COUNT) -> list[Slot]:
        """Up to `n` slots spread over days (at most two a day), earliest first, preferring
        hours that are reasonable where the candidate is."""
        zone = ZoneInfo(tz)

        def choose(pool: list[Slot]) -> list[Slot]:
            out: list[Slot] = []
            per_day: dict[Any, int] = {}
            last: datetime | None = None
            for x in pool:
                day = x.start.astimezone(zone).date()
                if per_day.get(day, 0) >= PER_DAY:
                    continue
                if last is not None and x.start.astimezone(zone).date() == last.astimezone(
                    zone
                ).date() and x.start - last < timedelta(hours=2):
                    continue
                out.append(x)
                per_day[day] = per_day.get(day, 0) + 1
                last = x.start
                if len(out) == n:
                    break
            if len(out) < min(3, len(pool)):  # too sparse: fill with the earliest others
                out = sorted({*out, *pool[: n]})[:n]
            return sorted(out)

        friendly = [x for x in slots if x.start.astimezone(zone).hour in FRIENDLY_HOURS]
        return choose(friendly) if len(friendly) >= 3 or len(friendly) == len(slots) else (
            choose(slots)
        )

    def _no_time(self, inv_id: int) -> list[ChatOutput]:
        """No free time in the interviewers' horizon: tell the candidate, tell the employer
        once."""
        with self.db.transaction() as s:
            invitation = s.get(BookingInvitation, inv_id)
            assert invitation is not None
            invitation.status = NO_TIME
            app = s.get(Application, invitation.application_id)
            assert app is not None
            org = app.job.organization
            notify = invitation.employer_notified_at is None
            if notify:
                invitation.employer_notified_at = self.clock()
            title, email, ref = app.job.title, org.contact_email, app.id[:8]
        if notify and self.notifier is not None:
            try:
                self.notifier.no_availability(email, title, ref)
            except Exception as exc:  # the candidate's answer must not depend on the mail
                log.error("employer notification failed: %s", type(exc).__name__)
        return [
            Reply(
                f"I'm sorry: the interviewers for {title} have no free time in the next two "
                f"weeks. I've let {org.name} know, and I'll message you here as soon as new "
                "times open up. Nothing has been booked."
            )
        ]

    # ------------------------------------------------------------------ choosing
    def _choice(self, inv_id: int, sender_id: str, text: str) -> list[ChatOutput]:
        with self.db.transaction() as s:
            invitation = s.get(BookingInvitation, inv_id)
            assert invitation is not None
            seen = list(invitation.offers or [])
            offers = [o for o in seen if o.get("current", True)]
            tz = invitation.timezone or "UTC"
        ref = _SLOT_REF.match(text)
        if ref:
            chosen = next((o for o in seen if o["ref"] == ref.group(1).lower()), None)
            if chosen is None:
                return self._offer(inv_id, sender_id,
                                   lead="That list of times is out of date. These are free now:")
            return self._book(inv_id, sender_id, chosen)
        number = _NUMBER.match(text)
        index = int(number.group(1)) if number else None
        if index is None:  # "the second one", never "Dec 1st at 10"
            ordinal = _ORDINAL.match(text)
            index = _ORDINALS[ordinal.group(1).lower()] if ordinal else None
        if index is not None and offers:
            if 1 <= index <= len(offers):
                return self._book(inv_id, sender_id, offers[index - 1])
            return [Reply(f"Please pick a number from 1 to {len(offers)}, or ask for more times.")]
        if _MORE.search(text):
            return self._offer(inv_id, sender_id)
        if _CHANGE_TZ.search(text):
            self._set(inv_id, status=ASK_TZ, offered_until=None)
            return [Reply("Which time zone are you in? Type your city or time zone, for example "
                          "London, New York, Europe/Berlin or UTC+2.")]
        if not text:
            return [Reply("Pick one of the times, ask for more times, or type a time that "
                          "suits you.")]
        return self._proposal(inv_id, sender_id, text, tz)

    def _proposal(self, inv_id: int, sender_id: str, text: str, tz: str) -> list[ChatOutput]:
        now = self.clock()
        proposal = parse_proposal(text, tz, now)
        if proposal.kind == "past":
            self._set(inv_id, offered_until=None)
            return self._offer(inv_id, sender_id, lead=(proposal.message or
                               "That time has already passed.") + " These times are free:")
        if proposal.kind == "ambiguous":
            return [
                Reply(
                    proposal.message or "Which date do you mean?",
                    tuple((o, o) for o in proposal.options[:4]),
                )
            ]
        if proposal.kind != "window" or proposal.start is None or proposal.end is None:
            return [
                Reply(
                    "Sorry, I didn't catch a time there. Tap one of the times, say “more "
                    "times”, or type a time such as “Thursday morning” or “next Tuesday after "
                    "3pm”."
                )
            ]
        start, end = proposal.start, proposal.end
        if proposal.exact:
            end = max(end, start + timedelta(minutes=1))
        try:
            slots = self.booking.free_slots(self._job_id(inv_id), within=None)
        except CalendarDown as exc:
            return [Reply(str(exc))]
        if proposal.exact:
            exact = next((x for x in slots if x.start == start), None)
            if exact is not None:
                offer = {"ref": secrets.token_hex(3), "interviewer_id": exact.interviewer_id,
                         "start": exact.start.isoformat(), "end": exact.end.isoformat()}
                self._set(inv_id, status=CONFIRM_SLOT, pending_slot=offer)
                return [
                    Reply(
                        f"{self._describe(offer, tz)} is free. Shall I book it?",
                        (("Yes, book it", "yes"), ("Other times", "more times")),
                    )
                ]
            # Not exactly free: offer the times nearest to what was asked.
            around = sorted(slots, key=lambda x: abs((x.start - start).total_seconds()))[:3]
            if around:
                return self._offer(inv_id, sender_id, lead=f"{_short(start, tz)} isn't free. "
                                   "The nearest free times are:",
                                   within=(min(x.start for x in around),
                                           max(x.end for x in around)))
        inside = [x for x in slots if start <= x.start < end]
        if not inside:
            after = [x for x in slots if x.start >= start]
            self._set(inv_id, offered_until=(after[0].start - timedelta(seconds=1))
                      if after else None)
            return self._offer(inv_id, sender_id,
                               lead="Nothing is free then. The next free times after that are:")
        return self._offer(inv_id, sender_id, lead="These times are free then:",
                           within=(start, end))

    def _slot_confirmation(
        self, inv_id: int, sender_id: str, text: str, intent: str | None
    ) -> list[ChatOutput]:
        with self.db.transaction() as s:
            invitation = s.get(BookingInvitation, inv_id)
            assert invitation is not None
            pending = invitation.pending_slot
            invitation.status = CHOOSING
            invitation.pending_slot = None
        if pending and (_YES.match(text) or intent == "affirm"):
            return self._book(inv_id, sender_id, pending)
        if _NO.match(text) or intent == "deny":
            return self._offer(inv_id, sender_id, lead="No problem. These times are free:")
        return self._choice(inv_id, sender_id, text)

    # ------------------------------------------------------------------ booking
    def _book(self, inv_id: int, sender_id: str, offer: dict[str, Any]) -> list[ChatOutput]:
        with self.db.transaction() as s:
            invitation = s.get(BookingInvitation, inv_id)
            assert invitation is not None
            app_id, tz = invitation.application_id, invitation.timezone or "UTC"
            current = self._active_booking(s, app_id)
            reschedule = current.id if current else None
        slot = Slot(datetime.fromisoformat(offer["start"]), datetime.fromisoformat(offer["end"]),
                    int(offer["interviewer_id"]))
        try:
            booking = self.booking.book(
                app_id, slot, sender_id=sender_id, candidate_tz=tz, reschedule=reschedule
            )
        except SlotTaken as taken:
            self._set(inv_id, offered_until=None)
            if not taken.alternatives:
                return [Reply("Sorry, that time was just taken."), *self._no_time(inv_id)]
            return self._offer(inv_id, sender_id,
                               lead="Sorry, that time was just taken. These times are still free:")
        except AlreadyBooked as done:
            self._set(inv_id, status=BOOKED_STATE)
            return [self._booking_summary(done.booking.id)]
        except CalendarDown as exc:
            return [Reply(str(exc))]
        except NotBookable as exc:
            self._set(inv_id, status=CLOSED)
            return [Reply(str(exc))]
        except SchedulingError as exc:  # any other refusal: clear, nothing booked
            return [Reply(str(exc))]
        self._set(inv_id, status=BOOKED_STATE, offers=None, pending_slot=None)
        verb = "Moved" if reschedule else "Booked"
        return [
            Reply(
                f"{verb}: your interview is on {self._when(booking.id)}."
                + self._reminder_note()
                + " To change it send /reschedule; to cancel, /cancel_interview."
            ),
            self._invite_file(booking.id, cancel=False),
        ]

    def _cancel_answer(
        self, inv_id: int, sender_id: str, text: str, intent: str | None
    ) -> list[ChatOutput]:
        with self.db.transaction() as s:
            invitation = s.get(BookingInvitation, inv_id)
            assert invitation is not None
            booking = self._active_booking(s, invitation.application_id)
            booking_id = booking.id if booking else None
        if _YES.match(text) or intent == "affirm":
            if booking_id is None:
                self._set(inv_id, status=CHOOSING)
                return [Reply("There's no booked interview to cancel any more.")]
            when = self._when(booking_id)
            self.booking.cancel(booking_id, by="candidate")
            self._set(inv_id, status=CHOOSING, offers=None, offered_until=None)
            return [
                Reply(f"Cancelled your interview on {when}. Send /book if you'd like to choose "
                      "another time."),
                self._invite_file(booking_id, cancel=True),
            ]
        self._set(inv_id, status=BOOKED_STATE if booking_id else CHOOSING)
        if _NO.match(text) or intent == "deny":
            return [Reply("Fine, your interview stays as booked.")]
        return [Reply("Your interview stays as booked. Send /cancel_interview again if you want "
                      "to cancel it.")]

    # ------------------------------------------------------------------ helpers
    def _reminder_note(self) -> str:
        offsets = self.booking.reminder_offsets_min
        if not offsets:
            return ""
        words = [f"{m // 60} hour{'s' if m // 60 != 1 else ''}" if m % 60 == 0 else
                 f"{m} minutes" for m in offsets]
        return " I'll remind you here " + " and ".join(words) + " before."

    def _when(self, booking_id: str) -> str:
        with self.db.transaction() as s:
            booking = s.get(Booking, booking_id)
            assert booking is not None
            length = int((booking.ends_at - booking.starts_at).total_seconds() // 60)
            return describe_slot(
                stored_utc(booking.starts_at), booking.candidate_timezone,
                booking.interviewer.timezone, length,
            ) + f" with {booking.interviewer.name}"

    def _describe(self, offer: dict[str, Any], tz: str) -> str:
        with self.db.transaction() as s:
            person = s.get(Interviewer, int(offer["interviewer_id"]))
            zone = person.timezone if person else tz
        start, end = datetime.fromisoformat(offer["start"]), datetime.fromisoformat(offer["end"])
        return describe_slot(start, tz, zone, int((end - start).total_seconds() // 60))

    def _booking_summary(self, booking_id: str) -> Reply:
        return Reply(f"Your interview is booked for {self._when(booking_id)}. To change it send "
                     "/reschedule; to cancel, /cancel_interview.")

    def _invite_file(self, booking_id: str, *, cancel: bool) -> Attachment:
        with self.db.transaction() as s:
            booking = s.get(Booking, booking_id)
            assert booking is not None
            app = s.get(Application, booking.application_id)
            assert app is not None
            settings = definition_of(app.job).scheduling
            title = self._title(app)
            org = app.job.organization.name
            person = booking.interviewer
            data = event_ics(
                uid=event_uid(booking.id),
                sequence=booking.sequence,
                start=stored_utc(booking.starts_at),
                end=stored_utc(booking.ends_at),
                summary=f"{title} with {org}",
                description=f"{title} for {app.job.title} at {org} with {person.name}. "
                "Booked with Parley: send /reschedule or /cancel_interview in the chat to "
                "change it.",
                organizer_name=person.name,
                organizer_email=person.email,
                location=settings.location if settings else None,
                method="CANCEL" if cancel else "REQUEST",
                status="CANCELLED" if cancel else "CONFIRMED",
            )
        return Attachment(
            filename="interview-cancelled.ics" if cancel else "interview.ics",
            mime="text/calendar",
            data=data,
            caption="Calendar cancellation" if cancel else "Calendar invite",
        )

    @staticmethod
    def _title(app: Application) -> str:
        settings = definition_of(app.job).scheduling
        return settings.interview_title if settings else "interview"

    def _passes(self, s: Any, app: Application) -> bool:
        """Invited automatically only with the job's scheduling on, an interviewer, an AI
        score at or above the threshold and nothing waiting for a person."""
        settings = definition_of(app.job).scheduling
        if settings is None or not processing_allowed(app.candidate):
            return False
        if app.candidate.ai_opt_out or not Interviewers.for_job(s, app.job):
            return False
        open_review = s.scalars(
            select(HumanReview.id).where(
                HumanReview.candidate_id == app.candidate_id, HumanReview.status == "open"
            )
        ).first()
        if open_review is not None:
            return False
        score = s.scalars(
            select(ApplicationScore)
            .where(ApplicationScore.application_id == app.id)
            .order_by(ApplicationScore.id.desc())
        ).first()
        if score is None or score.knocked_out or score.overall is None or not score.complete:
            return False
        needs_review = (score.breakdown or {}).get("needs_review") or []
        return not needs_review and score.overall >= settings.invite_min_score

    @staticmethod
    def _candidate(s: Any, sender_id: str) -> str | None:
        return s.scalars(
            select(ChannelIdentity.candidate_id).where(ChannelIdentity.sender_id == sender_id)
        ).first()

    def _open_invitation(
        self, s: Any, sender_id: str, states: tuple[str, ...]
    ) -> BookingInvitation | None:
        candidate_id = self._candidate(s, sender_id)
        if candidate_id is None:
            return None
        return s.scalars(
            select(BookingInvitation)
            .join(Application, Application.id == BookingInvitation.application_id)
            .where(
                BookingInvitation.candidate_id == candidate_id,
                BookingInvitation.status.in_(states),
                Application.status == "completed",
            )
            .order_by(BookingInvitation.updated_at.desc(), BookingInvitation.id.desc())
        ).first()

    @staticmethod
    def _active_booking(s: Any, application_id: str) -> Booking | None:
        return s.scalars(
            select(Booking).where(Booking.application_id == application_id,
                                  Booking.status == BOOKED)
        ).first()

    @staticmethod
    def _reply_channel(s: Any, candidate_id: str) -> str | None:
        """Where a proactive message reaches the candidate: their newest chat that is not
        the phone (a call cannot be rung back with a text)."""
        rows = s.scalars(
            select(ChannelIdentity)
            .where(ChannelIdentity.candidate_id == candidate_id)
            .order_by(ChannelIdentity.id.desc())
        ).all()
        for row in rows:
            if not row.sender_id.startswith("voice:"):
                return row.sender_id
        return None

    def _job_id(self, inv_id: int) -> int:
        with self.db.transaction() as s:
            invitation = s.get(BookingInvitation, inv_id)
            assert invitation is not None
            app = s.get(Application, invitation.application_id)
            assert app is not None
            return app.job_id

    def _set(self, inv_id: int, **values: Any) -> None:
        with self.db.transaction() as s:
            invitation = s.get(BookingInvitation, inv_id)
            if invitation is not None:
                for key, value in values.items():
                    setattr(invitation, key, value)

    @staticmethod
    def _guess(text: str) -> str:
        for what, pattern in _SCHEDULE_WORDS.items():
            if pattern.search(text or ""):
                return what
        return "book"

