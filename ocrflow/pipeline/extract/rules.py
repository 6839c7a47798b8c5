"""The embedded, contract-driven field extractor (CPU, no ML).

For every contract field: find its labels (all languages, from the contract), read a
typed candidate to the right of the label on the same row or on the line below; when
labels find nothing, fall back to the document-level heuristic the contract names.
Nothing here knows a particular vendor or document.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ocrflow.contracts import Contract, FieldSpec
from ocrflow.core.models import DocumentText
from ocrflow.pipeline.coerce import CoercionError, parse_money
from ocrflow.pipeline.extract.candidates import (
    dominant_currency,
    first_currency,
    first_date,
    first_identifier,
    first_money,
    first_tax_id,
)
from ocrflow.pipeline.extract.heuristics import HEURISTICS, PRIMARY
from ocrflow.pipeline.extract.layout import SEPARATORS, LabelHit, PageLine, below, document_lines, find_labels
from ocrflow.pipeline.extract.sums import settled_total
from ocrflow.pipeline.extract.tables import header_lines

Reader = Callable[[str], "str | None"]


@dataclass(frozen=True, slots=True)
class Found:
    """Where the rule extractor took a value: the line(s) it read and how (``label:<label>`` + where)."""

    value: Any
    lines: tuple[PageLine, ...] = ()
    method: str = ""

MAX_TEXT_VALUE = 80
_OTHER_LABEL = re.compile(r"^\s*[^\W\d][^:：\d]{0,30}[:：]\s*\S")


def _text_value(text: str) -> str | None:
    if text.rstrip().endswith((":", "：")) or _OTHER_LABEL.match(text):
        return None  # another label (with its own value), not a value
    value = text.strip(SEPARATORS + ",;")
    if len(value) < 2 or len(value) > MAX_TEXT_VALUE or sum(ch.isalpha() for ch in value) < 2:
        return None
    return value


def _reader(kind: str, day_first: bool) -> Reader:
    readers: dict[str, Reader] = {
        "money": first_money,
        "number": first_money,
        "integer": first_identifier,
        "date": lambda t: first_date(t, day_first=day_first),
        "identifier": first_identifier,
        "tax_id": first_tax_id,
        "currency": first_currency,
    }
    return readers.get(kind, _text_value)


def ordered_labels(spec: FieldSpec) -> list[str]:
    """The field's labels, de-duplicated, by their place in their language's list (the contract lists the
    specific ones first in each language), languages in declared order at each place: a German
    "steuerbetrag" (first of its list) ranks before the English generic "vat" (third of its)."""
    out: list[str] = []
    lists = [list(labs) for labs in spec.labels.values()]
    for place in range(max((len(labs) for labs in lists), default=0)):
        for labs in lists:
            low = labs[place].lower().strip() if place < len(labs) else ""
            if low and low not in out:
                out.append(low)
    return out


_SUB_NAME = re.compile(r"(?i)^\s*(?:name|firma|company(?:\s+name)?|nom|raison\s+sociale)\s*[:：]?\s*$")
SECTION_ROWS = 6


def _is_heading(hit: LabelHit) -> bool:
    """A label that titles a section ("Buyer/Recipient", "Seller") rather than prefixing a value."""
    rest = hit.where.text[hit.end:].strip()
    return rest.startswith("/") or (not rest and hit.start == 0)


def _section_name(lines: list[PageLine], hit: LabelHit) -> Found | None:
    """Under a section heading, the value of its "Name:" sub-label (the first one, within a few rows)."""
    me = hit.where
    for pl in lines:
        if pl.page != me.page or not (me.row < pl.row <= me.row + SECTION_ROWS):
            continue
        if _SUB_NAME.match(pl.text):
            right = [o for o in lines if o.row == pl.row and o.page == pl.page and o.line.x0 > pl.line.x0]
            value = _text_value(" ".join(o.text for o in right)) if right else None
            return Found(value, tuple(right), f"label:{hit.label}:section") if value else None
    return None


def _value_near(lines: list[PageLine], hit: LabelHit, read: Reader, *, look_below: bool,
                sections: bool = False) -> Found | None:
    """Value after the label on its line, then further right on its row, then on the line below.

    ``sections``: a text label that heads a section ("Seller" over "Name: ...") reads its Name sub-label.
    """
    heading = _is_heading(hit)
    after = "" if hit.where.text[hit.end:].strip().startswith("/") else hit.after
    me = hit.where
    if after:
        found = read(after)
        if found:
            return Found(found, (me,), f"label:{hit.label}:same_line")
    right = [pl for pl in lines if pl.row == me.row and pl.page == me.page and pl.line.x0 > me.line.x0
             and pl is not me]
    if right:
        found = read(" ".join(pl.text for pl in right))
        if found:
            return Found(found, tuple(right), f"label:{hit.label}:right")
    if sections and heading and not right:
        section = _section_name(lines, hit)
        if section:
            return section
    for pl in _below_values(lines, hit) if look_below else []:
        found = read(pl.text)
        if found:
            return Found(found, (pl,), f"label:{hit.label}:below")
    return None


KEY_ROWS = 4
"""Rows of "key : value" pairs under a label that are stepped over to reach its value ("Nummer : 549910")."""


def _key_line(pl: PageLine, lines: list[PageLine]) -> bool:
    """Whether ``pl`` is the key of a "key : value" pair: its own text, or with the line right after it on its row
    when that one starts with the colon (a text layer splits "Nummer" from ": 549910")."""
    after = min((o for o in lines if o.page == pl.page and o.row == pl.row and o.line.x0 >= pl.line.x1),
                key=lambda o: o.line.x0, default=None)
    text = pl.text + (" " + after.text if after is not None and after.text.lstrip().startswith((":", "：")) else "")
    return bool(_OTHER_LABEL.match(text))


def _below_values(lines: list[PageLine], hit: LabelHit) -> list[PageLine]:
    """The lines below a label in its next two rows, nearest first, where rows whose lines under the label are
    another label's "key : value" pair do not count (a party block prints its customer number above the name):
    up to ``KEY_ROWS`` of them are stepped over."""
    near = below(lines, hit, max_rows=2 + KEY_ROWS)
    taken: list[int] = []
    skipped = 0
    for row in sorted({pl.row for pl in near}):
        if row - hit.where.row > 2 + skipped or len(taken) == 2:
            break
        if any(_key_line(pl, lines) for pl in near if pl.row == row) and skipped < KEY_ROWS:
            skipped += 1
            continue
        taken.append(row)
    return [pl for pl in near if pl.row in taken]


_QUALIFIED_AMOUNT = re.compile(
    r"(?i)^\W*(?:(?:of(?:\s+the)?|der|des|aller)\s+)?"
    r"(?:qty|quantity|items?|pcs|discounts?|savings?|excl\w*|before|tax|gst|vat|rounding|weight|"
    r"units?|tendered|paid|change|points?|charges?|allowances?|zuschl\w*|abschl\w*|rabatt\w*|nachl\w*"
    r"|ht|hors|\d+(?:[.,]\d+)?\s*%(?=\s+[^\W\d]))(?!\w)")
_EXCLUDING = re.compile(r"(?i)^\W*(?:excl\w*|before|without|ohne|net\s+of|hors)(?!\w)")
_QUALIFIER_BEFORE = re.compile(r"(?i)\b(?:sub|before|excl\w*|rounding|items?|qty)\W*$|\d(?:[.,]\d+)?\s*%\s*$")
"""Words before a money label that make it mean something else; a rate before a tax label ("19 % VAT") names
the tax category of an item row, not the tax amount."""


def _qualified(hit: LabelHit) -> bool:
    """A money label made to mean something else by the word beside it ("sub total", "total qty")."""
    if len(hit.label.split()) > 1:
        return bool(_EXCLUDING.match(hit.where.text[hit.end:]))
    before = hit.where.text[:hit.start]
    return bool(_QUALIFIED_AMOUNT.match(hit.where.text[hit.end:]) or _QUALIFIER_BEFORE.search(before))


_NAME_TAIL = re.compile(
    r"(?i)^\s*(?:gmbh|ag|kg|ug|se|ltd\.?|limited|inc\.?|llc|corp\.?|co\.?|plc|s\.?a\.?|b\.?v\.?|n\.?v\.?)"
    r"(?:\s*(?:&\s*co\.?\s*kg|\(haftungsbeschränkt\)))?\W*$")


def _part_of_word(hit: LabelHit) -> bool:
    """The label is glued into a longer word ("MUSTER-KUNDE", "Verkäufer-IBAN") or a company name ("Supplier
    GmbH")."""
    text = hit.where.text
    glued = hit.start > 1 and text[hit.start - 1] == "-" and text[hit.start - 2].isalnum()
    compound = text[hit.end:hit.end + 2][:1] == "-" and text[hit.end + 1:hit.end + 2].isalnum()  # "Verkäufer-IBAN"
    return glued or compound or bool(_NAME_TAIL.match(text[hit.end:]))


def _in_value_column(lines: list[PageLine], hit: LabelHit) -> bool:
    """The hit is inside a value printed right of another label ("Name:  Supplier GmbH")."""
    me = hit.where
    if re.search(r"[:：]", me.text):
        return False  # a line with its own colon is a label line, not a value
    return _part_of_word(hit) or any(
        pl.row == me.row and pl.page == me.page and pl.line.x1 <= me.line.x0
        and pl.text.rstrip().endswith((":", "：")) for pl in lines)


def _by_label(lines: list[PageLine], hits: list[LabelHit], read: Reader, kind: str) -> Found | None:
    """Best-ranked label with a value on its own row; only then values on the line below."""
    usable = [h for h in sorted(hits, key=lambda h: (h.rank, h.where.row))
              if not (kind == "money" and _qualified(h)) and not _in_value_column(lines, h)]
    for look_below in (False, True):
        for hit in usable:
            found = _value_near(lines, hit, read, look_below=look_below, sections=kind == "text")
            if found:
                return found
    return None


def extract_fields(doc: DocumentText, contract: Contract, *, day_first: bool = True) -> dict[str, Any]:
    """Raw values (strings that coerce can read; list[str] for lists; None when not found)."""
    return {name: found.value for name, found in extract_fields_with_evidence(doc, contract,
                                                                              day_first=day_first).items()}


def extract_fields_with_evidence(doc: DocumentText, contract: Contract, *,
                                 day_first: bool = True) -> dict[str, Found]:
    """Per field, its raw value and where it was read (the line(s) and the rule); value None when not found."""
    lines = document_lines(doc)
    labels = {f.name: ordered_labels(f) for f in contract.fields}
    in_table_header = header_lines(doc, contract)  # "Betrag", "Ohne MwSt." over a line table name its columns
    hits = {name: [h for h in found if id(h.where.line) not in in_table_header]
            for name, found in find_labels(lines, labels).items()}
    return {spec.name: _settle(spec, _field(spec, lines, hits.get(spec.name, []), day_first), lines)
            for spec in contract.fields}


def _settle(spec: FieldSpec, found: Found, lines: list[PageLine]) -> Found:
    """A document's total printed before a rounding adjustment is replaced by the total after it, when the
    page prints that (``ocrflow.pipeline.extract.sums.settled_total``): the amount paid is the rounded one."""
    if spec.kind != "money" or not spec.name.endswith("total_amount") or found.value is None:
        return found
    try:
        total = float(parse_money(str(found.value)))
    except CoercionError:
        return found
    settled = settled_total(total, lines)
    return Found(settled[0], settled[1], "arithmetic:rounding") if settled is not None else found


def _field(spec: FieldSpec, lines: list[PageLine], hits: list[LabelHit], day_first: bool) -> Found:
    """Primary heuristic, then labels, then the fallback heuristic, then (currency) the dominant code."""
    heuristic = HEURISTICS.get(spec.heuristic)
    method = f"heuristic:{spec.heuristic}"
    if heuristic is not None and spec.heuristic in PRIMARY:
        value = heuristic(lines, day_first)
        if value is not None:
            return Found(value, (), method)
    if spec.kind != "list":
        found = _by_label(lines, hits, _reader(spec.kind, day_first), spec.kind)
        if found is not None:
            return found
    if heuristic is not None and spec.heuristic not in PRIMARY:
        value = heuristic(lines, day_first)
        if value is not None:
            return Found(value, (), method)
    if spec.kind == "currency":
        value = dominant_currency(pl.text for pl in lines)
        if value is not None:
            return Found(value, (), "dominant_currency")
    return Found(None, (), "not_found")
