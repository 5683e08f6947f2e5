"""The web gateway serves the published bias-audit summary at /audit-summary: the page as
written (a new publish shows at once), its own strict CSP (inline styles, no script), and a
clear 404 before anything is published or when the gateway has no public folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fake_rasa import FakeRasa, Gateway

from bot.web.app import AUDIT_SUMMARY_CSP, AUDIT_SUMMARY_MISSING_MESSAGE
from fairness.publication import SUMMARY_FILE, SUMMARY_ROUTE


@pytest.fixture
def public(tmp_path: Path) -> Path:
    return tmp_path / "public"


@pytest.fixture
def client(rasa: FakeRasa, public: Path) -> Iterator[httpx.Client]:
    gw = Gateway(rasa.url, rasa_timeout_s=5.0, public_dir=public).start()
    try:
        with httpx.Client(base_url=gw.url, timeout=20.0) as c:
            yield c
    finally:
        gw.stop()


def test_nothing_published_yet_is_a_clear_404(client: httpx.Client) -> None:
    response = client.get(SUMMARY_ROUTE)
    assert response.status_code == 404
    assert response.text.strip() == AUDIT_SUMMARY_MISSING_MESSAGE


def test_the_published_page_is_served_with_its_own_csp(client: httpx.Client, public: Path) -> None:
    public.mkdir()
    (public / SUMMARY_FILE).write_text("<!doctype html><title>Bias audit summary</title>v1")
    response = client.get(SUMMARY_ROUTE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == AUDIT_SUMMARY_CSP
    assert "script-src" not in AUDIT_SUMMARY_CSP  # default-src 'none': no script at all
    assert response.text.endswith("v1")
    (public / SUMMARY_FILE).write_text("<!doctype html><title>Bias audit summary</title>v2")
    assert client.get(SUMMARY_ROUTE).text.endswith("v2")


def test_no_path_tricks_reach_other_files(client: httpx.Client, public: Path) -> None:
    public.mkdir()
    (public / SUMMARY_FILE).write_text("summary")
    (public.parent / "secret.txt").write_text("secret")
    for path in (
        SUMMARY_ROUTE + "/../secret.txt",
        SUMMARY_ROUTE + "/%2e%2e/secret.txt",
        "/audit-summary.html",
    ):
        response = client.get(path)
        assert response.status_code == 404
        assert "secret" not in response.text


def test_a_gateway_without_a_public_folder_answers_404(rasa: FakeRasa) -> None:
    gw = Gateway(rasa.url, rasa_timeout_s=5.0).start()
    try:
        response = httpx.get(gw.url + SUMMARY_ROUTE, timeout=20.0)
    finally:
        gw.stop()
    assert response.status_code == 404
    assert AUDIT_SUMMARY_MISSING_MESSAGE in response.text
