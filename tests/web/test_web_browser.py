"""The chat page in headless Chromium, against the real gateway and a stand-in Rasa."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from tests.browser import user_texts, wait, wait_for_bot, wait_idle

pytestmark = pytest.mark.browser


def test_conversation_in_the_browser(driver, gateway, rasa, tmp_path):
    driver.get(gateway.url + "/?job=backend-engineer")

    # The deep link starts the interview for the job, without showing "/start" as a bubble.
    assert wait_for_bot(driver, 1) == ["Question 1?"]
    buttons = wait(driver).until(
        lambda d: (
            [
                b
                for b in d.find_elements(By.CSS_SELECTOR, "#transcript .buttons button")
                if b.is_displayed()
            ]
            or False
        )
    )
    assert [b.text for b in buttons] == ["Yes", "No"]
    assert user_texts(driver) == []
    assert rasa.messages() == ['/start{"job_id":"backend-engineer"}']
    (sender,) = set(rasa.senders())
    assert sender.startswith("web:") and len(sender) >= 4 + 22

    # Clicking a button sends its payload, shows its title and closes the group.
    buttons[0].click()
    assert wait_for_bot(driver, 2)[1] == "Next question after: yes"
    assert user_texts(driver) == ["Yes"]
    assert rasa.messages()[-1] == "yes"
    wait_idle(driver)
    assert all(not b.is_enabled() for b in buttons)

    # Typing an answer and pressing Enter sends it; Shift+Enter makes a new line.
    box: WebElement = driver.find_element(By.ID, "input")
    box.send_keys("About five years,")
    box.send_keys(Keys.SHIFT, Keys.ENTER)
    box.send_keys("mostly Python")
    box.send_keys(Keys.ENTER)
    answer = "About five years,\nmostly Python"
    assert wait_for_bot(driver, 3)[2] == f"Next question after: {answer}"
    assert user_texts(driver)[-1] == answer
    assert rasa.messages()[-1] == answer
    wait_idle(driver)
    assert box.get_attribute("value") == ""

    # Server text is shown as text, never parsed as HTML.
    box.send_keys("<b>x</b>")
    driver.find_element(By.ID, "send").click()
    assert wait_for_bot(driver, 4)[3] == "Next question after: <b>x</b>"
    last_bot = driver.find_elements(By.CSS_SELECTOR, "#transcript .msg.bot")[-1]
    assert last_bot.find_elements(By.TAG_NAME, "b") == []
    assert driver.find_elements(By.CSS_SELECTOR, "#transcript b") == []
    assert user_texts(driver)[-1] == "<b>x</b>"
    wait_idle(driver)

    # Every request went through one session, and no browser console errors (e.g. CSP).
    assert len(set(rasa.senders())) == 1
    severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    assert severe == []

    shot = tmp_path / "webchat.png"
    assert driver.save_screenshot(str(shot))
    assert shot.exists()
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000


def test_reload_continues_and_new_conversation_resets(driver, gateway, rasa):
    driver.get(gateway.url + "/")
    assert wait_for_bot(driver, 1) == ["Question 1?"]
    assert rasa.messages() == ["/start"]  # no job: the bot lists the open jobs
    wait_idle(driver)
    box = driver.find_element(By.ID, "input")
    box.send_keys("hello", Keys.ENTER)
    wait_for_bot(driver, 2)
    wait_idle(driver)
    first_sender = rasa.senders()[0]

    # A reload keeps the transcript and the session, and does not start again.
    driver.refresh()
    assert wait_for_bot(driver, 2) == ["Question 1?", "Next question after: hello"]
    assert user_texts(driver) == ["hello"]
    box = driver.find_element(By.ID, "input")
    box.send_keys("again", Keys.ENTER)
    wait_for_bot(driver, 3)
    assert rasa.messages() == ["/start", "hello", "again"]
    assert set(rasa.senders()) == {first_sender}

    # "New conversation" starts afresh with a new session id.
    driver.find_element(By.ID, "new-conversation").click()
    wait(driver).until(lambda d: len(rasa.messages()) == 4)
    assert wait_for_bot(driver, 1) == ["Question 1?"]
    assert rasa.messages()[-1] == "/start"
    assert rasa.senders()[-1] != first_sender


def test_server_errors_are_shown_and_can_be_retried(driver, gateway, rasa):
    driver.get(gateway.url + "/?job=backend-engineer")
    wait_for_bot(driver, 1)
    wait_idle(driver)

    rasa.fail = True
    box = driver.find_element(By.ID, "input")
    box.send_keys("my answer", Keys.ENTER)
    error = driver.find_element(By.ID, "error")
    wait(driver).until(lambda d: error.is_displayed())
    assert "temporarily unavailable" in error.text
    assert user_texts(driver) == []  # the undelivered message is not left in the transcript

    rasa.fail = False
    driver.find_element(By.ID, "retry").click()
    assert wait_for_bot(driver, 2)[1] == "Next question after: my answer"
    assert user_texts(driver) == ["my answer"]
    wait(driver).until(lambda d: not error.is_displayed())


def test_send_is_disabled_in_flight_and_counter_appears_near_limit(driver, gateway, rasa):
    driver.get(gateway.url + "/?job=backend-engineer")
    wait_for_bot(driver, 1)
    wait_idle(driver)
    send = driver.find_element(By.ID, "send")
    box = driver.find_element(By.ID, "input")
    assert not send.is_enabled()  # nothing typed yet

    rasa.delay = 1.5
    box.send_keys("slow answer")
    assert send.is_enabled()
    box.send_keys(Keys.ENTER)
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#transcript .typing"))
    box.send_keys("typed ahead")
    assert not send.is_enabled()
    box.send_keys(Keys.ENTER)  # ignored while the first message is in flight
    wait_for_bot(driver, 2)
    wait_idle(driver)
    assert rasa.messages()[-1] == "slow answer"
    assert send.is_enabled()
    assert box.get_attribute("value") == "typed ahead"

    counter = driver.find_element(By.ID, "counter")
    assert not counter.is_displayed()
    driver.execute_script(
        "const i = document.getElementById('input');"
        "i.value = 'x'.repeat(3990); i.dispatchEvent(new Event('input'));"
    )
    wait(driver).until(lambda d: counter.is_displayed())
    assert counter.text == "3,990 / 4,000"
