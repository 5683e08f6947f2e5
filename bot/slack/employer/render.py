"""The employer side in Block Kit: shortlist pages, the answers modal and the review modals.

Why its own module: Slack's limits are hard (a message may hold 50 blocks, a modal 100, a
section 3,000 characters, a field 2,000, a button value 2,000) and a message over them is
refused as a whole, so every piece is clipped here with the limits in one place and the
service never builds blocks itself. Everything a candidate typed or a recruiter wrote is
escaped (`&`, `<`, `>`), so a name or an answer can never form a mention (`<!channel>`) or a
link.

Ids: every button's `action_id` starts with `employer_` (the gateway's canonical form drops
any other); row buttons carry the application id as their value, the page buttons the query
and the page as compact JSON. Modals' `callback_id`s start with `employer_` too; their
`private_metadata` is JSON naming the application and the DM the result goes to.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from bot.slack.render import escape

MAX_MESSAGE_BLOCKS = 50
MAX_MODAL_BLOCKS = 100
MAX_SECTION_CHARS = 3000
MAX_FIELD_CHARS = 2000
MAX_FIELDS = 10
MAX_CONTEXT_CHARS = 2000
MAX_HEADER_CHARS = 150
MAX_VALUE_CHARS = 2000
MAX_FALLBACK_CHARS = 300
MAX_ANSWER_CHARS = 2500  # an answer in the modal; the rest is cut with a note
MAX_SUMMARY_CHARS = 160  # a question's one-line reason in a shortlist field
MAX_REASON_CHARS = 1000  # what a recruiter may write in a review modal
BLOCKS_PER_ROW = 4  # section, context, actions, divider
ROWS_PER_PAGE = (MAX_MESSAGE_BLOCKS - 3) // BLOCKS_PER_ROW  # header, context, page buttons

# Action ids (the canonical form admits `employer_[a-z_]{1,30}`).
VIEW = "employer_view"
ADVANCE = "employer_advance"
REJECT = "employer_reject"
SCHEDULE = "employer_schedule"
REQUEST_REVIEW = "employer_request_review"
RESOLVE_REVIEW = "employer_resolve_review"
PAGE_PREV = "employer_page_prev"
PAGE_NEXT = "employer_page_next"
ROW_ACTIONS = (VIEW, ADVANCE, REJECT, SCHEDULE, REQUEST_REVIEW, RESOLVE_REVIEW)
PAGE_ACTIONS = (PAGE_PREV, PAGE_NEXT)

# Modal callback ids, and their inputs' block / action ids (the same string for both).
ANSWERS_VIEW = "employer_answers"
REQUEST_REVIEW_VIEW = "employer_request_review"
RESOLVE_REVIEW_VIEW = "employer_resolve_review"
REASON_INPUT = "reason"
RESOLUTION_INPUT = "resolution"
SCORE_INPUT = "score"

APPLICATION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CHANNEL_RE = re.compile(r"^[CDG][A-Z0-9]{1,30}$")


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when it was longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(text: str, limit: int = MAX_HEADER_CHARS) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


def _mrkdwn(text: str, limit: int = MAX_SECTION_CHARS) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text, limit) or " "}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(text, MAX_CONTEXT_CHARS)]}


def _button(
    action_id: str,
    label: str,
    value: str,
    *,
    style: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": _plain(label, 75),
        "value": value,
    }
    if style is not None:
        button["style"] = style
    if confirm is not None:
        button["confirm"] = confirm
    return button


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """A field of a shortlist row or the shortlist (dataclasses), or of a dict."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def score_text(score: int | None) -> str:
    return "—" if score is None else f"{score}/100"


