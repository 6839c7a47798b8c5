"""Line items on the vLLM route: from the extraction JSON's ``line_items`` array, else from the parse prompt's
HTML (or markdown) item table, the line checks deciding between them (docs/line_items.md).

The items the model fake is given are printed on no page (the spotted lines hold none of them), so only the
VLM's answers can have put them in the store: a pipeline that ignored the array, or read the table with a
broken header mapping, loads other values and these tests fail."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from tests.fakes.fake_vllm import FakeVllm
from tests.fakes.model_fake import DrawnLine, PageTruth, TruthModel
from tests.support.duck import rows
from tests.support.vllm import run_cli

RECEIPT_ITEMS = [{"description": "VLM TEA LARGE", "quantity": 2, "amount": 7.4},
                 {"description": "VLM NOODLE SOUP", "quantity": 1, "amount": 12.9},
                 {"description": "VLM RICE", "quantity": 3, "amount": 4.5}]



def _receipt(model: TruthModel, demo_dir: Path, header: dict[str, str] | None = None, *noise: str,
             printed_header: bool = True) -> None:
    """The demo receipt with items the fake answers; ``printed_header`` draws an item-table header row on the
    page (the sign of a line table that makes an empty JSON array worth a parse request). Without it, the
    receipt's own header row ("ITEM  QTY  RM", spotted as one joined line that the table reader splits into
    its columns) is taken off the spotted lines too: the page then shows no line table at all."""
    image = Image.open(demo_dir / "docs" / "receipt_scan_01.jpg")
    truth = model.match(image)
    assert truth is not None
    if not printed_header:
        kept = tuple(ln for ln in truth.lines if ln.text.split()[:1] != ["ITEM"])
        assert len(kept) == len(truth.lines) - 1  # the demo receipt prints exactly one item header row
        truth = replace(truth, lines=kept)
    else:
        y = max(ln.box[3] for ln in truth.lines) + 4
        cells = [("Item", 0.05), ("Qty", 0.55), ("Amount", 0.8)]
        drawn = tuple(DrawnLine(t, (truth.width * x, y, truth.width * x + 12 * len(t), y + 14)) for t, x in cells)
        truth = replace(truth, lines=(*truth.lines, *drawn))
    model.replace_truth(image, truth.with_items(RECEIPT_ITEMS, header).with_noise(*noise))


def _receipt_lines(db: Path) -> list[tuple[Any, ...]]:
    got = rows(db, "SELECT line_no, description, quantity, CAST(amount AS VARCHAR) FROM receipt_line ORDER BY line_no")
    return [(no, " ".join(desc.split()), qty, amount) for no, desc, qty, amount in got]


EXPECTED = [(1, "VLM TEA LARGE", 2.0, "7.40"), (2, "VLM NOODLE SOUP", 1.0, "12.90"), (3, "VLM RICE", 3.0, "4.50")]


def _line_methods(db: Path) -> set[tuple[str, str]]:
    return set(rows(db, "SELECT source, method FROM field_evidence WHERE line_no > 0"))


def test_lines_land_from_the_json_array(demo_dir: Path, inbox: Path, fake: FakeVllm, model: TruthModel,
                                        tmp_path: Path, clean_env: None) -> None:
    _receipt(model, demo_dir)
    db = tmp_path / "j.duckdb"
    result = run_cli(str(inbox / "receipt_scan_01.jpg"), "--db", str(db), fake=fake)
    assert result.exit_code == 0, result.output
    assert _receipt_lines(db) == EXPECTED
    assert model.asked["parse"] == 0  # the array was usable: no parse request
    assert _line_methods(db) == {("vlm", "vlm:line_items")}
    # one evidence row per line column, keyed by line_no
    assert rows(db, "SELECT count(*), count(DISTINCT line_no) FROM field_evidence WHERE line_no > 0") == [(9, 3)]


@pytest.mark.slow
def test_lines_land_from_the_html_table_when_the_json_has_none(demo_dir: Path, inbox: Path, fake: FakeVllm,
                                                               model: TruthModel, tmp_path: Path,
                                                               clean_env: None) -> None:
    # columns printed in another order and language than the JSON keys: only a header mapping reads them right
    _receipt(model, demo_dir, {"quantity": "Qty", "amount": "RM", "description": "Item"}, "no_line_items")
    db = tmp_path / "h.duckdb"
    result = run_cli(str(inbox / "receipt_scan_01.jpg"), "--db", str(db), fake=fake)
    assert result.exit_code == 0, result.output
    assert _receipt_lines(db) == EXPECTED
    assert model.asked["parse"] == 1
    assert _line_methods(db) == {("vlm", "vlm:html_table")}
    (page,) = rows(db, "SELECT DISTINCT page_no FROM field_evidence WHERE line_no > 0")
    assert page == (1,)


def test_no_parse_request_without_lines_or_a_printed_line_table(demo_dir: Path, inbox: Path, fake: FakeVllm,
                                                                model: TruthModel, tmp_path: Path,
                                                                clean_env: None) -> None:
    _receipt(model, demo_dir, None, "no_line_items", printed_header=False)
    db = tmp_path / "n.duckdb"
    result = run_cli(str(inbox / "receipt_scan_01.jpg"), "--db", str(db), fake=fake)
    assert result.exit_code == 0, result.output
    assert model.asked["parse"] == 0 and _receipt_lines(db) == []


@pytest.mark.slow
def test_spanned_html_headers_and_markdown_tables_are_read(demo_dir: Path, inbox: Path, fake: FakeVllm,
                                                           model: TruthModel, tmp_path: Path,
                                                           clean_env: None) -> None:
    for i, noise in enumerate(("spans", "markdown_table")):
        _receipt(model, demo_dir, None, "no_line_items", noise)
        db = tmp_path / f"s{i}.duckdb"
        result = run_cli(str(inbox / "receipt_scan_01.jpg"), "--db", str(db), fake=fake)
        assert result.exit_code == 0, result.output
        assert _receipt_lines(db) == EXPECTED, noise


# ----------------------------------------------------------------------------- reconciliation on an invoice
INVOICE_FIELDS = {"invoice_number": "INV-7781", "invoice_date": "2024-03-05", "seller_name": "Northwind Traders",
                  "seller_tax_id": "DE811223344", "currency": "EUR", "subtotal_amount": 140.0, "tax_amount": 26.6,
                  "total_amount": 166.6}
INVOICE_ITEMS = [{"description": "Cable drum", "quantity": 2, "unit_price": 45.0, "line_net_amount": 90.0},
                 {"description": "Wall socket", "quantity": 5, "unit_price": 10.0, "line_net_amount": 50.0}]


def _invoice_image(path: Path) -> tuple[Image.Image, PageTruth]:
    """A page the fake can recognise (its own noise pattern) whose drawn lines hold the header values."""
    rng = random.Random(7781)
    image = Image.new("L", (800, 1100), 255)
    draw = ImageDraw.Draw(image)
    for _ in range(400):
        x, y = rng.randrange(800), rng.randrange(1100)
        draw.rectangle((x, y, x + rng.randrange(8, 60), y + rng.randrange(4, 20)), fill=rng.randrange(0, 200))
    image.convert("RGB").save(path)
    texts = ["INVOICE", "Invoice No: INV-7781", "Date: 05.03.2024", "Northwind Traders", "VAT ID: DE811223344",
             "Subtotal: 140.00 EUR", "VAT 19%: 26.60 EUR", "Total: 166.60 EUR"]
    lines = tuple(DrawnLine(t, (60.0, 60.0 + 50 * i, 60.0 + 14 * len(t), 85.0 + 50 * i)) for i, t in enumerate(texts))
    return Image.open(path), PageTruth(800, 1100, lines, INVOICE_FIELDS).with_items(INVOICE_ITEMS)


@pytest.mark.slow
def test_json_lines_that_break_the_sum_lose_to_the_table_that_adds_up(fake: FakeVllm, model: TruthModel,
                                                                      tmp_path: Path, clean_env: None) -> None:
    image, truth = _invoice_image(tmp_path / "scan_invoice.png")
    model.add(image, truth.with_noise("line_digit"))  # the JSON's first line amount is misread: 90 -> 00
    db = tmp_path / "r.duckdb"
    result = run_cli(str(tmp_path / "scan_invoice.png"), "--db", str(db), "--contract", "invoice", fake=fake)
    assert result.exit_code == 0, result.output
    assert rows(db, "SELECT state FROM documents") == [("loaded",)]
    assert rows(db, "SELECT line_no, description, quantity, unit_price, CAST(line_net_amount AS VARCHAR) "
                    "FROM invoice_line ORDER BY line_no") == [(1, "Cable drum", 2.0, 45.0, "90.00"),
                                                              (2, "Wall socket", 5.0, 10.0, "50.00")]
    assert model.asked["parse"] == 1
    assert _line_methods(db) == {("vlm", "vlm:html_table")}


def test_json_lines_that_add_up_are_kept_without_a_parse_request(fake: FakeVllm, model: TruthModel, tmp_path: Path,
                                                                 clean_env: None) -> None:
    image, truth = _invoice_image(tmp_path / "scan_invoice.png")
    model.add(image, truth)
    db = tmp_path / "k.duckdb"
    result = run_cli(str(tmp_path / "scan_invoice.png"), "--db", str(db), "--contract", "invoice", fake=fake)
    assert result.exit_code == 0, result.output
    assert rows(db, "SELECT count(*), CAST(sum(line_net_amount) AS VARCHAR) FROM invoice_line") == [(2, "140.00")]
    assert model.asked["parse"] == 0
    assert _line_methods(db) == {("vlm", "vlm:line_items")}
