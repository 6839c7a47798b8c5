"""The reads both stores share, written once over ``query`` and the store's dialect (``store.sql``).

:class:`StoreReads` is a base class of :class:`~ocrflow.store.duckdb_store.DuckDBStore` and
:class:`~ocrflow.store.postgres_store.PostgresStore`; its methods are part of the ``Store`` protocol
(``ocrflow.store.base``, which documents each) and answer with the records of
``ocrflow.store.records``. The SQL is the same in both dialects but for what ``SqlDialect`` spells.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from ocrflow.contracts import Contract
from ocrflow.core.evidence import EvidenceRow
from ocrflow.core.models import Line, PagePath, PageText
from ocrflow.store.base import FINAL_STATES, Columns, Rows
from ocrflow.store.dialect import SqlDialect, decode_json, quote_ident
from ocrflow.store.evidence import EVIDENCE_TABLE
from ocrflow.store.records import (
    CORRECTION_COLUMNS,
    Correction,
    FieldConfidence,
    OldReading,
    QuarantineEntry,
    ReviewedDocument,
    StoredDocument,
    StoredRow,
)
from ocrflow.store.schema import table_name

_DOCUMENT_COLUMNS = "sha256, path, mime, size_bytes, state, contract, error, error_code, path_raw"
_QUARANTINE_COLUMNS = ('doc_sha256, contract, contract_version, source_path, reasons, "values", raw_values, '
                       "engine, model, prompt_version, flow_run_id, quarantined_at")
_PAGE_COLUMNS = ("page_no, path_taken, engine, model, prompt_version, width, height, lines, render_s, ocr_s, "
                 "prompt_tokens, completion_tokens, is_fallback, note")
_EVIDENCE_COLUMNS = ("doc_sha256, contract, field, line_no, value, raw, page_no, x0, y0, x1, y1, page_width, "
                     "page_height, source, method, confidence, grounding, engine, model, prompt_version, run_id, "
                     "updated_at, reviewed_by, reviewed_at, memory")
_LINEAGE = ("engine", "model", "prompt_version", "flow_run_id", "extracted_at", "raw_values")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _document(row: dict[str, Any]) -> StoredDocument:
    return StoredDocument(
        sha256=str(row["sha256"]), path=_text(row["path"]), mime=_text(row["mime"]),
        size_bytes=int(row["size_bytes"] or 0), state=_text(row["state"]), contract=_text(row["contract"]),
        error=_text(row["error"]), error_code=_text(row["error_code"]),
        path_raw=None if row["path_raw"] is None else str(row["path_raw"]))


def _entry(row: dict[str, Any]) -> QuarantineEntry:
    reasons = decode_json(row["reasons"], [])
    return QuarantineEntry(
        sha256=str(row["doc_sha256"]), contract=_text(row["contract"]),
        contract_version=_text(row["contract_version"]), path=_text(row["source_path"]),
        reasons=[r if isinstance(r, dict) else {"message": str(r)} for r in reasons],
        values=decode_json(row["values"], {}), raw_values=decode_json(row["raw_values"], {}),
        engine=_text(row["engine"]), model=_text(row["model"]), prompt_version=_text(row["prompt_version"]),
        flow_run_id=_text(row["flow_run_id"]), quarantined_at=row["quarantined_at"])


def _page(row: dict[str, Any]) -> PageText:
    lines = tuple(Line(text=str(item[0]), bbox=(float(item[1]), float(item[2]), float(item[3]), float(item[4])),
                       score=float(item[5]) if len(item) > 5 else 1.0)
                  for item in decode_json(row["lines"], []))
    return PageText(
        page_no=int(row["page_no"]), width=int(row["width"] or 0), height=int(row["height"] or 0), lines=lines,
        path=PagePath(str(row["path_taken"])), engine=_text(row["engine"]), model=_text(row["model"]),
        prompt_version=_text(row["prompt_version"]), latency_s=float(row["ocr_s"] or 0.0),
        render_s=float(row["render_s"] or 0.0), prompt_tokens=int(row["prompt_tokens"] or 0),
        completion_tokens=int(row["completion_tokens"] or 0), is_fallback=bool(row["is_fallback"]),
        note=_text(row["note"]))


def _evidence(row: dict[str, Any]) -> EvidenceRow:
    box = (row["x0"], row["y0"], row["x1"], row["y1"])
    return EvidenceRow(
        doc_sha256=str(row["doc_sha256"]), contract=_text(row["contract"]), field=str(row["field"]),
        value=None if row["value"] is None else str(row["value"]),
        raw=None if row["raw"] is None else str(row["raw"]), source=_text(row["source"]),
        method=_text(row["method"]), confidence=None if row["confidence"] is None else float(row["confidence"]),
        grounding=_text(row["grounding"]), line_no=int(row["line_no"] or 0),
        page_no=None if row["page_no"] is None else int(row["page_no"]),
        bbox=(float(box[0]), float(box[1]), float(box[2]), float(box[3])) if None not in box else None,
        page_width=None if row["page_width"] is None else int(row["page_width"]),
        page_height=None if row["page_height"] is None else int(row["page_height"]),
        engine=_text(row["engine"]), model=_text(row["model"]), prompt_version=_text(row["prompt_version"]),
        run_id=_text(row["run_id"]), updated_at=row["updated_at"], reviewed_by=_text(row["reviewed_by"]),
        reviewed_at=row["reviewed_at"], memory=_text(row["memory"]))


def _old_reading(row: dict[str, Any]) -> OldReading | None:
    """The machine's reading an edit replaced (``corrections.old_*``), None where none was recorded."""
    box = (row["old_x0"], row["old_y0"], row["old_x1"], row["old_y1"])
    if row["old_source"] is None and row["old_raw"] is None and row["old_page_no"] is None:
        return None
    return OldReading(raw=row["old_raw"], page_no=None if row["old_page_no"] is None else int(row["old_page_no"]),
                      bbox=(float(box[0]), float(box[1]), float(box[2]), float(box[3])) if None not in box else None,
                      source=_text(row["old_source"]), method=_text(row["old_method"]),
                      confidence=None if row["old_confidence"] is None else float(row["old_confidence"]))


