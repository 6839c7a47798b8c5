"""VllmEngine end to end against the fake vLLM in OCR mode: real HTTP, real image decoding,
the embedded OCR reading what was sent, the project's rule extractor answering extraction."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocrflow.core.settings import load_settings
from ocrflow.engines.base import EngineRequest, EngineResult, Task
from ocrflow.engines.vllm import VllmEngine, make_vllm_engine
from tests.fakes.fake_vllm import FakeVllm
from tests.support.vllm import fake_fixture

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def page() -> Image.Image:
    image = Image.new("RGB", (700, 240), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=30)
    draw.text((30, 30), "Invoice Number: INV-2024-0042", fill="black", font=font)
    draw.text((30, 140), "Total: 1234.50 EUR", fill="black", font=font)
    return image


fake = fake_fixture(scope="module", mode="ocr", api_key="it-key")


@pytest.fixture(scope="module")
def eng(fake: FakeVllm) -> Iterator[VllmEngine]:
    settings = load_settings(vllm_url=fake.url, vllm_api_key="it-key", vllm_max_in_flight=4)
    engine = make_vllm_engine(settings)
    yield engine
    engine.close()


def test_preflight_and_server_endpoints(eng: VllmEngine, fake: FakeVllm) -> None:
    eng.preflight()
    assert eng.served_models == {fake.url: ["tencent/HunyuanOCR"]}
    assert httpx.get(f"{fake.url}/health", timeout=5).status_code == 200
    fake.healthy = False
    assert httpx.get(f"{fake.url}/health", timeout=5).status_code == 503
    fake.healthy = True
    metrics = httpx.get(f"{fake.url}/metrics", timeout=5).text
    assert 'vllm:num_requests_running{model_name="tencent/HunyuanOCR"}' in metrics
    assert "vllm:num_requests_waiting" in metrics


def test_spotting_boxes_land_on_the_drawn_text(eng: VllmEngine, page: Image.Image) -> None:
    result = eng.run(EngineRequest(image=page, task=Task.SPOT))
    assert "INV-2024-0042" in result.text
    first = next(ln for ln in result.lines if "INV-2024-0042" in ln.text)
    x0, y0, x1, y1 = first.bbox
    assert 10 <= x0 <= 60 and 20 <= y0 <= 50 and y1 <= 90 and x1 > 300
    total = next(ln for ln in result.lines if "1234.50" in ln.text)
    assert 120 <= total.y0 <= 160
    assert result.prompt_tokens > 0 and result.completion_tokens > 0


def test_parse_and_extract_through_run_many(eng: VllmEngine, page: Image.Image) -> None:
    from ocrflow.contracts import load_contracts

    invoice = load_contracts()["invoice"]
    requests = [
        EngineRequest(image=page, task=Task.PARSE),
        EngineRequest(image=page, task=Task.EXTRACT, fields=tuple(invoice.field_names),
                      json_schema=invoice.json_schema()),
    ]
    parsed, extracted = list(eng.run_many(requests))
    assert isinstance(parsed, EngineResult) and "Total" in parsed.text
    assert isinstance(extracted, EngineResult) and extracted.fields is not None
    assert set(extracted.fields) == set(invoice.field_names)
    assert extracted.fields["invoice_number"] == "INV-2024-0042"
    assert extracted.prompt_version.startswith("hunyuanocr-v1+")
