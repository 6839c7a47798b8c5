"""Quarantine round trip on a real DuckDB file: bad invoices land in quarantine, a contract fix plus
`ocrflow reprocess --quarantined` releases the fixable ones, and a still-bad one stays.

The documents are generated PDFs (text layer, no OCR); the fix is made to a copy of the shipped
contracts in a temporary folder (OCRFLOW_CONTRACTS_DIR), never to data_contracts/ itself.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ocrflow.cli import app
from ocrflow.contracts import default_contracts_dir
from ocrflow.run.summary import RunSummary
from tests.pdfs import write_lines_pdf
from tests.support.duck import rows, run_into

pytestmark = pytest.mark.slow

HEADER = ["Acme Tools GmbH", "Bill To: Beta Corp", "Currency: EUR"]
DOCS = {
    # total is wrong per the rule amounts_add_up (100 + 19 != 130): fixed by dropping the rule
    "bad_total.pdf": [*HEADER, "Invoice Number: INV-1001", "Invoice Date: 2024-03-05", "Subtotal: 100.00",
                      "Tax: 19.00", "Total: 130.00"],
    # the number is printed under a label the contract does not know: fixed by adding the label
    "ref_label.pdf": [*HEADER, "Ref Code: R-2024-77", "Invoice Date: 2024-03-06", "Subtotal: 200.00",
                      "Tax: 38.00", "Total: 238.00"],
    # no number at all and a wrong total: still bad after the fix
    "hopeless.pdf": [*HEADER, "Invoice Date: 2024-03-07", "Subtotal: 10.00", "Tax: 1.90", "Total: 99.00"],
}


def edit_invoice_contract(contracts: Path, *, drop_rule: str, add_label: tuple[str, str]) -> None:
    """The fix a data engineer would make: drop a rule, teach a field a new label."""
    path = contracts / "invoice.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    obj = doc["schema"][0]
    obj["quality"] = [q for q in obj["quality"] if q.get("name") != drop_rule]
    field_name, label = add_label
    prop = next(p for p in obj["properties"] if p["name"] == field_name)
    labels = next(c for c in prop["customProperties"] if c["property"] == "ocrflowLabels")
    labels["value"]["en"].insert(0, label)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def run_once(inbox: Path, db: Path) -> RunSummary:
    return run_into([str(inbox)], db, use_embedded_xml=False)


def names_in(db: Path, table: str) -> set[str]:
    return {str(Path(r[0]).name) for r in rows(db, f"SELECT source_path FROM {table}")}


@pytest.fixture()
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None) -> tuple[Path, Path, Path]:
    contracts = tmp_path / "contracts"
    shutil.copytree(default_contracts_dir(), contracts)
    monkeypatch.setenv("OCRFLOW_CONTRACTS_DIR", str(contracts))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, lines in DOCS.items():
        write_lines_pdf(inbox / name, lines)
    db = tmp_path / "data" / "ocrflow.duckdb"
    return contracts, inbox, db


def test_fix_the_contract_then_reprocess_releases_the_fixable(setup: tuple[Path, Path, Path]) -> None:
    contracts, inbox, db = setup
    first = run_once(inbox, db)
    assert first.counts["quarantined"] == 3 and first.counts["loaded"] == 0
    runner = CliRunner()

    listed = runner.invoke(app, ["quarantine", "list", "--db", str(db), "--json"])
    assert listed.exit_code == 0, listed.output
    entries = {Path(e["path"]).name: e for e in json.loads(listed.output)}
    assert set(entries) == set(DOCS)
    assert all(len(e["id"]) == 12 and e["contract"] == "invoice" for e in entries.values())
    assert any("must equal total_amount" in r["message"] for r in entries["bad_total.pdf"]["reasons"])
    assert any("invoice_number must not be null" in r["message"] for r in entries["ref_label.pdf"]["reasons"])

    edit_invoice_contract(contracts, drop_rule="amounts_add_up", add_label=("invoice_number", "ref code"))
    result = runner.invoke(app, ["reprocess", "--quarantined", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.output)
    states = {Path(o["path"]).name: o["state"] for o in outcome["outcomes"]}
    assert states == {"bad_total.pdf": "loaded", "ref_label.pdf": "loaded", "hopeless.pdf": "quarantined"}

    assert names_in(db, "invoice") == {"bad_total.pdf", "ref_label.pdf"}
    assert names_in(db, "quarantine") == {"hopeless.pdf"}
    loaded = dict(rows(db, "SELECT invoice_number, total_amount FROM invoice"))
    assert loaded == {"INV-1001": Decimal("130.00"), "R-2024-77": Decimal("238.00")}
    (reasons,) = rows(db, "SELECT reasons FROM quarantine")[0]
    messages = [r["message"] for r in json.loads(reasons)]
    assert "invoice_number must not be null" in messages  # reasons are recomputed ...
    assert not any("must equal" in m for m in messages)  # ... under the fixed contract
    docs = dict(rows(db, "SELECT regexp_extract(path, '[^/]+$'), state FROM documents"))
    assert docs == {"bad_total.pdf": "loaded", "ref_label.pdf": "loaded", "hopeless.pdf": "quarantined"}
    ledger = rows(db, "SELECT engine, status, loaded, quarantined FROM runs WHERE run_id = "
                      f"'{outcome['run_id']}'")
    assert ledger == [("reprocess", "COMPLETED", 2, 1)]
    pages = rows(db, "SELECT count(*), count(DISTINCT run_id) FROM pages")[0]
    assert pages == (3, 1)  # no re-OCR: the stored pages are read, not rewritten


def test_reprocess_without_a_fix_changes_nothing(setup: tuple[Path, Path, Path]) -> None:
    _, inbox, db = setup
    run_once(inbox, db)
    result = CliRunner().invoke(app, ["reprocess", "--quarantined", "--contract", "invoice", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "0 released, 3 still quarantined" in " ".join(result.output.split())
    assert names_in(db, "quarantine") == set(DOCS)
    assert rows(db, "SELECT count(*) FROM invoice") == [(0,)]


def test_list_filter_and_show_by_prefix(setup: tuple[Path, Path, Path]) -> None:
    _, inbox, db = setup
    run_once(inbox, db)
    runner = CliRunner()
    table = runner.invoke(app, ["quarantine", "list", "--db", str(db)], env={"COLUMNS": "400"})
    assert table.exit_code == 0 and "hopeless.pdf" in table.output and "quarantine: 3" in table.output
    other = runner.invoke(app, ["quarantine", "list", "--contract", "receipt", "--db", str(db), "--json"])
    assert other.exit_code == 0 and json.loads(other.output) == []

    (sha,) = next(r for r in rows(db, "SELECT doc_sha256, source_path FROM quarantine")
                  if r[1].endswith("bad_total.pdf"))[:1]
    shown = runner.invoke(app, ["quarantine", "show", sha[:8], "--db", str(db), "--json"])
    assert shown.exit_code == 0, shown.output
    entry = json.loads(shown.output)
    assert entry["doc_sha256"] == sha
    assert Decimal(str(entry["values"]["total_amount"])) == Decimal("130.00")
    assert entry["raw_values"]["invoice_number"] == "INV-1001"
    assert entry["reasons"][0]["field"] == "subtotal_amount,tax_amount,total_amount"
    text = runner.invoke(app, ["quarantine", "show", sha[:12], "--db", str(db)], env={"COLUMNS": "400"})
    assert text.exit_code == 0 and "must equal total_amount" in text.output and "INV-1001" in text.output

    missing = runner.invoke(app, ["quarantine", "show", "ffffffff", "--db", str(db)])
    assert missing.exit_code == 1
    short = runner.invoke(app, ["quarantine", "show", "ab", "--db", str(db)])
    assert short.exit_code == 1


def test_reprocess_requires_the_quarantined_flag(setup: tuple[Path, Path, Path]) -> None:
    _, _, db = setup
    result = CliRunner().invoke(app, ["reprocess", "--db", str(db)])
    assert result.exit_code == 2
