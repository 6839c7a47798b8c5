"""SQL both dialects share for the ``documents`` table: the upsert, and the claim guards around it.

A claim (``claimed_by``, ``claim_expires``) hands a document to one worker while it is processed;
it matters only where several processes write at once (``Store.shares_writes``).
"""

from __future__ import annotations

from ocrflow.store.base import FINAL_STATES

FINAL_SQL = ", ".join(f"'{s.value}'" for s in FINAL_STATES)
"""The final states as a SQL list (``'loaded', 'quarantined', 'failed'``)."""

DOCUMENT_UPSERT_SET = (
    "path = excluded.path, mime = excluded.mime, size_bytes = excluded.size_bytes, "
    "pages = greatest(excluded.pages, documents.pages), state = excluded.state, "
    "contract = coalesce(excluded.contract, documents.contract), error = excluded.error, "
    "updated_at = excluded.updated_at, run_id = excluded.run_id, "
    "attempts = documents.attempts + CASE WHEN excluded.state = 'pending' THEN 0 ELSE 1 END, "
    "error_code = excluded.error_code, pages_read = coalesce(excluded.pages_read, documents.pages_read), "
    "path_raw = excluded.path_raw, einvoice_syntax = coalesce(excluded.einvoice_syntax, documents.einvoice_syntax), "
    "einvoice_profile = coalesce(excluded.einvoice_profile, documents.einvoice_profile), "
    "issuer_id = coalesce(excluded.issuer_id, documents.issuer_id)")
"""The ON CONFLICT (sha256) DO UPDATE of ``documents``; valid SQL in both dialects."""

CLEAR_FINAL_CLAIMS_SET = (
    f"claimed_by = CASE WHEN excluded.state IN ({FINAL_SQL}) THEN NULL ELSE documents.claimed_by END, "
    f"claim_expires = CASE WHEN excluded.state IN ({FINAL_SQL}) THEN NULL ELSE documents.claim_expires END")
"""Appended by write_batch: a document that reaches a final state is no longer claimed."""


def register_guard(now_sql: str, *, keep_final: bool) -> str:
    """The DO UPDATE ... WHERE of ``register``: leave live claims (and, if asked, final states) alone."""
    guard = f"(documents.claimed_by IS NULL OR documents.claim_expires IS NULL OR documents.claim_expires < {now_sql})"
    if keep_final:
        guard += f" AND NOT (excluded.state = 'pending' AND documents.state IN ({FINAL_SQL}))"
    return guard


def claim_sql(hashes_sql: str, *, worker: str, expires: str, now: str) -> str:
    """UPDATE ... RETURNING that claims documents not final and unclaimed, expired or already ours."""
    return (f"UPDATE documents SET claimed_by = {worker}, claim_expires = {expires} "
            f"WHERE sha256 IN ({hashes_sql}) AND state NOT IN ({FINAL_SQL}) "
            f"AND (claimed_by IS NULL OR claim_expires IS NULL OR claim_expires < {now} OR claimed_by = {worker}) "
            "RETURNING sha256")
