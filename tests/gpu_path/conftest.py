"""Fixtures for the GPU path: the strict fake vLLM answering from the truth-driven model fake (``model``,
tests/conftest.py), serving a second model for the cache tests. ``inbox`` is the root's: two scanned receipts
(OCR path) and one digital invoice (text layer: never sent to the model)."""

from __future__ import annotations

from tests.support.vllm import fake_fixture

fake = fake_fixture(truth=True, models=("tencent/HunyuanOCR", "acme/other-ocr"), api_key="k")
