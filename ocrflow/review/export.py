"""Reviewed work as evaluation data: every approved, loaded document as a ``gold.jsonl`` record.

One JSON object per line, the format of the evaluation gold (``path``, ``doc_type``, ``fields``, plus
``source: review``): the values are the clean table's after review (money as numbers, dates ISO).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from ocrflow.contracts import Contract
from ocrflow.store.base import Store


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def reviewed_records(store: Store, contracts: dict[str, Contract]) -> list[dict[str, Any]]:
    """Approved documents that are loaded now, in the order of their last approval."""
    out = []
    for doc in store.reviewed_documents():
        contract = contracts.get(doc.contract)
        row = store.contract_row(contract, doc.sha256) if contract is not None else None
        if contract is not None and row is not None:
            fields = {name: _plain(row.values[name]) for name in contract.field_names}
            out.append({"path": doc.path, "doc_type": contract.name, "source": "review", "fields": fields})
    return out


def export_gold(store: Store, contracts: dict[str, Contract], path: Path) -> int:
    """Write the reviewed documents to ``path``; returns how many."""
    records = reviewed_records(store, contracts)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(records)
