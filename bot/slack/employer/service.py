"""The employer side of the Slack app: `/shortlist`, `/parley-admin`, `/parley-override`, the
shortlist's buttons and the review modals.

Why it is shaped like this:

* Slack wants an answer within 3 seconds. A slash command is acknowledged before the
  database is touched: `/shortlist` parses its arguments (no I/O) and acknowledges with
  either the usage text or "Working on the shortlist…"; the rest — who is asking, the
  ranking, the chart — runs after the acknowledgement. Buttons are acknowledged first too.
  A modal needs the `trigger_id` within 3 seconds, so "view answers" opens a loading modal
  at once and fills it when the data is read. `/parley-admin` and `/parley-override` answer
  in the acknowledgement (only the requester sees it) when the database answers within
  `ADMIN_ACK_WAIT_S`, else by DM; `/parley-override` first parses its arguments without the
  database (employers/override_command.py) and answers a usage problem at once.
* Candidates' data goes only into the requester's direct message with the app (opened with
  `conversations.open`), never into a channel where others could read it; the score chart
  is uploaded there with `files_upload_v2`.
* The access rules live in `employers/` (membership, roles, what an organization may see);
  this module only asks and renders. Every command and button press is in the employer
  audit: the decision service records its own; this module records shortlists, answer
  views, and the refusals of people who belong to no organization.
* Database work runs in threads (`asyncio.to_thread`); button presses on one application
  are serialized in this process so a double click is decided once (the decision service
  is idempotent as well: the second press answers "Already …").
* Logs carry ids, action names and error codes only: never names, answers or reasons.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import threading
import zlib
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.employer import render
from bot.slack.render import escape
from employers import audit
from employers.orgs import Employer, OrgDirectory, admin_command, not_a_member_message
from employers.override_command import (
    KNOCKOUT,
    RANK,
    SCORE,
    OverrideRequest,
    OverrideUsage,
    UnknownRef,
    resolve_ref,
)
from employers.override_command import parse as parse_override
from employers.roles import Permission
from employers.shortlist import (
    NotVisible,
    Shortlist,
    ShortlistQuery,
    ShortlistService,
    UnknownJob,
    UsageError,
    parse_args,
)
from storage.db import Database

logger = logging.getLogger("parley.slack.employer")

Ack = Callable[..., Awaitable[Any]]

ADMIN_ACK_WAIT_S = 2.0  # /parley-admin answers inline when the database is this quick
LOCK_STRIPES = 64
NOT_ALLOWED_TITLE = "Not available"
VIEWER_MESSAGE = (
    "Viewers can look, not act. Ask an admin of {org} to make you a recruiter "
    "(`/parley-admin role @you recruiter`)."
)
NOT_VISIBLE_MESSAGE = (
    "This application is not one you can see: it belongs to another organization, or the "
    "candidate has withdrawn or been deleted."
)
BAD_BUTTON_MESSAGE = "That button is not valid any more. Run `/shortlist` again."
ERROR_MESSAGE = "Something went wrong on our side; nothing was changed. Please try again."
REASON_REQUIRED = "Please give a reason."
RESOLUTION_REQUIRED = "Please say how the review was resolved."
SCORE_INVALID = "A whole number from 0 to 100, or leave it empty."


@dataclass
class EmployerStats:
    """Counters for the tests and the log (never content)."""

    commands: int = 0
    actions: int = 0
    views: int = 0
    denied: int = 0
    shortlists: int = 0
    charts: int = 0
    errors: int = 0
    api_errors: dict[str, int] = field(default_factory=dict)


class Reply(NamedTuple):
    """What a command answers in its acknowledgement (or DM): the text, whether it went
    well (the DM's colour), whether it was a denial (counted), and whether the text is
    mrkdwn built from ids Slack sent (`raw`) rather than plain text to escape."""

    text: str
    ok: bool = True
    denied: bool = False
    raw: bool = False


def _ack_working(job: str) -> str:
    return f"Working on the shortlist for `{escape(job)}`… I'll send it to you in a direct message."


class EmployerSlack:
    """Handlers for the employer listeners (bot/slack/listeners/employer.py)."""

    def __init__(
        self,
        db: Database,
        client: AsyncWebClient,
        *,
        decisions: Any | None = None,
        overrides: Any | None = None,
    ) -> None:
        self.db = db
        self.client = client
        self.directory = OrgDirectory(db)
        self._decisions = decisions
        self._overrides = overrides
        self._shortlists: ShortlistService | None = None
        self.stats = EmployerStats()
        self._dm_channels: dict[tuple[str, str], str] = {}
        self._locks = [asyncio.Lock() for _ in range(LOCK_STRIPES)]
        self._chart_lock = threading.Lock()  # matplotlib is not thread-safe
        self._tasks: set[asyncio.Task[Any]] = set()

    # ---- capability objects (built on first use; the decision service imports scheduling)

    @property
    def shortlists(self) -> ShortlistService:
        if self._shortlists is None:
            self._shortlists = ShortlistService(self.db)
        return self._shortlists

    @property
    def decisions(self) -> Any:
        if self._decisions is None:
            from employers.decisions import DecisionService

            self._decisions = DecisionService(self.db)
        return self._decisions

    @property
    def overrides(self) -> Any:
        """`oversight.overrides.OverrideService`: built on first use, like `decisions`."""
        if self._overrides is None:
            from oversight.overrides import OverrideService

            self._overrides = OverrideService(self.db)
        return self._overrides

    # ---- slash commands

    async def on_shortlist(self, body: dict[str, Any], ack: Ack) -> None:
        """`/shortlist <job> [top N] [min SCORE] [status STATUS]`: acknowledged from the
        arguments alone; the shortlist follows in the requester's DM."""
        self.stats.commands += 1
        team, user = body["team_id"], body["user_id"]
        try:
            query = parse_args(body.get("text", ""))
        except UsageError as exc:
            await ack(text=str(exc))
            self._spawn(self._audit_quietly(team, user, "shortlist", audit.INVALID, "usage"))
            return
        await ack(text=_ack_working(query.job))
        self._spawn(self._shortlist(team, user, query))

    async def on_admin(self, body: dict[str, Any], ack: Ack) -> None:
        """`/parley-admin …`: the reply in the acknowledgement (only the admin sees it) when
        the database answers in time, else in the admin's DM."""
        self.stats.commands += 1
        team, user, text = body["team_id"], body["user_id"], body.get("text", "")
        await self._answer("admin", team, user, ack, lambda: self._admin(team, user, text))

    def _admin(self, team: str, user: str, text: str) -> Reply:
        employer = self.directory.resolve(team, user)
        return Reply(admin_command(self.db, employer, team, user, text), raw=True)

    async def on_override(self, body: dict[str, Any], ack: Ack) -> None:
        """`/parley-override <ref> knockout|score N|rank N|unpin <reason>`: the arguments are
        checked without the database (a usage problem is answered at once); the override
        answers in the acknowledgement when the database is quick, else by DM."""
        self.stats.commands += 1
        team, user = body["team_id"], body["user_id"]
        try:
            request = parse_override(body.get("text", ""))
        except OverrideUsage as exc:
            await ack(text=escape(str(exc)))
            if not exc.asked:  # `help` is a question, not a mistake
                self._spawn(self._audit_quietly(team, user, "override", audit.INVALID, "usage"))
            return
        await self._answer("override", team, user, ack, lambda: self._override(team, user, request))

    def _override(self, team: str, user: str, request: OverrideRequest) -> Reply:
        """Who asks, which application the reference names (only among their organization's),
        then the override service, which checks the role and the organization again, locks,
        records the decision and audits. Runs in a thread."""
        from oversight import overrides

        action = {
            KNOCKOUT: overrides.ACTION_OVERRIDE_KNOCKOUT,
            SCORE: overrides.ACTION_OVERRIDE_SCORE,
        }.get(request.action, overrides.ACTION_OVERRIDE_RANK)
        employer = self.directory.resolve(team, user)
        if employer is None:
            org = self._refuse(team, user, action, None, f"ref {request.ref}")
            return Reply(not_a_member_message(org[2] if org else None), ok=False, denied=True)
        try:
            with self.db.transaction() as s:
                application_id = resolve_ref(s, employer.organization_id, request.ref)
        except UnknownRef as exc:
            detail = "ambiguous" if exc.ambiguous else "unknown"
            self._audit(
                employer.actor, employer.organization_id, action, audit.INVALID,
                detail=f"{detail} ref {request.ref}",
            )  # fmt: skip
            return Reply(str(exc), ok=False)
        service = self.overrides
        if request.action == KNOCKOUT:
            outcome = service.override_knockout(employer, application_id, request.reason)
        elif request.action == SCORE:
            outcome = service.override_score(
                employer, application_id, request.value, request.reason
            )
        elif request.action == RANK:
            outcome = service.override_rank(employer, application_id, request.value, request.reason)
        else:
            outcome = service.override_rank(
                employer, application_id, None, request.reason, clear=True
            )
        return Reply(str(outcome.message), ok=bool(outcome.ok), denied=bool(outcome.denied))

    async def _answer(
        self, what: str, team: str, user: str, ack: Ack, work: Callable[[], Reply]
    ) -> None:
        """Run `work` in a thread; its reply goes into the acknowledgement (seen only by the
        requester) when it is ready within `ADMIN_ACK_WAIT_S`, else into their DM. Plain
        text is escaped here, once, whatever it echoes."""
        future = asyncio.ensure_future(asyncio.to_thread(work))
        try:
            reply = await asyncio.wait_for(asyncio.shield(future), ADMIN_ACK_WAIT_S)
        except TimeoutError:
            await ack(text="Working on it… I'll answer in a direct message.")
            self._spawn(self._answer_later(what, team, user, future))
            return
        except Exception as exc:
            self._failed(what, exc)
            reply = Reply(ERROR_MESSAGE, ok=False)
        if reply.denied:
            self.stats.denied += 1
        await ack(text=reply.text if reply.raw else escape(reply.text))

    async def _answer_later(
        self, what: str, team: str, user: str, work: asyncio.Future[Reply]
    ) -> None:
        try:
            reply = await work
        except Exception as exc:
            self._failed(what, exc)
            await self._tell(team, user, ERROR_MESSAGE, ok=False)
            return
        if reply.denied:
            self.stats.denied += 1
        await self._tell(team, user, reply.text, ok=reply.ok, raw=reply.raw)

    # ---- the shortlist

    async def _shortlist(
        self,
        team: str,
        user: str,
        query: ShortlistQuery,
        *,
        update: tuple[str, str] | None = None,
    ) -> None:
        """Resolve the requester, build the page and post it (or, for a page button, replace
        the message `update` = (channel, ts)); the chart follows a new shortlist."""
        employer = await self._employer(team, user, "shortlist", job=query.job)
        if employer is None:
            return
        try:
            shortlist = await asyncio.to_thread(self._build, employer, query)
        except UnknownJob as exc:
            await asyncio.to_thread(
                self._audit, employer.actor, employer.organization_id, "shortlist",
                audit.INVALID, job=query.job, detail="unknown job",
            )  # fmt: skip
            await self._tell(team, user, str(exc), ok=False)
            return
        except Exception as exc:
            self._failed("shortlist", exc)
            await self._tell(team, user, ERROR_MESSAGE, ok=False)
            return
        self.stats.shortlists += 1
        text = render.fallback_text(shortlist)
        blocks = render.shortlist_blocks(shortlist)
        if update is not None:
            channel, ts = update
            await self._api("chat.update", channel=channel, ts=ts, text=text, blocks=blocks)
            return
        channel = await self._dm(team, user)
        if channel is None:
            return
        posted = await self._api(
            "chat.postMessage",
            channel=channel,
            text=text,
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
        if posted is not None:
            await self._chart(channel, shortlist)

    def _build(self, employer: Employer, query: ShortlistQuery) -> Shortlist:
        shortlist = self.shortlists.build(employer.organization_id, query, actor=employer.actor)
        self._audit(
            employer.actor,
            employer.organization_id,
            "shortlist",
            audit.ALLOWED,
            job=query.job,
            detail=f"page {shortlist.page}/{shortlist.pages}, {len(shortlist.rows)} rows",
        )
        return shortlist

    async def _chart(self, channel: str, shortlist: Shortlist) -> None:
        """The score distribution with the cut-off, uploaded into the same DM."""
        title = f"Scores for {shortlist.job_title}"
        try:
            png = await asyncio.to_thread(
                self._png, list(shortlist.scores), shortlist.cutoff, title
            )
        except Exception as exc:
            self._failed("chart", exc)
            return
        try:
            await self.client.files_upload_v2(
                channel=channel,
                content=png,
                filename=f"shortlist-{shortlist.job_slug}.png",
                title=f"{title} (cut-off {shortlist.cutoff})"
                if shortlist.cutoff is not None
                else title,
            )
        except SlackApiError as exc:
            self._api_error("files_upload_v2", exc)
            return
        except SlackRequestError as exc:
            logger.warning("slack chart upload failed: %s", type(exc).__name__)
            return
        self.stats.charts += 1

    def _png(self, scores: list[int], cutoff: int | None, title: str) -> bytes:
        from employers.chart import distribution_png

        with self._chart_lock:
            return distribution_png(scores, cutoff, title)

    # ---- buttons

    async def on_action(self, body: dict[str, Any]) -> None:
        """A press on a shortlist button (already acknowledged): handled in the background."""
        self.stats.actions += 1
        self._spawn(self._action(body))

    async def _action(self, body: dict[str, Any]) -> None:
        action = body["actions"][0]
        action_id, value = action["action_id"], action["value"]
        team, user = body["team"]["id"], body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        message = body.get("message")
        if action_id in render.PAGE_ACTIONS:
            await self._page(team, user, value, channel, message)
            return
        if action_id not in render.ROW_ACTIONS or not render.APPLICATION_ID_RE.match(value):
            await self._audit_quietly(team, user, action_id[:40], audit.INVALID, "bad button")
            await self._tell(team, user, BAD_BUTTON_MESSAGE, ok=False, channel=channel)
            return
        if action_id == render.VIEW:
            await self._view_answers(team, user, value, body.get("trigger_id"))
        elif action_id in (render.REQUEST_REVIEW, render.RESOLVE_REVIEW):
            await self._review_modal(team, user, action_id, value, body.get("trigger_id"), channel)
        else:
            await self._decide(team, user, action_id.removeprefix("employer_"), value, channel)

    async def _page(
        self, team: str, user: str, value: str, channel: str | None, message: Any
    ) -> None:
        query = None
        with contextlib.suppress(ValueError, TypeError, UsageError):
            query = ShortlistQuery.from_json(json.loads(value))
            if query.page_size > render.ROWS_PER_PAGE:  # what one message can hold
                query = dataclasses.replace(query, page_size=render.ROWS_PER_PAGE)
        if query is None:
            await self._audit_quietly(team, user, "shortlist_page", audit.INVALID, "bad button")
            await self._tell(team, user, BAD_BUTTON_MESSAGE, ok=False, channel=channel)
            return
        update = (channel, message["ts"]) if channel and isinstance(message, dict) else None
        await self._shortlist(team, user, query, update=update)

    async def _view_answers(
        self, team: str, user: str, application_id: str, trigger_id: str | None
    ) -> None:
        """The answers modal: opened empty at once (the trigger expires in 3 s), filled when
        the answers are read (and the read is in the candidate's access log)."""
        view_id = await self._open_view(trigger_id, render.loading_view())
        if view_id is None:  # nothing read: the answers would have nowhere to go
            await self._show(None, team, user, render.loading_view())
            return
        employer = await self._employer(
            team, user, "view_answers", application_id=application_id, view_id=view_id
        )
        if employer is None:
            return
        try:
            data = await asyncio.to_thread(self._answers, employer, application_id)
        except NotVisible:
            self.stats.denied += 1
            await asyncio.to_thread(
                self._audit, employer.actor, employer.organization_id, "view_answers",
                audit.DENIED, application_id=None, detail=f"not visible: {application_id}",
            )  # fmt: skip
            await self._show(view_id, team, user, render.message_view(
                NOT_ALLOWED_TITLE, NOT_VISIBLE_MESSAGE))  # fmt: skip
            return
        except Exception as exc:
            self._failed("view_answers", exc)
            await self._show(view_id, team, user, render.message_view("Error", ERROR_MESSAGE))
            return
        await self._show(view_id, team, user, render.answers_view(data))

    def _answers(self, employer: Employer, application_id: str) -> dict[str, Any]:
        from employers.answers import answer_view

        data = answer_view(self.db, employer.organization_id, application_id, actor=employer.actor)
        self._audit(
            employer.actor, employer.organization_id, "view_answers", audit.ALLOWED,
            application_id=application_id,
        )  # fmt: skip
        return data

    async def _review_modal(
        self,
        team: str,
        user: str,
        action_id: str,
        application_id: str,
        trigger_id: str | None,
        channel: str | None,
    ) -> None:
        """Open the reason modal at once; a person who may not act sees why instead."""
        build = (
            render.request_review_view
            if action_id == render.REQUEST_REVIEW
            else render.resolve_review_view
        )
        view_id = await self._open_view(
            trigger_id, build(application_id, application_id[:8], channel)
        )
        if view_id is None:  # the trigger expired or Slack refused: nothing to submit
            await self._show(None, team, user, render.loading_view())
            return
        action = action_id.removeprefix("employer_")
        employer = await self._employer(
            team, user, action, application_id=application_id, view_id=view_id
        )
        if employer is not None and not employer.can(Permission.ACT):
            self.stats.denied += 1
            await asyncio.to_thread(
                self._audit, employer.actor, employer.organization_id, action, audit.DENIED,
                detail=f"role {employer.role}: {application_id}",
            )  # fmt: skip
            text = VIEWER_MESSAGE.format(org=employer.org_name)
            await self._show(view_id, team, user, render.message_view(NOT_ALLOWED_TITLE, text))

    async def _decide(
        self,
        team: str,
        user: str,
        kind: str,
        application_id: str,
        channel: str | None,
        **kwargs: Any,
    ) -> None:
        """Advance / reject / schedule / request_review / resolve_review through the decision
        service (which checks the organization and the role, audits and is idempotent)."""
        employer = await self._employer(team, user, kind, application_id=application_id)
        if employer is None:
            return
        lock = self._locks[zlib.crc32(application_id.encode()) % LOCK_STRIPES]
        async with lock:
            try:
                method = getattr(self.decisions, kind)
                outcome = await asyncio.to_thread(method, employer, application_id, **kwargs)
            except Exception as exc:
                self._failed(kind, exc)
                await self._tell(team, user, ERROR_MESSAGE, ok=False, channel=channel)
                return
        if getattr(outcome, "denied", False):
            self.stats.denied += 1
        await self._tell(team, user, str(outcome.message), ok=bool(outcome.ok), channel=channel)

    # ---- modals

    async def on_view_submission(self, body: dict[str, Any]) -> dict[str, str] | None:
        """A review modal submitted. Returns the input errors to show in the modal (checked
        without the database), or None: the modal closes and the decision is made in the
        background, its outcome sent to the DM."""
        self.stats.views += 1
        view = body["view"]
        callback_id = view["callback_id"]
        if callback_id not in (render.REQUEST_REVIEW_VIEW, render.RESOLVE_REVIEW_VIEW):
            return None
        target = render.parse_metadata(view.get("private_metadata", ""))
        if target is None:
            logger.info("employer modal with bad metadata ignored")
            return None
        application_id, channel = target
        values = view["state"]["values"]
        team, user = body["team"]["id"], body["user"]["id"]
        if callback_id == render.REQUEST_REVIEW_VIEW:
            reason = _input(values, render.REASON_INPUT)
            if not reason:
                return {render.REASON_INPUT: REASON_REQUIRED}
            if len(reason) > render.MAX_REASON_CHARS:
                return {render.REASON_INPUT: f"At most {render.MAX_REASON_CHARS} characters."}
            work = self._decide(
                team, user, "request_review", application_id, channel, reason=reason
            )
        else:
            resolution = _input(values, render.RESOLUTION_INPUT)
            if not resolution:
                return {render.RESOLUTION_INPUT: RESOLUTION_REQUIRED}
            if len(resolution) > render.MAX_REASON_CHARS:
                return {render.RESOLUTION_INPUT: f"At most {render.MAX_REASON_CHARS} characters."}
            raw_score = _input(values, render.SCORE_INPUT)
            score: int | None = None
            if raw_score:
                if not raw_score.isascii() or not raw_score.isdigit() or int(raw_score) > 100:
                    return {render.SCORE_INPUT: SCORE_INVALID}
                score = int(raw_score)
            work = self._decide(
                team, user, "resolve_review", application_id, channel,
                resolution=resolution, override_score=score,
            )  # fmt: skip
        self._spawn(work)
        return None

    # ---- who is asking

    async def _employer(
        self,
        team: str,
        user: str,
        action: str,
        *,
        job: str | None = None,
        application_id: str | None = None,
        view_id: str | None = None,
    ) -> Employer | None:
        """The member behind a request, or None after telling them whom to ask (in the modal
        `view_id` when one is open, else by DM) and auditing the refusal."""
        try:
            employer = await asyncio.to_thread(self.directory.resolve, team, user)
        except Exception as exc:
            self._failed(action, exc)
            await self._tell(team, user, ERROR_MESSAGE, ok=False)
            return None
        if employer is not None:
            return employer
        self.stats.denied += 1
        org = await asyncio.to_thread(self._refuse, team, user, action, job, application_id)
        text = not_a_member_message(org[2] if org else None)
        if view_id is not None:
            await self._show(view_id, team, user, render.message_view(NOT_ALLOWED_TITLE, text))
        else:
            await self._tell(team, user, text, ok=False)
        return None

    def _refuse(
        self, team: str, user: str, action: str, job: str | None, application_id: str | None
    ) -> tuple[int, str, str] | None:
        org = self.directory.organization_of_team(team)
        detail = "not a member" if org else "workspace not linked"
        if application_id:
            detail += f": {application_id}"
        self._audit(
            f"slack:{team}:{user}", org[0] if org else None, action, audit.DENIED,
            job=job, detail=detail,
        )  # fmt: skip
        return org

    def _audit(
        self,
        actor: str,
        organization_id: int | None,
        action: str,
        outcome: str,
        *,
        job: str | None = None,
        application_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        """One employer_audit row in its own transaction. `application_id` is set only for an
        application the organization may see (the column references the application);
        others are named in `detail`."""
        with self.db.transaction() as s:
            audit.record(
                s, actor=actor, organization_id=organization_id, action=action,
                outcome=outcome, job_slug=job, application_id=application_id, detail=detail,
            )  # fmt: skip

    async def _audit_quietly(
        self, team: str, user: str, action: str, outcome: str, detail: str
    ) -> None:
        def write() -> None:
            employer = self.directory.resolve(team, user)
            org_id = employer.organization_id if employer else None
            if employer is None:
                org = self.directory.organization_of_team(team)
                org_id = org[0] if org else None
            self._audit(f"slack:{team}:{user}", org_id, action, outcome, detail=detail)

        try:
            await asyncio.to_thread(write)
        except Exception as exc:
            self._failed("audit", exc)

    # ---- Slack calls

    async def _dm(self, team: str, user: str) -> str | None:
        """The requester's DM with the app (where candidates' data may go)."""
        key = (team, user)
        channel = self._dm_channels.get(key)
        if channel is not None:
            return channel
        response = await self._api("conversations.open", users=user)
        opened = response.get("channel") if response is not None else None
        channel = opened.get("id") if isinstance(opened, dict) else None
        if not isinstance(channel, str) or not channel:
            return None
        if len(self._dm_channels) > 10_000:
            self._dm_channels.clear()
        self._dm_channels[key] = channel
        return channel

    async def _tell(
        self,
        team: str,
        user: str,
        text: str,
        *,
        ok: bool,
        channel: str | None = None,
        raw: bool = False,
    ) -> None:
        """A short message in the DM (`channel` when the press came from it). `&`, `<`, `>`
        are escaped unless `raw`: mrkdwn built by `employers.orgs.admin_command`, whose
        mentions (`<@U…>`) come from ids Slack sent, never from typed text."""
        target = channel if channel and channel.startswith("D") else await self._dm(team, user)
        if target is None:
            return
        shown = text if raw else escape(text)
        await self._api(
            "chat.postMessage",
            channel=target,
            text=render.clip(shown, render.MAX_FALLBACK_CHARS),
            blocks=render.outcome_blocks(shown, ok=ok),
            unfurl_links=False,
            unfurl_media=False,
        )

    async def _open_view(self, trigger_id: str | None, view: dict[str, Any]) -> str | None:
        if not trigger_id:
            return None
        response = await self._api("views.open", trigger_id=trigger_id, view=view)
        opened = response.get("view") if response is not None else None
        view_id = opened.get("id") if isinstance(opened, dict) else None
        return view_id if isinstance(view_id, str) else None

    async def _show(self, view_id: str | None, team: str, user: str, view: dict[str, Any]) -> None:
        """Replace the open modal with `view`; without one (the trigger had expired), say so
        in the DM (never the candidate's data outside a modal the requester opened)."""
        if view_id is not None and (
            await self._api("views.update", view_id=view_id, view=view) is not None
        ):
            return
        await self._tell(
            team, user, "I couldn't open a window for that; please press the button again.",
            ok=False,
        )  # fmt: skip

    async def _api(self, method: str, **kwargs: Any) -> dict[str, Any] | None:
        """A Web API call; a Slack error is logged by its code and counted, not raised."""
        try:
            response = await self.client.api_call(method, json=kwargs)
        except SlackApiError as exc:
            self._api_error(method, exc)
            return None
        except Exception as exc:  # network trouble: the press is lost, the service goes on
            logger.warning("slack %s failed: %s", method, type(exc).__name__)
            return None
        return dict(response.data) if isinstance(response.data, dict) else {}

    def _api_error(self, method: str, exc: SlackApiError) -> None:
        code = str(exc.response.get("error", "unknown")) if exc.response else "unknown"
        self.stats.api_errors[code] = self.stats.api_errors.get(code, 0) + 1
        logger.warning("slack %s failed: %s", method, code)

    def _failed(self, what: str, exc: BaseException) -> None:
        self.stats.errors += 1
        logger.error("employer %s failed: %s", what, type(exc).__name__)

    # ---- background work

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._failed("task", task.exception() or RuntimeError())

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for background work (shortlists, presses, submissions) to finish, including
        work that finishing work started."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._tasks:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return
            await asyncio.wait(set(self._tasks), timeout=left)

    async def close(self) -> None:
        await self.drain(5.0)
        for task in list(self._tasks):
            task.cancel()


def _input(values: dict[str, Any], block_id: str) -> str:
    """A modal input's value, stripped ('' when empty or absent)."""
    element = (values.get(block_id) or {}).get(block_id) or {}
    value = element.get("value")
    return value.strip() if isinstance(value, str) else ""
