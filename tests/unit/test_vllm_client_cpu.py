"""What keeps the vLLM client's CPU per page down: a page image encoded once for all its requests, the request
body built as bytes around the image's data URL, one TLS context for every pooled client."""

from __future__ import annotations

import gc
import json
from typing import Any

import pytest
from PIL import Image, ImageDraw

from ocrflow.engines.base import EngineRequest, Task
from ocrflow.engines.vllm import VllmEngine, VllmOptions
from ocrflow.engines.vllm import engine as engine_module
from ocrflow.engines.vllm.image import EncodedImages, encode_image
from ocrflow.engines.vllm.request import IMAGE_SLOT, encode_body
from tests.fakes.fake_vllm import FakeVllm
from tests.support.vllm import fake_fixture

SCHEMA = {"type": "object", "title": "receipt", "properties": {"total": {"type": ["number", "null"]}}}


def page(seed: int = 0) -> Image.Image:
    image = Image.new("RGB", (300, 400), "white")
    ImageDraw.Draw(image).text((10, 10 + seed), f"page {seed}", fill="black")
    return image


fake = fake_fixture(mode="sleep", capacity=8)


def test_a_page_is_encoded_once_for_its_spotting_and_its_extraction(fake: FakeVllm) -> None:
    image = page()
    with VllmEngine(VllmOptions(urls=fake.url)) as eng:
        eng.run(EngineRequest(image=image, task=Task.SPOT))
        eng.run(EngineRequest(image=image, task=Task.EXTRACT, fields=("total",), json_schema=SCHEMA))
        other = eng.run(EngineRequest(image=page(1), task=Task.SPOT))
        encoded = eng._images.encoded
    urls = [r.body["messages"][1]["content"][0]["image_url"]["url"] for r in fake.requests]
    assert encoded == 2  # two distinct pages, three requests
    assert urls[0] == urls[1] != urls[2]
    assert urls[0] == encode_image(image).data_url  # the very JPEG a fresh encoding gives
    assert other.lines


def test_an_entry_goes_with_its_image() -> None:
    images = EncodedImages()
    first, second = page(1), page(2)
    a = images.encode(first)
    assert images.encode(first) is a and images.encoded == 1
    images.encode(second)
    assert len(images) == 2
    del first
    gc.collect()
    assert len(images) == 1 and images.encoded == 2


def test_the_cache_is_keyed_by_the_object_not_by_an_address_reused_after_it_died() -> None:
    images = EncodedImages()
    seen = {images.encode(page(n)).data_url for n in range(5)}  # each page dies before the next is made
    assert len(seen) == 5 and images.encoded == 5


def test_the_body_is_the_json_of_the_request_with_the_data_url_in_its_slot() -> None:
    url = encode_image(page()).data_url
    body = {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": IMAGE_SLOT}}, {"type": "text", "text": "读 \"quoted\"\n"}]}],
        "max_tokens": 5}
    decoded = json.loads(encode_body(body, url))
    assert decoded["messages"][0]["content"][0]["image_url"]["url"] == url
    assert decoded["messages"][0]["content"][1]["text"] == "读 \"quoted\"\n"
    assert {k: v for k, v in decoded.items() if k != "messages"} == {"model": "m", "max_tokens": 5}


@pytest.mark.parametrize("slots", [0, 2])
def test_a_body_without_exactly_one_slot_is_refused(slots: int) -> None:
    body: dict[str, Any] = {"a": [IMAGE_SLOT] * slots}
    with pytest.raises(ValueError, match="exactly once"):
        encode_body(body, "data:image/jpeg;base64,AAAA")


def test_every_replica_client_shares_one_tls_context(fake: FakeVllm, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Any] = []
    real = engine_module.tls_context

    def counting(verify: bool) -> Any:
        made.append(real(verify))
        return made[-1]

    monkeypatch.setattr(engine_module, "tls_context", counting)
    other = fake.url.replace("127.0.0.1", "localhost")  # the same fake as a second replica
    with VllmEngine(VllmOptions(urls=f"{fake.url},{other}", max_in_flight=100)) as eng:
        eng.preflight()
        assert eng._pool is not None
        clients = [r.client for r in eng._pool.replicas]
    assert len(clients) == 2 and len(made) == 1  # a client per replica; one context