def _when(value: Any) -> str:
    """An ISO time (or datetime) as `Mon 24 Nov 10:00 UTC`."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return escape(value[:40])
    else:
        return "?"
    return moment.strftime("%a %d %b %Y %H:%M UTC")


# ---- the shortlist message


def page_value(query: Any, page: int) -> str:
    """A page button's value: the query (`ShortlistQuery.to_json()`) with the page to show;
    read back with `ShortlistQuery.from_json`, which validates every field."""
    data = dict(query.to_json()) if hasattr(query, "to_json") else dict(query)
    data["page"] = page
    value = json.dumps(data, separators=(",", ":"))
    assert len(value) <= MAX_VALUE_CHARS
    return value


def _flags(row: Any) -> list[str]:
    flags: list[str] = []
    if _get(row, "knocked_out"):
        by = _get(row, "knocked_out_by")
        flags.append("⛔ knocked out" + (f" by `{escape(str(by))}`" if by else ""))
    if _get(row, "insufficient_data"):
        flags.append("⚠ insufficient data")
    if _get(row, "needs_review"):
        flags.append("⚠ answers flagged for review")
    reviews = _get(row, "open_reviews") or []
    if reviews:
        flags.append("🔎 review open (" + escape(", ".join(str(r) for r in reviews)[:100]) + ")")
    if _get(row, "ai_opt_out"):
        flags.append("🤖 AI scoring off (the candidate opted out): a person scores it")
    if _get(row, "knockout_overridden"):
        by = _get(row, "knockout_override_by")
        flags.append("✋ knockout overridden" + (f" by {escape(str(by))}" if by else ""))
    if _get(row, "pinned_rank"):
        by = _get(row, "pinned_by")
        flags.append(
            f"📌 pinned at {_get(row, 'pinned_rank')}" + (f" by {escape(str(by))}" if by else "")
        )
    return flags


def _row_title(row: Any) -> str:
    name = _get(row, "name")
    who = f"`{escape(str(_get(row, 'ref', '')))}`"
    if name:
        who += " " + escape(str(name))
    score = _get(row, "score")
    line = f"*{_get(row, 'rank', '?')}.* {who} — *{score_text(score)}*"
    if _get(row, "overridden"):
        ai = _get(row, "ai_score")
        by = _get(row, "override_by")
        line += f" (set by a person{f', {escape(str(by))}' if by else ''}; AI {score_text(ai)})"
    flags = _flags(row)
    if flags:
        line += "\n" + " · ".join(flags)
    return line


def _question_fields(row: Any) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = []
    for question in (_get(row, "questions") or [])[:MAX_FIELDS]:
        qid = escape(str(_get(question, "question_id", "?")))
        score = _get(question, "score")
        summary = escape(str(_get(question, "summary") or _get(question, "status") or ""))
        mark = " ⚠" if _get(question, "needs_review") else ""
        text = f"*{qid}*: {score if score is not None else '—'}{mark} — {summary}"
        fields.append(_mrkdwn(clip(text, MAX_SUMMARY_CHARS + 80), MAX_FIELD_CHARS))
    return fields


def _row_context(row: Any) -> str:
    parts = [
        f"Interview: {escape(str(_get(row, 'interview_status') or '?'))}",
        f"Stage: {escape(str(_get(row, 'stage') or 'new'))}",
    ]
    booking = _get(row, "booking")
    if booking:
        status = escape(str(_get(booking, "status") or "booked"))
        who = _get(booking, "interviewer")
        with_whom = f" with {escape(str(who))}" if who else ""
        parts.append(f"Booking: {_when(_get(booking, 'starts_at'))}{with_whom} ({status})")
    else:
        parts.append("Booking: none")
    finished = _get(row, "finished_at")
    if finished:
        parts.append(f"Finished {_when(finished)}")
    channel = _get(row, "channel")
    if channel:
        parts.append(f"via {escape(str(channel))}")
    fit = _get(row, "job_match")
    if fit is not None:
        reasons = "; ".join(str(r) for r in _get(row, "job_match_reasons") or [])
        parts.append(f"Job match {fit}%" + (f" ({escape(clip(reasons, 400))})" if reasons else ""))
    return " · ".join(parts)


def reject_confirm(ref: str) -> dict[str, Any]:
    return {
        "title": _plain("Reject this candidate?", 100),
        "text": _mrkdwn(
            f"Application `{escape(ref)}` will be rejected and the candidate gets a courteous "
            "message on their channel. This cannot be undone from Slack.",
            300,
        ),
        "confirm": _plain("Reject", 30),
        "deny": _plain("Cancel", 30),
        "style": "danger",
    }


def _row_actions(row: Any, rank: int) -> dict[str, Any]:
    app_id = str(_get(row, "application_id", ""))
    ref = str(_get(row, "ref", app_id[:8]))
    return {
        "type": "actions",
        "block_id": f"employer_row_{rank}",
        "elements": [
            _button(VIEW, "View answers", app_id),
            _button(ADVANCE, "Advance", app_id, style="primary"),
            _button(REJECT, "Reject", app_id, style="danger", confirm=reject_confirm(ref)),
            _button(SCHEDULE, "Schedule", app_id),
            _button(REQUEST_REVIEW, "Request review", app_id),
            _button(RESOLVE_REVIEW, "Resolve review", app_id),
        ],
    }


def _summary(shortlist: Any) -> str:
    query = _get(shortlist, "query")
    parts = [
        escape(str(_get(shortlist, "org_name", ""))),
        f"`{escape(str(_get(shortlist, 'job_slug', '')))}`",
        f"{_get(shortlist, 'total', 0)} matching",
        f"status: {escape(str(_get(query, 'status', 'completed')))}",
    ]
    if _get(query, "top") is not None:
        parts.append(f"top {_get(query, 'top')}")
    if _get(query, "min_score") is not None:
        parts.append(f"min score {_get(query, 'min_score')}")
    cutoff = _get(shortlist, "cutoff")
    if cutoff is not None:
        parts.append(f"cut-off {cutoff}")
    parts.append(f"page {_get(shortlist, 'page', 1)}/{max(1, _get(shortlist, 'pages', 1) or 1)}")
    return " · ".join(parts)


def fallback_text(shortlist: Any) -> str:
    """The message's `text` (notifications, screen readers): no names, no scores."""
    title = str(_get(shortlist, "job_title", "") or _get(shortlist, "job_slug", ""))
    return clip(
        f"Shortlist for {escape(title)}: {_get(shortlist, 'total', 0)} matching · "
        f"page {_get(shortlist, 'page', 1)}/{max(1, _get(shortlist, 'pages', 1) or 1)}",
        MAX_FALLBACK_CHARS,
    )


