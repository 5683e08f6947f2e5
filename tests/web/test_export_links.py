"""`GET /export/<token>` on the web gateway: the archive for a valid link, 404 for an invalid
one, 410 for an expired one — and the token never reaches the log."""

from __future__ import annotations

import io
import json
import logging
import secrets
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fake_rasa import FakeRasa
from privacy_gateway import PrivacyGateway
from sqlalchemy import select

from privacy.export import create_link
from storage.models import ExportArchive
from tests.privacy.rights_support import person, settings_for

WEB = "web:alice-session-0001"


def new_link(gw: PrivacyGateway, tmp_path, sender: str = WEB) -> tuple[str, str]:
    cid = person(gw.db, sender)
    url = create_link(gw.db, gw.files, settings_for(tmp_path), cid, None)
    return cid, url.rsplit("/", 1)[1]


def test_a_valid_link_serves_the_archive(privacy_gateway, tmp_path, caplog) -> None:
    gw, client = privacy_gateway
    cid, token = new_link(gw, tmp_path)
    with caplog.at_level(logging.INFO, logger="parley"):
        response = client.get(f"/export/{token}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and 'filename="parley-export-' in disposition
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
        assert json.loads(zf.read("data.json"))["candidate_id"] == cid
    assert "GET /export/… 200" in caplog.text
    assert token not in caplog.text and cid not in caplog.text


def test_invalid_links_are_404_with_a_clear_message(privacy_gateway, tmp_path, caplog) -> None:
    gw, client = privacy_gateway
    new_link(gw, tmp_path)
    guesses = [secrets.token_urlsafe(32) for _ in range(20)]
    with caplog.at_level(logging.INFO, logger="parley"):
        for token in [*guesses, "x", "a" * 500, "..%2F..%2Fetc", "%00", "a/b/c", ""]:
            response = client.get(f"/export/{token}")
            assert response.status_code == 404, token
            assert "not valid" in response.text and "export my data" in response.text
            assert response.headers["Cache-Control"] == "no-store"
    for token in guesses:
        assert token not in caplog.text


def test_expired_link_is_410_and_the_file_is_gone(privacy_gateway, tmp_path) -> None:
    gw, client = privacy_gateway
    cid, token = new_link(gw, tmp_path)
    assert client.get(f"/export/{token}").status_code == 200
    with gw.db.transaction() as s:
        row = s.scalar(select(ExportArchive).where(ExportArchive.candidate_id == cid))
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    response = client.get(f"/export/{token}")
    assert response.status_code == 410 and "expired" in response.text
    assert gw.files.refs_for(cid) == []
    assert client.get(f"/export/{token}").status_code == 410


def test_head_and_post_do_not_download(privacy_gateway, tmp_path) -> None:
    gw, client = privacy_gateway
    cid, token = new_link(gw, tmp_path)
    assert client.head(f"/export/{token}").status_code == 405
    assert client.post(f"/export/{token}").status_code == 405
    with gw.db.transaction() as s:
        row = s.scalar(select(ExportArchive).where(ExportArchive.candidate_id == cid))
        assert row.downloads == 0


def test_one_candidates_link_only_opens_their_own_archive(privacy_gateway, tmp_path) -> None:
    gw, client = privacy_gateway
    alice, alice_token = new_link(gw, tmp_path, WEB)
    bob, bob_token = new_link(gw, tmp_path, "web:bob-session-00001")
    with zipfile.ZipFile(io.BytesIO(client.get(f"/export/{bob_token}").content)) as zf:
        data = zf.read("data.json").decode()
    assert bob in data and alice not in data
    # A token for one archive differs in every way from the other's: no neighbour guessing.
    assert alice_token[:8] != bob_token[:8]


def test_without_storage_downloads_are_unavailable(client_without_storage) -> None:
    response = client_without_storage.get(f"/export/{secrets.token_urlsafe(32)}")
    assert response.status_code == 503


@pytest.fixture
def client_without_storage() -> Iterator[httpx.Client]:
    from fake_rasa import Gateway

    rasa = FakeRasa().start()
    gw = Gateway(rasa.url).start()
    try:
        with httpx.Client(base_url=gw.url, timeout=20.0) as client:
            yield client
    finally:
        gw.stop()
        rasa.stop()
