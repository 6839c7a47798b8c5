from datetime import date
from decimal import Decimal

from ocrflow.eval.scoring import normalize_text, score_documents, score_field, soft_match


def test_normalize_text() -> None:
    assert normalize_text("  ＡＣＭＥ   Sdn\tBhd. ") == "acme sdn bhd"
    assert normalize_text("#BLR_WFLD2015") == "blr_wfld2015"


def test_text_and_identifier_rules() -> None:
    assert score_field("text", "Three  Stooges.", "THREE STOOGES")
    assert not score_field("text", "Three Stooge", "THREE STOOGES")
    assert score_field("identifier", "# BLR_1", "#BLR_1")
    assert score_field("identifier", "#BLR_1", "BLR_1")


def test_dates_amounts_currency() -> None:
    assert score_field("date", date(2018, 3, 5), "2018-03-05")
    assert score_field("date", "2018-03-05", "2018-03-05")
    assert not score_field("date", date(2018, 5, 3), "2018-03-05")
    assert score_field("money", Decimal("10.40"), 10.4)
    assert score_field("money", Decimal("10.41"), 10.4)
    assert not score_field("money", Decimal("10.42"), 10.4)
    assert score_field("currency", "eur", "EUR")
    assert not score_field("currency", "USD", "EUR")
    assert not score_field("money", None, 1.0)


def test_lists_are_sets() -> None:
    assert score_field("list", ["B LLC", "a inc."], ["A Inc", "B LLC"])
    assert not score_field("list", ["A Inc"], ["A Inc", "B LLC"])


def test_soft_match() -> None:
    assert not score_field("text", "NO 290, JALANAIR PANAS", "NO 290, JALAN AIR PANAS")
    assert soft_match("text", "NO 290, JALANAIR PANAS", "NO 290, JALAN AIR PANAS")
    assert not soft_match("text", "something else", "NO 290, JALAN AIR PANAS")
    assert not soft_match("money", Decimal("1.00"), 2)


def test_score_documents_counts_only_labelled_fields() -> None:
    kinds = {"merchant_name": "text", "total_amount": "money", "receipt_date": "date", "extra": "text"}
    items = [
        ({"path": "a.jpg", "source": "s1", "fields": {"merchant_name": "ACME", "total_amount": 9.0}},
         {"merchant_name": "acme", "total_amount": Decimal("9.00"), "extra": "ignored"}, kinds),
        ({"path": "b.jpg", "source": "s2", "fields": {"receipt_date": "2018-01-02", "total_amount": 5}},
         {"receipt_date": date(2018, 1, 3), "total_amount": Decimal("5.00")}, kinds),
    ]
    report = score_documents(items)
    assert report["labelled"] == 4
    assert report["correct"] == 3
    assert report["field_accuracy"] == 0.75
    assert report["by_source"]["s1"]["field_accuracy"] == 1.0
    assert report["by_source"]["s2"]["correct"] == 1
    assert report["by_field"]["total_amount"]["correct"] == 2
    assert "extra" not in report["by_field"]
    assert report["documents"][1]["fields"]["receipt_date"]["correct"] is False
