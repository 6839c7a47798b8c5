"""Validate a batch of processed documents with the contracts' suites and build the one write that stores it."""

from __future__ import annotations

from ocrflow.contracts import Contract
from ocrflow.core.models import DocState, RowOutcome
from ocrflow.core.results import DocResult
from ocrflow.pipeline.evidence.confidence import apply_policy, evidence_for_run
from ocrflow.run.discover import raw_path
from ocrflow.store.base import Batch, DocumentUpdate
from ocrflow.validate import ValidationReport, validate_rows
from ocrflow.validate.lines import line_failures
from ocrflow.validate.session import RunValidation


def validate_and_build_batch(results: list[DocResult], contracts: dict[str, Contract], run_id: str,
                             validation: RunValidation | list[ValidationReport] | None = None, *,
                             keep_pages: bool = True) -> Batch:
    """Validate the rows of a batch with the contracts' expectation suites; decide each document's state.

    ``validation``: the run's :class:`~ocrflow.validate.session.RunValidation` (suites compiled once per run,
    GX over large frames for the Data Docs); a list instead collects a GX report per batch and contract
    (validated by GX on the spot); None validates by GX and keeps nothing. ``keep_pages=False`` leaves
    the stored pages as they are (reprocessing reads them; it must not rewrite them).
    """
    by_contract: dict[str, list[RowOutcome]] = {}
    for r in results:
        if r.row is not None:
            by_contract.setdefault(r.row.contract, []).append(r.row)
    for name, rows in by_contract.items():
        values = [{**o.values, "doc_sha256": o.doc.sha256} for o in rows]
        if isinstance(validation, RunValidation):
            report = validation.validate(contracts[name], values)
        else:
            report = validate_rows(contracts[name], values)
            if validation is not None:
                validation.append(report)
        for o in rows:
            o.failures.extend(report.failures.get(o.doc.sha256, []))
            o.failures.extend(line_failures(contracts[name], o))
            apply_policy(o, contracts[name])
    batch = Batch(run_id=run_id)
    for r in results:
        if r.row is not None:
            r.state = DocState.LOADED if r.row.clean else DocState.QUARANTINED
            batch.rows.append(r.row)
            batch.evidence.extend(evidence_for_run(r.row, run_id))
            if not r.row.clean:
                r.error = "; ".join(f.message for f in r.row.failures)
        if keep_pages:
            batch.pages.extend((r.doc.sha256, p) for p in r.pages)
        batch.documents.append(DocumentUpdate(r.doc.sha256, r.doc.path, r.doc.mime, r.doc.size_bytes, r.state,
                                              pages=r.page_count or len(r.pages), contract=r.contract,
                                              error=r.error, error_code=r.error_code,
                                              pages_read=len(r.pages) if r.pages_read is None else r.pages_read,
                                              path_raw=raw_path(r.doc.fs_path),
                                              einvoice_syntax=r.einvoice_syntax,
                                              einvoice_profile=r.einvoice_profile, issuer_id=r.issuer_id))
    return batch
