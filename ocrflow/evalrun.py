"""`ocrflow eval`: run the pipeline's processing stages on a gold.jsonl and score it."""

from __future__ import annotations

import json
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from ocrflow.contracts import load_contracts
from ocrflow.discover import describe
from ocrflow.models import DocumentRef


def read_gold(path: Path) -> list[dict[str, Any]]:
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{n}: not JSON: {exc}") from exc
        if "path" not in rec or "fields" not in rec:
            raise ValueError(f"{path}:{n}: a gold record needs 'path' and 'fields'")
        records.append(rec)
    return records


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def run_eval(gold: Path, *, use_embedded_xml: bool = True, contract_mode: str = "gold",
             engine: str | None = None, progress: Any = None) -> dict[str, Any]:
    from ocrflow.engines.factory import make_engine
    from ocrflow.evaluation import score_documents
    from ocrflow.pipeline import Processor
    from ocrflow.settings import load_settings

    settings = load_settings(use_embedded_xml=use_embedded_xml, engine=engine)
    contracts = load_contracts(settings.contracts_dir)
    eng = make_engine(settings)
    items = []
    started = time.perf_counter()
    try:
        for rec in read_gold(gold):
            doc_path = (gold.parent / rec["path"]).resolve()
            contract = rec.get("doc_type") if contract_mode == "gold" else "auto"
            proc = Processor(settings.model_copy(update={"contract": contract}), eng, contracts)
            ref = describe(doc_path)
            predicted: dict[str, Any] = {}
            state, error = "failed", ""
            if isinstance(ref, DocumentRef):
                res = proc.process(ref)
                state, error = res.state.value, res.error or ""
                if res.row is not None:
                    predicted = {k: plain(v) for k, v in res.row.values.items()}
            else:
                error = ref.reason
            kinds = {f.name: f.kind for f in contracts[rec["doc_type"]].fields} if rec.get(
                "doc_type") in contracts else {}
            items.append(({**rec, "state": state, "error": error}, predicted, kinds))
            if progress is not None:
                progress.print(f"  {rec['path']}: {state} {error[:80]}")
    finally:
        eng.close()
    report = score_documents(items)
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["use_embedded_xml"] = use_embedded_xml
    return report
