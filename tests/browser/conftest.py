"""Fixtures of the browser tests: the review app served on loopback over a filled DuckDB store, and Debian's
chromium driven by selenium through chromedriver (tests that ask for ``browser`` carry the ``browser`` marker)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from ocrflow.contracts import load_contracts
from ocrflow.core.settings import load_settings
from ocrflow.review.app import ReviewConfig
from tests.support.browser import serve
from tests.support.review import Reviewed, fill

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,1000")


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[str, Reviewed]]:
    docs = fill(str(tmp_path / "review.duckdb"), tmp_path / "inbox")
    config = ReviewConfig(docs.url, load_contracts(), load_settings(store=docs.url), reviewer="browser")
    with serve(config) as url:
        yield url, docs


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
