"""Line items read from invoices in layouts the table reader was not written for (ocrflow.demo.layouts).

The reader's rules were written against the layouts of seeds 1000-1199 and 2000-2299 (and the fit part of
the samples); the seeds here (90000 and up) were never looked at while writing them, so the figures are
out-of-sample for the rules. Each document goes the pipeline's own way: text layer, rule extraction of the
header, the page-table reader with the header's values (``Processor``). The set holds random layouts and,
for every planted feature, layouts that surely carry it.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from ocrflow.core.settings import load_settings
from ocrflow.demo.layout_set import LayoutDoc, make_layout_doc
from ocrflow.demo.layouts import FEATURES
from ocrflow.engines.embedded import EmbeddedEngine
from ocrflow.eval.lines import score_line_items
from ocrflow.pipeline.processor import Processor
from ocrflow.run.discover import describe

TEST_SEED = 90_000
RANDOM_LAYOUTS = 12
PER_FEATURE = 1
MIN_F1 = 0.9
MIN_FEATURE_F1 = 0.85


def _plan() -> list[tuple[int, frozenset[str]]]:
    plan = [(TEST_SEED + i, frozenset[str]()) for i in range(RANDOM_LAYOUTS)]
    plan += [(TEST_SEED + 1000 + 10 * k + j, frozenset({f})) for k, f in enumerate(FEATURES)
             for j in range(PER_FEATURE)]
    return plan


def _plain(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: (float(v) if hasattr(v, "as_tuple") else v) for k, v in ln.items() if k != "raw"} for ln in lines]


@pytest.fixture(scope="module")
def read(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[LayoutDoc, dict[str, Any], list[dict[str, Any]]]]:
    out = tmp_path_factory.mktemp("layouts")
    processor = Processor(load_settings(contract="invoice"), EmbeddedEngine())
    results = []
    for seed, require in _plan():
        doc = make_layout_doc(Path(out), seed, require)
        result = processor.process(describe(doc.path))
        assert result.row is not None, result.error
        gold = {"lines": doc.invoice.gold_lines(), "source": "layouts"}
        results.append((doc, gold, _plain(result.row.lines)))
    return results


def test_line_items_of_unseen_layouts_are_read(read: list[tuple[LayoutDoc, dict[str, Any], list[dict[str, Any]]]]
                                               ) -> None:
    score = score_line_items((gold, pred) for _, gold, pred in read)
    assert score["precision"] >= MIN_F1 and score["recall"] >= MIN_F1 and score["f1"] >= MIN_F1, score


def test_every_planted_feature_is_read(read: list[tuple[LayoutDoc, dict[str, Any], list[dict[str, Any]]]]) -> None:
    by_feature: dict[str, list[tuple[dict[str, Any], list[dict[str, Any]]]]] = defaultdict(list)
    for doc, gold, pred in read:
        for feature in doc.features:
            by_feature[feature].append((gold, pred))
    assert set(by_feature) == set(FEATURES)  # every feature planted at least once
    low = {f: round(score_line_items(items)["f1"], 3) for f, items in by_feature.items()
           if score_line_items(items)["f1"] < MIN_FEATURE_F1}
    assert low == {}, low
