"""Document-level heuristics named by ``FieldSpec.heuristic`` (used when labels find nothing)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from ocrflow.pipeline.coerce import CoercionError, parse_date
from ocrflow.pipeline.extract.agreements import effective_date, governing_law, parties, term
from ocrflow.pipeline.extract.candidates import all_dates, first_date, money_values
from ocrflow.pipeline.extract.layout import PageLine

ORG_SUFFIX = re.compile(
    r"(?i)\b(?:sdn\.?\s*bhd|bhd|enterprise|trading|restaurant|restoran|company|co\.|corp(?:oration)?|"
    r"inc|llc|ltd|limited|gmbh|ag|kg|s\.?a\.?r?\.?l?|b\.?v|plc|pvt|store|shop|mart|market|bakery|"
    r"bakeries|cafe|café|hardware|stationery|pharmacy|hotel|services|kedai|syarikat|perniagaan|"
    r"有限公司|公司|商店|超市)\b\.?")
NOT_A_NAME = re.compile(
    r"(?i)\b(?:tax\s*invoice|invoice|receipt|reg(?:istration)?\.?\s*no|co\.?\s*no|gst|vat|tel|fax|phone|"
    r"e-?mail|www\.|http|order|cashier|date|table|welcome|bill|page|rechnung|facture|发票|收据)\b")
ADDRESS_WORD = re.compile(
    r"(?i)\b(?:no\.?|lot|jalan|jln|taman|tmn|street|st\.|road|rd\.?|avenue|ave|lane|floor|blok|block|"
    r"batu|kg|kampung|bandar|bdr|seksyen|persiaran|lorong|straße|strasse|str\.|platz|weg|rue|"
    r"station|suite|building|unit|selangor|kuala|johor|jaya|malaysia|singapore|deutschland|germany|"
    r"france|darul|ehsan)\b|\d|路|街|号|区|市")
POSTCODE = re.compile(r"(?<![\d-])\d{5}(?![\d-])")
PRICED_ROW = re.compile(r"(?<![\d.,])\d{1,6}[.,]\d{2}\W*$")
"""A row that ends with an amount ("ITEM 1   3.50"): the item list, not the address."""
PHONE_ROW = re.compile(r"^\W*(?:\+|\(0|0\d)[\d\s\-()/]{7,}\W*$")
ADDRESS_STOP = re.compile(
    r"(?i)\b(?:tel|fax|phone|mobile|whatsapp\w*|h/?p|pay|gst|vat|tax\s*invoice|invoice|receipt|e-?mail|www|reg\.?\s*no|co\.?\s*reg|"
    r"company\s*reg|cashier|date|bill|order|doc(?:ument)?\s*no)\b|电话|发票")
REG_NUMBER = re.compile(r"^[\s(]*(?:co\.?\s*(?:reg|no)\.?\s*:?\s*)?[\d\s\-.]{4,}[- ]?[A-Za-z]?[\s).]*$", re.I)
STREET = re.compile(
    r"(?i)\b(?:no\.?\s*\d|lot\b|jalan|jln|taman|tmn|lorong|persiaran|street|road|avenue|lane|level\s*\d|"
    r"floor|blok|block|straße|strasse|rue|suite|building|bangunan)|(?<!\d)\d{5}\s*,?\s*[^\W\d]{3,}")
"""A row that is surely part of an address: a street word or a postcode before a place name."""
PRICE_INSIDE = re.compile(r"(?<![\d.,])\d{1,6}[.,]\d{2}(?![\d.,])|(?i:\d\s*[x×]\s*\d)")
"""A price or a quantity anywhere in a row: an item line, which is neither a name nor an address."""
SUFFIX_FIRST = re.compile(r"(?i)^\W*(?:co\.?|company|sdn\.?|bhd\.?|\(m\)|ltd\.?|limited|inc\.?|gmbh|llc|&)(?:\s|$|\W)")
"""A row that starts with a company suffix continues the name on the row above ("POPULAR BOOK" /
"CO. (M) SDN BHD")."""

Heuristic = Callable[[list[PageLine], bool], str | list[str] | None]


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def _is_name_like(text: str) -> bool:
    if _letters(text) < 3 or NOT_A_NAME.search(text) or REG_NUMBER.match(text) or PRICE_INSIDE.search(text):
        return False
    digits = sum(ch.isdigit() for ch in text)
    if digits > _letters(text):
        return False
    latin = [ch for ch in text if ch.isalpha() and ch.isascii()]
    return not (latin and len(latin) >= len(text.replace(" ", "")) * 0.8 and text.islower())


def _top_rows(lines: list[PageLine], share: float = 0.4) -> list[list[PageLine]]:
    """Rows of the first page's top part, in order."""
    if not lines:
        return []
    first = [pl for pl in lines if pl.page == lines[0].page]
    top = min(pl.line.y0 for pl in first)
    bottom = max(pl.line.y1 for pl in first)
    rows: dict[int, list[PageLine]] = {}
    for pl in first:
        if pl.line.y0 <= top + (bottom - top) * share:
            rows.setdefault(pl.row, []).append(pl)
    return [rows[r] for r in sorted(rows)]


