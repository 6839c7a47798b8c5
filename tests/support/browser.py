"""Browser tests' helpers (tests/browser): the review app served on loopback, screenshots kept on request."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from selenium import webdriver

from ocrflow.review.app import ReviewConfig, create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(config: ReviewConfig) -> Iterator[str]:
    """The review app of ``config`` on a free loopback port for the block: its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def shot(driver: webdriver.Chrome, name: str) -> None:
    """Save a screenshot as DIR/name when OCRFLOW_SCREENSHOTS=DIR is set (docs/ keeps the ones it shows)."""
    folder = os.environ.get("OCRFLOW_SCREENSHOTS")
    if folder:
        driver.save_screenshot(str(Path(folder) / name))
