"""A JPEG scan goes to the model as its own file bytes: no second lossy encoding, no encoder CPU (issue 21).
Only where the page is the file's own picture: upright, RGB, not resized; otherwise the pixels are encoded."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path

from PIL import Image, ImageDraw

from ocrflow.core.models import SOURCE_JPEG, DocumentRef
from ocrflow.engines.base import EngineRequest, Task
from ocrflow.engines.vllm import VllmEngine, VllmOptions
from ocrflow.engines.vllm.image import SOURCE_QUALITY, encode_image
from ocrflow.pipeline.render import ImageRenderer, RenderOptions
from tests.fakes.fake_vllm import FakeVllm
from tests.support.vllm import fake_fixture

fake = fake_fixture(mode="sleep", capacity=4)


def scan(path: Path, *, mode: str = "RGB", size: tuple[int, int] = (400, 560), orientation: int = 0) -> Path:
    image = Image.new(mode, size, "white")
    ImageDraw.Draw(image).text((20, 20), "TOTAL 12.50", fill="black")
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(path, format="JPEG", quality=85, exif=exif.tobytes())
    return path


def page_of(path: Path, **options: int) -> Image.Image:
    ref = DocumentRef(str(path), hashlib.sha256(path.read_bytes()).hexdigest(), "image/jpeg", path.stat().st_size)
    return next(ImageRenderer(RenderOptions(**options)).pages(ref)).render()


def sent_bytes(data_url: str) -> bytes:
    return base64.b64decode(data_url.partition(",")[2])


def test_an_upright_rgb_jpeg_is_sent_as_the_bytes_of_its_file(tmp_path: Path, fake: FakeVllm) -> None:
    path = scan(tmp_path / "receipt.jpg")
    image = page_of(path)
    assert image.info[SOURCE_JPEG] == path.read_bytes()
    encoded = encode_image(image)
    assert sent_bytes(encoded.data_url) == path.read_bytes()
    assert (encoded.quality, encoded.downscaled, encoded.width, encoded.height) == (SOURCE_QUALITY, False, 400, 560)
    with VllmEngine(VllmOptions(urls=fake.url)) as eng:
        eng.run(EngineRequest(image=image, task=Task.SPOT))
    url = fake.requests[-1].body["messages"][1]["content"][0]["image_url"]["url"]
    assert sent_bytes(url) == path.read_bytes()  # the fake decoded it whole and answered


def test_a_page_that_is_not_the_files_own_picture_is_encoded_from_its_pixels(tmp_path: Path) -> None:
    turned = page_of(scan(tmp_path / "turned.jpg", orientation=6))  # EXIF: turn 90 degrees
    grey = page_of(scan(tmp_path / "grey.jpg", mode="L"))
    large = page_of(scan(tmp_path / "large.jpg", size=(1200, 1600)), max_long_side=800)
    for image in (turned, grey, large):
        assert SOURCE_JPEG not in image.info
        encoded = encode_image(image)
        assert encoded.quality == 90
        assert Image.open(io.BytesIO(sent_bytes(encoded.data_url))).size == image.size
    assert turned.size == (560, 400)


def test_source_bytes_over_the_engines_caps_fall_back_to_encoding(tmp_path: Path) -> None:
    path = scan(tmp_path / "receipt.jpg")
    image = page_of(path)
    small_side = encode_image(image, max_long_side=200)
    assert small_side.downscaled and max(small_side.width, small_side.height) == 200
    tight = encode_image(image, max_bytes=len(path.read_bytes()))  # the data URL of the file is longer
    assert tight.quality != SOURCE_QUALITY and sent_bytes(tight.data_url) != path.read_bytes()
