"""ocrflow.demo: deterministic demo documents with ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from ocrflow.demo import GOLD_FILE, TRUTH_DIR, DemoDoc, generate_demo, load_truth, main, receipt_font_path, uscc
from ocrflow.pipeline.einvoice import read_embedded_invoice

MAGIC = {".pdf": (b"%PDF-",), ".jpg": (b"\xff\xd8\xff",), ".png": (b"\x89PNG\r\n\x1a\n",),
         ".tif": (b"II*\x00", b"MM\x00*"), ".xml": (b"<?xml",)}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[DemoDoc]]:
    out = tmp_path_factory.mktemp("demo")
    return out, generate_demo(out, seed=7)


def _pdf_text(path: Path) -> str:
    pdf = pdfium.PdfDocument(str(path))
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in pdf)
    finally:
        pdf.close()


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_generation_is_deterministic(demo: tuple[Path, list[DemoDoc]], tmp_path: Path) -> None:
    out, docs = demo
    again = generate_demo(tmp_path, seed=7)
    assert again == docs
    assert _files(tmp_path) == _files(out)


def test_other_seed_gives_other_truth(demo: tuple[Path, list[DemoDoc]], tmp_path: Path) -> None:
    _, docs = demo
    other = generate_demo(tmp_path, seed=8)
    assert [d.path for d in other] == [d.path for d in docs]
    assert [d.fields for d in other] != [d.fields for d in docs]


def test_the_set(demo: tuple[Path, list[DemoDoc]]) -> None:
    out, docs = demo
    kinds = [(d.doc_type, Path(d.path).suffix) for d in docs]
    assert kinds.count(("invoice", ".pdf")) == 4
    assert kinds.count(("invoice", ".xml")) == 1  # a standalone UBL e-invoice
    assert kinds.count(("cn_vat_invoice", ".pdf")) == 1
    assert sum(1 for t, _ in kinds if t == "receipt") == 3
    assert [d.path for d in docs if d.expect == "quarantined"] == ["docs/invoice_bad_totals.pdf"]
    for doc in docs:
        data = (out / doc.path).read_bytes()
        assert data.startswith(MAGIC[Path(doc.path).suffix]), doc.path


def test_gold_jsonl_matches_docs(demo: tuple[Path, list[DemoDoc]]) -> None:
    out, docs = demo
    records = [json.loads(line) for line in (out / GOLD_FILE).read_text(encoding="utf-8").splitlines()]
    assert records == [d.gold_record() for d in docs]
    for rec in records:
        assert set(rec) - {"expect"} == {"path", "doc_type", "source", "fields"}
        assert rec["source"] == "demo"
        assert (out / rec["path"]).is_file()
    invoices = [r["fields"] for r in records if r["doc_type"] == "invoice"]
    for fields in invoices:
        assert {"invoice_number", "invoice_date", "currency", "total_amount"} <= set(fields)


def test_invoice_totals_add_up_except_the_bad_one(demo: tuple[Path, list[DemoDoc]]) -> None:
    _, docs = demo
    for doc in docs:
        if doc.doc_type != "invoice":
            continue
        f = doc.fields
        adds_up = abs(f["subtotal_amount"] + f["tax_amount"] - f["total_amount"]) < 0.005
        assert adds_up == (doc.expect is None), doc.path


def test_pdfs_have_text_layers_with_the_invoice_number(demo: tuple[Path, list[DemoDoc]]) -> None:
    out, docs = demo
    for doc in docs:
        if doc.path.endswith(".pdf"):
            text = _pdf_text(out / doc.path)
            assert doc.fields["invoice_number"] in text, doc.path


def test_two_page_invoice_has_totals_on_page_two(demo: tuple[Path, list[DemoDoc]]) -> None:
    out, _ = demo
    pdf = pdfium.PdfDocument(str(out / "docs" / "invoice_two_pages.pdf"))
    try:
        pages = [page.get_textpage().get_text_range() for page in pdf]
    finally:
        pdf.close()
    assert len(pages) == 2
    assert "Subtotal" not in pages[0]
    assert "Subtotal" in pages[1]
    assert "Total" in pages[1]


def test_chinese_invoice_text_layer(demo: tuple[Path, list[DemoDoc]]) -> None:
    out, docs = demo
    doc = next(d for d in docs if d.path == "docs/invoice_zh_vat.pdf")
    text = _pdf_text(out / doc.path)
    for needle in ("发票号码", "开票日期", "购买方名称", "销售方名称", "纳税人识别号", "价税合计",
                   doc.fields["seller_name"], doc.fields["seller_tax_id"]):
        assert needle in text
    assert len(doc.fields["seller_tax_id"]) == 18
    assert doc.doc_type == "cn_vat_invoice"
    assert doc.fields["amount"] + doc.fields["tax_amount"] == pytest.approx(doc.fields["total_amount"])


def test_facturx_attachment_reads_back_as_the_gold(demo: tuple[Path, list[DemoDoc]]) -> None:
    out, docs = demo
    doc = next(d for d in docs if d.path == "docs/invoice_facturx.pdf")
    got = read_embedded_invoice(out / doc.path)
    assert got is not None
    assert got.source.startswith("factur-x.xml")
    for key, want in doc.fields.items():
        value = got.fields[key]
        if isinstance(want, float):
            assert float(value) == pytest.approx(want, abs=0.005), key
        else:
            assert value == want, key
    assert read_embedded_invoice(out / "docs" / "invoice_digital.pdf") is None


def test_receipts_look_scanned(demo: tuple[Path, list[DemoDoc]]) -> None:
    out, docs = demo
    for doc in docs:
        if doc.doc_type != "receipt":
            continue
        with Image.open(out / doc.path) as img:
            frames = getattr(img, "n_frames", 1)
            assert 1000 <= img.height <= 1400, doc.path
            if doc.path.endswith(".tif"):
                assert frames == 2
        assert {"merchant_name", "receipt_date", "total_amount"} <= set(doc.fields)


def test_truth_sidecar_holds_the_total_and_its_box(demo: tuple[Path, list[DemoDoc]]) -> None:
    out, docs = demo
    doc = next(d for d in docs if d.path == "docs/invoice_digital.pdf")
    truth = load_truth(out / TRUTH_DIR / "invoice_digital.pdf.json")
    assert truth == doc.truth
    assert truth.file == "invoice_digital.pdf"
    assert truth.unit == "pt"
    assert len(truth.pages) == 1
    page = truth.pages[0]
    total = f"{doc.fields['currency']} {doc.fields['total_amount']:,.2f}"
    line = next(ln for ln in page.lines if ln.text == total)
    x0, y0, x1, y1 = line.box
    assert 0 <= x0 < x1 <= page.width
    assert 0 <= y0 < y1 <= page.height
    assert y0 > page.height / 4  # top-left origin: the totals sit below the header


def test_every_document_has_truth_outside_the_inbox(demo: tuple[Path, list[DemoDoc]]) -> None:
    out, docs = demo
    assert not list((out / "docs").glob("*.json"))
    for doc in docs:
        if doc.path.endswith(".xml"):
            continue  # a standalone e-invoice has no pages, so nothing was drawn
        truth = load_truth(out / TRUTH_DIR / f"{Path(doc.path).name}.json")
        assert truth.pages and all(p.lines for p in truth.pages), doc.path
        for page in truth.pages:
            for ln in page.lines:
                assert 0 <= ln.box[0] < ln.box[2] <= page.width and 0 <= ln.box[1] < ln.box[3] <= page.height
    receipt = next(d for d in docs if d.path == "docs/receipt_scan_03.tif")
    truth = load_truth(out / TRUTH_DIR / "receipt_scan_03.tif.json")
    assert truth.unit == "px"
    with Image.open(out / receipt.path) as img:
        assert (truth.pages[0].width, truth.pages[0].height) == img.size
    assert any(ln.text.startswith("TOTAL RM") and f"{receipt.fields['total_amount']:.2f}" in ln.text
               for ln in truth.pages[-1].lines)


def test_uscc_check_character_is_valid() -> None:
    import random

    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    code = uscc(random.Random(1))
    total = sum(chars.index(c) * w for c, w in zip(code[:17], weights, strict=True))
    assert chars.index(code[17]) == (31 - total % 31) % 31
    # a published example code (GB 32100-2015 style), known to be valid
    published = "91350100M000100Y43"
    total = sum(chars.index(c) * w for c, w in zip(published[:17], weights, strict=True))
    assert chars.index(published[17]) == (31 - total % 31) % 31


def test_receipt_font_is_found() -> None:
    assert receipt_font_path().is_file()


def test_cli_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "out"), "--seed", "3"]) == 0
    assert (tmp_path / "out" / GOLD_FILE).is_file()
    assert "gold.jsonl" in capsys.readouterr().out
