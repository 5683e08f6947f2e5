"""Privacy settings against real SQLite and PostgreSQL: defaults, changes (each logged as a
settings request), bad values, and what employer views may show."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from privacy import preferences
from privacy.requests import due_date
from storage.db import Database
from storage.models import Candidate, Job, Organization, PrivacyRequest
from tests.privacy.oversight_support import begin, candidate, wired


def _settings_requests(db: Database) -> list[PrivacyRequest]:
    with db.transaction() as s:
        rows = s.scalars(
            select(PrivacyRequest)
            .where(PrivacyRequest.kind == "settings")
            .order_by(PrivacyRequest.received_at)
        )
        return list(rows)


def test_defaults_protect_the_candidate(db: Database) -> None:
    service, _ = wired(db)
    begin(service, "web:defaults")
    person = candidate(db, "web:defaults")
    assert person.recordings_access == "transcripts_only"
    assert person.profile_visibility == "applied_only"
    assert person.recording_retention_months == 12 and person.region == "eu"
    text = preferences.describe(db, "web:defaults")
    assert "transcripts only" in text and "only the employers you applied to" in text
    assert "12 months" in text and "GDPR" in text and "30 days" in text
    assert "defaults" in preferences.describe(db, "web:nobody")


def test_each_change_is_applied_and_logged_once(db: Database) -> None:
    service, _ = wired(db)
    begin(service, "web:settings")
    assert "may now listen" in preferences.set_recordings_access(db, "web:settings", True)
    assert "already" in preferences.set_recordings_access(db, "web:settings", True)
    assert "may now see your profile" in preferences.set_visibility(db, "web:settings", True)
    assert "24 months" in preferences.set_recording_retention(db, "web:settings", 24)
    assert "1 month " in preferences.set_recording_retention(db, "web:settings", 1)
    assert "California" in preferences.set_region(db, "web:settings", "  California ")
    person = candidate(db, "web:settings")
    assert person.recordings_access == "recordings"
    assert person.profile_visibility == "all_employers"
    assert person.recording_retention_months == 1 and person.region == "us-ca"
    rows = _settings_requests(db)
    assert len(rows) == 5 and {r.status for r in rows} == {"completed"}
    assert {r.detail["setting"] for r in rows} == {
        "recordings_access",
        "profile_visibility",
        "recording_retention_months",
        "region",
    }
    # A Californian's requests now get the CCPA's 45 days.
    preferences.set_recordings_access(db, "web:settings", False)
    latest = _settings_requests(db)[-1]
    assert latest.law == "ccpa" and latest.due_at == due_date(latest.received_at, "us-ca")
    assert "transcripts only" in preferences.describe(db, "web:settings")


@pytest.mark.parametrize("months", [0, -3, 25, 10**9])
def test_retention_out_of_range_is_refused_clearly(db: Database, months: int) -> None:
    service, _ = wired(db)
    begin(service, "web:range")
    reply = preferences.set_recording_retention(db, "web:range", months)
    assert "1 to 24 months" in reply and "Nothing was changed" in reply
    assert candidate(db, "web:range").recording_retention_months == 12
    assert _settings_requests(db) == []


@pytest.mark.parametrize("value", [True, "12", 12.5, None])
def test_retention_that_is_not_a_whole_number_is_refused(db: Database, value: object) -> None:
    service, _ = wired(db)
    begin(service, "web:nan")
    reply = preferences.set_recording_retention(db, "web:nan", value)  # type: ignore[arg-type]
    assert "whole number of months" in reply
    assert candidate(db, "web:nan").recording_retention_months == 12


@pytest.mark.parametrize(
    ("said", "code"),
    [("EU", "eu"), ("United Kingdom", "uk"), ("us-ca", "us-ca"), ("USA", "us"), ("other", "other")],
)
def test_regions_are_understood(db: Database, said: str, code: str) -> None:
    service, _ = wired(db)
    begin(service, "web:region")
    preferences.set_region(db, "web:region", said)
    assert candidate(db, "web:region").region == code


@pytest.mark.parametrize("said", ["", "Mars", "<script>", "x" * 10_000, "eu; DROP TABLE x"])
def test_unknown_regions_are_refused(db: Database, said: str) -> None:
    service, _ = wired(db)
    begin(service, "web:badregion")
    reply = preferences.set_region(db, "web:badregion", said)
    assert "I don't know that region" in reply and "'us-ca'" in reply
    assert candidate(db, "web:badregion").region == "eu"


def test_strangers_change_nothing(db: Database) -> None:
    for call in (
        lambda: preferences.set_recordings_access(db, "web:nobody", True),
        lambda: preferences.set_visibility(db, "web:nobody", True),
        lambda: preferences.set_recording_retention(db, "web:nobody", 3),
        lambda: preferences.set_region(db, "web:nobody", "uk"),
    ):
        assert "nothing stored" in call()
    with db.transaction() as s:
        assert s.scalars(select(Candidate)).all() == []


def test_employer_views_follow_the_settings(db: Database) -> None:
    service, _ = wired(db)
    begin(service, "web:visible")
    with db.transaction() as s:
        own_org = s.scalars(select(Job.organization_id)).first()
        other = Organization(slug="other-org", name="Other Org")
        s.add(other)
        s.flush()
        other_id = other.id
    cid = candidate(db, "web:visible").id
    with db.transaction() as s:
        person = s.get(Candidate, cid)
        assert person is not None
        assert preferences.employer_may_see_profile(s, person, own_org)
        assert not preferences.employer_may_see_profile(s, person, other_id)
        assert not preferences.employer_may_hear_recordings(person)
    preferences.set_visibility(db, "web:visible", True)
    preferences.set_recordings_access(db, "web:visible", True)
    cid = candidate(db, "web:visible").id
    with db.transaction() as s:
        person = s.get(Candidate, cid)
        assert person is not None
        assert preferences.employer_may_see_profile(s, person, other_id)
        assert preferences.employer_may_hear_recordings(person)