def _row_text(row: list[PageLine]) -> str:
    return " ".join(pl.text for pl in row).strip()


def _clean_name(text: str) -> str:
    """Without a trailing registration number, in parentheses or not ("(139386 X)", "519537-X) PA")."""
    text = re.sub(r"\s*\((?=[^()]*\d)[^()]*\)\s*$", "", text)
    text = re.sub(r"\s+\(?\d{5,}\s*-?\s*[A-Za-z]?\)?(?:\s+\S{1,3})?\s*$", "", text)
    return text.strip(" ,;:-*")


def _name_text(rows: list[list[PageLine]], i: int) -> str | None:
    """The row's text if it reads as a name; else its leftmost line when that is a company name
    sharing the row with something else (a title such as "INVOICE" printed on the right)."""
    text = _row_text(rows[i])
    if ":" in text or (i and _row_text(rows[i - 1]).endswith((":", "："))):
        return None  # a labelled value ("Owned By : X") is not the issuer's heading
    if _is_name_like(text):
        return text
    first = rows[i][0].text.strip()
    if len(rows[i]) > 1 and _is_name_like(first) and ORG_SUFFIX.search(first):
        return first
    return None


def _first_street(rows: list[list[PageLine]], start: int) -> int | None:
    return next((i for i in range(start, len(rows)) if STREET.search(_row_text(rows[i]))
                 and not ADDRESS_STOP.search(_row_text(rows[i]))), None)


def _name_row(lines: list[PageLine]) -> tuple[int, str] | None:
    """Index (in _top_rows) and text of the row that names the issuer.

    The issuer's name is printed above its address: a company line further down (an owner, a sister company,
    a franchisor, an item that ends in a trade word) is not the shop. Above the first address row, the
    first row with an organisation suffix wins, else the first name-like row; a row that starts with a
    suffix continues the name of the row above it."""
    rows = _top_rows(lines)
    candidates = [(i, t) for i in range(len(rows)) if (t := _name_text(rows, i))]
    if not candidates:
        return None
    street = _first_street(rows, candidates[0][0] + 1)
    head = [c for c in candidates if street is None or c[0] < street] or candidates
    i, text = next(((i, t) for i, t in head[:6] if ORG_SUFFIX.search(t)), head[0])
    before = next((t for j, t in candidates if j == i - 1), None)
    if SUFFIX_FIRST.match(text) and before is not None and not ORG_SUFFIX.search(before):
        text = f"{before} {text}"
    return i, text


def top_lines(lines: list[PageLine], day_first: bool) -> str | None:
    """The issuer's name: the first name-like row near the top (organisation suffixes preferred)."""
    found = _name_row(lines)
    return (_clean_name(found[1]) or None) if found else None


def address_block(lines: list[PageLine], day_first: bool) -> str | None:
    """Lines under the issuer's name that look like an address, joined with spaces."""
    found = _name_row(lines)
    if found is None:
        return None
    i = found[0]
    rows = _top_rows(lines, share=0.6)[i + 1:i + 9]
    parts: list[str] = []
    for row in rows:
        text = _row_text(row)
        if (ADDRESS_STOP.search(text) or REG_NUMBER.match(text) or PHONE_ROW.match(text) or ":" in text
                or PRICED_ROW.search(text) or PRICE_INSIDE.search(text)):
            if parts:
                break
            continue
        if parts and POSTCODE.search(" ".join(parts)) and not ADDRESS_WORD.search(text):
            break  # after the postcode, a row with no number and no place word is a branch or outlet name
        if parts or ADDRESS_WORD.search(text):
            parts.append(text)
    address = " ".join(parts).strip(" ,")
    return fix_confusions(re.sub(r"(?<!\d)(\d{5})(?=[^\W\d_]{3})", r"\1 ", address)) or None


