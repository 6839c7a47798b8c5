"""Shared fixtures. Every test uses real parts: real files, a real DuckDB file, real OCR."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled demo documents, generated once per session by the project's own generator."""
    from ocrflow.demo import generate_demo

    out = tmp_path_factory.mktemp("demo")
    generate_demo(out)
    return out


@pytest.fixture(scope="session")
def demo_gold(demo_dir: Path) -> list[dict]:
    import json

    return [json.loads(line) for line in (demo_dir / "gold.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("OCRFLOW_"):
            monkeypatch.delenv(key)
