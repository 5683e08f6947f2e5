"""`parley orgs …`: the operator's side of organizations, Slack workspaces and members.

Why the operator: a Slack workspace's claim to an organization cannot be checked from Slack
itself, so linking a workspace and seeding its first admin is done here; admins then manage
their colleagues with `/parley-admin`. The operator may also remove or demote the last admin
(the repair path when an organization lost its admins), which Slack refuses. Every change
writes an employer_audit row with the actor `admin:<OS user>`.

Exit codes: 0 done; 1 not found or refused; 2 bad input.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from parley.cli_support import fail, open_db

orgs_app = typer.Typer(
    help="Organizations: their Slack workspaces, notification channels and members' roles.",
    no_args_is_help=True,
)


def _audit(db: Any, action: str, organization_id: int | None, detail: str) -> None:
    from employers import audit
    from privacy.audit import admin_actor

    with db.transaction() as s:
        audit.record(
            s, actor=admin_actor(), organization_id=organization_id, action=action,
            outcome=audit.ALLOWED, detail=detail,
        )  # fmt: skip


def _run(action: Any) -> Any:
    """Run a directory call, mapping its errors to the exit codes: not found or refused 1,
    bad input 2."""
    from employers.orgs import LastAdmin, UnknownOrganization, UnknownWorkspace, WorkspaceTaken

    try:
        return action()
    except (UnknownOrganization, UnknownWorkspace, WorkspaceTaken, LastAdmin) as exc:
        fail(str(exc), 1)
    except ValueError as exc:
        fail(str(exc), 2)


@orgs_app.command("list")
def orgs_list(
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
) -> None:
    """Organizations with their Slack workspaces, channels and member counts."""
    from employers.orgs import OrgDirectory

    db = open_db()
    try:
        rows = OrgDirectory(db).organizations()
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no organizations yet: import a job file (parley jobs import …)")
        return
    for r in rows:
        spaces = ", ".join(
            f"{w['team_id']}" + (f" → #{w['channel']}" if w["channel"] else "")
            for w in r["workspaces"]
        )
        typer.echo(
            f"{r['slug']:<24} {r['name']:<32} members: {r['members']:<4} "
            f"slack: {spaces or 'not linked'}"
        )


@orgs_app.command("link-slack")
def orgs_link_slack(
    org: Annotated[str, typer.Argument(help="organization id (from its job files)")],
    team: Annotated[str, typer.Argument(help="Slack workspace id, e.g. T012AB3C4")],
    channel: Annotated[
        str | None, typer.Option("--channel", help="notification channel id, e.g. C012AB3C4")
    ] = None,
) -> None:
    """Link a Slack workspace to an organization (a workspace belongs to one only)."""
    from employers.orgs import OrgDirectory

    db = open_db()
    try:
        directory = OrgDirectory(db)
        _run(lambda: directory.link_workspace(org, team, channel=channel))
        org_id = directory.organization_of_team(team)
        _audit(db, "link_slack", org_id[0] if org_id else None, f"link {team}")
    finally:
        db.dispose()
    typer.echo(
        f"workspace {team} linked to {org}" + (f" (notifications: {channel})" if channel else "")
    )


@orgs_app.command("unlink-slack")
def orgs_unlink_slack(
    team: Annotated[str, typer.Argument(help="Slack workspace id")],
) -> None:
    """Unlink a Slack workspace; its members lose access."""
    from employers.orgs import OrgDirectory

    db = open_db()
    try:
        directory = OrgDirectory(db)
        org = _run(lambda: directory.organization_of_team(team))
        if not _run(lambda: directory.unlink_workspace(team)):
            fail(f"workspace {team} is not linked", 1)
        _audit(db, "unlink_slack", org[0] if org else None, f"unlink {team}")
    finally:
        db.dispose()
    typer.echo(f"workspace {team} unlinked")


@orgs_app.command("channel")
def orgs_channel(
    team: Annotated[str, typer.Argument(help="Slack workspace id")],
    channel: Annotated[str, typer.Argument(help="channel id (C…), or off")],
) -> None:
    """Set the channel for the organization's notifications (off: none)."""
    from employers.orgs import OrgDirectory

    target = None if channel.lower() == "off" else channel
    db = open_db()
    try:
        directory = OrgDirectory(db)
        _run(lambda: directory.set_channel(team, target))
        org = directory.organization_of_team(team)
        _audit(db, "channel", org[0] if org else None, f"channel {target or 'off'}")
    finally:
        db.dispose()
    typer.echo(f"notifications of workspace {team}: {target or 'off'}")


@orgs_app.command("members")
def orgs_members(
    org: Annotated[str, typer.Argument(help="organization id")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
) -> None:
    """Members of an organization and their roles (Slack ids)."""
    from employers.orgs import OrgDirectory

    db = open_db()
    try:
        rows = _run(lambda: OrgDirectory(db).members(org))
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo(f"{org} has no members yet: parley orgs add-member TEAM USER --role admin")
        return
    for r in rows:
        typer.echo(f"{r['team_id']:<14} {r['user_id']:<14} {r['role']:<10} by {r['added_by']}")


@orgs_app.command("add-member")
def orgs_add_member(
    team: Annotated[str, typer.Argument(help="Slack workspace id (linked)")],
    user: Annotated[str, typer.Argument(help="Slack user id, e.g. U012AB3C4")],
    role: Annotated[str, typer.Option("--role", help="viewer, recruiter or admin")],
) -> None:
    """Add a member or change their role."""
    from employers.orgs import OrgDirectory
    from privacy.audit import admin_actor

    db = open_db()
    try:
        directory = OrgDirectory(db)
        message = _run(lambda: directory.add_member(team, user, role, by=admin_actor()))
        org = directory.organization_of_team(team)
        _audit(db, "add_member", org[0] if org else None, f"add {user} {role}")
    finally:
        db.dispose()
    typer.echo(message)


@orgs_app.command("remove-member")
def orgs_remove_member(
    team: Annotated[str, typer.Argument(help="Slack workspace id")],
    user: Annotated[str, typer.Argument(help="Slack user id")],
) -> None:
    """Remove a member (the operator may remove an organization's last admin)."""
    from employers.orgs import OrgDirectory
    from privacy.audit import admin_actor

    db = open_db()
    try:
        directory = OrgDirectory(db)
        if not _run(lambda: directory.remove_member(team, user, by=admin_actor())):
            fail(f"{user} is not a member in workspace {team}", 1)
        org = directory.organization_of_team(team)
        _audit(db, "remove_member", org[0] if org else None, f"remove {user}")
    finally:
        db.dispose()
    typer.echo(f"{user} removed")
