"""Fixtures for the GPU path: the strict fake vLLM server answering from the truth-driven model fake."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.fake_vllm import FakeVllm
from tests.fakes.model_fake import TruthModel

RECEIPTS = ("receipt_scan_01.jpg", "receipt_scan_02.png")


@pytest.fixture()
def model(demo_dir: Path) -> TruthModel:
    truth = TruthModel()
    assert truth.add_demo(demo_dir) == 3  # the three raster receipts of the demo
    return truth


@pytest.fixture()
def fake(model: TruthModel) -> Iterator[FakeVllm]:
    with FakeVllm(models=("tencent/HunyuanOCR", "acme/other-ocr"), api_key="k", answerer=model) as f:
        yield f


@pytest.fixture()
def inbox(tmp_path: Path, demo_dir: Path) -> Path:
    """Two scanned receipts (OCR path) and one digital invoice (text layer: never sent to the model)."""
    out = tmp_path / "inbox"
    out.mkdir()
    for name in (*RECEIPTS, "invoice_digital.pdf"):
        shutil.copy(demo_dir / "docs" / name, out / name)
    return out
