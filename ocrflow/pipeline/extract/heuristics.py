"""Document-level heuristics named by ``FieldSpec.heuristic`` (used when labels find nothing)."""

from __future__ import annotations

import re
from collections.abc import Callable

from ocrflow.pipeline.coerce import CoercionError, parse_date
from ocrflow.pipeline.extract.candidates import all_dates, first_date, money_values
from ocrflow.pipeline.extract.layout import PageLine

ORG_SUFFIX = re.compile(
    r"(?i)\b(?:sdn\.?\s*bhd|bhd|enterprise|trading|restaurant|restoran|company|co\.|corp(?:oration)?|"
    r"inc|llc|ltd|limited|gmbh|ag|kg|s\.?a\.?r?\.?l?|b\.?v|plc|pvt|store|shop|mart|market|bakery|"
    r"bakeries|cafe|café|hardware|stationery|pharmacy|hotel|services|有限公司|公司|商店|超市)\b\.?")
NOT_A_NAME = re.compile(
    r"(?i)\b(?:tax\s*invoice|invoice|receipt|reg(?:istration)?\.?\s*no|co\.?\s*no|gst|vat|tel|fax|phone|"
    r"e-?mail|www\.|http|order|cashier|date|table|welcome|bill|page|rechnung|facture|发票|收据)\b")
ADDRESS_WORD = re.compile(
    r"(?i)\b(?:no\.?|lot|jalan|jln|taman|tmn|street|st\.|road|rd\.?|avenue|ave|lane|floor|blok|block|"
    r"batu|kg|kampung|bandar|bdr|seksyen|persiaran|lorong|straße|strasse|str\.|platz|weg|rue|"
    r"station|suite|building|unit|selangor|kuala|johor|jaya)\b|\d|路|街|号|区|市")
PRICED_ROW = re.compile(r"(?<![\d.,])\d{1,6}[.,]\d{2}\W*$")
"""A row that ends with an amount ("ITEM 1   3.50"): the item list, not the address."""
PHONE_ROW = re.compile(r"^\W*(?:\+|\(0|0\d)[\d\s\-()/]{7,}\W*$")
ADDRESS_STOP = re.compile(
    r"(?i)\b(?:tel|fax|phone|mobile|whatsapp\w*|h/?p|pay|gst|vat|tax\s*invoice|invoice|receipt|e-?mail|www|reg\.?\s*no|co\.?\s*reg|"
    r"company\s*reg|cashier|date|bill|order|doc(?:ument)?\s*no)\b|电话|发票")
REG_NUMBER = re.compile(r"^[\s(]*(?:co\.?\s*(?:reg|no)\.?\s*:?\s*)?[\d\s\-]{4,}[- ]?[A-Za-z]?[\s).]*$", re.I)

Heuristic = Callable[[list[PageLine], bool], str | list[str] | None]


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def _is_name_like(text: str) -> bool:
    if _letters(text) < 3 or NOT_A_NAME.search(text) or REG_NUMBER.match(text):
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
    text = re.sub(r"\s*\((?=[^)]*\d)[^)]*\)\s*$", "", text)
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


def _name_row(lines: list[PageLine]) -> tuple[int, str] | None:
    """Index (in _top_rows) and text of the row that names the issuer."""
    rows = _top_rows(lines)
    candidates = [(i, t) for i in range(len(rows)) if (t := _name_text(rows, i))]
    if not candidates:
        return None
    for i, text in candidates[:6]:
        if ORG_SUFFIX.search(text):
            return i, text
    return candidates[0]


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
                or PRICED_ROW.search(text)):
            if parts:
                break
            continue
        if parts or ADDRESS_WORD.search(text):
            parts.append(text)
    address = " ".join(parts).strip(" ,")
    return re.sub(r"(?<!\d)(\d{5})(?=[^\W\d_]{3})", r"\1 ", address) or None


def largest_amount(lines: list[PageLine], day_first: bool) -> str | None:
    best: tuple[float, str] | None = None
    for pl in lines:
        for raw, value in money_values(pl.text):
            if best is None or value > best[0]:
                best = (value, raw)
    return best[1] if best else None


def first_date_heuristic(lines: list[PageLine], day_first: bool) -> str | None:
    for pl in lines:
        found = first_date(pl.text, day_first=day_first)
        if found:
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


