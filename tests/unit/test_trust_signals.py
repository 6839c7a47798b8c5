"""The signals of issue 19: shape per field, arithmetic that must close, and a second reading by Tesseract."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from ocrflow.contracts import load_contracts
from ocrflow.core.evidence import EvidenceRow
from ocrflow.core.models import DocumentRef, DocumentText, Line, PagePath, PageText, RowOutcome
from ocrflow.pipeline.evidence.arithmetic import invoice_signal, item_amounts, misread_total, role_amounts, total_signal
from ocrflow.pipeline.evidence.confidence import score
from ocrflow.pipeline.evidence.mend import mend, plain_page
from ocrflow.pipeline.evidence.second_reading import agreement, read_region, second_texts
from ocrflow.pipeline.evidence.shapes import field_shape
from ocrflow.pipeline.evidence.signals import add_page_signals, add_second_reading
from ocrflow.pipeline.extract.layout import PageLine

TODAY = date(2026, 1, 1)


def test_an_address_holds_no_item_lines() -> None:
    assert field_shape("merchant_address", "text", "NO 37, JALAN MANIS 7, 56100 CHERAS, KUALA LUMPUR") == 1.0
    assert field_shape("merchant_address", "text", "JALAN MANIS 7 MILO 2 x 3.50 7.00") == 0.0
    assert field_shape("merchant_address", "text", "TAMAN DAYA QTY 1 PLASTIC BAG") == 0.0
    assert field_shape("merchant_address", "text", "Resort Road 4, 31/12/2017") == 0.0


def test_a_name_is_not_a_product_line_or_an_address() -> None:
    assert field_shape("merchant_name", "text", "HON HWA HARDWARE TRADING") == 1.0
    assert field_shape("merchant_name", "text", "MILO 3IN1 2 x 3.50") == 0.0
    assert field_shape("seller_name", "text", "NO 12, JALAN BESAR") == 0.0
    assert field_shape("merchant_name", "text", "TTA ICE A05143") == 0.0


def test_a_date_is_plausible_for_a_document() -> None:
    assert field_shape("receipt_date", "date", "2018-03-05", today=TODAY) == 1.0
    assert field_shape("receipt_date", "date", "1899-03-05", today=TODAY) == 0.0
    assert field_shape("receipt_date", "date", "2031-03-05", today=TODAY) == 0.0
    assert field_shape("total_amount", "money", "0") == 0.0 and field_shape("total_amount", "money", "12.5") == 1.0
    assert field_shape("invoice_number", "identifier", "A-1") is None and field_shape("x", "text", None) is None


def _lines(*rows: str) -> list[PageLine]:
    return [PageLine(1, i, Line(t, (0, 20 * i, 300, 20 * i + 15), 0.99)) for i, t in enumerate(rows)]


def test_tendered_minus_change_confirms_the_total() -> None:
    page = _lines("PLASTIC 2 15.50 31.00", "TOTAL : 31.00", "CASH RECEIVED : 101.00", "CHANGE : 70.00")
    assert total_signal(31.0, page) == 1.0
    assert total_signal(70.0, page) == 0.0  # the change line is not the total
    assert role_amounts(page)["change"] == [70.0] and role_amounts(page)["tendered"] == [101.0]


def test_subtotal_tax_and_rounding_close() -> None:
    page = _lines("SUB-TOTAL (EX) 16.98", "TOTAL TAX 1.02", "ROUNDING 0.00", "TOTAL 18.00")
    assert total_signal(18.0, page) == 1.0
    assert total_signal(16.98, page) is None  # parts that do not close prove nothing (partial sums by rate)
    rounded = _lines("SUBTOTAL 63.58", "ROUNDING ADJ 0.02", "TOTAL 63.60", "CASH 70.00", "CHANGE 6.40")
    assert total_signal(63.60, rounded) == 1.0 and total_signal(60.00, rounded) == 0.0


def test_a_page_without_sums_says_nothing() -> None:
    assert total_signal(9.0, _lines("ITEM 9.00", "TOTAL 9.00")) is None
    assert total_signal(None, _lines("CASH 10.00")) is None


def test_items_that_make_the_total_less_a_leading_digit_find_a_misread_total() -> None:
    """Sums by tax rate are skipped, the item rows above the total's own row are added with the tax; only the
    exact shape 'the total without its first digit' is a misread, any other mismatch proves nothing."""
    page = _lines("Tel: 03-5542 3228", "O.C. WHITE 2.13 3 6.39", "WHOLEMEAL 2.78 3 8.34", "Total 0% supplies: 14.73",
                  "HAZEL CHOC 6.90 6 41.40", "Total 6% supplies (excl. GST): 41.40", "GST: 2.48",
                  "Total Payable: 158.61", "CASH 200.00")
    assert item_amounts(158.61, page) == [6.39, 8.34, 41.40]
    assert misread_total(158.61, page) == 58.61
    assert misread_total(58.61, page) is None  # the items make it: nothing misread
    assert misread_total(68.61, page) is None  # another amount: OCR may have missed an item row
    assert misread_total(8.61, _lines("A 5.00", "B 3.61", "TOTAL 8.61")) is None  # too short to lose a digit
    assert misread_total(158.61, _lines("ONLY 58.61", "TOTAL 158.61")) is None  # one row is no sum of items
    assert misread_total(158.61, _lines("A 50.00", "B 8.61", "TOTAL 158.61")) == 58.61  # two rows are
    rounded = _lines("A 10.00", "B 48.63", "ROUNDING -0.02", "TOTAL 158.61")
    assert misread_total(158.61, rounded) == 58.61  # items less the rounding adjustment
    assert misread_total(None, page) is None


def test_a_misread_total_holds_the_row_with_its_reason() -> None:
    row = _receipt_row("158.61")
    page = _lines("O.C. WHITE 2.13 3 6.39", "WHOLEMEAL 2.78 3 8.34", "HAZEL CHOC 6.90 6 41.40", "GST: 2.48",
                  "Total Payable: 158.61")
    add_page_signals(row, page, load_contracts()["receipt"])
    assert [(f.field, f.check) for f in row.failures] == [("total_amount", "items_sum")]
    assert "make 58.61" in row.failures[0].message
    fine = _receipt_row("58.61")
    add_page_signals(fine, page, load_contracts()["receipt"])
    assert fine.failures == []


def _receipt_row(total: str) -> RowOutcome:
    doc = DocumentRef(path="r.jpg", sha256="s" * 64, mime="image/jpeg", size_bytes=1)
    return RowOutcome(doc=doc, contract="receipt", contract_version="1.0.0", values={"total_amount": Decimal(total)},
                      raw={"total_amount": total}, lineage={}, evidence=[])


def test_invoice_subtotal_and_tax_make_the_total() -> None:
    assert invoice_signal({"subtotal_amount": 100, "tax_amount": 19, "total_amount": 119}) == 1.0
    assert invoice_signal({"subtotal_amount": 100, "tax_amount": 19, "total_amount": 191}) == 0.0
    assert invoice_signal({"subtotal_amount": 100, "total_amount": 119}) is None


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                 "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"):
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def test_tesseract_reads_the_value_box_again() -> None:
    image = Image.new("RGB", (600, 200), "white")
    draw = ImageDraw.Draw(image)
    draw.text((20, 30), "HON HWA HARDWARE", fill="black", font=_font(32))
    draw.text((20, 120), "TOTAL 31.00", fill="black", font=_font(32))
    text = read_region(image, (15, 25, 400, 70))
    assert text is not None and "HARDWARE" in text.upper()
    evidence = [EvidenceRow("s", "receipt", "merchant_name", "HON HWA HARDWARE", None, "ocr", "heuristic:top_lines",
                            0.7, "exact", page_no=1, bbox=(15, 25, 400, 70), page_width=600, page_height=200),
                EvidenceRow("s", "receipt", "total_amount", "31.00", None, "ocr", "label:total:right", 0.9, "exact",
                            page_no=1, bbox=(15, 115, 300, 160), page_width=600, page_height=200),
                EvidenceRow("s", "receipt", "receipt_date", "2018-01-01", None, "text_layer", "x", 0.9, "exact",
                            page_no=1, bbox=(0, 0, 10, 10), page_width=600, page_height=200)]
    texts = second_texts(evidence, image, 1, {"merchant_name": "text", "total_amount": "money", "receipt_date": "date"})
    assert (agreement("text", "HON HWA HARDWARE", texts["merchant_name"]) or 0) >= 0.9
    assert agreement("money", "31.00", texts["total_amount"]) == 1.0
    assert "receipt_date" not in texts  # not read by OCR: nothing to read again


def test_word_breaks_come_back_where_both_readings_agree_around_them() -> None:
    assert mend("KEDAIBUKUMAJU", "KEDAI BUKU MAJU\n") == "KEDAI BUKU MAJU"
    assert mend("88 QUICK STORES/B", "88 Quick Store S/B") == "88 QUICK STORE S/B"  # the first's case kept
    assert mend("Delta Enterprise", "Delta  Enterprise") is None  # no break lost: nothing to give back
    assert mend("AB CD", "A BCD") is None  # never moves or removes a break of the first reading
    assert mend("ABCDEF", "ABC DEF") == "ABC DEF"
    assert mend("AB", "A B") is None  # one character on each side is too little to place a break
    assert mend("ABCDXY", "ABC DZW") is None  # one of three alike on the right: too little
    assert mend("", "A B") is None and mend("AB", "") is None


def test_a_break_is_taken_from_a_longer_reading_that_differs_elsewhere() -> None:
    """The region holds other lines and a character or two differ: each break is judged on its own
    neighbourhood."""
    second = "(CIIUTA)\nNO 290, JALAN AIR PANAS,\nSETAPAK,\n53200, KUALA LUMPUR.\nTFL 02407210276\n"
    assert mend("NO 290, JALANAIR PANAS, SETAPAK, 53200, KUALA LUMPUR.", second) == (
        "NO 290, JALAN AIR PANAS, SETAPAK, 53200, KUALA LUMPUR.")
    assert mend("SANYUSTATIONERYSHOP", "SANYO STATIONERY SHOP\n") == "SANYU STATIONERY SHOP"  # U kept, not O
    assert mend("KEDAIBUKUMAJU", "KEDAI BUKU MAJ0") == "KEDAI BUKU MAJU"  # the first's characters kept
    assert mend("KEDAIBUKUMAJU", "KEDXY BUKU MAJU") == "KEDAIBUKU MAJU"  # KEDAI|BUKU: one alike on the left


def test_a_digit_in_a_word_of_letters_takes_the_letter_the_second_reading_sees_and_back() -> None:
    assert mend("99 SPEED MART 5/B", "99 SPEED MART S/B ($19937-X)") == "99 SPEED MART S/B"
    assert mend("JALAN MA11 UTAMA", "JALAN MALL UTAMA") == "JALAN MALL UTAMA"  # a run of two
    assert mend("Ma11 Road", "Mall Road") == "Mall Road"  # the second's letter, lower case kept
    assert mend("TEL 03-5O12 345", "TEL 03-5012 345") == "TEL 03-5012 345"  # a letter in a number
    assert mend("LOT G3O, JALAN", "LOT G30, JALAN") is None  # letters and digits both: either may be right
    assert mend("U13/X 40170", "U1B/X 40170") is None  # the second's letter in a word with digits
    assert mend("SPEED MART 5/B", "SPEED MART S/B") == "SPEED MART S/B"
    assert mend("MART 5/B", "MART 5/B") is None  # both read the digit: it stays
    assert mend("KEDAI 5TAR", "KEDAI SXAR") is None  # a neighbour read otherwise (T/X): no swap
    assert mend("NO 5, JALAN", "NO S, JALAN") is None  # no letter in the word: not a word of letters
    assert mend("PT 15944", "PT 1S944") is None  # a letter read in a number by the second only: digits stay


def test_accents_go_only_where_the_second_reading_reads_plain_letters_on_a_plain_page() -> None:
    assert mend("40170 SETIA ÁLAM", "40170 SETIA ALAM\n", plain=True) == "40170 SETIA ALAM"
    assert mend("40170 SETIA ÁLAM", "40170 SETIA ALAM\n") is None  # a page that writes accents keeps them
    assert mend("Rue de la République", "Rue de la Republique", plain=True) == "Rue de la Republique"
    assert mend("Chéras", "Chéras", plain=True) is None  # both read the accent: it stays
    assert plain_page("TAMAN MALURI CHERAS 55100 KUALA LUMPUR SETIA ÁLAM")
    assert not plain_page("Facture n° 12, Désignation, Quantité, Prix unitaire, Réf. échéance")
    assert not plain_page("Müller Bäckerei Straße Grün Höhe")  # more than FEW_MARKS accented letters


def test_a_name_printed_with_spaces_gets_them_back_from_tesseract() -> None:
    image = Image.new("RGB", (700, 120), "white")
    ImageDraw.Draw(image).text((20, 30), "HON HWA HARDWARE", fill="black", font=_font(36))
    ev = EvidenceRow("s", "receipt", "merchant_name", "HONHWAHARDWARE", "HONHWAHARDWARE", "ocr",
                     "heuristic:top_lines", 0.7, "exact", page_no=1, bbox=(15, 25, 450, 75), page_width=700,
                     page_height=120)
    texts = second_texts([ev], image, 1, {"merchant_name": "text"})
    assert mend("HONHWAHARDWARE", texts["merchant_name"]) == "HON HWA HARDWARE", texts


def test_the_second_reading_scores_the_value_and_gives_the_row_its_word_breaks() -> None:
    """add_second_reading as the pipeline calls it: the agreement becomes a signal that moves the confidence,
    the mended value goes to the row and its evidence, raw keeps the first reading."""
    image = Image.new("RGB", (700, 120), "white")
    ImageDraw.Draw(image).text((20, 30), "HON HWA HARDWARE", fill="black", font=_font(36))
    doc = DocumentRef(path="r.jpg", sha256="s" * 64, mime="image/jpeg", size_bytes=1)
    page = PageText(page_no=1, width=700, height=120, lines=(Line("HONHWAHARDWARE", (15, 25, 450, 75), 0.9),),
                    path=PagePath.OCR, engine="embedded", model="rapidocr")
    signals = {"prior": 0.6, "recognition": 0.9, "grounding": 1.0, "validity": 1.0}
    ev = EvidenceRow("s" * 64, "receipt", "merchant_name", "HONHWAHARDWARE", "HONHWAHARDWARE", "ocr",
                     "heuristic:top_lines", score(signals), "exact", page_no=1, bbox=(15, 25, 450, 75),
                     page_width=700, page_height=120, signals=dict(signals))
    row = RowOutcome(doc=doc, contract="receipt", contract_version="1.0.0", values={"merchant_name": ev.value},
                     raw={"merchant_name": ev.raw}, lineage={}, evidence=[ev])
    kept = dataclasses.replace(ev, signals=dict(signals))
    kept_row = dataclasses.replace(row, values=dict(row.values), evidence=[kept])
    add_second_reading(row, DocumentText(doc, (page,)), image, load_contracts()["receipt"])
    assert ev.signals is not None and ev.signals["second_reading"] >= 0.9 and ev.confidence != score(signals)
    assert row.values["merchant_name"] == ev.value == "HON HWA HARDWARE" and ev.raw == "HONHWAHARDWARE"
    # a field whose spelling the issuer's memory settled is scored but not respelled
    add_second_reading(kept_row, DocumentText(doc, (page,)), image, load_contracts()["receipt"],
                       spelled={"merchant_name"})
    assert kept.signals is not None and kept.signals["second_reading"] == ev.signals["second_reading"]
    assert kept_row.values["merchant_name"] == kept.value == "HONHWAHARDWARE"


def test_agreement_by_kind() -> None:
    assert agreement("money", "31.00", "TOTAL 31.00") == 1.0
    assert agreement("money", "60.00", "TOTAL 63.60") == 0.0
    assert agreement("money", "60.00", "TOTAL") is None
    assert agreement("date", "2018-01-09", "DATE 09/01/2018") == 1.0
    assert agreement("text", "JALAN MA11", "JALAN MALL") is not None
    assert (agreement("text", "ABC TRADING", "ABC TRADING") or 0) > (agreement("text", "ABC TRADING", "XYZ") or 0)


def _header(rows: list[tuple[str, int]]) -> Image.Image:
    image = Image.new("RGB", (700, 400), "white")
    draw = ImageDraw.Draw(image)
    for text, y in rows:
        draw.text((40, y), text, fill="black", font=_font(30))
    return image


def _address_row(lines: list[Line]) -> tuple[RowOutcome, DocumentText]:
    doc = DocumentRef(path="r.jpg", sha256="s" * 64, mime="image/jpeg", size_bytes=1)
    block = lines[1:]
    box = (min(ln.x0 for ln in block), min(ln.y0 for ln in block), max(ln.x1 for ln in block),
           max(ln.y1 for ln in block))
    value = " ".join(ln.text for ln in block)
    ev = EvidenceRow("s" * 64, "receipt", "merchant_address", value, value, "ocr", "heuristic:address_block", 0.97,
                     "exact", page_no=1, bbox=box, page_width=700, page_height=400,
                     signals={"prior": 0.9, "recognition": 0.98, "grounding": 1.0, "validity": 1.0})
    row = RowOutcome(doc=doc, contract="receipt", contract_version="1.0.0", values={"merchant_address": value},
                     raw={"merchant_address": value}, lineage={}, evidence=[ev])
    page = PageText(page_no=1, width=700, height=400, lines=tuple(lines), path=PagePath.OCR, engine="embedded",
                    model="rapidocr")
    return row, DocumentText(doc, (page,))


def test_a_line_the_ocr_missed_above_an_address_holds_the_row() -> None:
    """The page prints name, street, town; the first reading saw name and town only. Tesseract reads the gap
    and the row is held with what it read; with the street not printed, the same gap says nothing."""
    seen = [Line("KEDAI MAJU JAYA", (40, 40, 330, 72), 0.99),
            Line("43800 DENGKIL, SELANGOR", (40, 160, 480, 192), 0.99), Line("MALAYSIA", (40, 220, 200, 252), 0.99)]
    printed = _header([("KEDAI MAJU JAYA", 40), ("LOT 12, JALAN BESAR,", 100), ("43800 DENGKIL, SELANGOR", 160),
                       ("MALAYSIA", 220)])
    row, text = _address_row(seen)
    add_second_reading(row, text, printed, load_contracts()["receipt"])
    assert [(f.field, f.check) for f in row.failures] == [("merchant_address", "unread_line")], row.failures
    assert "JALAN BESAR" in row.failures[0].message and row.values["merchant_address"].startswith("43800")
    blank = _header([("KEDAI MAJU JAYA", 40), ("43800 DENGKIL, SELANGOR", 160), ("MALAYSIA", 220)])
    row, text = _address_row(seen)
    add_second_reading(row, text, blank, load_contracts()["receipt"])
    assert row.failures == []
    tight = [seen[0], Line("43800 DENGKIL, SELANGOR", (40, 100, 480, 132), 0.99),
             Line("MALAYSIA", (40, 160, 200, 192), 0.99)]
    row, text = _address_row(tight)  # no room for a line between the name and the block: nothing read
    add_second_reading(row, text, printed, load_contracts()["receipt"])
    assert row.failures == []
