"""Great Expectations suites generated from data contracts, and row-level validation failures."""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from ocrflow.contracts import ContractError, default_contracts_dir, load_contract, load_contracts
from ocrflow.validate import build_data_docs, build_suite, validate_rows

TODAY = dt.date(2025, 6, 1)


@pytest.fixture(scope="module")
def invoice():  # type: ignore[no-untyped-def]
    return load_contracts()["invoice"]


def invoice_row(i: int, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "doc_sha256": f"sha{i:04d}", "invoice_number": f"INV-{i:04d}", "invoice_date": dt.date(2024, 3, 1),
        "due_date": dt.date(2024, 3, 31), "seller_name": "ACME GmbH", "seller_tax_id": "DE123456789",
        "buyer_name": "Bob Ltd", "buyer_tax_id": None, "currency": "EUR",
        "subtotal_amount": Decimal("100.00"), "tax_amount": Decimal("19.00"),
        "total_amount": Decimal("119.00"),
    }
    row.update(changes)
    return row


def checks(report: Any, key: str) -> set[tuple[str, str]]:
    return {(f.field, f.check) for f in report.failures_for(key)}


def types(suite: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(e.expectation_type, e.configuration.kwargs) for e in suite.expectations]


def test_suite_is_derived_from_the_invoice_contract(invoice: Any) -> None:
    suite = build_suite(invoice, today=TODAY)
    assert suite.name == "invoice-1.0.0"
    got = types(suite)
    assert ("expect_column_values_to_not_be_null", {"column": "total_amount"}) in got
    assert ("expect_column_values_to_match_regex", {"column": "currency", "regex": "^[A-Z]{3}$"}) in got
    # the business key is decided by the store in the write transaction (first copy loads), not by GX
    assert not any("unique" in t for t, _ in got)
    pair = [kw for t, kw in got if t == "expect_column_pair_values_a_to_be_greater_than_b"]
    assert pair == [{"column_A": "due_date", "column_B": "invoice_date", "or_equal": True,
                     "ignore_row_if": "either_value_is_missing"}]
    dates = [kw for t, kw in got
             if t == "expect_column_values_to_be_between" and kw["column"] == "invoice_date"]
    assert dates[0]["max_value"] == dt.datetime(2026, 6, 1)
    assert all(e.meta["ocrflow_message"] for e in suite.expectations)


def test_changing_the_yaml_changes_the_suite(tmp_path: Path) -> None:
    doc = yaml.safe_load((default_contracts_dir() / "invoice.yaml").read_text(encoding="utf-8"))
    props = {p["name"]: p for p in doc["schema"][0]["properties"]}
    props["seller_name"]["required"] = True
    props["buyer_tax_id"]["logicalTypeOptions"] = {"pattern": "^[A-Z]{2}[0-9A-Z]+$"}
    path = tmp_path / "invoice.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    before = types(build_suite(load_contracts()["invoice"], today=TODAY))
    after = types(build_suite(load_contract(path), today=TODAY))
    assert ("expect_column_values_to_not_be_null", {"column": "seller_name"}) not in before
    assert ("expect_column_values_to_not_be_null", {"column": "seller_name"}) in after
    assert any(t == "expect_column_values_to_match_regex" and kw["column"] == "buyer_tax_id"
               for t, kw in after)


def test_clean_rows_pass(invoice: Any) -> None:
    rows = [invoice_row(i) for i in range(5)]
    rows.append(invoice_row(9, total_amount=Decimal("119.02"), due_date=None))
    report = validate_rows(invoice, rows, today=TODAY)
    assert report.success, report.as_dict()
    assert report.failures == {}
    assert report.statistics["evaluated_expectations"] > 5
    json.dumps(report.raw)
    json.dumps(report.as_dict())


