"""The invoice-layout generator (ocrflow.demo.layouts, layout_pdf, layout_set): deterministic, its truth adds up
and is what the PDF shows, every feature can be planted, and its 'unknown' header labels really are unknown
to the table reader (so that the generated-layout tests test the arithmetic, not a label list)."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from ocrflow.contracts import default_contracts_dir, load_contract
from ocrflow.demo.layout_pdf import WORDS
from ocrflow.demo.layout_set import main, make_layout_doc
from ocrflow.demo.layouts import FEATURES, LABELS, fmt_number
from ocrflow.pipeline.extract.table_labels import HeaderVocabulary

ROLE_OF = {"net": ("line_net_amount",), "position": ("_position",), "item_id": ("seller_item_id",),
           "discount": ("_discount",), "tax_rate": ("tax_rate", "_tax"), "tax_amount": ("_tax", "tax_rate"),
           "gross": ("_gross",), "base_quantity": ("_base_quantity",)}


def _text(pdf: Path) -> str:
    doc = pdfium.PdfDocument(str(pdf))
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in doc)
    finally:
        doc.close()


def test_generation_is_deterministic(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = make_layout_doc(tmp_path / "a", 5), make_layout_doc(tmp_path / "b", 5)
    assert a.gold_record(a.path.parent) == b.gold_record(b.path.parent)
    assert a.path.read_bytes() == b.path.read_bytes()
    other = make_layout_doc(tmp_path / "a", 6)
    assert other.invoice.gold_lines() != a.invoice.gold_lines()


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_the_truth_adds_up_and_is_what_the_page_shows(tmp_path: Path, seed: int) -> None:
    doc = make_layout_doc(tmp_path, seed)
    inv = doc.invoice
    for ln in inv.lines:
        gross = ln.quantity * ln.unit_price / ln.base_quantity
        assert ln.net == (gross * (1 - ln.discount / 100)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert inv.subtotal == sum(ln.net for ln in inv.lines)
    assert inv.net_total == inv.subtotal - inv.allowance + inv.charge
    shown = " ".join(_text(doc.path).split())
    for ln in inv.lines:
        assert ln.description.split()[0] in shown
    assert fmt_number(inv.subtotal, inv.layout.number_format) in shown  # the totals block prints the lines' sum
    record = doc.gold_record(tmp_path)
    assert record["fields"]["subtotal_amount"] == float(inv.net_total) and len(record["lines"]) == len(inv.lines)


@pytest.mark.parametrize("feature", FEATURES)
def test_every_feature_can_be_planted(tmp_path: Path, feature: str) -> None:
    doc = make_layout_doc(tmp_path, 70, frozenset({feature}))
    assert feature in doc.features
    if feature in ("multipage", "repeat_header", "carry"):
        pdf = pdfium.PdfDocument(str(doc.path))
        assert len(pdf) >= 2
        pdf.close()
        if feature == "carry":
            assert WORDS[doc.invoice.layout.lang]["carry"] in _text(doc.path)


def test_unknown_labels_are_unknown_to_the_reader_and_known_ones_known() -> None:
    vocab = HeaderVocabulary(load_contract(default_contracts_dir() / "invoice.yaml"))
    for col, langs in LABELS.items():
        want = ROLE_OF.get(col, (col,))
        for known, unknown in langs.values():
            for label in known:
                assert vocab.roles(label)[:1] and vocab.roles(label)[0] in want, (col, label, vocab.roles(label))
            for label in unknown:
                assert not set(vocab.roles(label)[:1]) & set(want), (col, label, vocab.roles(label))


def test_cli_writes_the_documents_and_their_gold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path), "--count", "3", "--seed", "40"]) == 0
    records = [json.loads(line) for line in (tmp_path / "gold.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["path"] for r in records] == ["layout_40.pdf", "layout_41.pdf", "layout_42.pdf"]
    assert all(r["lines"] and r["doc_type"] == "invoice" and (tmp_path / r["path"]).is_file() for r in records)
    assert "3 invoices" in capsys.readouterr().out