def shortlist_blocks(shortlist: Any) -> list[dict[str, Any]]:
    """One page of a shortlist as at most 50 blocks: a header, a summary line, per candidate a
    section (rank, reference, name when the candidate allows it, score, flags) with a field per
    question (score and one-line reason), a context line (interview status, stage, booking)
    and the action buttons, then the page buttons."""
    title = str(_get(shortlist, "job_title", "") or _get(shortlist, "job_slug", ""))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(f"Shortlist: {title}")},
        context(_summary(shortlist)),
    ]
    rows = list(_get(shortlist, "rows") or [])
    shown = rows[:ROWS_PER_PAGE]
    if not shown:
        blocks.append(
            section("No candidates match. Try another status (`status all`) or a lower minimum.")
        )
    for row in shown:
        rank = int(_get(row, "rank", 0) or 0)
        head = section(_row_title(row))
        fields = _question_fields(row)
        if fields:
            head["fields"] = fields
        blocks.extend(
            [head, context(_row_context(row)), _row_actions(row, rank), {"type": "divider"}]
        )
    if blocks[-1]["type"] == "divider":
        blocks.pop()
    page = int(_get(shortlist, "page", 1) or 1)
    pages = int(_get(shortlist, "pages", 1) or 1)
    nav: list[dict[str, Any]] = []
    query = _get(shortlist, "query")
    if page > 1:
        nav.append(_button(PAGE_PREV, "◀ Previous", page_value(query, page - 1)))
    if page < pages:
        nav.append(_button(PAGE_NEXT, "Next ▶", page_value(query, page + 1)))
    if nav:
        blocks.append({"type": "actions", "block_id": "employer_pages", "elements": nav})
    assert len(blocks) <= MAX_MESSAGE_BLOCKS
    return blocks


# ---- modals


def _modal(
    callback_id: str,
    title: str,
    blocks: list[dict[str, Any]],
    *,
    submit: str | None = None,
    metadata: str = "",
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": _plain(title, 24),
        "close": _plain("Close", 24),
        "blocks": blocks[:MAX_MODAL_BLOCKS],
        "private_metadata": metadata,
    }
    if submit is not None:
        view["submit"] = _plain(submit, 24)
    return view


