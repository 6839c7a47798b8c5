"""Fixtures of the fault tests: the fake vLLM answered by the model fake (``model``, tests/conftest.py), with
the key of tests/fakes/fake_vllm_run.py. ``inbox`` (two raster receipts, one digital invoice) is the root's."""

from __future__ import annotations

from tests.fakes.fake_vllm_run import KEY
from tests.support.vllm import fake_fixture

fake = fake_fixture(truth=True, api_key=KEY)
