"""RapidOCR loads its models on first use from a class-wide OmegaConf table that is not thread-safe: the embedded
engine loads every instance's models when it makes the instance, one construction at a time in the process, so
pool threads never load models at once (two did, and a document failed with omegaconf ConfigKeyError)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from PIL import Image, ImageDraw, ImageFont

from ocrflow.engines.base import EngineRequest
from ocrflow.engines.embedded import CLS_PARAM, EmbeddedEngine, EmbeddedOptions


def test_an_instance_comes_out_of_the_pool_with_its_models_loaded() -> None:
    engine = EmbeddedEngine(EmbeddedOptions(sessions=1))
    with engine._session() as ocr:
        assert ocr.text_det is not None and ocr.text_cls is not None and ocr.text_rec is not None


def test_two_engines_make_their_instances_one_at_a_time() -> None:
    engines = [EmbeddedEngine(EmbeddedOptions(sessions=1)) for _ in range(2)]
    assert engines[0]._making is engines[1]._making  # one lock for the process, not one per engine

    def make(engine: EmbeddedEngine) -> bool:
        with engine._session() as ocr:
            return ocr.text_rec is not None

    with ThreadPoolExecutor(2) as pool:
        assert all(pool.map(make, engines))


DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # Debian fonts-dejavu-core (.ci/run installs it)


def test_short_upright_figures_are_read_the_right_way_up() -> None:
    """RapidOCR's text-line direction classifier turned short figures by 180 degrees on upright pages and read
    them upside down ("9,90" as "06'6", "99,00" as "00'66" in DejaVu Sans at 18 px, as on the sample invoices):
    the engine reads with it off (READING_DEFAULTS) and says so in its model name, which keys the page cache."""
    font = ImageFont.truetype(DEJAVU, 18)
    img = Image.new("RGB", (300, 140), "white")
    draw = ImageDraw.Draw(img)
    for i, text in enumerate(("9,90", "99,00")):
        draw.text((60, 15 + 60 * i), text, fill="black", font=font)
    engine = EmbeddedEngine(EmbeddedOptions(sessions=1))
    assert [ln.text for ln in engine.run(EngineRequest(image=img)).lines] == ["9,90", "99,00"]
    assert engine.model.endswith("+no-cls")
    assert EmbeddedEngine(EmbeddedOptions(params={CLS_PARAM: True})).reading_params()[CLS_PARAM] is True
