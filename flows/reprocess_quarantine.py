"""`reprocess_quarantine`: re-run the quarantined documents (after a contract, prompt or engine fix).

The selection reads the store's quarantine (documents in state ``quarantined`` joined to their quarantine
row); the re-run is the ``process-documents`` sub-flow with ``force=True``, so a document that now passes
moves from the quarantine into its clean table in the same transaction, and one that still fails stays
quarantined with the new reasons.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from flows.params import QuarantineSelection, RunParams
from flows.process_documents import process_documents
from flows.runtime import flow_settings, today
from ocrflow.store import open_store


def _run_name() -> str:
    from prefect.runtime import flow_run

    sel = (flow_run.parameters or {}).get("selection") or {}
    contract = sel.get("contract") if isinstance(sel, dict) else getattr(sel, "contract", None)
    return f"reprocess-{today()}-{contract or 'all'}"


@flow(name="reprocess-quarantine", flow_run_name=_run_name, log_prints=True)
def reprocess_quarantine(selection: QuarantineSelection | None = None, batch_size: int = 0) -> Any:
    """Re-process quarantined documents with the current contracts, prompts and engine.

    Args:
        selection: which quarantined documents (contract, limit), the engine and the store
        batch_size: documents written per transaction
    """
    selection = selection or QuarantineSelection()
    logger = get_run_logger()
    if selection.from_stored_pages:
        return _reextract(selection)
    paths = quarantined_paths(selection)
    if not paths:
        logger.info("the quarantine is empty%s", f" for {selection.contract}" if selection.contract else "")
        return {"status": "COMPLETED", "documents": 0}
    logger.info("re-processing %d quarantined document(s)", len(paths))
    options = RunParams(contract=selection.contract or "auto", engine=selection.engine, store=selection.store,
                        force=True, batch_size=batch_size or None)
    return process_documents(paths=paths, options=options, return_state=True)


def quarantined_paths(selection: QuarantineSelection) -> list[str]:
    """Source paths of the quarantined documents the selection names (oldest first)."""
    settings = flow_settings(store=selection.store)
    st = open_store(settings.store)
    try:
        from ocrflow.contracts import load_contracts

        st.init_schema(list(load_contracts(settings.contracts_dir).values()))
        quarantined = st.quarantined_documents()
    finally:
        st.close()  # the sub-flow opens the store for writing
    paths = [d.path for d in quarantined if selection.contract in (None, "", d.contract)]
    return paths[:selection.limit] if selection.limit else paths


def _reextract(selection: QuarantineSelection) -> dict[str, Any]:
    """Re-extract, coerce and validate from the stored page lines; a record leaves only by passing."""
    from ocrflow.run.quarantine_work import reprocess_quarantined

    logger = get_run_logger()
    settings = flow_settings(store=selection.store)
    st = open_store(settings.store)
    try:
        summary = reprocess_quarantined(st, settings, contract=selection.contract or None)
    finally:
        st.close()
    out = {"run_id": summary.run_id, "documents": len(summary.outcomes), "released": len(summary.released),
           "still_quarantined": len(summary.still_quarantined), "seconds": round(summary.seconds, 2)}
    logger.info("reprocessed from stored pages: %s", out)
    return out