class StoreReads(ABC):
    """The ``Store`` reads over ``query``: documents, quarantine, pages, clean rows, evidence, review."""

    sql: SqlDialect

    @abstractmethod
    def query(self, sql_text: str, params: list[Any] | None = None) -> tuple[Columns, Rows]: ...

    def _rows(self, sql_text: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cols, rows = self.query(sql_text, list(params))
        return [dict(zip(cols, r, strict=True)) for r in rows]

    # -- documents --------------------------------------------------------------
    def table_exists(self, table: str) -> bool:
        """Asked of the catalog until the table is there, then remembered: the project drops no table of the
        store's schema, and the catalog query costs a DuckDB store ~5 ms, which issuer recognition paid per
        document (BENCHMARKS.md "Digital pages end to end"). A table another process creates later is seen at
        the next call, as before."""
        known: set[str] = self.__dict__.setdefault("_tables_seen", set())
        if table in known:
            return True
        rows = self._rows("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = "
                          f"{self.sql.mark} AND table_schema = current_schema()", [table])
        found = bool(rows and rows[0]["n"])
        if found:
            known.add(table)
        return found

    def document(self, sha256: str) -> StoredDocument | None:
        rows = self._rows(f"SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE sha256 = {self.sql.mark}", [sha256])
        return _document(rows[0]) if rows else None

    def documents_in_state(self, state: str, error_code: str | None = None) -> list[StoredDocument]:
        where, params = f"state = {self.sql.mark}", [str(state)]
        if error_code:
            where, params = f"{where} AND error_code = {self.sql.mark}", [*params, error_code]
        rows = self._rows(f"SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE {where} ORDER BY path", params)
        return [_document(r) for r in rows]

    def final_hashes(self, hashes: list[str]) -> set[str]:
        if not hashes:
            return set()
        _, rows = self.query(f"SELECT sha256 FROM documents WHERE {self.sql.in_list('sha256', len(hashes))} "
                             f"AND {self.sql.in_list('state')}", [hashes, [s.value for s in FINAL_STATES]])
        return {str(r[0]) for r in rows}

    def state_counts(self, hashes: list[str]) -> dict[str, int]:
        if not hashes:
            return {}
        _, rows = self.query("SELECT state, count(*) FROM documents WHERE "
                             f"{self.sql.in_list('sha256', len(hashes))} "
                             "GROUP BY state ORDER BY state", [hashes])
        return {str(state): int(n) for state, n in rows}

    # -- quarantine ---------------------------------------------------------------
    def _entries(self, where: str, params: list[Any]) -> list[QuarantineEntry]:
        rows = self._rows(f"SELECT {_QUARANTINE_COLUMNS} FROM quarantine {where} "
                          "ORDER BY quarantined_at DESC, doc_sha256", params)
        return [_entry(r) for r in rows]

    def quarantine_entries(self, contract: str | None = None) -> list[QuarantineEntry]:
        if contract:
            return self._entries(f"WHERE contract = {self.sql.mark}", [contract])
        return self._entries("", [])

    def quarantine_entry(self, sha256: str) -> QuarantineEntry | None:
        found = self._entries(f"WHERE doc_sha256 = {self.sql.mark}", [sha256])
        return found[0] if found else None

    def quarantine_by_prefix(self, prefix: str) -> list[QuarantineEntry]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return self._entries(f"WHERE doc_sha256 LIKE {self.sql.mark} ESCAPE '\\'", [escaped + "%"])

    def quarantined_documents(self) -> list[StoredDocument]:
        cols = ", ".join(f"d.{c.strip()}" for c in _DOCUMENT_COLUMNS.split(",") if c.strip() != "contract")
        rows = self._rows(f"SELECT {cols}, q.contract FROM documents d JOIN quarantine q ON q.doc_sha256 = d.sha256 "
                          "WHERE d.state = 'quarantined' ORDER BY d.updated_at, d.path")
        return [_document(r) for r in rows]

    def stored_pages(self, sha256: str) -> list[PageText]:
        rows = self._rows(f"SELECT {_PAGE_COLUMNS} FROM pages WHERE doc_sha256 = {self.sql.mark} ORDER BY page_no",
                          [sha256])
        return [_page(r) for r in rows]

    # -- clean rows and evidence -------------------------------------------------------
    def contract_row(self, contract: Contract, sha256: str) -> StoredRow | None:
        names = ", ".join(quote_ident(n) for n in (*contract.field_names, *_LINEAGE))
        rows = self._rows(f"SELECT {names} FROM {quote_ident(table_name(contract))} WHERE doc_sha256 = "
                          f"{self.sql.mark}", [sha256])
        if not rows:
            return None
        row = rows[0]
        return StoredRow(sha256=sha256, values={n: row[n] for n in contract.field_names},
                         raw_values=decode_json(row["raw_values"], {}), engine=_text(row["engine"]),
                         model=_text(row["model"]), prompt_version=_text(row["prompt_version"]),
                         flow_run_id=_text(row["flow_run_id"]), extracted_at=row["extracted_at"])

    def field_evidence(self, sha256: str, line_no: int | None = None) -> list[EvidenceRow]:
        if not self.table_exists(EVIDENCE_TABLE):
            return []
        where = f"doc_sha256 = {self.sql.mark}"
        params: list[Any] = [sha256]
        if line_no is not None:
            where += f" AND line_no = {self.sql.mark}"
            params.append(line_no)
        rows = self._rows(f"SELECT {_EVIDENCE_COLUMNS} FROM {EVIDENCE_TABLE} WHERE {where} ORDER BY line_no, field",
                          params)
        return [_evidence(r) for r in rows]

    def lowest_confidences(self) -> dict[str, float]:
        if not self.table_exists(EVIDENCE_TABLE):
            return {}
        _, rows = self.query(f"SELECT doc_sha256, min(confidence) FROM {EVIDENCE_TABLE} WHERE line_no = 0 "
                             "GROUP BY doc_sha256")
        return {str(sha): float(c) for sha, c in rows if c is not None}

    def loaded_field_confidences(self) -> list[FieldConfidence]:
        if not self.table_exists(EVIDENCE_TABLE):
            return []
        _, rows = self.query(
            f"SELECT e.doc_sha256, e.contract, d.path, e.field, e.confidence, e.engine FROM {EVIDENCE_TABLE} AS e "
            "JOIN documents AS d ON d.sha256 = e.doc_sha256 WHERE d.state = 'loaded' AND e.line_no = 0 "
            "AND e.value IS NOT NULL AND e.confidence IS NOT NULL AND e.reviewed_at IS NULL "  # approved: done
            "ORDER BY e.doc_sha256, e.field")
        return [FieldConfidence(str(sha), _text(contract), _text(path), str(name), float(conf), _text(engine))
                for sha, contract, path, name, conf, engine in rows]

    # -- review ---------------------------------------------------------------------
    def reviewed_documents(self) -> list[ReviewedDocument]:
        _, rows = self.query(
            'SELECT c.doc_sha256, d.path, d.contract, max(c."at") AS last FROM corrections AS c '
            "JOIN documents AS d ON d.sha256 = c.doc_sha256 WHERE c.action = 'approve' AND d.state = 'loaded' "
            "GROUP BY c.doc_sha256, d.path, d.contract ORDER BY last, c.doc_sha256")
        return [ReviewedDocument(str(sha), _text(path), _text(contract), last) for sha, path, contract, last in rows]

    def corrections(self, sha256: str) -> list[Correction]:
        cols = ", ".join(quote_ident(c) for c in CORRECTION_COLUMNS)
        rows = self._rows(f'SELECT {cols} FROM corrections WHERE doc_sha256 = {self.sql.mark} ORDER BY "at", id',
                          [sha256])
        return [Correction(doc_sha256=str(r["doc_sha256"]), contract=_text(r["contract"]), action=str(r["action"]),
                           reviewer=_text(r["reviewer"]), field=r["field"], old_value=r["old_value"],
                           new_value=r["new_value"], reason=r["reason"], line_no=int(r["line_no"] or 0), at=r["at"],
                           id=str(r["id"]), old=_old_reading(r), issuer_id=r["issuer_id"]) for r in rows]
