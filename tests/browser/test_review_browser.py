"""The review page in a real headless browser (Debian's chromium driven by selenium through chromedriver).

Set OCRFLOW_SCREENSHOTS=DIR to keep the queue and record screenshots (docs/ keeps two)."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from ocrflow.contracts import load_contracts
from ocrflow.core.settings import load_settings
from ocrflow.review.app import ReviewConfig, create_app
from ocrflow.store import open_store
from tests.review.conftest import Reviewed, fill
from tests.review.support import XSS_NAME

pytestmark = pytest.mark.browser

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,1000")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[str, Reviewed]]:
    docs = fill(str(tmp_path / "review.duckdb"), tmp_path / "inbox")
    config = ReviewConfig(docs.url, load_contracts(), load_settings(store=docs.url), reviewer="browser")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", docs
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture()
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="ocrflow-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    try:
        yield driver
    finally:
        driver.quit()


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
