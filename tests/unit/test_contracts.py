"""Contracts: the shipped YAML files, the lint behind `ocrflow contracts check`, auto selection, and
everything derived from one contract (JSON Schema, prompt field list, GX suite, DDL, coercion)."""

from __future__ import annotations

import copy
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from ocrflow.cli import app
from ocrflow.contracts import (
    Contract,
    ContractError,
    default_contracts_dir,
    lint_dir,
    lint_file,
    load_contract,
    load_contracts,
    pick_contract,
)
from ocrflow.pipeline.coerce import coerce_row, coerce_value
from ocrflow.store.schema import contract_ddl

USCC = "^[0-9A-HJ-NPQRTUWXY]{2}\\d{6}[0-9A-HJ-NPQRTUWXY]{10}$"

BASE: dict[str, Any] = {
    "apiVersion": "v3.1.0", "kind": "DataContract", "id": "urn:test:parcel", "name": "parcel",
    "version": "1.0.0", "status": "active",
    "customProperties": [{"property": "ocrflowBusinessKey", "value": ["code"]}],
    "schema": [{
        "name": "parcel", "physicalName": "parcel", "logicalType": "object",
        "quality": [{"name": "adds_up", "type": "custom", "engine": "ocrflow",
                     "implementation": {"rule": "sum_equals", "fields": ["net"], "equals": "gross"}}],
        "properties": [
            {"name": "code", "logicalType": "string", "physicalType": "VARCHAR", "required": True,
             "logicalTypeOptions": {"pattern": "^P[0-9]+$"}},
            {"name": "net", "logicalType": "number", "physicalType": "DECIMAL(18,2)",
             "customProperties": [{"property": "ocrflowKind", "value": "money"}]},
            {"name": "gross", "logicalType": "number", "physicalType": "DECIMAL(18,2)",
             "customProperties": [{"property": "ocrflowKind", "value": "money"}]},
        ],
    }],
}


