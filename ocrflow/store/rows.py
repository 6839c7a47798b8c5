"""Row shapes both stores write: column lists, per-row parameters, column-wise data for bulk loads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from itertools import repeat
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from ocrflow.contracts import Contract
from ocrflow.core.models import PageText, RowOutcome
from ocrflow.store.base import Batch, DocumentUpdate, StoreError

DOCUMENT_COLUMNS = ("sha256", "path", "mime", "size_bytes", "pages", "state", "contract", "error", "attempts",
                    "first_seen", "updated_at", "run_id", "error_code", "pages_read", "path_raw", "einvoice_syntax",
                    "einvoice_profile", "issuer_id")
PAGE_COLUMNS = ("doc_sha256", "page_no", "path_taken", "engine", "model", "prompt_version", "width", "height",
                "text", "lines", "render_s", "ocr_s", "prompt_tokens", "completion_tokens", "is_fallback", "note",
                "run_id", "created_at")
QUARANTINE_COLUMNS = ("doc_sha256", "contract", "contract_version", "source_path", "reasons", "values",
                      "raw_values", "engine", "model", "prompt_version", "flow_run_id", "quarantined_at")


# --------------------------------------------------------------------------- JSON text
_JSON = json.JSONEncoder(ensure_ascii=False, default=str)
"""One encoder for every row: json.dumps with keyword arguments builds a new encoder per call."""


def to_json(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, default=str)``, faster."""
    return _JSON.encode(value)


def json_column(values: Sequence[Any]) -> list[str]:
    """``to_json`` of every value, ~3x faster: one C encoder for the whole column.

    ``JSONEncoder.encode`` builds a new C encoder per call, which costs more than encoding a small
    dict. The output is the same text (``ensure_ascii=False``, ``default=str``, same separators).
    """
    if c_make_encoder is None:  # pragma: no cover - CPython always has the C accelerator
        return [_JSON.encode(v) for v in values]
    enc = c_make_encoder({}, str, encode_basestring, None, ": ", ", ", False, False, True)
    join = "".join
    return [join(enc(v, 0)) for v in values]


def lines_json(page: PageText) -> str:
    return json.dumps([[ln.text, *(round(v, 1) for v in ln.bbox), round(ln.score, 4)] for ln in page.lines],
                      ensure_ascii=False)


# --------------------------------------------------------------------------- one row at a time
def row_params(outcome: RowOutcome, contract: Contract) -> list[Any]:
    lin = outcome.lineage
    values = outcome.values
    return [*[values.get(f.name) for f in contract.fields], outcome.doc.sha256, outcome.doc.path,
            list(lin.get("page_numbers", [])), lin.get("engine"), lin.get("model"), lin.get("prompt_version", ""),
            contract.name, contract.version, lin.get("flow_run_id"), lin.get("extracted_at"), to_json(outcome.raw)]


def document_params(d: DocumentUpdate, run_id: str, now: datetime) -> list[Any]:
    return [d.sha256, d.path, d.mime, d.size_bytes, d.pages, d.state.value, d.contract, d.error, 0, now, now,
            run_id, d.error_code, d.pages_read, d.path_raw, d.einvoice_syntax, d.einvoice_profile, d.issuer_id]


def page_params(sha: str, p: PageText, run_id: str, now: datetime) -> list[Any]:
    return [sha, p.page_no, p.path.value, p.engine, p.model, p.prompt_version, p.width, p.height, p.text,
            lines_json(p), p.render_s, p.latency_s, p.prompt_tokens, p.completion_tokens, p.is_fallback, p.note,
            run_id, now]


def quarantine_params(outcome: RowOutcome, contract: Contract, now: datetime) -> list[Any]:
    lin = outcome.lineage
    return [outcome.doc.sha256, contract.name, contract.version, outcome.doc.path,
            json.dumps([f.as_dict() for f in outcome.failures], ensure_ascii=False), to_json(outcome.values),
            to_json(outcome.raw), lin.get("engine"), lin.get("model"),
            lin.get("prompt_version", ""), lin.get("flow_run_id"), now]


