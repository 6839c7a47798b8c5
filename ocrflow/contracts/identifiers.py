"""SQL identifiers that come from contracts: table, line-table and column names, validated before any SQL.

A contract names the tables and columns the stores create, so a name is SQL text. Every such name must be
a plain lower-case identifier (``[a-z][a-z0-9_]*``, at most 63 bytes: PostgreSQL's limit), not a reserved
word of PostgreSQL or DuckDB, and must not collide with what ocrflow adds itself: the lineage columns of a
clean or line table, or the ledger's own tables. The stores quote identifiers as well (defence in depth);
this check is what makes a name like ``x; DROP TABLE documents --`` or ``"quoted"`` a contract error,
reported by ``ocrflow contracts check`` and refused before any table is created.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ocrflow.contracts.model import Contract

IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
MAX_IDENTIFIER = 63
"""PostgreSQL truncates longer identifiers (NAMEDATALEN - 1), which could make two names one."""

RESERVED_WORDS = frozenset("""
all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate
collation column concurrently constraint create cross current_catalog current_date current_role
current_schema current_time current_timestamp current_user default deferrable desc describe distinct do
else end except false fetch for foreign freeze from full grant group having ilike in initially inner
intersect into is isnull join lambda lateral leading left like limit localtime localtimestamp natural not
notnull null offset on only or order outer overlaps pivot pivot_longer pivot_wider placing primary qualify
references returning right select session_user show similar some summarize symmetric system_user table
tablesample then to trailing true union unique unpivot user using variadic verbose when where window with
anti asof at by columns generated glob map positional semi struct try_cast tuple unpack
""".split())
"""Keywords that PostgreSQL (reserved, and reserved-but-function-or-type) or DuckDB (reserved,
type_function) refuse as a bare column or table name (``pg_get_keywords()``, ``duckdb_keywords()``)."""

LINEAGE_NAMES = ("doc_sha256", "source_path", "page_numbers", "engine", "model", "prompt_version",
                 "contract_name", "contract_version", "flow_run_id", "extracted_at", "raw_values")
"""Columns every clean table carries beside the contract's fields (``ocrflow.store.schema.LINEAGE_COLUMNS``)."""
LINE_LINEAGE_NAMES = ("doc_sha256", "source_path", "page_no", "engine", "model", "prompt_version",
                      "contract_name", "contract_version", "flow_run_id", "extracted_at", "raw_values")
"""Columns every line table carries beside the line fields (``ocrflow.store.lines.LINE_LINEAGE``)."""
LEDGER_TABLES = ("documents", "document_paths", "pages", "quarantine", "runs", "page_cache", "corrections",
                 "field_evidence", "issuers", "issuer_keys", "issuer_facts")
"""The store's own tables; a contract table of one of these names would be mixed into the ledger."""
SUFFIX_ROOM = len("_v999_line")
"""A table name leaves room for the suffixes the store adds (``invoice_v2``, ``invoice_v2_line``)."""


def identifier_problem(name: object, what: str) -> str | None:
    """Why ``name`` cannot be a SQL identifier (None when it can); ``what`` says what it names."""
    text = str(name)
    if not isinstance(name, str) or not IDENTIFIER.fullmatch(text):
        return (f"{what} {text!r} is not a plain SQL identifier: lower-case letters, digits and _, starting "
                "with a letter (snake_case)")
    if len(text.encode()) > MAX_IDENTIFIER:
        return f"{what} {text!r} is longer than {MAX_IDENTIFIER} characters (PostgreSQL's limit)"
    if text in RESERVED_WORDS:
        return f"{what} {text!r} is a reserved SQL word; choose another name"
    return None


def table_problems(name: object, what: str) -> list[str]:
    """A contract's table (or line table) name: an identifier, with room for suffixes, not a ledger table."""
    problem = identifier_problem(name, what)
    if problem:
        return [problem]
    text = str(name)
    problems = []
    if len(text) > MAX_IDENTIFIER - SUFFIX_ROOM:
        problems.append(f"{what} {text!r} is longer than {MAX_IDENTIFIER - SUFFIX_ROOM} characters "
                        "(room for the _vN and _line suffixes)")
    if text in LEDGER_TABLES:
        problems.append(f"{what} {text!r} is one of ocrflow's own tables ({', '.join(LEDGER_TABLES)})")
    return problems


def column_problems(names: Iterable[str], lineage: Iterable[str], what: str) -> list[str]:
    """Field names that collide with the lineage columns the store adds to the same table."""
    taken = set(lineage)
    return [f"{what} {n!r} collides with the lineage column of the same name that ocrflow adds "
            f"({', '.join(sorted(taken))})" for n in names if n in taken]


def name_problems(table: object, lines_table: object | None, fields: Sequence[str], line_fields: Sequence[str],
                  where: str) -> list[str]:
    """Every identifier problem of a contract: its table, its line table (None: it has no line items), its
    field and line field names. Names that are not snake_case at all are left to ``field_problems``."""
    problems = table_problems(table, f"{where}: table name (physicalName)")
    if lines_table is not None:
        problems += table_problems(lines_table, f"{where}: line table name (physicalName)")
        if lines_table == table:
            problems.append(f"{where}: the line table {lines_table!r} has the name of the record's table")
    for name in (*fields, *line_fields):
        problem = identifier_problem(name, f"{where}: field name") if IDENTIFIER.fullmatch(name) else None
        if problem:
            problems.append(problem)
    problems += column_problems(fields, LINEAGE_NAMES, f"{where}: field name")
    problems += column_problems([n for n in line_fields if n != "line_no"], LINE_LINEAGE_NAMES,
                                f"{where}: line field name")
    return list(dict.fromkeys(problems))


def contract_identifier_problems(contract: Contract) -> list[str]:
    """:func:`name_problems` of a parsed contract (the stores check again before any DDL)."""
    lines_table = (contract.lines_table or f"{contract.table}_line") if contract.lines else None
    where = f"contract {contract.name!r}"
    malformed = [identifier_problem(n, f"{where}: field name") for n in (*contract.field_names, *contract.line_names)
                 if not IDENTIFIER.fullmatch(n)]
    return [*(p for p in malformed if p),
            *name_problems(contract.table, lines_table, contract.field_names, contract.line_names, where)]
