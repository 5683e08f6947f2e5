"""Organizations, workspaces, members and `/parley-admin` on both backends: who may see and
manage what, and that every admin command — allowed, denied or malformed — is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from employers import audit
from employers.orgs import (
    ADMIN_USAGE,
    Employer,
    LastAdmin,
    NotAMember,
    OrgDirectory,
    UnknownOrganization,
    UnknownWorkspace,
    WorkspaceTaken,
    admin_command,
)
from employers.roles import Permission, Role, can
from storage.db import Database
from storage.models import EmployerAudit, Organization, OrgMember, OrgWorkspace

ORG = "test-org"  # from tests/fixtures/jobs
TEAM = "T0TEST01"
OTHER_TEAM = "T0OTHER1"
ADMIN = "U0ADMIN1"
OPERATOR = "admin:operator"


def _other_org(db: Database) -> int:
    with db.transaction() as s:
        org = Organization(slug="other-org", name="Other Organization")
        s.add(org)
        s.flush()
        return org.id


def _audits(db: Database) -> list[EmployerAudit]:
    with db.transaction() as s:
        return list(s.scalars(select(EmployerAudit).order_by(EmployerAudit.id)))


def _member_count(db: Database) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(OrgMember)) or 0)


@pytest.fixture
def orgs(db: Database) -> OrgDirectory:
    """test-org linked to TEAM with one admin (seeded by the operator)."""
    directory = OrgDirectory(db)
    directory.link_workspace(ORG, TEAM)
    directory.add_member(TEAM, ADMIN, "admin", by=OPERATOR)
    return directory


def _admin(orgs: OrgDirectory) -> Employer:
    employer = orgs.resolve(TEAM, ADMIN)
    assert employer is not None
    return employer


# ---------------------------------------------------------------------------- roles


def test_roles_grant_view_act_admin_in_order() -> None:
    assert [can(r, p) for r in Role for p in Permission] == [
        True, False, False,  # viewer
        True, True, False,  # recruiter
        True, True, True,  # admin
    ]  # fmt: skip
    assert not any(can(bad, p) for bad in ("", "owner", "ADMIN", "admin ") for p in Permission)


def test_audit_record_clips_detail_and_refuses_unknown_outcomes(db: Database) -> None:
    with db.transaction() as s:
        row = audit.record(
            s, actor="slack:T1:U1", organization_id=None, action="x" * 100,
            outcome=audit.INVALID, detail="a\x00b  \n" + "z" * 5000,
        )  # fmt: skip
        assert row.detail is not None and len(row.detail) == audit.MAX_DETAIL_CHARS
        assert row.detail.startswith("ab z") and len(row.action) == 40
        with pytest.raises(ValueError, match="outcome"):
            audit.record(s, actor="a", organization_id=None, action="a", outcome="maybe")
    assert [r.outcome for r in _audits(db)] == ["invalid"]


# ----------------------------------------------------------------------- workspaces


def test_link_workspace_is_idempotent_and_sets_the_channel(db: Database) -> None:
    orgs = OrgDirectory(db)
    orgs.link_workspace(ORG, TEAM)
    orgs.link_workspace(ORG, TEAM, channel="C0HIRING")
    orgs.link_workspace(ORG, TEAM)  # no channel given: the channel stays
    with db.transaction() as s:
        [ws] = s.scalars(select(OrgWorkspace)).all()
        assert (ws.slack_team_id, ws.notify_channel) == (TEAM, "C0HIRING")
        org_id = s.scalars(select(Organization.id).where(Organization.slug == ORG)).one()
    assert orgs.channel_for(org_id) == ["C0HIRING"]
    assert orgs.organization_of_team(TEAM) == (org_id, ORG, "Test Organization")
    orgs.set_channel(TEAM, None)
    assert orgs.channel_for(org_id) == []


def test_link_workspace_refuses_unknown_orgs_bad_ids_and_a_team_of_another_org(
    db: Database,
) -> None:
    orgs = OrgDirectory(db)
    _other_org(db)
    with pytest.raises(UnknownOrganization, match="known: other-org, test-org"):
        orgs.link_workspace("no-such-org", TEAM)
    with pytest.raises(UnknownOrganization):
        orgs.link_workspace("", TEAM)
    for bad in ("", "t0lower", "U0USER01", "T" + "1" * 40, "T0'; DROP TABLE x;--", " T0TEST01"):
        with pytest.raises(ValueError, match="workspace id"):
            orgs.link_workspace(ORG, bad)
    with pytest.raises(ValueError, match="channel id"):
        orgs.link_workspace(ORG, TEAM, channel="#hiring")
    orgs.link_workspace(ORG, TEAM)
    with pytest.raises(WorkspaceTaken, match="already linked to test-org"):
        orgs.link_workspace("other-org", TEAM)
    assert orgs.organization_of_team(TEAM)[1] == ORG  # type: ignore[index]
    with pytest.raises(UnknownWorkspace):
        orgs.set_channel(OTHER_TEAM, "C0HIRING")
    assert orgs.organization_of_team("not a team") is None


def test_unlink_drops_the_workspaces_members_and_their_access(orgs: OrgDirectory) -> None:
    orgs.add_member(TEAM, "U0VIEW01", "viewer", by=OPERATOR)
    assert orgs.resolve(TEAM, "U0VIEW01") is not None
    assert orgs.unlink_workspace(TEAM) is True
    assert orgs.resolve(TEAM, "U0VIEW01") is None and orgs.resolve(TEAM, ADMIN) is None
    assert _member_count(orgs.db) == 0
    assert orgs.unlink_workspace(TEAM) is False
    # Now free for another organization; nobody carries over.
    _other_org(orgs.db)
    orgs.link_workspace("other-org", TEAM)
    assert orgs.resolve(TEAM, ADMIN) is None


# -------------------------------------------------------------------------- members


def test_add_member_upserts_and_resolve_gives_the_employer(orgs: OrgDirectory) -> None:
    assert orgs.add_member(TEAM, "U0REC001", "recruiter", by=OPERATOR) == (
        "U0REC001 added to Test Organization as recruiter"
    )
    assert "already recruiter" in orgs.add_member(TEAM, "U0REC001", "recruiter", by=OPERATOR)
    assert "now viewer at Test Organization (was recruiter)" in orgs.add_member(
        TEAM, "U0REC001", "viewer", by="slack:T0TEST01:U0ADMIN1"
    )
    viewer = orgs.resolve(TEAM, "U0REC001")
    assert viewer is not None
    assert (viewer.org_slug, viewer.org_name, viewer.role) == (ORG, "Test Organization", "viewer")
    assert viewer.actor == "slack:T0TEST01:U0REC001"
    assert viewer.can(Permission.VIEW) and not viewer.can(Permission.ACT)
    assert _admin(orgs).can(Permission.ADMIN)
    members = orgs.members(ORG)
    assert [(m["user_id"], m["role"]) for m in members] == [
        (ADMIN, "admin"), ("U0REC001", "viewer"),
    ]  # fmt: skip
    assert members[1]["added_by"] == "slack:T0TEST01:U0ADMIN1"
    [listed] = [o for o in orgs.organizations() if o["slug"] == ORG]
    assert listed == {
        "slug": ORG, "name": "Test Organization",
        "workspaces": [{"team_id": TEAM, "channel": None}], "members": 2,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("team", "user", "role", "match"),
    [
        (TEAM, "", "viewer", "user id"),
        (TEAM, "u0lower1", "viewer", "user id"),
        (TEAM, "U" + "A" * 5000, "viewer", "user id"),
        (TEAM, "<@U0ANA001>", "viewer", "user id"),
        (TEAM, "U0ANA001\n", "viewer", "user id"),
        (TEAM, "C0CHANNEL", "viewer", "user id"),
        (TEAM, "U0ANA001", "owner", "unknown role"),
        (TEAM, "U0ANA001", "", "unknown role"),
        (TEAM, "U0ANA001", "Admin", "unknown role"),
        ("", "U0ANA001", "viewer", "workspace id"),
    ],
)
def test_add_member_validates_ids_and_roles(
    orgs: OrgDirectory, team: str, user: str, role: str, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        orgs.add_member(team, user, role, by=OPERATOR)
    assert _member_count(orgs.db) == 1


def test_members_need_a_linked_workspace_and_a_known_org(orgs: OrgDirectory) -> None:
    with pytest.raises(UnknownWorkspace, match="not linked"):
        orgs.add_member(OTHER_TEAM, "U0ANA001", "viewer", by=OPERATOR)
    with pytest.raises(UnknownOrganization):
        orgs.members("nope")
    assert orgs.remove_member(TEAM, "U0NOBODY", by=OPERATOR) is False


def test_resolve_is_none_for_strangers_other_workspaces_and_malformed_ids(
    orgs: OrgDirectory,
) -> None:
    assert orgs.resolve(TEAM, "U0STRANGE") is None
    assert orgs.resolve(OTHER_TEAM, ADMIN) is None  # same user id, unlinked workspace
    for team, user in (("", ""), (TEAM, ""), ("x" * 10_000, ADMIN), (TEAM, "U0ADMIN1' OR 1=1")):
        assert orgs.resolve(team, user) is None
    with pytest.raises(NotAMember, match="Ask an admin of Test Organization"):
        orgs.require(TEAM, "U0STRANGE")
    with pytest.raises(NotAMember, match="not linked"):
        orgs.require(OTHER_TEAM, ADMIN)
    assert orgs.require(TEAM, ADMIN).role == "admin"
    # Members of another organization's workspace resolve to that organization only.
    _other_org(orgs.db)
    orgs.link_workspace("other-org", OTHER_TEAM)
    orgs.add_member(OTHER_TEAM, ADMIN, "viewer", by=OPERATOR)
    other = orgs.resolve(OTHER_TEAM, ADMIN)
    assert other is not None and (other.org_slug, other.role) == ("other-org", "viewer")
    assert _admin(orgs).org_slug == ORG


def test_slack_cannot_remove_or_demote_the_last_admin_but_the_operator_can(
    orgs: OrgDirectory,
) -> None:
    by_slack = f"slack:{TEAM}:{ADMIN}"
    with pytest.raises(LastAdmin, match="last admin of Test Organization"):
        orgs.remove_member(TEAM, ADMIN, by=by_slack)
    with pytest.raises(LastAdmin):
        orgs.add_member(TEAM, ADMIN, "recruiter", by=by_slack)
    assert _admin(orgs).role == "admin"
    # With a second admin (even in another workspace of the org) it is allowed.
    orgs.link_workspace(ORG, OTHER_TEAM)
    orgs.add_member(OTHER_TEAM, "U0ADMIN2", "admin", by=OPERATOR)
    assert "now recruiter" in orgs.add_member(TEAM, ADMIN, "recruiter", by=by_slack)
    with pytest.raises(LastAdmin):
        orgs.remove_member(OTHER_TEAM, "U0ADMIN2", by=f"slack:{OTHER_TEAM}:U0ADMIN2")
    # The operator repairs anything.
    assert orgs.remove_member(OTHER_TEAM, "U0ADMIN2", by=OPERATOR) is True
    assert orgs.members(ORG) == [m for m in orgs.members(ORG) if m["role"] != "admin"]


# -------------------------------------------------------------------- /parley-admin


def test_admin_manages_members_and_the_channel(orgs: OrgDirectory) -> None:
    db, admin = orgs.db, _admin(orgs)

    def run(text: str) -> str:
        return admin_command(db, admin, TEAM, ADMIN, text)

    assert run("") == ADMIN_USAGE and run("  HELP ") == ADMIN_USAGE
    assert run("add <@U0ANA001|ana> recruiter") == (
        "Added <@U0ANA001> to Test Organization as *recruiter*."
    )
    assert (
        run("add <@U0ANA001> recruiter") == "<@U0ANA001> is already *recruiter*; nothing changed."
    )
    assert run("role <@U0ANA001|ana> viewer") == "<@U0ANA001> is now *viewer* (was recruiter)."
    assert run("role <@U0BEN001> viewer").startswith("<@U0BEN001> is not a member")
    assert orgs.resolve(TEAM, "U0BEN001") is None
    assert run("members") == (
        "*Members of Test Organization* (2):\n• <@U0ADMIN1> — admin\n• <@U0ANA001> — viewer"
    )
    assert run("channel") == "No notification channel is set: `/parley-admin channel #channel`."
    assert run("channel <#C0HIRING|hiring>").startswith(
        "Notifications for Test Organization go to <#C0HIRING> now."
    )
    assert orgs.channel_for(admin.organization_id) == ["C0HIRING"]
    assert run("channel") == "Notifications go to <#C0HIRING>."
    assert run("channel OFF") == "Notifications are off (no channel)."
    assert orgs.channel_for(admin.organization_id) == []
    assert run("remove <@U0ANA001>") == "Removed <@U0ANA001> from Test Organization."
    assert run("remove <@U0ANA001>").endswith("not a member of Test Organization; nothing changed.")
    with db.transaction() as s:
        member = s.scalars(select(OrgMember).where(OrgMember.slack_user_id == ADMIN)).one()
        assert member.added_by == OPERATOR
    rows = _audits(db)
    assert len(rows) == 13  # one per call
    assert {r.outcome for r in rows} == {"allowed"}
    assert {r.actor for r in rows} == {f"slack:{TEAM}:{ADMIN}"}
    assert [r.action for r in rows][:4] == ["admin_help", "admin_help", "admin_add", "admin_add"]
    assert rows[2].detail == "add U0ANA001 recruiter"
    assert all(r.organization_id == admin.organization_id for r in rows)


@pytest.mark.parametrize(
    "text",
    [
        "add ana viewer",  # a name, not a mention Slack escaped
        "add @ana viewer",
        "add <@U0ANA001> boss",
        "add <@u0ana001> viewer",
        "add <@U0ANA001>> viewer",
        "add <@U0ANA001|a<b> viewer",
        "add <@U0ANA001>",
        "add <@U0ANA001> viewer extra",
        "role <@U0ANA001>",
        "remove",
        "remove <@U0ANA001> <@U0BEN001>",
        "channel #hiring",
        "channel <#C0HIRING|hiring> now",
        "members please",
        "promote <@U0ANA001>",
        "*bold* <!channel> <script>alert(1)</script> `code`",
        "add <@U0ANA001> viewer" + " x" * 400,  # too long
        "a" * 100_000,
        "\x00\x00",
        "add\u200b<@U0ANA001> viewer",
    ],
)
def test_malformed_admin_commands_show_usage_change_nothing_and_are_audited(
    orgs: OrgDirectory, text: str
) -> None:
    reply = admin_command(orgs.db, _admin(orgs), TEAM, ADMIN, text)
    if text == "\x00\x00":  # nothing left after cleaning: like an empty command
        assert reply == ADMIN_USAGE
        return
    assert reply.endswith(ADMIN_USAGE)
    assert "<script>" not in reply and "<!channel>" not in reply and "aaaa" not in reply
    assert _member_count(orgs.db) == 1
    [row] = _audits(orgs.db)
    assert (row.outcome, row.action, row.detail) == ("invalid", "admin", "usage")
    assert row.actor == f"slack:{TEAM}:{ADMIN}"


@pytest.mark.parametrize("role", ["viewer", "recruiter"])
def test_a_non_admin_is_denied_and_audited(orgs: OrgDirectory, role: str) -> None:
    orgs.add_member(TEAM, "U0USER01", role, by=OPERATOR)
    member = orgs.resolve(TEAM, "U0USER01")
    for text in ("add <@U0USER01> admin", "help", "channel <#C0HIRING|x>"):
        reply = admin_command(orgs.db, member, TEAM, "U0USER01", text)
        assert reply == (
            "Only admins of Test Organization can manage members and the channel; "
            f"you are a {role}. Ask an admin of Test Organization."
        )
    assert orgs.resolve(TEAM, "U0USER01").role == role  # type: ignore[union-attr]
    assert orgs.channel_for(member.organization_id) == []  # type: ignore[union-attr]
    rows = _audits(orgs.db)
    assert [(r.outcome, r.actor, r.detail) for r in rows] == [
        ("denied", f"slack:{TEAM}:U0USER01", "not an admin")
    ] * 3
    assert rows[0].organization_id == member.organization_id  # type: ignore[union-attr]


def test_strangers_are_told_whom_to_ask_and_audited(orgs: OrgDirectory) -> None:
    reply = admin_command(orgs.db, None, TEAM, "U0STRANGE", "add <@U0STRANGE> admin")
    assert reply == (
        "You are not a member of Test Organization in Parley. "
        "Ask an admin of Test Organization to add you (`/parley-admin add @you viewer`)."
    )
    reply = admin_command(orgs.db, None, OTHER_TEAM, "U0STRANGE", "members")
    assert "not linked to an organization" in reply and "parley orgs link-slack" in reply
    reply = admin_command(orgs.db, None, "<script>", "x" * 500, "members")
    assert "not linked" in reply and "<script>" not in reply
    assert _member_count(orgs.db) == 1
    org_id = _admin(orgs).organization_id
    rows = _audits(orgs.db)
    assert [(r.outcome, r.organization_id, r.detail) for r in rows] == [
        ("denied", org_id, "not an admin"),
        ("denied", None, "workspace not linked"),
        ("denied", None, "workspace not linked"),
    ]
    assert rows[0].actor == f"slack:{TEAM}:U0STRANGE"
    assert len(rows[2].actor) <= 200


def test_the_last_admin_cannot_remove_or_demote_themselves_from_slack(
    orgs: OrgDirectory,
) -> None:
    admin = _admin(orgs)
    for text in (f"remove <@{ADMIN}>", f"role <@{ADMIN}> viewer", f"add <@{ADMIN}> recruiter"):
        reply = admin_command(orgs.db, admin, TEAM, ADMIN, text)
        assert (
            reply
            == f"<@{ADMIN}> is the last admin of Test Organization; make someone else admin first."
        )
    assert _admin(orgs).role == "admin"
    assert [(r.outcome, r.action) for r in _audits(orgs.db)] == [("denied", "admin_last_admin")] * 3
    # After promoting a colleague, the former sole admin may step down.
    assert "Added" in admin_command(orgs.db, admin, TEAM, ADMIN, "add <@U0ANA001> admin")
    assert admin_command(orgs.db, admin, TEAM, ADMIN, f"role <@{ADMIN}> recruiter") == (
        f"<@{ADMIN}> is now *recruiter* (was admin)."
    )


def test_an_admin_only_manages_their_own_organization(orgs: OrgDirectory) -> None:
    _other_org(orgs.db)
    orgs.link_workspace("other-org", OTHER_TEAM)
    orgs.add_member(OTHER_TEAM, "U0OTHER1", "admin", by=OPERATOR)
    admin = _admin(orgs)
    # The same user id in another workspace is another person: not a member here.
    assert admin_command(orgs.db, admin, TEAM, ADMIN, "remove <@U0OTHER1>").endswith(
        "nothing changed."
    )
    assert "U0OTHER1" not in admin_command(orgs.db, admin, TEAM, ADMIN, "members")
    assert orgs.resolve(OTHER_TEAM, "U0OTHER1").role == "admin"  # type: ignore[union-attr]
    # An admin added from Slack joins the admin's own workspace and organization.
    admin_command(orgs.db, admin, TEAM, ADMIN, "add <@U0OTHER1> viewer")
    here = orgs.resolve(TEAM, "U0OTHER1")
    assert here is not None and (here.org_slug, here.role) == (ORG, "viewer")
    assert orgs.resolve(OTHER_TEAM, "U0OTHER1").org_slug == "other-org"  # type: ignore[union-attr]
