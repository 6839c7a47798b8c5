"""Issuer memory in a real headless browser (Debian's chromium through chromedriver): a reviewer corrects a
generated receipt's merchant on the record page, the merchant's next receipt is processed, and its record page
shows the right name with method ``memory:constant`` and where it came from ("from 1 correction on this issuer").

Set OCRFLOW_SCREENSHOTS=DIR to keep the record page of the second receipt (docs/review-memory.png)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from ocrflow.contracts import load_contracts
from ocrflow.core.settings import load_settings
from ocrflow.review.app import ReviewConfig
from tests.support.browser import serve, shot
from tests.support.receipts import MACHINE_NAME, RIGHT_NAME, merchant_receipts
from tests.support.review import one, run_inbox

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture()
def receipts_served(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """The review app over a DuckDB store holding the merchant's first receipt: (base URL, store, tmp folder)."""
    url = str(tmp_path / "memory.duckdb")
    merchant_receipts(tmp_path / "in1", 1)
    run_inbox(tmp_path / "in1", url)
    config = ReviewConfig(url, load_contracts(), load_settings(store=url), reviewer="browser")
    with serve(config) as base:
        yield base, url, tmp_path


def _sha(url: str, name: str) -> str:
    return str(one(url, f"SELECT sha256 FROM documents WHERE path LIKE '%{name}'")[0][0])


def _page_loaded(browser: webdriver.Chrome) -> None:
    WebDriverWait(browser, 20).until(lambda d: d.execute_script(
        "const i = document.querySelector('.sheet img'); return i && i.complete && i.naturalWidth > 0"))


def test_a_correction_on_the_page_makes_the_next_receipt_of_the_merchant_right(
        receipts_served: tuple[str, str, Path], browser: webdriver.Chrome) -> None:
    base, url, tmp = receipts_served
    first = _sha(url, "sri_maju_0.jpg")
    browser.get(f"{base}/doc/{first}")
    name = browser.find_element(By.ID, "f-merchant_name")
    assert name.get_attribute("value") == MACHINE_NAME
    name.send_keys(Keys.CONTROL, "a")
    name.send_keys(RIGHT_NAME)
    name.send_keys(Keys.CONTROL, Keys.ENTER)
    WebDriverWait(browser, 20).until(lambda d: "approved" in d.page_source or d.current_url.rstrip("/") == base)

    merchant_receipts(tmp / "in2", 1, first=1)
    run_inbox(tmp / "in2", url)  # the merchant's next receipt, through a whole run
    second = _sha(url, "sri_maju_1.jpg")
    browser.get(f"{base}/doc/{second}")
    _page_loaded(browser)
    assert browser.find_element(By.ID, "f-merchant_name").get_attribute("value") == RIGHT_NAME
    row = browser.find_element(By.CSS_SELECTOR, 'tr.field[data-field="merchant_name"]')
    assert "memory:constant" in row.find_element(By.CSS_SELECTOR, ".method").text
    assert row.find_element(By.CSS_SELECTOR, ".from-memory").text == "from 1 correction on this issuer"
    assert "merchant_name" in browser.find_element(By.ID, "memory").text
    row.click()
    box = browser.find_element(By.ID, "box-merchant_name")
    assert "active" in (box.get_attribute("class") or "")
    WebDriverWait(browser, 5).until(ec.visibility_of_element_located((By.ID, "forget")))
    shot(browser, "review-memory.png")
