"""Business keys unique across a contract's table, decided inside the write transaction.

A contract's ``ocrflowBusinessKey`` (e.g. seller tax id + invoice number) names one real-world
document. The first document with a key loads; a later one with the same key, in the same batch or
in any later run, is quarantined with the check ``duplicate`` and the message ``duplicate of
<sha256 prefix> (<path>)`` naming the original. Rows with a missing key value are not compared
(as GX's ``ignore_row_if="any_value_is_missing"``); values compare as the store returns them
(``Decimal('12.5') == Decimal('12.50')``), strings exactly.

The batch writer calls :func:`mark_duplicates` first in each batch's transaction. It takes a
transaction-scoped lock per contract table first (``WriteTarget.lock_keys``, sorted, so two workers
never wait on each other crosswise): on PostgreSQL two workers loading the same key at once cannot
both see "no original": the second waits for the first's COMMIT and then, READ COMMITTED, sees its
row. DuckDB has a single writer (its file lock) and locks nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol

from ocrflow.contracts import Contract
from ocrflow.core.errors import ErrorCode
from ocrflow.core.models import DocState, Failure, RowOutcome
from ocrflow.store.base import Batch, DocumentUpdate
from ocrflow.store.dialect import quote_ident
from ocrflow.store.indexes import probe_column
from ocrflow.store.primitives import WriteTarget
from ocrflow.store.rows import last_outcomes
from ocrflow.store.schema import table_name

DUPLICATE_CHECK = ErrorCode.DUPLICATE.value
PREFIX = 12
"""Characters of the original's sha256 shown in the message (as ``ocrflow quarantine show`` accepts)."""


class _Result(Protocol):
    """What :func:`apply_decisions` reads and sets on a run's in-memory document results."""

    row: RowOutcome | None
    state: DocState
    error: str | None
    error_code: str | None


def _norm(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_norm(v) for v in value)
    if isinstance(value, Decimal):
        return value.normalize()
    return value


def key_of(outcome: RowOutcome, key: Sequence[str]) -> tuple[Any, ...] | None:
    """The outcome's business key, or None when a key value is missing."""
    values = [outcome.values.get(k) for k in key]
    if any(v is None or v == "" or v == [] for v in values):
        return None
    return tuple(_norm(v) for v in values)


def mark_duplicates(batch: Batch, contracts: dict[str, Contract], target: WriteTarget) -> int:
    """Quarantine, in ``batch``, the clean rows whose business key is already taken; returns how many.

    Taken: by a row of the contract's table from another document, or by an earlier clean row of
    this batch. The outcome gains a ``duplicate`` failure and its document update turns quarantined.
    """
    by_contract: dict[str, list[tuple[RowOutcome, tuple[Any, ...]]]] = {}
    for o in last_outcomes(batch.rows):
        contract = contracts.get(o.contract)
        if contract is None or not contract.business_key or not o.clean:
            continue
        key = key_of(o, contract.business_key)
        if key is not None:
            by_contract.setdefault(o.contract, []).append((o, key))
    tables = sorted({table_name(contracts[n]) for n in by_contract})
    target.lock_keys([f"ocrflow.business_key.{table}" for table in tables])
    docs = {d.sha256: d for d in batch.documents}
    marked = 0
    for name, keyed in sorted(by_contract.items()):
        taken = _stored_keys(contracts[name], keyed, target)
        for o, key in keyed:
            original = taken.get(key)
            if original is not None and original[0] != o.doc.sha256:
                _quarantine_duplicate(o, docs.get(o.doc.sha256), contracts[name], key, original)
                marked += 1
            else:
                taken.setdefault(key, (o.doc.sha256, o.doc.path))
    return marked


def _stored_keys(contract: Contract, keyed: list[tuple[RowOutcome, tuple[Any, ...]]],
                 target: WriteTarget) -> dict[tuple[Any, ...], tuple[str, str]]:
    """Key -> (sha256, path) of the stored rows that share a key with ``keyed``.

    The rows are looked up by the key's probe column (``ocrflow.store.indexes.probe_column``: its index
    makes this a lookup of the batch's values, whatever the store holds) and compared on the whole key;
    only the originals found are looked up in ``documents`` for their path (by its index too)."""
    key = list(contract.business_key)
    probe = probe_column(contract)
    cols = ", ".join(f"t.{quote_ident(k)}" for k in key)
    sql = f"SELECT {cols}, t.doc_sha256, t.source_path FROM {table_name(contract)} t"
    params: list[Any] = []
    if probe is not None:
        values = sorted({o.values[probe] for o, _ in keyed}, key=str)
        sql += f" WHERE {target.sql.in_list('t.' + quote_ident(probe), len(values))}"
        params.append(values)
    sql += " ORDER BY t.extracted_at NULLS LAST, t.doc_sha256"
    wanted = {k for _, k in keyed}
    found: dict[tuple[Any, ...], tuple[str, str]] = {}
    for row in target.execute(sql, params):
        stored = tuple(_norm(v) for v in row[:len(key)])
        if stored in wanted:
            found.setdefault(stored, (str(row[-2]), str(row[-1])))
    if found:
        shas = sorted({sha for sha, _ in found.values()})
        paths = dict(target.execute(f"SELECT sha256, path FROM documents WHERE "
                                    f"{target.sql.in_list('sha256', len(shas))}", [shas]))
        found = {k: (sha, str(paths.get(sha) or path)) for k, (sha, path) in found.items()}
    return found


def _quarantine_duplicate(o: RowOutcome, doc: DocumentUpdate | None, contract: Contract, key: tuple[Any, ...],
          original: tuple[str, str]) -> None:
    message = f"duplicate of {original[0][:PREFIX]} ({original[1]})"
    field = ",".join(contract.business_key)
    if not any(f.check == DUPLICATE_CHECK for f in o.failures):
        o.failures.append(Failure(field, DUPLICATE_CHECK, dict(zip(contract.business_key, key, strict=True)),
                                  message))
    if doc is not None:
        doc.state, doc.error, doc.error_code = DocState.QUARANTINED, message, ErrorCode.DUPLICATE.value


def apply_decisions(results: Sequence[_Result]) -> None:
    """After ``write_batch``: results whose row the store quarantined as a duplicate say so too."""
    for r in results:
        if r.row is None or r.state is not DocState.LOADED:
            continue
        dup = next((f for f in r.row.failures if f.check == DUPLICATE_CHECK), None)
        if dup is not None:
            r.state, r.error, r.error_code = DocState.QUARANTINED, dup.message, ErrorCode.DUPLICATE.value
