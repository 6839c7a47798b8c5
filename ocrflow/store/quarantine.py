"""The quarantine as the store holds it: list and inspect quarantined documents, read their stored pages.

Only the store's public ``query`` is used, so this works on every store. Reprocessing
(ocrflow.run.quarantine_work) rebuilds documents from what is read here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ocrflow.core.models import DocumentRef, DocumentText, Line, PagePath, PageText
from ocrflow.store.base import Store

SHORT_ID = 12
"""Characters of the document hash shown as its id (and the shortest prefix ``show`` accepts: 4)."""
MIN_PREFIX = 4
_QUARANTINE_COLUMNS = ('doc_sha256, contract, contract_version, source_path, reasons, "values", raw_values, '
                       "engine, model, prompt_version, flow_run_id, quarantined_at")
_PAGE_COLUMNS = ("page_no, path_taken, engine, model, prompt_version, width, height, lines, render_s, ocr_s, "
                 "prompt_tokens, completion_tokens, is_fallback, note")


class QuarantineError(LookupError):
    """A quarantine id matches no document, or more than one."""


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """One quarantined document as the store holds it."""

    sha256: str
    contract: str
    contract_version: str
    path: str
    reasons: list[dict[str, Any]]
    values: dict[str, Any]
    raw_values: dict[str, Any]
    engine: str
    model: str
    prompt_version: str
    flow_run_id: str
    quarantined_at: datetime | None

    @property
    def short_id(self) -> str:
        return self.sha256[:SHORT_ID]

    def first_reasons(self, n: int = 2) -> str:
        """The first ``n`` reason messages joined, with a count of the rest."""
        messages = [str(r.get("message") or r.get("check") or r) for r in self.reasons]
        more = f" (+{len(messages) - n} more)" if len(messages) > n else ""
        return "; ".join(messages[:n]) + more

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.short_id, "doc_sha256": self.sha256, "contract": self.contract,
                "contract_version": self.contract_version, "path": self.path, "reasons": self.reasons,
                "values": self.values, "raw_values": self.raw_values, "engine": self.engine, "model": self.model,
                "prompt_version": self.prompt_version, "flow_run_id": self.flow_run_id,
                "quarantined_at": self.quarantined_at.isoformat() if self.quarantined_at else None}


# --------------------------------------------------------------------------- reading


def _mark(store: Store) -> str:
    """The query placeholder of the store's driver (DuckDB ``?``, psycopg ``%s``)."""
    return "%s" if store.dialect == "postgres" else "?"


def _json(value: Any, default: Any) -> Any:
    """A JSON column as Python: DuckDB returns text, PostgreSQL JSONB returns parsed values."""
    if value is None:
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return default
    return value


def _entry(row: dict[str, Any]) -> QuarantineEntry:
    reasons = _json(row["reasons"], [])
    return QuarantineEntry(
        sha256=str(row["doc_sha256"]), contract=str(row["contract"] or ""),
        contract_version=str(row["contract_version"] or ""), path=str(row["source_path"] or ""),
        reasons=[r if isinstance(r, dict) else {"message": str(r)} for r in reasons],
        values=_json(row["values"], {}), raw_values=_json(row["raw_values"], {}),
        engine=str(row["engine"] or ""), model=str(row["model"] or ""),
        prompt_version=str(row["prompt_version"] or ""), flow_run_id=str(row["flow_run_id"] or ""),
        quarantined_at=row["quarantined_at"])


def _select(store: Store, where: str, params: list[Any]) -> list[QuarantineEntry]:
    cols, rows = store.query(f"SELECT {_QUARANTINE_COLUMNS} FROM quarantine {where} "
                             "ORDER BY quarantined_at DESC, doc_sha256", params)
    return [_entry(dict(zip(cols, r, strict=True))) for r in rows]


def list_quarantine(store: Store, contract: str | None = None) -> list[QuarantineEntry]:
    """Quarantined documents, newest first; only one contract's when ``contract`` is given."""
    if contract:
        return _select(store, f"WHERE contract = {_mark(store)}", [contract])
    return _select(store, "", [])


def find_entry(store: Store, id_or_prefix: str) -> QuarantineEntry:
    """The quarantined document whose hash starts with ``id_or_prefix`` (at least 4 hex digits)."""
    prefix = id_or_prefix.strip().lower()
    if len(prefix) < MIN_PREFIX or any(ch not in "0123456789abcdef" for ch in prefix):
        raise QuarantineError(f"{id_or_prefix!r} is not a document id: give at least {MIN_PREFIX} hex digits "
                              "of its sha256 (the id column of `ocrflow quarantine list`)")
    found = _select(store, f"WHERE doc_sha256 LIKE {_mark(store)}", [prefix + "%"])
    if not found:
        raise QuarantineError(f"no quarantined document has an id starting with {prefix!r}")
    if len(found) > 1:
        ids = ", ".join(e.short_id for e in found[:5])
        raise QuarantineError(f"{prefix!r} matches {len(found)} quarantined documents ({ids}); give more digits")
    return found[0]


def _page(row: dict[str, Any]) -> PageText:
    lines = tuple(Line(text=str(item[0]), bbox=(float(item[1]), float(item[2]), float(item[3]), float(item[4])),
                       score=float(item[5]) if len(item) > 5 else 1.0)
                  for item in _json(row["lines"], []))
    return PageText(
        page_no=int(row["page_no"]), width=int(row["width"] or 0), height=int(row["height"] or 0), lines=lines,
        path=PagePath(str(row["path_taken"])), engine=str(row["engine"] or ""), model=str(row["model"] or ""),
        prompt_version=str(row["prompt_version"] or ""), latency_s=float(row["ocr_s"] or 0.0),
        render_s=float(row["render_s"] or 0.0), prompt_tokens=int(row["prompt_tokens"] or 0),
        completion_tokens=int(row["completion_tokens"] or 0), is_fallback=bool(row["is_fallback"]),
        note=str(row["note"] or ""))


def stored_pages(store: Store, sha256: str) -> list[PageText]:
    """A document's pages as the pipeline stored them (text lines with boxes), in page order."""
    cols, rows = store.query(f"SELECT {_PAGE_COLUMNS} FROM pages WHERE doc_sha256 = {_mark(store)} "
                             "ORDER BY page_no", [sha256])
    return [_page(dict(zip(cols, r, strict=True))) for r in rows]


def stored_document(store: Store, entry: QuarantineEntry) -> DocumentRef:
    cols, rows = store.query(f"SELECT path, mime, size_bytes FROM documents WHERE sha256 = {_mark(store)}",
                             [entry.sha256])
    if not rows:
        return DocumentRef(path=entry.path, sha256=entry.sha256, mime="", size_bytes=0)
    row = dict(zip(cols, rows[0], strict=True))
    return DocumentRef(path=str(row["path"] or entry.path), sha256=entry.sha256, mime=str(row["mime"] or ""),
                       size_bytes=int(row["size_bytes"] or 0))


def document_text(store: Store, entry: QuarantineEntry) -> DocumentText:
    """The document's text rebuilt from the stored pages (no rendering, no OCR)."""
    return DocumentText(doc=stored_document(store, entry), pages=tuple(stored_pages(store, entry.sha256)))
