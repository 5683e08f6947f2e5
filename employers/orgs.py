"""Organizations, their Slack workspaces and members: who at an employer may see what.

Why a directory service: a Slack request carries only a workspace (team id) and a user id.
Every employer command must turn that pair into "this person, at this organization, with this
role" the same way, and refuse everyone else — a Slack user only ever sees jobs of their own
organization. The operator links workspaces and seeds the first admin with `parley orgs …`;
admins then manage their colleagues with `/parley-admin` (`admin_command` below), which may
never leave an organization without an admin.

Ids are validated against Slack's formats before they touch the database, so hostile command
text cannot smuggle anything into a row or a reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from employers import audit
from employers.roles import ROLES, Permission, Role, can
from storage.db import Database
from storage.models import Organization, OrgMember, OrgWorkspace

TEAM_ID = re.compile(r"^[TE][A-Z0-9]{1,30}$")
USER_ID = re.compile(r"^[UW][A-Z0-9]{1,30}$")
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{1,30}$")
# Slack escapes mentions in slash-command text as <@U123> or <@U123|name>, channels as
# <#C123|name> (with "Escape channels, users, and links" on, which the app manifest sets).
_USER_MENTION = re.compile(r"^<@([UW][A-Z0-9]{1,30})(?:\|[^<>]{0,200})?>$")
_CHANNEL_MENTION = re.compile(r"^<#([CG][A-Z0-9]{1,30})(?:\|[^<>]{0,200})?>$")
MAX_COMMAND_CHARS = 500
_SLACK_ACTOR = "slack:"


class NotAMember(PermissionError):
    """The Slack user is not a member of an organization (or their workspace is linked to
    none). The message tells them whom to ask."""

    def __init__(self, message: str | None = None, *, org_name: str | None = None) -> None:
        if message is None:
            message = not_a_member_message(org_name)
        super().__init__(message)


class UnknownOrganization(LookupError):
    """No organization with that id (slug); organizations come from job files."""


class UnknownWorkspace(LookupError):
    """The Slack workspace is not linked to any organization."""


class WorkspaceTaken(ValueError):
    """The Slack workspace is already linked to another organization."""


class LastAdmin(PermissionError):
    """Refused from Slack: the change would leave the organization without an admin."""


def not_a_member_message(org_name: str | None) -> str:
    """What a Slack user who may not use the employer commands is told: whom to ask."""
    if org_name is None:
        return (
            "This Slack workspace is not linked to an organization in Parley. "
            "Ask your Parley operator to link it (`parley orgs link-slack ORG TEAM_ID`)."
        )
    return (
        f"You are not a member of {org_name} in Parley. "
        f"Ask an admin of {org_name} to add you (`/parley-admin add @you viewer`)."
    )


@dataclass(frozen=True)
class Employer:
    """A person at an organization, resolved from a Slack workspace and user id."""

    team_id: str
    user_id: str
    organization_id: int
    org_slug: str
    org_name: str
    role: str

    @property
    def actor(self) -> str:
        """How audit rows and access-log entries name this person (ids only)."""
        return f"slack:{self.team_id}:{self.user_id}"

    def can(self, perm: Permission) -> bool:
        """Whether this person's role grants `perm`."""
        return can(self.role, perm)