def loading_view() -> dict[str, Any]:
    """Opened at once (the trigger id lives three seconds), then replaced by the answers."""
    return _modal(ANSWERS_VIEW, "Answers", [section("Loading the answers…")])


def message_view(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something (a refusal, a candidate no longer in the process)."""
    return _modal(ANSWERS_VIEW, title, [section(escape(text))])


def _answer_blocks(question: dict[str, Any]) -> list[dict[str, Any]]:
    """One question of the answers modal: the prompt, the answer (or the transcript of a
    voice answer, clipped with a note when long), then its score and explanation."""
    prompt = escape(str(question.get("prompt") or question.get("question_id") or "Question"))
    kind = escape(str(question.get("kind") or ""))
    blocks: list[dict[str, Any]] = [section(f"*{prompt}*" + (f"  _({kind})_" if kind else ""))]
    answer = question.get("answer")
    source = question.get("answer_source") or question.get("source") or "text"
    if answer:
        answer = str(answer)
        note = ""
        if len(answer) > MAX_ANSWER_CHARS:
            note = f"\n_(clipped: {len(answer) - MAX_ANSWER_CHARS} more characters)_"
            answer = answer[:MAX_ANSWER_CHARS] + "…"
        label = "Transcript of the voice answer" if source == "transcript" else "Answer"
        quoted = escape(answer).replace("\n", "\n>")
        blocks.append(section(f"_{label}:_\n>{quoted}{note}"))
    elif question.get("status") == "skipped":
        blocks.append(section("_Skipped._"))
    else:
        blocks.append(section("_No answer._"))
    details: list[str] = []
    if question.get("knockout"):
        details.append("⛔ knockout answer")
    score = question.get("score")
    status = question.get("status")
    if score is not None:
        details.append(f"Score {score}/100")
    elif question.get("insufficient_data"):
        details.append("⚠ insufficient data")
    elif status == "awaiting_person":
        details.append("AI scoring off: a person scores it")
    summary = question.get("summary")
    reason = question.get("reason")
    for text in (summary, reason if reason != summary else None):
        if text:
            details.append(escape(str(text)))
    if question.get("needs_review"):
        details.append("⚠ flagged for review")
    covered = _points(question.get("key_points_covered"))
    missing = _points(question.get("key_points_missing"))
    if covered:
        details.append("covered: " + covered)
    if missing:
        details.append("missing: " + missing)
    if details:
        blocks.append(context(" · ".join(details)))
    return blocks


def _points(points: Any) -> str:
    if not isinstance(points, list):
        return ""
    names = [str(p.get("point") if isinstance(p, dict) else p) for p in points]
    return escape(", ".join(n for n in names if n))[:500]


def answers_view(data: dict[str, Any]) -> dict[str, Any]:
    """The "view answers" modal: who and the score, then each question with the answer text
    (or the transcript of a voice answer), its score and explanation; open reviews and the
    decision history at the end. At most 100 blocks: a long interview says what was left out."""
    ref = escape(str(data.get("ref") or ""))
    name = data.get("name")
    head = f"*{escape(str(data.get('job_title') or ''))}* · application `{ref}`"
    if name:
        head += f"\n{escape(str(name))}"
    score = data.get("score")
    head += f"\nScore: *{score_text(score)}*"
    if data.get("overridden") or data.get("override_score") is not None:
        head += f" (set by a person; AI {score_text(data.get('ai_score'))})"
    if data.get("ai_opt_out"):
        head += "\nAI scoring off (the candidate opted out): a person scores it."
    if data.get("knocked_out"):
        by = data.get("knocked_out_by")
        head += "\n⛔ knocked out" + (f" by `{escape(str(by))}`" if by else "")
    stage = data.get("stage")
    if stage:
        head += f"\nStage: {escape(str(stage))}"
    booking = data.get("booking")
    if booking:
        who = booking.get("interviewer")
        head += f"\nBooking: {_when(booking.get('starts_at'))}" + (
            f" with {escape(str(who))}" if who else ""
        )
        head += f" ({escape(str(booking.get('status') or 'booked'))})"
    blocks: list[dict[str, Any]] = [section(head)]
    if data.get("recordings_allowed") is False:
        blocks.append(context("The candidate has not allowed employers to hear recordings."))
    tail: list[dict[str, Any]] = []
    reviews = data.get("open_reviews") or []
    if reviews:
        listed = ", ".join(
            escape(str(r.get("reason") if isinstance(r, dict) else r)) for r in reviews
        )
        tail.append(section(f"🔎 *Open reviews:* {listed[:1000]}"))
    history = data.get("decisions") or data.get("history") or []
    if history:
        lines = []
        for item in history[:20]:
            kind = escape(str(_get(item, "kind", "")))
            actor = escape(str(_get(item, "actor", "")))
            at = _when(_get(item, "created_at"))
            reason = _get(item, "reason")
            lines.append(
                f"• {at}: {kind} by {actor}" + (f" — {escape(str(reason))[:200]}" if reason else "")
            )
        tail.append(section("*Decisions*\n" + "\n".join(lines)))
    room = MAX_MODAL_BLOCKS - len(blocks) - len(tail) - 1
    questions = list(data.get("questions") or [])
    body: list[dict[str, Any]] = []
    shown = 0
    for question in questions:
        chunk = [{"type": "divider"}, *_answer_blocks(question)]
        if len(body) + len(chunk) > room:
            break
        body.extend(chunk)
        shown += 1
    if shown < len(questions):
        body.append(context(f"{len(questions) - shown} more questions not shown here."))
    return _modal(ANSWERS_VIEW, "Answers", blocks + body + tail)


def metadata(application_id: str, channel: str | None) -> str:
    return json.dumps({"a": application_id, "c": channel}, separators=(",", ":"))


def parse_metadata(value: str) -> tuple[str, str | None] | None:
    """(application id, DM channel) from a modal's private_metadata, or None when forged."""
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    app_id, channel = data.get("a"), data.get("c")
    if not isinstance(app_id, str) or not APPLICATION_ID_RE.match(app_id):
        return None
    if channel is not None and (not isinstance(channel, str) or not CHANNEL_RE.match(channel)):
        return None
    return app_id, channel


def _input(
    block_id: str, label: str, *, multiline: bool, optional: bool, hint: str, max_length: int
) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": _plain(label, 2000),
        "hint": _plain(hint, 2000),
        "element": {
            "type": "plain_text_input",
            "action_id": block_id,
            "multiline": multiline,
            "max_length": max_length,
        },
    }


