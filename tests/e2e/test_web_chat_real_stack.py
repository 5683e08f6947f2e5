"""A person takes an interview in the web chat: headless Chromium, real gateway, real Rasa."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser import wait, wait_for_bot, wait_idle
from tests.e2e.conftest import Stack
from tests.e2e.test_interview_rest import answers_of, application_of

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def click_button(driver, title: str) -> None:  # type: ignore[no-untyped-def]
    def find(d):  # type: ignore[no-untyped-def]
        for b in d.find_elements(By.CSS_SELECTOR, "#transcript .buttons button"):
            if b.is_displayed() and b.is_enabled() and b.text == title:
                return b
        return False

    wait(driver).until(find).click()


def last_bot_contains(driver, text: str) -> None:  # type: ignore[no-untyped-def]
    wait(driver).until(
        lambda d: any(text in e.text for e in d.find_elements(By.CSS_SELECTOR, ".msg.bot")[-3:])
    )


def test_interview_in_the_browser(stack: Stack, driver, tmp_path) -> None:  # type: ignore[no-untyped-def]
    driver.get(stack.settings.web_url + "?job=test-role")
    wait_for_bot(driver, 4)
    assert "Test Role" in driver.find_element(By.ID, "transcript").text
    click_button(driver, "I agree")
    last_bot_contains(driver, "Are you 16")
    click_button(driver, "Yes")
    last_bot_contains(driver, "Question 1 of 6")
    wait_idle(driver)
    box = driver.find_element(By.ID, "input")
    box.send_keys("I like helping customers and learning new things.", Keys.ENTER)
    last_bot_contains(driver, "Question 2 of 6")
    click_button(driver, "Yes")
    last_bot_contains(driver, "Question 3 of 6")
    wait_idle(driver)
    driver.find_element(By.ID, "input").send_keys("lots", Keys.ENTER)
    last_bot_contains(driver, "between 0 and 50")
    wait_idle(driver)
    driver.find_element(By.ID, "input").send_keys("3", Keys.ENTER)
    last_bot_contains(driver, "Question 4 of 6")
    click_button(driver, "Morning")
    last_bot_contains(driver, "Question 5 of 6")
    wait_idle(driver)

    sender = "web:" + driver.execute_script(
        "for (const k of Object.keys(localStorage)) {"
        "  const v = localStorage.getItem(k); if (/^[A-Za-z0-9_-]{22,64}$/.test(v)) return v; }"
        "return null;"
    )
    answers = answers_of(stack, sender)
    assert answers["motivation"].raw_text == "I like helping customers and learning new things."
    assert answers["right_to_work"].normalized["value"] is True
    assert answers["years"].normalized["value"] == 3
    assert answers["shift"].normalized["value"] == "Morning"
    app = application_of(stack, sender)
    assert app is not None and app.status == "in_progress" and app.current_index == 4
    shot = tmp_path / "interview.png"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
