"""A new document type by YAML alone: drop a contract file into the contracts folder, and the
pipeline picks it for matching documents, creates its table and loads typed rows. No code changes.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ocrflow.contracts import default_contracts_dir, lint_dir
from ocrflow.core.settings import load_settings
from ocrflow.engines.embedded import EmbeddedEngine
from ocrflow.run.files_work import run_files
from ocrflow.store.duckdb_store import DuckDBStore
from tests.pdfs import write_lines_pdf

SHIPPING_LABEL = """\
apiVersion: v3.1.0
kind: DataContract
id: urn:ocrflow:contract:shipping_label
name: shipping_label
version: 1.0.0
status: active
description:
  purpose: Parcel shipping labels, one row per label.
customProperties:
  - property: ocrflowKeywords
    value:
      en: ["tracking number", "ship date", "shipping label"]
  - property: ocrflowBusinessKey
    value: [tracking_number]
schema:
  - name: shipping_label
    physicalName: shipping_label
    logicalType: object
    properties:
      - name: tracking_number
        logicalType: string
        physicalType: VARCHAR
        required: true
        logicalTypeOptions:
          pattern: "^1Z[0-9A-Z]{16}$"
        customProperties:
          - property: ocrflowKind
            value: identifier
          - property: ocrflowLabels
            value:
              en: ["tracking number", "tracking no"]
      - name: ship_date
        logicalType: date
        physicalType: DATE
        required: true
        customProperties:
          - property: ocrflowLabels
            value:
              en: ["ship date", "shipped on"]
      - name: weight_kg
        logicalType: number
        physicalType: DOUBLE
        required: true
        logicalTypeOptions:
          minimum: 0
          maximum: 70
        customProperties:
          - property: ocrflowLabels
            value:
              en: ["weight (kg)", "weight"]
"""

LABEL_LINES = ["SHIPPING LABEL", "Ship To: Jane Doe, 12 Harbour Road, Leith", "Tracking Number: 1Z999AA10123456784",
               "Ship Date: 2024-05-14", "Weight (kg): 2.35"]


@pytest.fixture()
def contracts_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None) -> Path:
    folder = tmp_path / "contracts"
    shutil.copytree(default_contracts_dir(), folder)
    (folder / "shipping_label.yaml").write_text(SHIPPING_LABEL, encoding="utf-8")
    monkeypatch.setenv("OCRFLOW_CONTRACTS_DIR", str(folder))
    return folder


def test_the_new_contract_passes_the_lint(contracts_dir: Path) -> None:
    results = {r.path.name: r for r in lint_dir(contracts_dir)}
    assert results["shipping_label.yaml"].ok, results["shipping_label.yaml"].problems
    assert all(r.ok for r in results.values())


def test_a_shipping_label_lands_in_its_own_typed_table(contracts_dir: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_lines_pdf(inbox / "label.pdf", LABEL_LINES, small=True)
    db = tmp_path / "ocrflow.duckdb"
    settings = load_settings(store=str(db), contract="auto")
    assert settings.contracts_dir == contracts_dir
    store = DuckDBStore(str(db))
    try:
        summary = run_files([str(inbox)], settings, store, EmbeddedEngine())
    finally:
        store.close()
    assert summary.counts["loaded"] == 1, summary.quarantined or summary.failed

    con = duckdb.connect(str(db), read_only=True)
    try:
        types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 'shipping_label'").fetchall())
        row = con.execute("SELECT tracking_number, ship_date, weight_kg, contract_name, contract_version "
                          "FROM shipping_label").fetchall()
        state = con.execute("SELECT state, contract FROM documents").fetchall()
    finally:
        con.close()
    assert types["tracking_number"] == "VARCHAR" and types["ship_date"] == "DATE"
    assert types["weight_kg"] == "DOUBLE"
    assert row == [("1Z999AA10123456784", date(2024, 5, 14), 2.35, "shipping_label", "1.0.0")]
    assert state == [("loaded", "shipping_label")]


def test_data_docs_for_a_run_sit_next_to_the_store(contracts_dir: Path, tmp_path: Path) -> None:
    from ocrflow.contracts import load_contracts
    from ocrflow.run.datadocs import data_docs_for_run
    from ocrflow.validate import validate_rows

    contract = load_contracts(contracts_dir)["shipping_label"]
    good = {"doc_sha256": "a" * 64, "tracking_number": "1Z999AA10123456784", "ship_date": date(2024, 5, 14),
            "weight_kg": 2.35}
    bad = {"doc_sha256": "b" * 64, "tracking_number": "12345", "ship_date": None, "weight_kg": 99.0}
    report = validate_rows(contract, [good, bad])
    empty = validate_rows(contract, [])
    db = tmp_path / "data" / "ocrflow.duckdb"
    index = data_docs_for_run([report, empty], str(db), "20240514T000000Z-abcd1234")
    site = tmp_path / "data" / "data_docs"  # one site per store, beside the file
    assert index == (site / "runs" / "20240514T000000Z-abcd1234.html").resolve()
    page = index.read_text(encoding="utf-8")
    assert "shipping_label-1.0.0" in page and "<td>2</td><td>1</td><td>failed</td>" in page
    assert "20240514T000000Z-abcd1234" in (site / "index.html").read_text(encoding="utf-8")
    assert list(site.glob("validations/**/20240514T000000Z-abcd1234/**/*.html"))
    assert data_docs_for_run([empty], str(db), "nothing-validated") is None
