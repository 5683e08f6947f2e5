"""Roles of people at an organization and what each may do.

Why one table in code rather than per-check `if role == …`: every command and button asks
the same question ("may this role do that?"), so the answer lives in one place and a new
role or permission cannot be forgotten in one of the front ends.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A member's role: viewer reads shortlists; recruiter also acts on applications;
    admin also manages members and the notification channel."""

    VIEWER = "viewer"
    RECRUITER = "recruiter"
    ADMIN = "admin"


class Permission(StrEnum):
    """What an action needs: VIEW (shortlists, answers), ACT (advance, reject, schedule,
    reviews), ADMIN (members, notification channel)."""

    VIEW = "view"
    ACT = "act"
    ADMIN = "admin"


_GRANTS: dict[str, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.VIEW}),
    Role.RECRUITER: frozenset({Permission.VIEW, Permission.ACT}),
    Role.ADMIN: frozenset({Permission.VIEW, Permission.ACT, Permission.ADMIN}),
}

ROLES: tuple[str, ...] = tuple(r.value for r in Role)


def can(role: str, perm: Permission) -> bool:
    """Whether `role` grants `perm`. An unknown role (a row written by a newer version, a
    typo in the database) grants nothing rather than failing open."""
    return perm in _GRANTS.get(role, frozenset())