def _check(pattern: re.Pattern[str], value: object, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        shown = value[:40] if isinstance(value, str) else type(value).__name__
        raise ValueError(f"not a Slack {what}: {shown!r}")
    return value


def check_team(team_id: object) -> str:
    """`team_id` if it looks like a Slack workspace id (T…, or E… for Enterprise Grid)."""
    return _check(TEAM_ID, team_id, "workspace id (T…)")


def check_user(user_id: object) -> str:
    """`user_id` if it looks like a Slack user id (U…, or W… for Enterprise Grid)."""
    return _check(USER_ID, user_id, "user id (U…)")


def check_channel(channel_id: object) -> str:
    """`channel_id` if it looks like a Slack channel id (C… public, G… private)."""
    return _check(CHANNEL_ID, channel_id, "channel id (C…)")


def check_role(role: object) -> str:
    """`role` if it is one of viewer, recruiter, admin."""
    if not isinstance(role, str) or role not in ROLES:
        shown = role[:40] if isinstance(role, str) else type(role).__name__
        raise ValueError(f"unknown role {shown!r}: use one of {', '.join(ROLES)}")
    return role


class OrgDirectory:
    """Workspaces and members of organizations. Each method is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ workspaces
    def link_workspace(self, org_slug: str, team_id: str, *, channel: str | None = None) -> None:
        """Link a Slack workspace to an organization (idempotent; `channel` also sets the
        notification channel). A workspace belongs to one organization only: linking it to a
        second one raises WorkspaceTaken instead of silently moving its members."""
        check_team(team_id)
        if channel is not None:
            check_channel(channel)
        with self.db.transaction() as s:
            org = _org_by_slug(s, org_slug)
            ws = _workspace(s, team_id)
            if ws is not None and ws.organization_id != org.id:
                other = s.get(Organization, ws.organization_id)
                raise WorkspaceTaken(
                    f"workspace {team_id} is already linked to {other.slug if other else '?'}; "
                    f"unlink it first (parley orgs unlink-slack {team_id})"
                )
            if ws is None:
                ws = OrgWorkspace(organization_id=org.id, slack_team_id=team_id)
                s.add(ws)
            if channel is not None:
                ws.notify_channel = channel

    def unlink_workspace(self, team_id: str) -> bool:
        """Unlink a workspace and drop its members (they belonged to the organization only
        through it). False when it was not linked."""
        check_team(team_id)
        with self.db.transaction() as s:
            ws = _workspace(s, team_id)
            if ws is None:
                return False
            s.execute(delete(OrgMember).where(OrgMember.slack_team_id == team_id))
            s.delete(ws)
            return True

    def set_channel(self, team_id: str, channel_id: str | None) -> None:
        """Set (None: clear) the channel where the organization's notifications go."""
        check_team(team_id)
        if channel_id is not None:
            check_channel(channel_id)
        with self.db.transaction() as s:
            _set_channel(s, team_id, channel_id)

    def channel_for(self, organization_id: int) -> list[str]:
        """Notification channels of an organization (one per workspace that set one)."""
        with self.db.transaction() as s:
            return list(
                s.scalars(
                    select(OrgWorkspace.notify_channel)
                    .where(
                        OrgWorkspace.organization_id == organization_id,
                        OrgWorkspace.notify_channel.is_not(None),
                    )
                    .order_by(OrgWorkspace.id)
                )
            )

    def organization_of_team(self, team_id: str) -> tuple[int, str, str] | None:
        """(id, slug, name) of the organization a workspace is linked to, or None."""
        if not isinstance(team_id, str) or not TEAM_ID.fullmatch(team_id):
            return None
        with self.db.transaction() as s:
            return _org_of_team(s, team_id)

    # --------------------------------------------------------------------- members
    def add_member(self, team_id: str, user_id: str, role: str, *, by: str) -> str:
        """Add a member or change their role (upsert); returns what happened, in words.
        The workspace must be linked. From Slack (`by` = slack:…) the last admin of an
        organization cannot demote themselves: LastAdmin."""
        check_team(team_id)
        check_user(user_id)
        check_role(role)
        with self.db.transaction() as s:
            old, org_name = _upsert_member(s, team_id, user_id, role, by=by)
        return _change_text(user_id, old, role, org_name)

    def remove_member(self, team_id: str, user_id: str, *, by: str) -> bool:
        """Remove a member; False when they were none. From Slack the last admin of an
        organization cannot be removed: LastAdmin."""
        check_team(team_id)
        check_user(user_id)
        with self.db.transaction() as s:
            return _remove_member(s, team_id, user_id, by=by)

    def members(self, org_slug: str) -> list[dict[str, Any]]:
        """Members of an organization across its workspaces (ids and roles only)."""
        with self.db.transaction() as s:
            org = _org_by_slug(s, org_slug)
            return [_member_dict(m) for m in _members(s, org.id)]

    def organizations(self) -> list[dict[str, Any]]:
        """Every organization with its linked workspaces and member count."""
        with self.db.transaction() as s:
            orgs = s.scalars(select(Organization).order_by(Organization.slug)).all()
            counts = dict(
                s.execute(
                    select(OrgMember.organization_id, func.count()).group_by(
                        OrgMember.organization_id
                    )
                ).all()
            )
            workspaces: dict[int, list[dict[str, Any]]] = {}
            for ws in s.scalars(select(OrgWorkspace).order_by(OrgWorkspace.id)):
                workspaces.setdefault(ws.organization_id, []).append(
                    {"team_id": ws.slack_team_id, "channel": ws.notify_channel}
                )
            return [
                {
                    "slug": o.slug,
                    "name": o.name,
                    "workspaces": workspaces.get(o.id, []),
                    "members": int(counts.get(o.id, 0)),
                }
                for o in orgs
            ]

    def resolve(self, team_id: str, user_id: str) -> Employer | None:
        """The person behind a Slack request, or None when their workspace is not linked or
        they are not a member of its organization. Malformed ids are simply None."""
        if not isinstance(team_id, str) or not TEAM_ID.fullmatch(team_id):
            return None
        if not isinstance(user_id, str) or not USER_ID.fullmatch(user_id):
            return None
        with self.db.transaction() as s:
            return _resolve(s, team_id, user_id)

    def require(self, team_id: str, user_id: str) -> Employer:
        """Like resolve, but raises NotAMember (saying whom to ask) instead of None."""
        employer = self.resolve(team_id, user_id)
        if employer is None:
            org = self.organization_of_team(team_id)
            raise NotAMember(org_name=org[2] if org else None)
        return employer


# ------------------------------------------------------------------------ session helpers
def _org_by_slug(s: Session, org_slug: str) -> Organization:
    org = None
    if isinstance(org_slug, str) and 0 < len(org_slug) <= 64:
        org = s.scalars(select(Organization).where(Organization.slug == org_slug)).first()
    if org is None:
        known = ", ".join(s.scalars(select(Organization.slug).order_by(Organization.slug)))
        shown = org_slug[:64] if isinstance(org_slug, str) else "?"
        raise UnknownOrganization(
            f"no organization {shown!r} (organizations come from job files; known: "
            f"{known or 'none'})"
        )
    return org


def _workspace(s: Session, team_id: str) -> OrgWorkspace | None:
    return s.scalars(select(OrgWorkspace).where(OrgWorkspace.slack_team_id == team_id)).first()


def _org_of_team(s: Session, team_id: str) -> tuple[int, str, str] | None:
    row = s.execute(
        select(Organization.id, Organization.slug, Organization.name)
        .join(OrgWorkspace, OrgWorkspace.organization_id == Organization.id)
        .where(OrgWorkspace.slack_team_id == team_id)
    ).first()
    return (row[0], row[1], row[2]) if row else None


def _resolve(s: Session, team_id: str, user_id: str) -> Employer | None:
    row = s.execute(
        select(OrgMember.role, Organization.id, Organization.slug, Organization.name)
        .join(OrgWorkspace, OrgWorkspace.slack_team_id == OrgMember.slack_team_id)
        .join(Organization, Organization.id == OrgWorkspace.organization_id)
        .where(
            OrgMember.slack_team_id == team_id,
            OrgMember.slack_user_id == user_id,
            # A member row left from a workspace's earlier organization grants nothing.
            OrgMember.organization_id == OrgWorkspace.organization_id,
        )
    ).first()
    if row is None:
        return None
    role, org_id, slug, name = row
    return Employer(team_id, user_id, org_id, slug, name, role)


def _members(s: Session, organization_id: int) -> list[OrgMember]:
    return list(
        s.scalars(
            select(OrgMember)
            .where(OrgMember.organization_id == organization_id)
            .order_by(OrgMember.slack_team_id, OrgMember.slack_user_id)
        )
    )


def _member_dict(m: OrgMember) -> dict[str, Any]:
    return {
        "team_id": m.slack_team_id,
        "user_id": m.slack_user_id,
        "role": m.role,
        "added_by": m.added_by,
        "created_at": m.created_at.isoformat(),
        "updated_at": m.updated_at.isoformat(),
    }


def _linked_org(s: Session, team_id: str) -> tuple[int, str, str]:
    org = _org_of_team(s, team_id)
    if org is None:
        raise UnknownWorkspace(
            f"workspace {team_id} is not linked to an organization "
            f"(parley orgs link-slack ORG {team_id})"
        )
    return org


def _member(s: Session, team_id: str, user_id: str) -> OrgMember | None:
    return s.scalars(
        select(OrgMember).where(
            OrgMember.slack_team_id == team_id, OrgMember.slack_user_id == user_id
        )
    ).first()


def _guard_last_admin(s: Session, member: OrgMember, org_name: str, *, by: str) -> None:
    """Refuse (from Slack) a change that takes the admin role from the organization's only
    admin: nobody could manage members afterwards without the operator. The operator's CLI
    may do it — it is how a lost organization is repaired."""
    if member.role != Role.ADMIN or not by.startswith(_SLACK_ACTOR):
        return
    others = s.scalar(
        select(func.count())
        .select_from(OrgMember)
        .where(
            OrgMember.organization_id == member.organization_id,
            OrgMember.role == Role.ADMIN,
            OrgMember.id != member.id,
        )
    )
    if not others:
        raise LastAdmin(
            f"<@{member.slack_user_id}> is the last admin of {org_name}; "
            "make someone else admin first."
        )


def _upsert_member(
    s: Session, team_id: str, user_id: str, role: str, *, by: str
) -> tuple[str | None, str]:
    """Insert or update; returns (the old role or None, organization name)."""
    org_id, _slug, org_name = _linked_org(s, team_id)
    member = _member(s, team_id, user_id)
    if member is None:
        s.add(
            OrgMember(
                organization_id=org_id,
                slack_team_id=team_id,
                slack_user_id=user_id,
                role=role,
                added_by=by[:200],
            )
        )
        s.flush()
        return None, org_name
    old = member.role
    if member.organization_id != org_id:  # left from the workspace's earlier organization
        member.organization_id = org_id
        old = None
    elif old != role and role != Role.ADMIN:
        _guard_last_admin(s, member, org_name, by=by)
    member.role = role
    member.added_by = by[:200] if old != role else member.added_by
    s.flush()
    return old, org_name


def _remove_member(s: Session, team_id: str, user_id: str, *, by: str) -> bool:
    member = _member(s, team_id, user_id)
    if member is None:
        return False
    org = _org_of_team(s, team_id)
    if org is not None and member.organization_id == org[0]:
        _guard_last_admin(s, member, org[2], by=by)
    s.delete(member)
    s.flush()
    return True


def _set_channel(s: Session, team_id: str, channel_id: str | None) -> None:
    ws = _workspace(s, team_id)
    if ws is None:
        raise UnknownWorkspace(
            f"workspace {team_id} is not linked to an organization "
            f"(parley orgs link-slack ORG {team_id})"
        )
    ws.notify_channel = channel_id
    s.flush()


def _change_text(user_id: str, old: str | None, role: str, org_name: str) -> str:
    if old is None:
        return f"{user_id} added to {org_name} as {role}"
    if old == role:
        return f"{user_id} is already {role} at {org_name}; nothing changed"
    return f"{user_id} is now {role} at {org_name} (was {old})"


# -------------------------------------------------------------------------- /parley-admin
ADMIN_USAGE = (
    "*Usage* of `/parley-admin`:\n"
    "• `/parley-admin members` — who can see your organization's shortlists\n"
    "• `/parley-admin add @person viewer|recruiter|admin` — add someone (or change their role)\n"
    "• `/parley-admin role @person viewer|recruiter|admin` — change a member's role\n"
    "• `/parley-admin remove @person` — remove a member\n"
    "• `/parley-admin channel #channel` — where notifications go (`channel off` stops them)\n"
    "Roles: *viewer* reads shortlists; *recruiter* also advances, rejects, schedules and "
    "handles reviews; *admin* also manages members and the notification channel."
)


class _Usage(ValueError):
    """Malformed /parley-admin text; the message says what was wrong."""


def _words(text: object) -> list[str]:
    if not isinstance(text, str):
        raise _Usage("I could not read that command.")
    if len(text) > MAX_COMMAND_CHARS:
        raise _Usage(f"That command is too long (at most {MAX_COMMAND_CHARS} characters).")
    return text.replace("\x00", "").split()


def _mentioned_user(word: str) -> str:
    match = _USER_MENTION.fullmatch(word)
    if match:
        return match.group(1)
    if USER_ID.fullmatch(word):
        return word
    raise _Usage("Mention the person with @ so that Slack sends who they are (e.g. `@ana`).")


def _mentioned_channel(word: str) -> str:
    match = _CHANNEL_MENTION.fullmatch(word)
    if match:
        return match.group(1)
    if CHANNEL_ID.fullmatch(word):
        return word
    raise _Usage("Name the channel with # (e.g. `#hiring`), or `off`.")


def _role_word(word: str) -> str:
    role = word.lower()
    if role not in ROLES:
        raise _Usage(f"Roles are {', '.join(ROLES)}.")
    return role


def _denied(s: Session, actor: str, org: tuple[int, str, str] | None, message: str) -> str:
    audit.record(
        s,
        actor=actor,
        organization_id=org[0] if org else None,
        action="admin",
        outcome=audit.DENIED,
        detail="not an admin" if org else "workspace not linked",
    )
    return message


def admin_command(
    db: Database, employer: Employer | None, team_id: str, user_id: str, text: str
) -> str:
    """Run `/parley-admin <text>` for `employer` (None: the sender is no member) and return
    the Slack mrkdwn reply. Only admins may use it; every call writes an employer_audit row
    (allowed, denied or invalid) in the same transaction as the change it made. Replies
    never echo the command text: only ids Slack sent as mentions and fixed words."""
    actor = employer.actor if employer else f"slack:{str(team_id)[:40]}:{str(user_id)[:40]}"
    with db.transaction() as s:
        if employer is None:
            linked = isinstance(team_id, str) and TEAM_ID.fullmatch(team_id)
            org = _org_of_team(s, team_id) if linked else None
            return _denied(s, actor, org, not_a_member_message(org[2] if org else None))
        if not employer.can(Permission.ADMIN):
            org = (employer.organization_id, employer.org_slug, employer.org_name)
            return _denied(
                s,
                actor,
                org,
                f"Only admins of {employer.org_name} can manage members and the channel; "
                f"you are a {employer.role}. Ask an admin of {employer.org_name}.",
            )
        try:
            action, detail, reply = _admin_action(s, employer, _words(text))
        except _Usage as exc:
            audit.record(
                s, actor=actor, organization_id=employer.organization_id, action="admin",
                outcome=audit.INVALID, detail="usage",
            )  # fmt: skip
            return f"{exc}\n\n{ADMIN_USAGE}"
        except LastAdmin as exc:
            audit.record(
                s, actor=actor, organization_id=employer.organization_id,
                action="admin_last_admin", outcome=audit.DENIED, detail="last admin",
            )  # fmt: skip
            return str(exc)
        audit.record(
            s, actor=actor, organization_id=employer.organization_id, action=action,
            outcome=audit.ALLOWED, detail=detail,
        )  # fmt: skip
        return reply


def _admin_action(s: Session, employer: Employer, words: list[str]) -> tuple[str, str, str]:
    """(audit action, audit detail, reply) for an admin's command; raises _Usage."""
    verb = words[0].lower() if words else "help"
    args = words[1:]
    team = employer.team_id
    org_name = employer.org_name
    if verb == "help" and not args:
        return "admin_help", "help", ADMIN_USAGE
    if verb == "members" and not args:
        return "admin_members", "members", _members_text(s, employer)
    if verb == "add" and len(args) == 2:
        uid, role = _mentioned_user(args[0]), _role_word(args[1])
        old, _ = _upsert_member(s, team, uid, role, by=employer.actor)
        if old is None:
            reply = f"Added <@{uid}> to {org_name} as *{role}*."
        elif old == role:
            reply = f"<@{uid}> is already *{role}*; nothing changed."
        else:
            reply = f"<@{uid}> is now *{role}* (was {old})."
        return "admin_add", f"add {uid} {role}", reply
    if verb == "role" and len(args) == 2:
        uid, role = _mentioned_user(args[0]), _role_word(args[1])
        if _member(s, team, uid) is None:
            return (
                "admin_role", f"role {uid} not a member",
                f"<@{uid}> is not a member of {org_name}; add them with "
                f"`/parley-admin add @person {role}`.",
            )  # fmt: skip
        old, _ = _upsert_member(s, team, uid, role, by=employer.actor)
        if old == role:
            return "admin_role", f"role {uid} {role}", f"<@{uid}> is already *{role}*."
        return "admin_role", f"role {uid} {role}", f"<@{uid}> is now *{role}* (was {old})."
    if verb == "remove" and len(args) == 1:
        uid = _mentioned_user(args[0])
        if not _remove_member(s, team, uid, by=employer.actor):
            return (
                "admin_remove",
                f"remove {uid} not a member",
                (f"<@{uid}> is not a member of {org_name}; nothing changed."),
            )
        return "admin_remove", f"remove {uid}", f"Removed <@{uid}> from {org_name}."
    if verb == "channel" and not args:
        ws = _workspace(s, team)
        current = ws.notify_channel if ws else None
        reply = (
            f"Notifications go to <#{current}>." if current
            else "No notification channel is set: `/parley-admin channel #channel`."
        )  # fmt: skip
        return "admin_channel", "show", reply
    if verb == "channel" and len(args) == 1:
        if args[0].lower() == "off":
            _set_channel(s, team, None)
            return "admin_channel", "off", "Notifications are off (no channel)."
        channel = _mentioned_channel(args[0])
        _set_channel(s, team, channel)
        return (
            "admin_channel",
            f"set {channel}",
            (
                f"Notifications for {org_name} go to <#{channel}> now. "
                "Invite Parley to that channel (`/invite @Parley`) so it can post there."
            ),
        )
    raise _Usage("I did not understand that.")


def _members_text(s: Session, employer: Employer) -> str:
    rows = _members(s, employer.organization_id)
    lines = [f"*Members of {employer.org_name}* ({len(rows)}):"]
    for m in rows:
        where = "" if m.slack_team_id == employer.team_id else f" (workspace {m.slack_team_id})"
        lines.append(f"• <@{m.slack_user_id}> — {m.role}{where}")
    return "\n".join(lines)
