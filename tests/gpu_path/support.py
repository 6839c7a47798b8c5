"""What the GPU-path tests share: `ocrflow run --engine vllm` against the fake server."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from ocrflow.cli import app
from tests.fakes.fake_vllm import FakeVllm


def run_cli(*args: str, fake: FakeVllm, **env: str) -> Any:
    environ = {"OCRFLOW_VLLM_URL": fake.url, "OCRFLOW_VLLM_API_KEY": "k", **env}
    return CliRunner().invoke(app, ["run", *args, "--engine", "vllm"], env=environ, catch_exceptions=False)
