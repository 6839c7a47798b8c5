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
from ocrflow.store.schema import quote_ident, table_name


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
    _, rows = store.query(
        'SELECT c.doc_sha256, d.path, d.contract, max(c."at") AS last FROM corrections AS c '
        "JOIN documents AS d ON d.sha256 = c.doc_sha256 WHERE c.action = 'approve' AND d.state = 'loaded' "
        "GROUP BY c.doc_sha256, d.path, d.contract ORDER BY last, c.doc_sha256")
    mark = "%s" if store.dialect == "postgres" else "?"
    out = []
    for sha, path, name, _ in rows:
        contract = contracts.get(str(name))
        if contract is None:
            continue
        cols, found = store.query(f"SELECT {', '.join(quote_ident(n) for n in contract.field_names)} FROM "
                                  f"{table_name(contract)} WHERE doc_sha256 = {mark}", [sha])
        if found:
            fields = {c: _plain(v) for c, v in zip(cols, found[0], strict=True)}
            out.append({"path": str(path), "doc_type": contract.name, "source": "review", "fields": fields})
    return out


def export_gold(store: Store, contracts: dict[str, Contract], path: Path) -> int:
    """Write the reviewed documents to ``path``; returns how many."""
    records = reviewed_records(store, contracts)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(records)
