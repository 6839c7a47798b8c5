"""The demo's ground truth as records of ``gold.jsonl`` (the format of the shared sample gold)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocrflow.demo.truth import DocTruth

GOLD_FILE = "gold.jsonl"


@dataclass(frozen=True, slots=True)
class DemoDoc:
    """One generated document: path relative to the output folder, type, ground truth, and what was drawn."""

    path: str
    doc_type: str
    fields: dict[str, Any]
    expect: str | None = None
    truth: DocTruth | None = field(default=None, compare=False, repr=False)

    def gold_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"path": self.path, "doc_type": self.doc_type, "source": "demo",
                                  "fields": self.fields}
        if self.expect:
            record["expect"] = self.expect
        return record


def write_gold(path: Path, docs: Sequence[DemoDoc]) -> None:
    """One JSON record per document, in order."""
    with path.open("w", encoding="utf-8") as fh:
        for doc in docs:
            fh.write(json.dumps(doc.gold_record(), ensure_ascii=False) + "\n")