_DIGITS_AROUND = re.compile(r"(?<=\d)[lIO](?=\d|\b)|(?<=\b)[lIO](?=\d{2,})|(?<=\d)[lIO](?=[lIO]?\d)")
_WORD_WITH_DIGITS = re.compile(r"\b([A-Z]?[a-z]+)([01]{2,})\b")


def fix_confusions(text: str) -> str:
    """OCR's O/0 and l/1 confusions where the neighbours say which it is: a letter l, I or O between or
    after digits is a digit ("7/1l8B", "4380O", "G3O"), a run of 1s and 0s ending a lower-case word is
    letters ("Ma11" -> "Mall"); upper-case codes ("SS10", "KL1") are left as printed."""
    text = _DIGITS_AROUND.sub(lambda m: "0" if m.group(0) == "O" else "1", text)
    return _WORD_WITH_DIGITS.sub(lambda m: m.group(1) + m.group(2).replace("1", "l").replace("0", "o"), text)


def largest_amount(lines: list[PageLine], day_first: bool) -> str | None:
    best: tuple[float, str] | None = None
    for pl in lines:
        for raw, value in money_values(pl.text):
            if best is None or value > best[0]:
                best = (value, raw)
    return best[1] if best else None


FIRST_YEAR = 1990


def _plausible(raw: str, day_first: bool) -> bool:
    """A document date between 1990 and a year from now (a misread "2048" is not the purchase date)."""
    try:
        day = parse_date(raw, day_first=day_first)
    except CoercionError:
        return False
    return FIRST_YEAR <= day.year <= date.today().year + 1


def first_date_heuristic(lines: list[PageLine], day_first: bool) -> str | None:
    for pl in lines:
        for found in all_dates(pl.text, day_first=day_first):
            if _plausible(found, day_first):
                return found
    return None


# --------------------------------------------------------------------------- document title

_TITLE = re.compile(
    r"(?i)(?<![a-z])\w*(?:rechnung|invoice|gutschrift|facture|factuur|fattura|factura|credit\s*note|bill)\w*"
    r"(?:(?!(?i:order|customer|client|account|kunden|bestell|auftrag|liefer|delivery|p\.?o\b|vat|tax|ust|steuer|"
    r"commande|commessa|pedido))[^:\n]){0,60}?"
    r"(?<![a-z])(?:nr|no|n°|nº|num|nummer|number|#)(?![a-z])\.?\s*[:#]?\s*"
    r"([A-Za-z0-9][A-Za-z0-9_/\-.]*\d[A-Za-z0-9_/\-]*)")
_TITLE_DATE = re.compile(r"(?i)^\W*(?:vom|from|of|dated|du|del|de|van|d\.d\.)\s+(.{0,30})")
TITLE_ROWS = 25


def _title(lines: list[PageLine]) -> tuple[str, str] | None:
    """The document title line ("Rechnung Nr. 123 vom 1.2.2024"): its number and what follows it."""
    if not lines:
        return None
    first_page = lines[0].page
    rows = sorted({pl.row for pl in lines if pl.page == first_page})[:TITLE_ROWS]
    for pl in lines:
        if pl.page != first_page or pl.row not in rows:
            continue
        m = _TITLE.search(pl.text)
        if m:
            number = m.group(1).rstrip(".")
            if first_date(number, day_first=True) == number:
                continue
            return number, pl.text[m.end():]
    return None


def title_number(lines: list[PageLine], day_first: bool) -> str | None:
    """The number printed in the document's title ("Invoice No. 42", "Handelsrechnung (380) Nr. 42")."""
    found = _title(lines)
    return found[0] if found else None


def title_date(lines: list[PageLine], day_first: bool) -> str | None:
    """The date right after the title's number ("Rechnung Nr. 42 vom 05.03.2018")."""
    found = _title(lines)
    if not found:
        return None
    m = _TITLE_DATE.match(found[1])
    return first_date(m.group(1), day_first=day_first) if m else None


PRIMARY = frozenset({"effective_date", "governing_law", "parties", "term", "title_number", "title_date"})
"""Sentence-level heuristics that are more reliable than a label hit in running text."""

HEURISTICS: dict[str, Heuristic] = {
    "top_lines": top_lines,
    "address_block": address_block,
    "largest_amount": largest_amount,
    "first_date": first_date_heuristic,
    "effective_date": effective_date,
    "governing_law": governing_law,
    "term": term,
    "parties": parties,
    "title_number": title_number,
    "title_date": title_date,
}
