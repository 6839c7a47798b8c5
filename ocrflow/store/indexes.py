"""The lookup indexes that keep a batch write's cost flat as the store grows (issue 21).

A batch touches the rows of its own documents only: it replaces them by ``doc_sha256`` and looks up the
stored rows that share a business key with its clean rows. Without an index each of those statements read
a whole table (DuckDB keeps no PRIMARY KEY on ``documents`` and the clean tables, ``KEYS_BY_CONSTRAINT``,
and uses a compound key's index for no lookup by its first column), so ``write_batch(16)`` grew with every
row stored, and the duplicate check read every stored row of the batch's sellers.

- DuckDB: an index on ``doc_sha256`` (``documents.sha256``) of every table a batch replaces rows of.
- Both: an index on each clean table's business-key probe column (:func:`probe_column`), the one column
  the duplicate check filters on; rows sharing it are compared on the whole key in Python.

``init_schema`` creates them (``CREATE INDEX IF NOT EXISTS``, so a store made by an older release gets them
at its next run, in one pass over each table).
"""

from __future__ import annotations

from collections.abc import Sequence

from ocrflow.contracts import Contract
from ocrflow.store.dialect import Dialect, quote_ident
from ocrflow.store.evidence import EVIDENCE_TABLE
from ocrflow.store.lines import lines_table_name
from ocrflow.store.schema import field_sql_type, table_name

BY_DOCUMENT = (("documents", "sha256"), ("pages", "doc_sha256"), (EVIDENCE_TABLE, "doc_sha256"),
               ("document_paths", "doc_sha256"))
"""DuckDB tables a batch replaces rows of, by the column it finds them by (the clean and line tables too)."""


def probe_column(contract: Contract) -> str | None:
    """The business-key column the duplicate check looks stored rows up by: the last one that is not a list
    (the most specific: the number after the seller's id); None without a business key."""
    types = {f.name: field_sql_type(f, "duckdb") for f in contract.fields}
    scalar = [k for k in contract.business_key if not types.get(k, "").endswith("[]")]
    return scalar[-1] if scalar else None


def index_name(table: str, column: str) -> str:
    return quote_ident(f"ix_{table}_{column}"[:63])


def index_ddl(contracts: Sequence[Contract], dialect: Dialect) -> list[str]:
    """``CREATE INDEX IF NOT EXISTS`` of every lookup index (the module docstring says which)."""
    wanted: list[tuple[str, str]] = []
    if dialect == "duckdb":
        wanted += BY_DOCUMENT
        for c in contracts:
            wanted.append((table_name(c), "doc_sha256"))
            if c.lines:
                wanted.append((lines_table_name(c), "doc_sha256"))
    for c in contracts:
        probe = probe_column(c)
        if probe is not None:
            wanted.append((table_name(c), probe))
    return [f"CREATE INDEX IF NOT EXISTS {index_name(t, col)} ON {quote_ident(t)} ({quote_ident(col)})"
            for t, col in dict.fromkeys(wanted)]
