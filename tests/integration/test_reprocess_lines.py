"""A quarantined invoice keeps its line items through `ocrflow reprocess --quarantined`: the header and its
lines reach the clean tables together (issue 12: never the header without its lines)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ocrflow.cli import app
from ocrflow.contracts import default_contracts_dir
from tests.support.duck import rows, run_into

pytestmark = pytest.mark.slow


def _strict_totals(contracts: Path, strict: bool) -> None:
    """``amounts_add_up`` as shipped, or broken on purpose (the total must equal the subtotal: fails with tax)."""
    path = contracts / "invoice.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    rule = next(q for q in doc["schema"][0]["quality"] if q["name"] == "amounts_add_up")
    rule["implementation"]["fields"] = ["subtotal_amount"] if strict else ["subtotal_amount", "tax_amount"]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.mark.parametrize("einvoice", [False, True], ids=["page-table", "xml"])
def test_reprocessed_invoice_lands_with_its_lines(tmp_path: Path, demo_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                  clean_env: None, einvoice: bool) -> None:
    contracts = tmp_path / "contracts"
    shutil.copytree(default_contracts_dir(), contracts)
    monkeypatch.setenv("OCRFLOW_CONTRACTS_DIR", str(contracts))
    source = demo_dir / "docs" / ("invoice_facturx.pdf" if einvoice else "invoice_digital.pdf")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(source, inbox)
    db = tmp_path / "o.duckdb"
    reference = tmp_path / "ref.duckdb"
    assert run_into([str(inbox)], reference, use_embedded_xml=einvoice).counts["loaded"] == 1
    expected = rows(reference, "SELECT line_no, description, line_net_amount FROM invoice_line ORDER BY line_no")
    assert expected, f"{source.name} should carry line items"

    _strict_totals(contracts, True)  # a rule the invoice breaks: it waits in the quarantine
    first = run_into([str(inbox)], db, use_embedded_xml=einvoice)
    assert first.counts["quarantined"] == 1
    assert rows(db, "SELECT count(*) FROM invoice_line") == [(0,)]

    _strict_totals(contracts, False)
    result = CliRunner().invoke(app, ["reprocess", "--quarantined", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["loaded"] == 1
    assert rows(db, "SELECT count(*) FROM invoice") == [(1,)]
    assert rows(db, "SELECT line_no, description, line_net_amount FROM invoice_line ORDER BY line_no") == expected
