"""Failure classes and the ledger: configuration faults stop before any document, engine faults (a 401
included) leave documents pending, unmatched documents wait for a contract, failures can be retried,
and an error budget decides the run's status and exit code."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from ocrflow.cli import app
from ocrflow.core.errors import AuthEngineError
from ocrflow.core.models import DocState
from ocrflow.core.settings import load_settings
from ocrflow.demo.bad_inputs import invoice_pdf
from ocrflow.engines.base import EngineError, EngineRequest, EngineResult
from ocrflow.engines.embedded import EmbeddedEngine
from ocrflow.run.ledger_work import reprocess_ledger
from ocrflow.run.summary import failure_budget
from ocrflow.store.duckdb_store import DuckDBStore
from tests.pdfs import write_lines_pdf
from tests.support.duck import rows, run_into


class RefusingEngine:
    """A deployment whose key was rotated: every request answers 401."""

    name, model, supports_extraction = "vllm", "fake", False

    def __init__(self) -> None:
        self.calls = 0

    def preflight(self) -> None:
        """Up (the key is checked per request)."""

    def run(self, request: EngineRequest) -> EngineResult:
        self.calls += 1
        raise AuthEngineError("vLLM http://fake answered HTTP 401: invalid api key", status=401)

    def run_many(self, requests: Iterable[EngineRequest]) -> Iterator[EngineResult | EngineError]:
        for r in requests:
            try:
                yield self.run(r)
            except EngineError as exc:
                yield exc

    def close(self) -> None:
        """Nothing held."""


def test_a_401_mid_run_leaves_documents_pending_and_stops_sending(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for n in range(4):
        Image.new("RGB", (600, 400 + n), "white").save(inbox / f"scan{n}.png")  # no text layer: OCR needed
    engine = RefusingEngine()
    summary = run_into([str(inbox)], tmp_path / "o.duckdb", engine, documents_in_flight=1, vllm_cache=False)
    states = rows(tmp_path / "o.duckdb", "SELECT DISTINCT state, error_code FROM documents")
    assert states == [("pending", "engine")]
    assert engine.calls == 1  # the first refusal stops the run sending
    assert summary.status == "FAILED" and summary.counts["pending"] == 4


def test_configuration_faults_stop_before_any_document_with_exit_2(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    write_lines_pdf(tmp_path / "a.pdf", ["INVOICE"])
    db = tmp_path / "o.duckdb"
    typo = CliRunner().invoke(app, ["run", str(tmp_path / "a.pdf"), "--contract", "nope", "--db", str(db)])
    assert typo.exit_code == 2 and "unknown contract 'nope'" in typo.output
    tables = {t for (t,) in rows(db, "SHOW TABLES")} if db.exists() else set()
    assert "documents" not in tables or rows(db, "SELECT count(*) FROM documents") == [(0,)]
    monkeypatch.setenv("OCRFLOW_DPI", "abc")
    bad = CliRunner().invoke(app, ["run", str(tmp_path / "a.pdf"), "--db", str(db)])
    assert bad.exit_code == 2 and "OCRFLOW_DPI='abc'" in bad.output and "Traceback" not in bad.output


def test_unmatched_waits_for_a_contract_and_reprocess_unmatched_takes_it(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_lines_pdf(inbox / "letter.pdf", ["Minutes of the meeting", "Lorem ipsum dolor sit amet."])
    db = tmp_path / "o.duckdb"
    first = run_into([str(inbox)], db)
    assert first.counts["unmatched"] == 1 and first.unmatched
    assert rows(db, "SELECT state, error_code FROM documents") == [("unmatched", "no_contract")]
    assert run_into([str(inbox)], db).counts["skipped"] == 1  # an ordinary run leaves it alone
    settings = load_settings(store=str(db), contract="invoice")
    store = DuckDBStore(str(db))
    try:
        summary, missing = reprocess_ledger(store, settings, EmbeddedEngine(), state=DocState.UNMATCHED)
    finally:
        store.close()
    assert not missing and summary.counts["documents"] == 1
    [(state,)] = rows(db, "SELECT state FROM documents")
    assert state in ("loaded", "quarantined")  # now under the invoice contract, without --force


def test_reprocess_failed_with_a_code_retries_after_the_fix(tmp_path: Path) -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "locked.pdf").write_bytes(invoice_pdf("LOCK-1", encrypt=StandardEncryption("pw", ownerPassword="o")))
    (inbox / "empty.pdf").write_bytes(b"")
    db = tmp_path / "o.duckdb"
    run_into([str(inbox)], db, max_failed="5")
    assert dict(rows(db, "SELECT error_code, state FROM documents")) == {"encrypted": "failed", "empty": "failed"}
    result = CliRunner().invoke(app, ["reprocess", "--failed", "--code", "encrypted", "--db", str(db)],
                                env={"OCRFLOW_PDF_PASSWORD": "pw"})
    assert result.exit_code == 0, result.output
    states = dict(rows(db, "SELECT regexp_extract(path, '[^/]+$'), state FROM documents"))
    assert states["locked.pdf"] in ("loaded", "quarantined") and states["empty.pdf"] == "failed"
    bad = CliRunner().invoke(app, ["reprocess", "--failed", "--code", "nonsense", "--db", str(db)])
    assert bad.exit_code == 2


def test_error_budget_decides_status_and_exit_code(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_lines_pdf(inbox / "good.pdf", ["INVOICE", "Invoice number: B-1", "Total: 119.00 EUR"])
    (inbox / "broken.pdf").write_bytes(b"")
    within = CliRunner().invoke(app, ["run", str(inbox), "--db", str(tmp_path / "a.duckdb")])
    assert within.exit_code == 0, within.output  # default 1%: one broken file does not fail a run
    assert "broken.pdf" in within.output  # still listed
    beyond = CliRunner().invoke(app, ["run", str(inbox), "--db", str(tmp_path / "b.duckdb"), "--max-failed", "0"])
    assert beyond.exit_code == 1
    assert [failure_budget("1%", 24), failure_budget("1%", 300), failure_budget("3", 10),
            failure_budget("0.5", 10), failure_budget("0", 10)] == [1, 3, 3, 5, 0]


def test_a_rerun_counts_inputs_refused_earlier_as_already_final(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "empty.pdf").write_bytes(b"")
    (inbox / "notes.txt").write_text("not a document", encoding="utf-8")
    (inbox / "good.pdf").write_bytes(invoice_pdf("INV-1"))
    db = tmp_path / "o.duckdb"
    first = run_into([str(inbox)], db, max_failed="2")
    assert first.counts["documents"] == 3
    assert first.counts["failed"] == 2
    again = run_into([str(inbox)], db, max_failed="2")
    assert again.counts["documents"] == 3
    assert again.counts["skipped"] == 3
    assert again.already_final.get("failed") == 2
