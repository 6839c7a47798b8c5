"""RapidOCR loads its models on first use from a class-wide OmegaConf table that is not thread-safe: the embedded
engine loads every instance's models when it makes the instance, one construction at a time in the process, so
pool threads never load models at once (two did, and a document failed with omegaconf ConfigKeyError)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ocrflow.engines.embedded import EmbeddedEngine, EmbeddedOptions


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
