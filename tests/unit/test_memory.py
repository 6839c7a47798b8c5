"""Issuer memory's pure parts (ocrflow/memory): keys from the letterhead, recognition, confirming a constant on
the page, positions, what an approval teaches, and what the stage does with a known and an unknown issuer."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ocrflow.contracts import Contract, load_contracts
from ocrflow.core.models import DocumentRef, DocumentText, Line, PagePath, PageText
from ocrflow.memory.confirm import confirm
from ocrflow.memory.fingerprint import fingerprint, numbers_in
from ocrflow.memory.learn import Approval, Page, lesson
from ocrflow.memory.recognize import recognize
from ocrflow.memory.spots import page_heights, read_spot, spots
from ocrflow.memory.use import MemoryUse, prefer_memory, use_memory
from ocrflow.pipeline.extract.layout import PageLine, document_lines
from ocrflow.pipeline.extraction import Extraction
from ocrflow.store.memory_records import (
    CONSTANT,
    ID_KEY,
    LINE_KEY,
    MACHINE,
    NAME_KEY,
    POSITION,
    WRONG,
    Fact,
    IssuerKey,
    KeyMatch,
)

RECEIPT = ["SRI MAJU", "MINI MARKET (002345-K)", "NO 8, JALAN MEGAH 3,", "43000 KAJANG, SELANGOR",
           "TEL: 03-8736 1122", "TAX INVOICE", "DATE: 15/11/2018   10:42", "MILO 1KG   1  12.50",
           "TOTAL RM   16.50", "CASH   20.00"]


def _text(rows: list[str], sha: str = "a" * 64) -> DocumentText:
    lines = tuple(Line(t, (10.0, 20.0 + 30 * i, 10.0 + 12 * len(t), 40.0 + 30 * i)) for i, t in enumerate(rows))
    page = PageText(page_no=1, width=500, height=40 + 30 * len(rows), lines=lines, path=PagePath.OCR,
                    engine="embedded", model="m")
    return DocumentText(DocumentRef("r.jpg", sha, "image/jpeg", 1), (page,))


def _lines(rows: list[str]) -> list[PageLine]:
    return document_lines(_text(rows))


@pytest.fixture(scope="module")
def receipt() -> Contract:
    return load_contracts()["receipt"]


def test_keys_are_the_letterhead_numbers_and_lines_not_generic_words_or_dates() -> None:
    keys = fingerprint(_lines(RECEIPT))
    assert IssuerKey(ID_KEY, "002345K") in keys and IssuerKey(ID_KEY, "0387361122") in keys
    assert IssuerKey(LINE_KEY, "SRIMAJU") in keys and IssuerKey(LINE_KEY, "43000KAJANGSELANGOR") in keys
    assert not any(k.key == "TAXINVOICE" for k in keys)  # every issuer prints it
    assert numbers_in("DATE: 15/11/2018 REF 20181115") == ["20181115"]  # the date itself is no id


def test_recognition_needs_a_strong_key_or_three_lines_and_ignores_shared_keys() -> None:
    assert recognize([KeyMatch("a", ID_KEY, "002345K")]) == "a"
    assert recognize([KeyMatch("a", LINE_KEY, "SRIMAJU")]) is None  # one letterhead line is not enough
    assert recognize([KeyMatch("a", LINE_KEY, k) for k in ("X1XXXX", "X2XXXX", "X3XXXX")]) == "a"
    assert recognize([KeyMatch("a", ID_KEY, "002345K", owners=2), KeyMatch("b", ID_KEY, "002345K", owners=2)]) is None
    assert recognize([KeyMatch("a", NAME_KEY, "SRIMAJU"), KeyMatch("b", ID_KEY, "999999")]) is None  # a tie
    assert recognize([KeyMatch("a", NAME_KEY, "SRIMAJU"), KeyMatch("a", LINE_KEY, "SRIMAJU")]) == "a"


def test_a_constant_is_confirmed_by_the_page_or_by_ocr_noise_never_by_another_branch_or_a_part() -> None:
    lines = _lines(["LOT P.T. 2811, JALAN ANGSA,", "TAMAN BERKELEY", "41150 KLANG, SELANGOR 1032-SUBANG PERDANA"])
    address = "LOT P.T. 2811, JALAN ANGSA, TAMAN BERKELEY 41150 KLANG, SELANGOR"
    hit = confirm(address, lines)
    assert hit is not None and hit.exact and len({pl.row for pl in hit.lines}) == 3
    noisy = confirm("LOT P.T. 2811, JALAN ANGSA, TAMAN BERKELEY 41150 KIANG, SELANGOR", lines)
    assert noisy is not None and not noisy.exact
    assert confirm(address + " 1313-SUBANG BESTARI", lines) is None  # another branch's address
    assert confirm("SRI MAJU MINI MARKET", _lines(["SRI MAJU"])) is None  # the page prints only a part


def test_a_position_is_read_back_by_its_label_place_and_index() -> None:
    lines = _lines(["TOTAL SALES INCL GST   45.34", "ROUNDING   0.01", "TOTAL   45.35", "CASH   50.00"])
    heights = page_heights(lines, {1: 200})
    found = spots(lines, "money", heights, day_first=True)
    total = next(s for s in found if s.value == Decimal("45.35"))
    assert (total.label, total.place, total.nth) == ("TOTAL", "same_line", 0)
    fact = Fact("i", "receipt", "total_amount", POSITION, "k", label="TOTAL", place="same_line", nth=0, y=total.y,
                shape=total.shape, hits=2)
    other = _lines(["TOTAL SALES INCL GST   9.99", "TOTAL   10.00", "CASH   10.00"])
    spot = read_spot(fact, spots(other, "money", page_heights(other, {1: 200}), day_first=True))
    assert spot is not None and spot.value == Decimal("10.00")


def _approval(contract: Contract, values: dict[str, Any], edits: dict[str, str], machine: dict[str, str]) -> Approval:
    return Approval("a" * 64, contract, values, machine, dict.fromkeys(machine, "heuristic:top_lines"), edits, "ap1")


def test_an_approval_teaches_constants_positions_wrong_readings_and_the_machines_record(receipt: Contract) -> None:
    lines = _lines(RECEIPT)
    values: dict[str, Any] = {
        "merchant_name": "SRI MAJU MINI MARKET", "merchant_address": "NO 8, JALAN MEGAH 3, 43000 KAJANG, SELANGOR",
        "receipt_date": date(2018, 11, 15), "total_amount": Decimal("16.50")}
    machine = {"merchant_name": "MINI MARKET", "merchant_address": str(values["merchant_address"]),
               "receipt_date": "2018-11-15", "total_amount": "16.50"}
    out = lesson(_approval(receipt, values, {"merchant_name": "c1"}, machine), Page(lines, page_heights(lines, {})),
                 "iss-1", [], fingerprint(lines), new_issuer=True)
    facts = {(f.field, f.kind): f for f in out.facts}
    name = facts[("merchant_name", CONSTANT)]
    assert name.value == "SRI MAJU MINI MARKET" and name.sources == ("e:c1",) and name.hits == 1
    assert facts[("merchant_name", WRONG)].value == "MINI MARKET"
    assert (facts[("merchant_name", MACHINE)].hits, facts[("merchant_name", MACHINE)].misses) == (0, 1)
    assert (facts[("total_amount", MACHINE)].hits, facts[("total_amount", MACHINE)].misses) == (1, 0)
    total = [f for f in out.facts if f.field == "total_amount" and f.kind == POSITION]
    assert total and total[0].label == "TOTAL" and total[0].sources == ("a:ap1",)  # the contract's label first
    assert IssuerKey(NAME_KEY, "SRIMAJU") in out.keys and out.name == "SRI MAJU MINI MARKET"


class _Memory:
    def __init__(self, issuer: str | None, facts: list[Fact]) -> None:
        self.issuer, self._facts = issuer, facts
        self.asked: list[str] = []

    def recognize(self, contract: str, keys: Any) -> str | None:
        return self.issuer

    def facts(self, issuer_id: str, contract: str) -> list[Fact]:
        self.asked.append(issuer_id)
        return self._facts


def _extraction(name: str) -> Extraction:
    return Extraction({"merchant_name": name, "total_amount": "16.50"}, {}, None, [], "embedded", "m")


def _name_facts(*, machine_misses: int) -> list[Fact]:
    return [Fact("iss-1", "receipt", "merchant_name", CONSTANT, "SRIMAJUMINIMARKET", value="SRI MAJU MINI MARKET",
                 hits=1, sources=("e:c1",)),
            Fact("iss-1", "receipt", "merchant_name", MACHINE, "", hits=0, misses=machine_misses)]


def test_the_stage_uses_a_known_issuers_constant_where_the_page_confirms_it(receipt: Contract) -> None:
    ex = _extraction("MINI MARKET")
    use = use_memory(_Memory("iss-1", _name_facts(machine_misses=1)), _text(RECEIPT), receipt, ex, day_first=True)
    assert use is not None and use.applied == ["merchant_name"]
    assert ex.raw["merchant_name"] == "SRI MAJU MINI MARKET" and ex.found["merchant_name"].method == "memory:constant"
    assert {pl.line.text for pl in ex.found["merchant_name"].lines} == {"SRI MAJU", "MINI MARKET (002345-K)"}
    assert use.notes["merchant_name"]["corrections"] == ["c1"] and use.notes["merchant_name"]["issuer"] == "iss-1"
    other = _extraction("MINI MARKET")  # the page of another shop does not print the remembered name
    use_memory(_Memory("iss-1", _name_facts(machine_misses=1)), _text(["KEDAI ABC", *RECEIPT[2:]]), receipt, other,
               day_first=True)
    assert other.raw["merchant_name"] == "MINI MARKET" and not other.found


def test_memory_settles_the_spelling_it_gave_or_found_read_alike_only(receipt: Contract) -> None:
    """``spelled`` (the fields the second reading must not respell): the value memory gave, or a machine reading
    spaced exactly as memory's constant; not a reading that memory's value differs from and did not replace."""
    gave = use_memory(_Memory("iss-1", _name_facts(machine_misses=1)), _text(RECEIPT), receipt,
                      _extraction("MINI MARKET"), day_first=True)
    same = use_memory(_Memory("iss-1", _name_facts(machine_misses=1)), _text(RECEIPT), receipt,
                      _extraction("Sri Maju  Mini Market"), day_first=True)
    apart = use_memory(_Memory("iss-1", _name_facts(machine_misses=1)), _text(RECEIPT), receipt,
                       _extraction("SRIMAJU MINI MARKET"), day_first=True)
    assert gave is not None and gave.spelled == {"merchant_name"} and gave.agreed == set()
    assert same is not None and same.spelled == {"merchant_name"} and same.applied == []
    assert apart is not None and apart.agreed == set()


def test_an_unrecognized_document_is_left_exactly_as_it_was(receipt: Contract) -> None:
    ex = _extraction("MINI MARKET")
    before = (dict(ex.raw), dict(ex.found), ex.primary, ex.lines)
    memory = _Memory(None, _name_facts(machine_misses=1))
    assert use_memory(memory, _text(RECEIPT), receipt, ex, day_first=True) is None
    assert (ex.raw, ex.found, ex.primary, ex.lines) == before and memory.asked == []  # no issuer: no facts read
    assert use_memory(None, _text(RECEIPT), receipt, ex, day_first=True) is None


def test_memory_replaces_the_machine_only_when_its_record_is_better() -> None:
    from ocrflow.memory.recall import Recalled

    pos = Fact("i", "receipt", "total_amount", POSITION, "k", hits=3)
    r = Recalled("total_amount", POSITION, "45.34", (), pos)
    machine_right = [pos, Fact("i", "receipt", "total_amount", MACHINE, "", hits=3)]
    assert not prefer_memory(r, machine_right, "45.35")  # a tie: the machine (its arithmetic) keeps its reading
    assert prefer_memory(r, [pos, Fact("i", "receipt", "total_amount", MACHINE, "", hits=1, misses=2)], "45.35")
    assert prefer_memory(r, machine_right, None)  # the machine read nothing
    wrong = Fact("i", "receipt", "total_amount", WRONG, "4535", value="45.35")
    assert prefer_memory(r, [*machine_right, wrong], "45.35")  # review corrected that reading before
    const = Fact("i", "receipt", "merchant_name", CONSTANT, "X", value="X", hits=2)
    rc = Recalled("merchant_name", CONSTANT, "X", (), const)
    assert prefer_memory(rc, [const, Fact("i", "receipt", "merchant_name", MACHINE, "", hits=2)], "Y")


def test_annotate_writes_the_note_into_the_header_evidence_only() -> None:
    from ocrflow.core.evidence import EvidenceRow
    from ocrflow.core.models import RowOutcome

    evs = [EvidenceRow("s", "receipt", "merchant_name", "X", "X", "ocr", "memory:constant", 0.9, "exact"),
           EvidenceRow("s", "receipt", "merchant_name", "X", "X", "ocr", "table", 0.9, "exact", line_no=1)]
    row = RowOutcome(doc=DocumentRef("p", "s", "", 0), contract="receipt", contract_version="1", values={}, raw={},
                     lineage={}, failures=[], evidence=evs)
    MemoryUse("iss-1", {"merchant_name": {"issuer": "iss-1", "applied": True}}).annotate(row)
    assert '"iss-1"' in evs[0].memory and evs[1].memory == ""


def test_a_digit_read_for_a_letter_of_its_shape_still_confirms_a_short_name() -> None:
    hit = confirm("99 SPEED MART S/B", _lines(["99 SPEED MART 5/B", "LOT 1, JALAN 2"]))
    assert hit is not None and not hit.exact  # "5/B" for "S/B": confirmed, not exactly
    assert confirm("99 SPEED MART S/B", _lines(["99 SPEED MART 5/8"])) is not None
    assert confirm("99 SPEED MART S/B", _lines(["98 SPEED MART S/B"])) is None  # a digit for another digit: no


def test_a_value_review_approved_printed_exactly_beats_a_near_one() -> None:
    from ocrflow.memory.recall import recall_constant

    page = _lines(["AEON CO. (M) BHD", "3RD FLR, AEON TAMAN MALURI SC", "JLN JEJAKA, TAMAN MALURI CHERAS,",
                   "55100 KUALA LUMPUR"])
    near = Fact("i", "receipt", "merchant_address", CONSTANT, "A", hits=1,
                value="3 FLOOR, AEON TAMAN MALURI SC JLN JEJAKA, TAMAN MALURI CHERAS, 55100 KUALA LUMPUR")
    printed = Fact("i", "receipt", "merchant_address", CONSTANT, "B", hits=1, misses=1,
                   value="3RD FLR, AEON TAMAN MALURI SC JLN JEJAKA, TAMAN MALURI CHERAS, 55100 KUALA LUMPUR")
    assert confirm(near.value, page) is not None  # the near one alone would be confirmed, not exactly
    got = recall_constant([near], page)
    assert got is not None and got.fact is near and got.score < 1
    got = recall_constant([near, printed], page)
    assert got is not None and got.fact is printed and got.score == 1.0


def test_a_heuristic_reading_without_lines_gets_its_known_rows_respelled(receipt: Contract) -> None:
    from ocrflow.memory.use import respelled
    from ocrflow.pipeline.extract.rules import Found
    from ocrflow.store.memory_records import SEGMENT

    rows = ["LOT P.T. 2811, JALAN ANGSA,", "TANAN BERKELEY", "41150 KLANG, SELANGOR", "1032-SUBANG PERDANA"]
    reading = "LOT P.T. 2811, JALAN ANGSA, TANAN BERKELEY 41150 KLANG, SELANGOR 1032-SUBANG PERDANA"
    ex = Extraction({"merchant_address": reading}, {"merchant_address": Found(reading, (), "heuristic:address_block")},
                    None, [], "embedded", "m")
    seg = Fact("i", "receipt", "merchant_address", SEGMENT, "TAMANBERKELEY", value="TAMAN BERKELEY", hits=3,
               sources=("e:c1",))
    spec = next(f for f in receipt.fields if f.name == "merchant_address")
    got = respelled(spec, ex, [seg], _lines(rows))
    assert got is not None and got.text == reading.replace("TANAN", "TAMAN") and got.kind == SEGMENT
    assert respelled(spec, ex, [seg], _lines(["KEDAI ABC", "JALAN 2"])) is None  # the page's rows are not in it