@pytest.mark.parametrize(("changes", "field", "check"), [
    ({"total_amount": None}, "total_amount", "expect_column_values_to_not_be_null"),
    ({"currency": "euro"}, "currency", "expect_column_values_to_match_regex"),
    ({"total_amount": Decimal("125.00")}, "subtotal_amount,tax_amount,total_amount",
     "expect_column_values_to_be_between"),
    ({"due_date": dt.date(2024, 2, 1)}, "due_date,invoice_date",
     "expect_column_pair_values_a_to_be_greater_than_b"),
    ({"invoice_date": dt.date(1985, 1, 1), "due_date": None}, "invoice_date",
     "expect_column_values_to_be_between"),
    ({"tax_amount": Decimal("Infinity")}, "tax_amount", "expect_column_values_to_be_between"),
])
def test_bad_row_fails_with_field_and_check(invoice: Any, changes: dict[str, Any], field: str,
                                            check: str) -> None:
    rows = [invoice_row(0), invoice_row(1, **changes), invoice_row(2)]
    report = validate_rows(invoice, rows, today=TODAY)
    assert not report.success
    assert report.failed_keys == ["sha0001"]
    assert (field, check) in checks(report, "sha0001")
    failure = next(f for f in report.failures_for("sha0001") if f.field == field)
    assert failure.message
    json.dumps(failure.as_dict())


def test_failure_values_are_json_safe_originals(invoice: Any) -> None:
    report = validate_rows(invoice, [invoice_row(0, total_amount=Decimal("120.00"))], today=TODAY)
    (failure,) = report.failures_for("sha0000")
    assert failure.value == {"subtotal_amount": 100.0, "tax_amount": 19.0, "total_amount": 120.0}
    assert "must equal total_amount" in failure.message


def test_a_repeated_business_key_is_not_a_validation_failure(invoice: Any) -> None:
    """Two copies of one invoice in a batch both pass GX: the store keeps the first and quarantines the
    later one as a duplicate (tests/faults/test_duplicates.py), instead of GX failing every copy."""
    rows = [invoice_row(0), invoice_row(1, invoice_number="INV-0000"),
            invoice_row(2, invoice_number="INV-0000", seller_tax_id=None)]
    report = validate_rows(invoice, rows, today=TODAY)
    assert report.success and report.failed_keys == []


def test_list_fields_and_nda(tmp_path: Path) -> None:
    nda = load_contracts()["nda"]
    base = {"effective_date": dt.date(2024, 1, 1), "jurisdiction": "Delaware", "term": "2 years"}
    rows = [{"doc_sha256": "a", **base, "parties": ["Acme Inc.", "Bob LLC"]},
            {"doc_sha256": "b", **base, "effective_date": dt.date(2024, 5, 1), "parties": []},
            {"doc_sha256": "c", **base, "effective_date": None, "parties": None}]
    report = validate_rows(nda, rows, today=TODAY)
    assert report.failed_keys == ["b", "c"]
    assert checks(report, "b") == {("parties", "expect_column_value_lengths_to_be_between")}
    assert checks(report, "c") == {("parties", "expect_column_values_to_not_be_null")}


def test_wrong_python_type_is_a_failure_not_a_crash(invoice: Any) -> None:
    report = validate_rows(invoice, [invoice_row(0, invoice_date="next tuesday")], today=TODAY)
    assert ("invoice_date", "ocrflow_coerced_type") in checks(report, "sha0000")
    assert not report.success


def test_keys_must_be_present_and_unique(invoice: Any) -> None:
    with pytest.raises(ValueError, match="unique"):
        validate_rows(invoice, [invoice_row(0), invoice_row(0)], today=TODAY)
    with pytest.raises(ValueError, match="key column"):
        validate_rows(invoice, [invoice_row(0, doc_sha256=None)], today=TODAY)
    assert validate_rows(invoice, [], today=TODAY).success