def full_text(lines: list[PageLine]) -> str:
    return re.sub(r"\s+", " ", " ".join(pl.text for pl in lines))


# --------------------------------------------------------------------------- agreements

_EFFECTIVE = re.compile(
    r"(?i)(?:effective\s+(?:date|as\s+of|on)|dated\s+(?:as\s+of\s+)?|entered\s+into\s+(?:as\s+of|on)|"
    r"made\s+(?:and\s+entered\s+into\s+)?(?:as\s+of|on)|as\s+of|effective\s+of)\W{0,6}(?:the\s+)?(.{0,40})")
_LAW = re.compile(
    r"(?i:governed\s+by|construed\s+(?:and\s+enforced\s+)?in\s+accordance\s+with|laws\s+of)"
    r"[^.]{0,80}?(?i:laws?\s+of\s+(?:the\s+)?(?:(?:state|commonwealth|province)\s+of\s+)?)"
    r"([A-Z][A-Za-z]+(?:\s+[A-Z][A-Za-z]+)?)")
_LAW_SHORT = re.compile(
    r"(?:State|Commonwealth)\s+of\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)")
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "nine": 9, "ten": 10, "twelve": 12, "eighteen": 18, "twenty-four": 24, "thirty-six": 36}
_TERM = re.compile(
    r"(?i)(?:period|term)\s+of\s+(?:([a-z\-]+)\s*)?(?:\(\s*(\d+)\s*\)\s*)?(?:(\d+)\s+)?(years?|months?)")
_PARTIES = re.compile(r"(?i)\bbetween\s*:?\s+(.{3,300}?)(?:[)”\"]\s*,?|,)\s+and\s+(.{3,200})")
_PARTIES_SIMPLE = re.compile(r"(?i)\bbetween\s*:?\s+(.{3,200}?)\s*,?\s+and\s+(.{3,200})")
_ENTITY = re.compile(
    r"([A-Z][\w&.'\-]*(?:\s+(?:[A-Z][\w&.'\-]*|&|of|and))*?,?\s+"
    r"(?:Inc|LLC|L\.L\.C|Ltd|Limited|Corp|Corporation|Company|Co|LP|L\.P|plc|GmbH|AG|N\.V|S\.A|B\.V)\b\.?)")
_SKIP_FIRST_WORDS = {"the", "this", "and", "by", "between", "whereas", "agreement"}


_SIGNATURE_REF = re.compile(
    r"(?i)signature\s+page|(?:date|day)\s+(?:first\s+)?(?:written|set\s+forth|indicated)\s+below"
    r"|(?:latest|last)\s+date")
_WITNESS = re.compile(r"(?i)in\s+witness\s+whereof|signature\s+page\s+follows")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_US_NAMED = re.compile(rf"(?i)\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}")
_EU_NAMED = re.compile(rf"(?i)\b\d{{1,2}}(?:st|nd|rd|th)?\.?\s+(?:of\s+)?{_MONTH},?\s+\d{{4}}")


def document_day_first(text: str, day_first: bool) -> bool:
    """Whether numeric dates are day first: a text that writes "March 1, 2015" is month first."""
    us, eu = len(_US_NAMED.findall(text)), len(_EU_NAMED.findall(text))
    if us > eu:
        return False
    if eu > us:
        return True
    return day_first


def _iso(raw: str, day_first: bool) -> str | None:
    try:
        return parse_date(raw, day_first=day_first).isoformat()
    except CoercionError:
        return None


def _signature_date(lines: list[PageLine], day_first: bool) -> str | None:
    """The latest date in the signature block (after "IN WITNESS WHEREOF")."""
    starts = [i for i, pl in enumerate(lines) if _WITNESS.search(pl.text)]
    if not starts:
        return None
    found = [d for d in (_iso(raw, day_first) for raw in all_dates(full_text(lines[starts[-1]:]),
                                                                  day_first=day_first)) if d]
    return max(found) if found else None


def effective_date(lines: list[PageLine], day_first: bool) -> str | None:
    """The agreement's date (ISO): after "effective as of" / "dated", else from the signature block."""
    text = full_text(lines[:400])
    day_first = document_day_first(full_text(lines), day_first)
    for m in _EFFECTIVE.finditer(text):
        found = first_date(m.group(1), day_first=day_first)
        if found:
            return _iso(found, day_first)
        if _SIGNATURE_REF.search(m.group(1) + text[m.end(1):m.end(1) + 80]):
            signed = _signature_date(lines, day_first)
            if signed:
                return signed
    dates = all_dates(full_text(lines[:80]), day_first=day_first)
    return _iso(dates[0], day_first) if dates else None