def request_review_view(application_id: str, ref: str, channel: str | None) -> dict[str, Any]:
    """Ask for a person to review the AI's assessment: a reason is required."""
    return _modal(
        REQUEST_REVIEW_VIEW,
        "Request review",
        [
            section(f"Ask a person to review application `{escape(ref)}`."),
            _input(
                REASON_INPUT,
                "Why should a person review it?",
                multiline=True,
                optional=False,
                hint="Required. Recorded with your name in the decision history.",
                max_length=MAX_REASON_CHARS,
            ),
        ],
        submit="Request",
        metadata=metadata(application_id, channel),
    )


def resolve_review_view(application_id: str, ref: str, channel: str | None) -> dict[str, Any]:
    """Resolve the open review(s): a resolution is required; a score (0–100) replaces the
    AI's, recorded with who and why."""
    return _modal(
        RESOLVE_REVIEW_VIEW,
        "Resolve review",
        [
            section(f"Resolve the review of application `{escape(ref)}`."),
            _input(
                RESOLUTION_INPUT,
                "Resolution",
                multiline=True,
                optional=False,
                hint="Required: what you found and decided.",
                max_length=MAX_REASON_CHARS,
            ),
            _input(
                SCORE_INPUT,
                "Score override (0–100)",
                multiline=False,
                optional=True,
                hint="Optional: replaces the AI score. Leave empty to keep it.",
                max_length=3,
            ),
        ],
        submit="Resolve",
        metadata=metadata(application_id, channel),
    )


def outcome_blocks(text: str, *, ok: bool) -> list[dict[str, Any]]:
    """A short message about what a button did (or why it did nothing); `text` is mrkdwn,
    already escaped by the caller."""
    mark = "✅" if ok else "⚠"
    return [section(f"{mark} {text}")]