CUSTOM = """
apiVersion: v3.1.0
kind: DataContract
id: urn:test:contract:expense
name: expense
version: 2.1.0
status: active
customProperties:
  - property: ocrflowBusinessKey
    value: [claim_id]
schema:
  - name: expense
    logicalType: object
    quality:
      - type: custom
        engine: ocrflow
        implementation: {rule: sum_equals, fields: [net, vat], equals: gross, tolerance: 0}
      - type: custom
        engine: ocrflow
        implementation: {rule: not_before, field: paid_on, reference: spent_on}
      - type: library
        metric: rowCount
        mustBeGreaterThan: 0
    properties:
      - {name: claim_id, logicalType: string, required: true, logicalTypeOptions: {pattern: "^C[0-9]+$"}}
      - name: category
        logicalType: string
        customProperties: [{property: ocrflowAllowed, value: [travel, meals]}]
      - {name: spent_on, logicalType: date, required: true}
      - {name: paid_on, logicalType: date, required: false}
      - {name: net, logicalType: number, customProperties: [{property: ocrflowKind, value: money}]}
      - {name: vat, logicalType: number, customProperties: [{property: ocrflowKind, value: money}]}
      - name: gross
        logicalType: number
        required: true
        logicalTypeOptions: {minimum: 0, maximum: 5000}
        customProperties: [{property: ocrflowKind, value: money}]
"""


def test_contract_written_in_the_test(tmp_path: Path) -> None:
    path = tmp_path / "expense.yaml"
    path.write_text(CUSTOM, encoding="utf-8")
    contract = load_contract(path)
    assert [r.kind for r in contract.rules] == ["sum_equals", "not_before"]
    assert build_suite(contract).name == "expense-2.1.0"

    def row(key: str, **changes: Any) -> dict[str, Any]:
        base: dict[str, Any] = {"doc_sha256": key, "claim_id": "C1" + key, "category": "travel",
                                "spent_on": dt.date(2025, 1, 2), "paid_on": dt.date(2025, 1, 9),
                                "net": Decimal("10.00"), "vat": Decimal("2.00"), "gross": Decimal("12.00")}
        return {**base, **changes}

    rows = [row("1"), row("2", category="hotel"), row("3", gross=Decimal("12.01")),
            row("4", paid_on=dt.date(2024, 12, 31)), row("5", claim_id="C11"), row("6", gross=Decimal("6000"),
                                                                                   net=Decimal("5000"),
                                                                                   vat=Decimal("1000"))]
    report = validate_rows(contract, rows, today=TODAY)
    assert report.failed_keys == ["2", "3", "4", "6"]  # 1 and 5 share claim_id: the store's business key decides
    assert checks(report, "2") == {("category", "expect_column_values_to_be_in_set")}
    assert checks(report, "3") == {("net,vat,gross", "expect_column_values_to_be_between")}
    assert checks(report, "4") == {("paid_on,spent_on", "expect_column_pair_values_a_to_be_greater_than_b")}
    assert checks(report, "5") == set()
    assert checks(report, "6") == {("gross", "expect_column_values_to_be_between")}


def test_bad_rule_is_a_contract_error(tmp_path: Path) -> None:
    path = tmp_path / "expense.yaml"
    path.write_text(CUSTOM.replace("field: paid_on", "field: net"), encoding="utf-8")
    with pytest.raises(ContractError, match="not_before"):
        load_contract(path)


def test_all_shipped_contracts_still_validate_as_odcs() -> None:
    contracts = load_contracts()
    assert {"invoice", "nda", "receipt"} <= set(contracts)
    assert len(contracts["invoice"].rules) == 2


def test_data_docs_page(invoice: Any, tmp_path: Path) -> None:
    report = validate_rows(invoice, [invoice_row(0), invoice_row(1, currency="eur")], today=TODAY)
    index = build_data_docs(report, tmp_path / "docs")
    assert index.is_file()
    pages = list((tmp_path / "docs" / "validations").rglob("*.html"))
    assert len(pages) == 1
    assert "invoice-1.0.0" in index.read_text(encoding="utf-8")
    site = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "docs").rglob("*.html"))
    assert "expect_column_values_to_match_regex" in site
    assert "expect_column_pair_values_a_to_be_greater_than_b" in site


def test_thousand_rows_timing(invoice: Any, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [invoice_row(i) for i in range(1000)]
    rows[500] = invoice_row(500, total_amount=None)
    validate_rows(invoice, rows[:10], today=TODAY)  # warm the context and suite
    started = time.perf_counter()
    report = validate_rows(invoice, rows, today=TODAY)
    elapsed = time.perf_counter() - started
    assert report.failed_keys == ["sha0500"]
    with capsys.disabled():
        print(f"\nvalidate_rows: 1000 invoice rows in {elapsed:.3f} s")
