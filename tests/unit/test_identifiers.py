"""SQL identifiers from contracts are validated before any SQL: lint refuses them, and so does init_schema.

Hostile or unsafe names (``x; DROP TABLE documents --``, ``"quoted"``, reserved words, lineage columns,
the ledger's own tables) are contract errors with a clear message from ``ocrflow contracts check`` and
from the parser; a Contract built around the parser still cannot reach the database: ``init_schema``
refuses it before any table is created, in DuckDB and in PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
import yaml
from typer.testing import CliRunner

from ocrflow.cli import app
from ocrflow.contracts import Contract, ContractError, default_contracts_dir, lint_dir, load_contracts, parse_contract
from ocrflow.contracts.identifiers import (
    LEDGER_TABLES,
    LINE_LINEAGE_NAMES,
    LINEAGE_NAMES,
    RESERVED_WORDS,
    identifier_problem,
)
from ocrflow.store.duckdb_store import DuckDBStore
from ocrflow.store.lines import LINE_LINEAGE
from ocrflow.store.postgres_store import PostgresStore
from ocrflow.store.schema import LINEAGE_COLUMNS, IdentifierError, contract_ddl, ident
from tests.support.store import drop_schema, require_pg

HOSTILE = ("x; DROP TABLE documents --", '"quoted"')


def _receipt_doc() -> dict[str, Any]:
    return yaml.safe_load((default_contracts_dir() / "receipt.yaml").read_text(encoding="utf-8"))


def _invoice_doc() -> dict[str, Any]:
    return yaml.safe_load((default_contracts_dir() / "invoice.yaml").read_text(encoding="utf-8"))


def _set_field(name: str) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        doc["schema"][0]["properties"][1]["name"] = name
    return mutate


def _set_table(name: str) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        doc["schema"][0]["physicalName"] = name
    return mutate


def _lint(tmp_path: Path, doc: dict[str, Any]) -> tuple[int, str]:
    folder = tmp_path / f"contracts_{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    (folder / "bad.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(app, ["contracts", "check", str(folder)])
    return result.exit_code, " ".join(result.output.split())


@pytest.mark.parametrize(("mutate", "said"), [
    (_set_field(HOSTILE[0]), "must be snake_case"),
    (_set_field(HOSTILE[1]), "must be snake_case"),
    (_set_field("select"), "is a reserved SQL word"),
    (_set_field("doc_sha256"), "collides with the lineage column"),
    (_set_field("a" * 64), "longer than 63"),
    (_set_table(HOSTILE[0]), "table name (physicalName) 'x; DROP TABLE documents --' is not a plain SQL identifier"),
    (_set_table(HOSTILE[1]), "is not a plain SQL identifier"),
    (_set_table("documents"), "is one of ocrflow's own tables"),
    (_set_table("Receipt"), "is not a plain SQL identifier"),
    (_set_table("order"), "is a reserved SQL word"),
    (_set_table("r" * 60), "room for the _vN and _line suffixes"),
], ids=["field-injection", "field-quoted", "field-reserved", "field-lineage", "field-long", "table-injection",
        "table-quoted", "table-ledger", "table-upper", "table-reserved", "table-long"])
def test_lint_and_parser_refuse_unsafe_names(tmp_path: Path, mutate: Callable[[dict[str, Any]], None],
                                             said: str) -> None:
    doc = _receipt_doc()
    mutate(doc)
    code, output = _lint(tmp_path, doc)
    assert code == 1 and "FAIL" in output and said in output, output
    with pytest.raises(ContractError, match=r"receipt\.yaml"):
        parse_contract(doc, "receipt.yaml")


@pytest.mark.parametrize(("where", "name", "said"), [
    ("line_table", HOSTILE[0], "line table name (physicalName)"),
    ("line_table", "invoice", "has the name of the record's table"),
    ("line_field", "page_no", "line field name 'page_no' collides with the lineage column"),
    ("line_field", HOSTILE[1], "must be snake_case"),
    ("line_field", "where", "is a reserved SQL word"),
])
def test_line_tables_and_columns_are_checked_too(tmp_path: Path, where: str, name: str, said: str) -> None:
    doc = _invoice_doc()
    lines = doc["schema"][1]
    if where == "line_table":
        lines["physicalName"] = name
    else:
        lines["properties"][1]["name"] = name
    code, output = _lint(tmp_path, doc)
    assert code == 1 and said in output, output
    with pytest.raises(ContractError):
        parse_contract(doc, "invoice.yaml")


def test_two_contracts_on_one_table_are_refused_by_lint(tmp_path: Path) -> None:
    first, second = _receipt_doc(), _receipt_doc()
    second["name"], second["id"] = "receipt_copy", "receipt-copy"
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(first), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(second), encoding="utf-8")
    results = lint_dir(tmp_path)
    assert [r.ok for r in results] == [True, False]
    assert "table 'receipt' (major version 1) is already the table of a.yaml" in results[1].problems[0]


def test_shipped_contracts_are_clean(tmp_path: Path) -> None:
    assert all(r.ok for r in lint_dir(default_contracts_dir())), [r.problems for r in lint_dir(default_contracts_dir())]


def _smuggled(name: str | None = None, table: str | None = None) -> Contract:
    """A contract with an unsafe name, built around the parser (as code, or an older release, could)."""
    receipt = load_contracts()["receipt"]
    fields = receipt.fields
    if name is not None:
        fields = (dataclasses.replace(fields[0], name=name), *fields[1:])
    return dataclasses.replace(receipt, fields=fields, table=table or receipt.table)


@pytest.mark.parametrize("contract", [
    _smuggled(name=HOSTILE[0]), _smuggled(name=HOSTILE[1]), _smuggled(name="select"),
    _smuggled(name="raw_values"), _smuggled(table=HOSTILE[0]), _smuggled(table="runs"),
], ids=["field-injection", "field-quoted", "field-reserved", "field-lineage", "table-injection", "table-ledger"])
def test_duckdb_init_schema_refuses_before_creating_anything(tmp_path: Path, contract: Contract) -> None:
    db = tmp_path / "s.duckdb"
    store = DuckDBStore(str(db))
    try:
        with pytest.raises(IdentifierError, match="refused before any table was created"):
            store.init_schema([load_contracts()["invoice"], contract])
    finally:
        store.close()
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM information_schema.tables").fetchone() == (0,)
    finally:
        con.close()


@pytest.mark.postgres
def test_postgres_init_schema_refuses_before_creating_anything() -> None:
    url = require_pg()
    schema = f"ocrflow_ident_{uuid.uuid4().hex[:8]}"
    store = PostgresStore(url, schema=schema)
    try:
        with pytest.raises(IdentifierError, match="x; DROP TABLE documents --"):
            store.init_schema([_smuggled(name=HOSTILE[0])])
        with psycopg.connect(url) as con:
            found = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
                                [schema]).fetchone()
        assert found == (0,)
    finally:
        store.close()
        drop_schema(url, schema)


def test_init_schema_refuses_two_contracts_on_one_table(tmp_path: Path) -> None:
    receipt = load_contracts()["receipt"]
    store = DuckDBStore(str(tmp_path / "t.duckdb"))
    try:
        with pytest.raises(IdentifierError, match="both use table 'receipt'"):
            store.init_schema([receipt, dataclasses.replace(receipt, name="receipt_copy")])
    finally:
        store.close()


def test_ddl_quotes_any_name_that_is_not_plain() -> None:
    assert ident("total_amount") == "total_amount"
    assert ident(HOSTILE[0]) == '"x; DROP TABLE documents --"'
    assert ident(HOSTILE[1]) == '"""quoted"""'
    assert ident("select") == '"select"'
    ddl = contract_ddl(_smuggled(name=HOSTILE[0], table=HOSTILE[1]), "duckdb")
    assert ddl.startswith('CREATE TABLE IF NOT EXISTS """quoted""" (') and '"x; DROP TABLE documents --" ' in ddl
    con = duckdb.connect()  # even called directly, around the check, the name stays one quoted identifier
    try:
        con.execute("CREATE TABLE documents (x INTEGER)")
        con.execute(ddl)
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    finally:
        con.close()
    assert tables == {"documents", '"quoted"'}


def test_the_name_lists_match_what_the_stores_create(tmp_path: Path) -> None:
    assert LINEAGE_NAMES == tuple(n for n, *_ in LINEAGE_COLUMNS)
    assert LINE_LINEAGE_NAMES == tuple(n for n, *_ in LINE_LINEAGE)
    store = DuckDBStore(str(tmp_path / "l.duckdb"))
    try:
        store.init_schema([])
        _, found = store.query("SELECT table_name FROM information_schema.tables")
    finally:
        store.close()
    assert set(LEDGER_TABLES) == {r[0] for r in found}


@pytest.mark.postgres
def test_reserved_words_cover_both_dialects() -> None:
    con = duckdb.connect()
    try:
        duck = {r[0] for r in con.execute("SELECT keyword_name FROM duckdb_keywords() "
                                          "WHERE keyword_category IN ('reserved', 'type_function')").fetchall()}
    finally:
        con.close()
    with psycopg.connect(require_pg()) as pg:
        postgres = {r[0] for r in pg.execute("SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'T')")}
    assert duck and postgres
    assert (duck | postgres) - RESERVED_WORDS == set()
    assert all(identifier_problem(w, "name") for w in RESERVED_WORDS)