def write(folder: Path, doc: dict[str, Any], name: str = "parcel.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def variant(**edits: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    props = doc["schema"][0]["properties"]
    for key, value in edits.items():
        if key == "prop0":
            props[0].update(value)
        elif key == "props":
            props.extend(value)
        elif key == "custom":
            doc["customProperties"] = value
        elif key == "rule":
            doc["schema"][0]["quality"][0]["implementation"] = value
        else:
            doc[key] = value
    return doc


@pytest.fixture(scope="module")
def shipped() -> dict[str, Contract]:
    return load_contracts(default_contracts_dir())


# --------------------------------------------------------------------------- shipped contracts


def test_every_shipped_contract_passes_the_lint() -> None:
    results = lint_dir(default_contracts_dir())
    assert {r.path.name for r in results} >= {"invoice.yaml", "cn_vat_invoice.yaml", "id_card.yaml"}
    assert [r.problems for r in results if not r.ok] == []


def test_cn_vat_invoice_fields_labels_and_rule(shipped: dict[str, Contract]) -> None:
    c = shipped["cn_vat_invoice"]
    expected = {"invoice_code": "发票代码", "invoice_number": "发票号码", "issue_date": "开票日期",
                "buyer_name": "购买方名称", "buyer_tax_id": "购买方纳税人识别号", "seller_name": "销售方名称",
                "seller_tax_id": "销售方纳税人识别号", "amount": "金额", "tax_amount": "税额",
                "total_amount": "价税合计"}
    assert c.field_names == list(expected)
    for name, label in expected.items():
        assert label in c.field(name).labels["zh"]
    assert c.field("buyer_tax_id").pattern == c.field("seller_tax_id").pattern == USCC
    (rule,) = c.rules
    assert (rule.kind, rule.fields, rule.target) == ("sum_equals", ("amount", "tax_amount"), "total_amount")


@pytest.mark.parametrize(("code", "ok"), [("91310115MA1K4ABC1X", True), ("91440305NUGYKLMP1E", True),
                                          ("91310115MA1K4ABC1", False), ("9131011SMA1K4ABC1X", False),
                                          ("I1310115MA1K4ABC1X", False), ("91310115MA1K4ABCIX", False)])
def test_unified_social_credit_code_pattern(code: str, ok: bool) -> None:
    assert bool(re.fullmatch(USCC, code)) is ok


def test_id_card_contract(shipped: dict[str, Contract]) -> None:
    c = shipped["id_card"]
    assert {"full_name", "id_number", "date_of_birth", "expiry_date", "nationality", "sex"} <= set(c.field_names)
    assert c.field("sex").allowed == ("M", "F", "X")
    assert c.field("id_number").pattern and re.fullmatch(c.field("id_number").pattern, "11010519491231002X")
    assert all(set(f.labels) == {"en", "zh"} for f in c.fields)


@pytest.mark.parametrize(("text", "expected"), [
    ("增值税专用发票\n发票代码：3100231130\n发票号码：04567891\n开票日期：2024年7月20日\n价税合计（小写）：¥113.00",
     "cn_vat_invoice"),
    ("上海增值税电子普通发票 发票代码 031001900111 金额 税额", "cn_vat_invoice"),
    ("发票\n发票号码：12345678\n开票日期：2024年1月2日\n税额：13.00", "cn_vat_invoice"),
    ("INVOICE\nInvoice Number: INV-1\nInvoice Date: 2024-01-02\nBill To: Beta\nVAT 19%\nAmount due: 10.00",
     "invoice"),
    ("Tax Invoice  GSTIN 29ABCDE1234F1Z5  Invoice No 77  Total 100.00", "invoice"),
    ("REPUBLIC OF UTOPIA IDENTITY CARD\nSurname: DOE\nDate of birth: 01.02.1990\nNationality: UTO\nSex: F",
     "id_card"),
    ("居民身份证 姓名 张三 性别 男 民族 汉 出生 1990年1月2日 公民身份号码 11010519900102001X", "id_card"),
])
def test_pick_contract(shipped: dict[str, Contract], text: str, expected: str) -> None:
    picked = pick_contract(text, shipped)
    assert picked is not None and picked.name == expected


# --------------------------------------------------------------------------- lint messages


@pytest.mark.parametrize(("doc", "message"), [
    (variant(prop0={"customProperties": [{"property": "ocrflowKind", "value": "price"}]}),
     "parcel.yaml.code: unknown ocrflowKind 'price' (known: text, identifier, money"),
    (variant(prop0={"logicalType": "timestamp"}), "parcel.yaml.code: unknown logicalType 'timestamp'"),
    (variant(prop0={"physicalType": "VARCHAR2(10)"}), "parcel.yaml.code: unknown physicalType 'VARCHAR2(10)'"),
    (variant(prop0={"logicalTypeOptions": {"pattern": "^P[0-9+$"}}), "parcel.yaml.code: bad regex '^P[0-9+$'"),
    (variant(props=[{"name": "net", "logicalType": "string"}]), "parcel.yaml: duplicate field names ['net']"),
    (variant(custom=[{"property": "ocrflowBusinessKey", "value": ["code", "carrier"]}]),
     "parcel.yaml: business key names unknown fields ['carrier']"),
    (variant(rule={"rule": "sum_equals", "fields": ["net", "tax"], "equals": "gross"}),
     "parcel.yaml: quality[0]: rule 'sum_equals' names unknown fields ['tax']"),
    (variant(rule={"rule": "sum_equals", "fields": ["code"], "equals": "gross"}),
     "parcel.yaml: quality[0]: rule 'sum_equals' needs fields of kind ('money', 'number', 'integer'), not ['code']"),
    (variant(rule={"rule": "product_equals", "fields": ["net"], "equals": "gross"}),
     "parcel.yaml: quality[0]: unknown rule 'product_equals'"),
    (variant(prop0={"customProperties": [{"property": "ocrflowLabel", "value": {"en": ["code"]}}]}),
     "parcel.yaml.code: unknown custom property 'ocrflowLabel'"),
    (variant(prop0={"customProperties": [{"property": "ocrflowHeuristic", "value": "biggest"}]}),
     "parcel.yaml.code: unknown ocrflowHeuristic 'biggest'"),
    (variant(prop0={"name": "Code"}), "parcel.yaml: property name 'Code' must be snake_case"),
    (variant(version="1.0"), "parcel.yaml: version '1.0' must be semantic"),
    (variant(apiVersion="v9"), "parcel.yaml: not valid ODCS: apiVersion"),
])
def test_lint_names_each_problem(tmp_path: Path, doc: dict[str, Any], message: str) -> None:
    result = lint_file(write(tmp_path, doc))
    assert not result.ok and result.contract is None
    assert any(p.startswith(message) for p in result.problems), result.problems


def test_lint_collects_several_problems_at_once(tmp_path: Path) -> None:
    doc = variant(prop0={"physicalType": "BLOB", "logicalTypeOptions": {"pattern": "("}},
                  custom=[{"property": "ocrflowBusinessKey", "value": ["nope"]}])
    problems = lint_file(write(tmp_path, doc)).problems
    assert len([p for p in problems if "physicalType" in p or "bad regex" in p or "business key" in p]) == 3


def test_loading_still_fails_fast_on_the_same_problems(tmp_path: Path) -> None:
    path = write(tmp_path, variant(prop0={"physicalType": "BLOB"}))
    with pytest.raises(ContractError, match="unknown physicalType 'BLOB'"):
        load_contract(path, strict=False)


def test_yaml_errors_and_duplicate_contract_names(tmp_path: Path) -> None:
    write(tmp_path, BASE, "a.yaml")
    write(tmp_path, BASE, "b.yaml")
    (tmp_path / "c.yaml").write_text("name: [unclosed", encoding="utf-8")
    results = {r.path.name: r for r in lint_dir(tmp_path)}
    assert results["a.yaml"].ok
    assert results["b.yaml"].problems == ("b.yaml: duplicate contract name 'parcel' (also used by a.yaml)",)
    assert results["c.yaml"].problems[0].startswith("c.yaml: YAML error")


def test_contracts_check_command(tmp_path: Path) -> None:
    write(tmp_path, BASE, "good.yaml")
    write(tmp_path, variant(id="urn:test:bad", name="bad", prop0={"logicalTypeOptions": {"pattern": "[A-Z"}}),
          "bad.yaml")
    result = CliRunner().invoke(app, ["contracts", "check", str(tmp_path)], env={"COLUMNS": "400"})
    assert result.exit_code == 1
    assert "ok   good.yaml: parcel 1.0.0, 3 fields, 1 rules" in result.output
    assert "FAIL bad.yaml.code: bad regex '[A-Z'" in result.output  # brackets survive rich markup
    assert "2 contracts, 1 with problems" in result.output
    shipped = CliRunner().invoke(app, ["contracts", "check"])
    assert shipped.exit_code == 0, shipped.output


# --------------------------------------------------------------------------- derivations


def test_json_schema_is_valid_draft_2020_12_and_matches_the_fields(shipped: dict[str, Contract]) -> None:
    for c in shipped.values():
        schema = c.json_schema()
        jsonschema.Draft202012Validator.check_schema(schema)
        lines = ["line_items"] if c.lines else []
        assert list(schema["properties"]) == [*c.field_names, *lines] == schema["required"]
    schema = shipped["cn_vat_invoice"].json_schema()
    validator = jsonschema.Draft202012Validator(schema)
    good = dict.fromkeys(schema["properties"]) | {"invoice_number": "04567891", "seller_tax_id": "91310115MA1K4ABC1X",
                                                  "amount": 100.0, "issue_date": "2024-07-20"}
    assert not list(validator.iter_errors(good))
    assert list(validator.iter_errors(good | {"seller_tax_id": "91310115MA1K4ABC1"}))  # pattern
    assert list(validator.iter_errors(good | {"amount": "100"}))  # type
    assert list(validator.iter_errors(good | {"extra": 1}))  # additionalProperties


def test_prompt_field_list(shipped: dict[str, Contract]) -> None:
    assert shipped["id_card"].field_names == ["full_name", "id_number", "date_of_birth", "expiry_date",
                                              "nationality", "sex"]


def test_gx_suite_from_the_contract(shipped: dict[str, Contract]) -> None:
    from ocrflow.validate import build_suite

    suite = build_suite(shipped["cn_vat_invoice"], today=date(2025, 1, 1))
    assert suite.name == "cn_vat_invoice-1.0.0"
    kinds = {(e.expectation_type, e.meta["ocrflow_field"]) for e in suite.expectations}
    assert ("expect_column_values_to_not_be_null", "invoice_number") in kinds
    assert ("expect_column_values_to_match_regex", "seller_tax_id") in kinds
    assert ("expect_column_values_to_be_between", "amount,tax_amount,total_amount") in kinds
    assert not any("unique" in k for k, _ in kinds)  # business keys: decided by the store, first copy loads
    id_suite = build_suite(shipped["id_card"], today=date(2025, 1, 1))
    assert any(e.expectation_type == "expect_column_values_to_be_in_set" and e.meta["ocrflow_field"] == "sex"
               for e in id_suite.expectations)


@pytest.mark.parametrize(("dialect", "money", "text"), [("duckdb", "DECIMAL(18,2)", "VARCHAR"),
                                                        ("postgres", "NUMERIC(18,2)", "TEXT")])
def test_ddl_per_dialect(shipped: dict[str, Contract], dialect: Any, money: str, text: str) -> None:
    ddl = contract_ddl(shipped["cn_vat_invoice"], dialect)
    assert ddl.startswith("CREATE TABLE IF NOT EXISTS cn_vat_invoice (")
    for column in (f"total_amount {money}", "issue_date DATE", f"seller_tax_id {text}"):
        assert column in ddl
    assert ("PRIMARY KEY (doc_sha256)" in ddl) == (dialect == "postgres")  # DuckDB: KEYS_BY_CONSTRAINT


def test_coercion_per_field_kind(shipped: dict[str, Contract]) -> None:
    c = shipped["cn_vat_invoice"]
    values, failures = coerce_row(c, {"invoice_number": " 04567891 ", "issue_date": "2024年7月20日",
                                      "seller_tax_id": "91310115ma1k4abc1x", "amount": "¥6,097.58",
                                      "tax_amount": "792.69", "total_amount": "￥6890.27", "buyer_name": "北京华信"},
                                  day_first=True)
    assert not failures
    assert values["issue_date"] == date(2024, 7, 20)
    assert values["amount"] == Decimal("6097.58") and values["total_amount"] == Decimal("6890.27")
    assert values["seller_tax_id"] == "91310115MA1K4ABC1X"
    assert values["invoice_number"] == "04567891"
    ids = shipped["id_card"]
    assert coerce_value(ids.field("date_of_birth"), "02.01.1990", day_first=True) == date(1990, 1, 2)
    _, bad = coerce_row(c, {"amount": "not money"}, day_first=True)
    assert [f.field for f in bad] == ["amount"]
