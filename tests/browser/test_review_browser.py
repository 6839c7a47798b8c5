"""The review page in a real headless browser (Debian's chromium driven by selenium through chromedriver).

Set OCRFLOW_SCREENSHOTS=DIR to keep the queue and record screenshots (docs/ keeps two)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from ocrflow.store import open_store
from tests.support.review import XSS_NAME, Reviewed

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def shot(driver: webdriver.Chrome, name: str) -> None:
    folder = os.environ.get("OCRFLOW_SCREENSHOTS")
    if folder:
        driver.save_screenshot(str(Path(folder) / name))


def test_correct_a_value_with_the_keyboard_and_approve(served: tuple[str, Reviewed],
                                                        browser: webdriver.Chrome) -> None:
    base, docs = served
    browser.get(base + "/")
    rows = browser.find_elements(By.CSS_SELECTOR, "#queue tr.item")
    assert len(rows) == 2 and docs.bad in (rows[0].get_attribute("data-href") or "")
    shot(browser, "review-queue.png")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.ENTER)  # the first (lowest confidence) item is selected
    WebDriverWait(browser, 10).until(ec.url_contains(docs.bad))
    WebDriverWait(browser, 10).until(lambda d: d.execute_script(
        "const i = document.querySelector('.sheet img'); return i.complete && i.naturalWidth > 0"))
    browser.find_element(By.CSS_SELECTOR, 'tr.field[data-field="total_amount"]').click()
    assert "active" in (browser.find_element(By.ID, "box-total_amount").get_attribute("class") or "")
    shot(browser, "review-record.png")
    browser.find_element(By.TAG_NAME, "body").send_keys("e")  # the flagged field with the lowest confidence
    active = browser.switch_to.active_element
    assert active.get_attribute("id") == "f-total_amount"
    active.send_keys(Keys.CONTROL, "a")
    active.send_keys("119.00")
    active.send_keys(Keys.CONTROL, Keys.ENTER)
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "notice")))
    assert "approved" in browser.find_element(By.ID, "notice").text
    store = open_store(docs.url, read_only=True)
    try:
        _, rows_ = store.query(f"SELECT total_amount FROM invoice WHERE doc_sha256 = '{docs.bad}'")
    finally:
        store.close()
    assert [str(r[0]) for r in rows_] == ["119.00"]


def test_a_hostile_file_name_shows_as_text(served: tuple[str, Reviewed], browser: webdriver.Chrome) -> None:
    base, docs = served
    browser.get(base + "/")
    assert XSS_NAME in browser.find_element(By.ID, "queue").text
    browser.get(f"{base}/doc/{docs.xss}")
    assert browser.find_element(By.ID, "doc-path").text.endswith(XSS_NAME)
    assert browser.find_elements(By.CSS_SELECTOR, 'img[src="x"]') == []
    with pytest.raises(NoAlertPresentException):
        _ = browser.switch_to.alert.text
