"""``ocrflow run --engine vllm`` against the fake vLLM (``run_cli``), and the fake and its inbox as fixtures:
defined once here, declared in one line by the module or folder that uses them (which mode, key, models and
scope), e.g. in a test module::

    fake = fake_fixture(scope="module", mode="ocr", api_key="it-key")
    inbox = inbox_fixture(DIGITAL, RECEIPTS[0], scope="module")  # names: tests/fakes/fake_vllm_run.py

The folder-wide ones are in the conftest.py files (tests/conftest.py: ``model``, ``inbox``; tests/faults and
tests/gpu_path: ``fake`` answered by ``model``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

if TYPE_CHECKING:  # imported where used: tests/conftest.py imports this module for every run
    from tests.fakes.fake_vllm import FakeVllm
    from tests.fakes.model_fake import TruthModel

Scope = Literal["function", "module", "session"]


def run_cli(*args: str, fake: FakeVllm, **env: str) -> Any:
    """``ocrflow run ARGS --engine vllm`` in this process against ``fake`` (key ``k``); ``env``: more variables."""
    from typer.testing import CliRunner

    from ocrflow.cli import app

    environ = {"OCRFLOW_VLLM_URL": fake.url, "OCRFLOW_VLLM_API_KEY": "k", **env}
    return CliRunner().invoke(app, ["run", *args, "--engine", "vllm"], env=environ, catch_exceptions=False)


def truth_model(demo_dir: Path) -> TruthModel:
    """The model fake answering from the demo generator's truth for its three raster documents."""
    from tests.fakes.model_fake import TruthModel

    truth = TruthModel()
    assert truth.add_demo(demo_dir) == 3  # the three raster receipts of the demo
    return truth


def fake_fixture(*, scope: Scope = "function", truth: bool = False, **options: Any) -> Any:
    """The ``fake`` fixture: ``FakeVllm(**options)`` on loopback for ``scope``; with ``truth``, answered by the
    ``model`` fixture (``truth_model``) instead of the embedded OCR or canned output of its ``mode``."""
    if truth:
        @pytest.fixture(scope=scope, name="fake")
        def truth_fake(model: TruthModel) -> Iterator[FakeVllm]:
            from tests.fakes.fake_vllm import FakeVllm

            with FakeVllm(answerer=model, **options) as fake:
                yield fake

        return truth_fake

    @pytest.fixture(scope=scope, name="fake")
    def fake() -> Iterator[FakeVllm]:
        from tests.fakes.fake_vllm import FakeVllm

        with FakeVllm(**options) as served:
            yield served

    return fake


def inbox_fixture(*names: str, scope: Scope = "function") -> Any:
    """The ``inbox`` fixture: a folder holding copies of the demo documents ``names`` (by default the two raster
    receipts and the digital invoice of tests/fakes/fake_vllm_run.py): ``tmp_path / "inbox"`` for a test, a
    temporary folder of its own for a wider scope."""
    chosen = {"names": names} if names else {}
    if scope == "function":
        @pytest.fixture(name="inbox")
        def per_test_inbox(demo_dir: Path, tmp_path: Path) -> Path:
            from tests.fakes.fake_vllm_run import make_inbox

            return make_inbox(demo_dir, tmp_path / "inbox", **chosen)

        return per_test_inbox

    @pytest.fixture(scope=scope, name="inbox")
    def shared_inbox(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
        from tests.fakes.fake_vllm_run import make_inbox

        return make_inbox(demo_dir, tmp_path_factory.mktemp("inbox"), **chosen)

    return shared_inbox
