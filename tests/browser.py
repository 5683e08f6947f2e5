"""Headless Chromium for the browser tests (Debian's chromium + chromium-driver)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_S = 20


def make_driver(user_data_dir: str) -> webdriver.Chrome:
    options = Options()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--window-size=1100,900",
        f"--user-data-dir={user_data_dir}",
    ):
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


def chromium() -> Iterator[webdriver.Chrome]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("chromium / chromedriver not installed: run scripts/ensure-browser.sh")
    profile = tempfile.mkdtemp(prefix="parley-chromium-")
    drv = None
    try:
        try:
            drv = make_driver(profile)
        except WebDriverException as exc:
            pytest.fail(f"cannot start headless Chromium: {exc.msg}")
        drv.set_page_load_timeout(WAIT_S)
        yield drv
    finally:
        if drv is not None:
            drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait(driver: webdriver.Chrome):
    return WebDriverWait(driver, WAIT_S)


def bot_texts(driver: webdriver.Chrome) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#transcript .msg.bot")]


def user_texts(driver: webdriver.Chrome) -> list[str]:
    """The user bubbles' texts, once all of them are visible (they fade in from opacity 0)."""

    def shown(d: webdriver.Chrome) -> tuple[list[str]] | bool:
        texts = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#transcript .msg.user")]
        return (texts,) if all(texts) else False  # a tuple: truthy even when there are none

    return wait(driver).until(shown)[0]


def wait_for_bot(driver: webdriver.Chrome, count: int) -> list[str]:
    """Wait for `count` bot bubbles, all visible (new bubbles fade in from opacity 0)."""

    def shown(d: webdriver.Chrome) -> list[str] | bool:
        texts = bot_texts(d)
        return texts if len(texts) >= count and all(texts) else False

    return wait(driver).until(shown)


def wait_idle(driver: webdriver.Chrome) -> None:
    """No request in flight: the typing indicator is gone."""
    wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#transcript .typing"))