def governing_law(lines: list[PageLine], day_first: bool) -> str | None:
    text = full_text(lines)
    m = _LAW.search(text)
    if m:
        return _trim_place(m.group(1))
    m = _LAW_SHORT.search(text)
    return _trim_place(m.group(1)) if m else None


def _trim_place(place: str) -> str:
    words = place.split()
    stop = {"And", "Without", "Applicable", "In", "Except", "The", "As", "Shall", "Excluding", "Applied"}
    kept: list[str] = []
    for w in words:
        if w in stop:
            break
        kept.append(w)
    return " ".join(kept) or place


_TERM_END = re.compile(
    r"(?i)(?:terminate|expire)s?\b[^.;]{0,40}?\b(?:([a-z\-]+)\s*)?(?:\(\s*(\d+)\s*\)\s*)?(?:(\d+)\s+)?"
    r"(years?|months?)\s+(?:after|from|following)")


def term(lines: list[PageLine], day_first: bool) -> str | None:
    text = full_text(lines)
    m = _TERM.search(text) or _TERM_END.search(text)
    if not m:
        return None
    word, paren, digits, unit = m.group(1), m.group(2), m.group(3), m.group(4).lower()
    number = paren or digits or (str(_NUMBER_WORDS[word.lower()]) if word and word.lower() in
                                  _NUMBER_WORDS else None)
    if number is None:
        return None
    unit = unit.rstrip("s") + ("s" if int(number) != 1 else "")
    return f"{int(number)} {unit}"


_PARTY_TAIL = re.compile(
    r"\s*[()“\"]"
    r"|(?<!\bInc)(?<!\bLtd)(?<!\bCo)(?<!\bCorp)(?<!\b[A-Z])\.\s"
    r"|,?\s+(?:an?|the)\s+(?:[A-Z][a-z]+\s+)?(?:[a-z]|[A-Z][a-z]+\s+(?:corporation|company|limited|partnership))"
    r"|,\s+(?:having|with|whose|located)\b")


def _clean_party(name: str) -> str:
    name = _PARTY_TAIL.split(name, maxsplit=1)[0]
    name = re.sub(r"\s+", " ", name).strip(" ,;:\"“”'")
    name = re.sub(r"(?i),\s+(?=(?:Inc|LLC|Ltd|Limited|Corp|Co|LP|plc)\b)", " ", name)
    words = name.split()
    while words and words[0].lower() in _SKIP_FIRST_WORDS:
        words.pop(0)
    return " ".join(words)


def _party_pairs(head: str) -> list[list[str]]:
    pairs: list[list[str]] = []
    starts = [m.start() for m in re.finditer(r"(?i)\bbetween\b", head)][:6]
    for pattern in (_PARTIES, _PARTIES_SIMPLE):
        for start in starts:
            m = pattern.match(head, start)
            pair = [_clean_party(m.group(1)), _clean_party(m.group(2))] if m else []
            if pair and all(pair):
                pairs.append(pair)
    return pairs


def _named(pair: list[str]) -> list[str]:
    """A pair without its blank template placeholders ("between [________] and Acme Corp")."""
    return [n for n in pair if any(ch.isalpha() for ch in n)]


def _plausible_name(name: str) -> bool:
    return 2 <= len(name.split()) <= 8 and not re.search(r"\d", name)


def parties(lines: list[PageLine], day_first: bool) -> list[str] | None:
    """The parties named after "between ... and ..." (fuller names preferred), else company names."""
    head = full_text(lines[:200])
    pairs = _party_pairs(head)
    found = next((named for named in (_named(p) for p in pairs)
                  if named and all(_plausible_name(n) for n in named)), pairs[0] if pairs else [])
    if not found:
        found = [_clean_party(e) for e in _ENTITY.findall(head)]
    out: list[str] = []
    for name in found:
        if name and name.lower() not in {o.lower() for o in out} and len(name) < 120:
            out.append(name)
    return out[:4] or None


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