# --------------------------------------------------------------------------- column by column
def row_columns(outcomes: list[RowOutcome], contract: Contract) -> list[list[Any]]:
    """``row_params`` of many outcomes, column by column (the shape a bulk load wants)."""
    values = [o.values for o in outcomes]
    lineage = [o.lineage for o in outcomes]
    docs = [o.doc for o in outcomes]
    get = dict.get
    n = len(outcomes)

    def lin(key: str, default: Any = None) -> list[Any]:
        return list(map(get, lineage, repeat(key, n), repeat(default, n)))

    return [
        *(list(map(get, values, repeat(f.name, n))) for f in contract.fields),
        [d.sha256 for d in docs], [d.path for d in docs],
        list(map(list, lin("page_numbers", ()))), lin("engine"), lin("model"), lin("prompt_version", ""),
        [contract.name] * n, [contract.version] * n, lin("flow_run_id"), lin("extracted_at"),
        json_column([o.raw for o in outcomes]),
    ]


def document_columns(docs: list[DocumentUpdate], run_id: str, now: datetime) -> list[list[Any]]:
    """``document_params`` of many documents, column by column, the last update per document winning."""
    keep = last_indices([d.sha256 for d in docs])
    if keep is not None:
        docs = [docs[i] for i in keep]
    n = len(docs)
    return [[d.sha256 for d in docs], [d.path for d in docs], [d.mime for d in docs],
            [d.size_bytes for d in docs], [d.pages for d in docs],
            [str(d.state) for d in docs],  # a StrEnum's str() is its value, several times faster than .value
            [d.contract for d in docs], [d.error for d in docs], [0] * n, [now] * n, [now] * n, [run_id] * n,
            [d.error_code for d in docs], [d.pages_read for d in docs], [d.path_raw for d in docs],
            [d.einvoice_syntax for d in docs], [d.einvoice_profile for d in docs], [d.issuer_id for d in docs]]


def is_constant(values: Sequence[Any]) -> bool:
    """Every value equal to the first and of the same type (a bulk load then sends it once, not per row).

    Floats never count: 0.0 == -0.0."""
    if not values or type(values[0]) is float or values[-1] != values[0]:
        return False
    return values.count(values[0]) == len(values) and len(set(map(type, values))) == 1


# --------------------------------------------------------------------------- one row per key
def last_indices(keys: Sequence[Any]) -> list[int] | None:
    """None when the keys are distinct, else the index of the last occurrence of each key in first-seen order
    (what ``last_per_key`` keeps)."""
    if len(set(keys)) == len(keys):
        return None
    return list({k: i for i, k in enumerate(keys)}.values())


def last_per_key(rows: list[list[Any]], key: int = 0) -> list[list[Any]]:
    """Keep the last row per key (a bulk upsert may touch a key once; row by row, the last one wins)."""
    if len({r[key] for r in rows}) == len(rows):
        return rows
    return list({r[key]: r for r in rows}.values())


def last_outcomes(rows: list[RowOutcome]) -> list[RowOutcome]:
    """The last outcome per document of a batch, in first-seen order."""
    by_doc: dict[str, RowOutcome] = {}
    for o in rows:
        by_doc[o.doc.sha256] = o
    return list(by_doc.values()) if len(by_doc) != len(rows) else rows


def split_rows(batch: Batch, contracts: dict[str, Contract]) -> dict[tuple[str, bool], list[RowOutcome]]:
    """The batch's outcomes grouped by (contract name, clean), the last outcome per document winning."""
    groups: dict[tuple[str, bool], list[RowOutcome]] = {}
    for o in last_outcomes(batch.rows):
        if o.contract not in contracts:
            raise StoreError(f"row for {o.doc.path} names contract {o.contract!r}, which was not passed in")
        groups.setdefault((o.contract, o.clean), []).append(o)
    return groups
