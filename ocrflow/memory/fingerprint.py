"""What a document prints that tells its issuer apart: numbers and lines of the top of its first page.

Keys are read from the page text only (never from the file's name or folder):

- ``id``: a tax, registration or phone number (6 to 16 digits, a check letter kept) printed in the top rows of
  the first page, or on any line of it that names such a number (GST, VAT, tax, registration ...);
- ``line``: a line of the top rows, letters and digits only, upper case (the letterhead), unless it is made of
  words every document prints (``TAX INVOICE``, ``RECEIPT``, ``DATE``) or is too short to tell anything apart.

``name`` keys (the lines that held an issuer's constant values) are added when review teaches (``learn``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ocrflow.memory.text import key_of, letters, upper
from ocrflow.pipeline.extract.candidates import DATE_RE
from ocrflow.pipeline.extract.layout import PageLine
from ocrflow.store.memory_records import ID_KEY, LINE_KEY, IssuerKey

TOP_ROWS = 12
"""Rows of the first page that make its letterhead."""
MIN_LINE_KEY = 6
MIN_DIGITS, MAX_DIGITS = 6, 16
GENERIC_WORDS = frozenset({
    "TAX", "INVOICE", "RECEIPT", "SIMPLIFIED", "FULL", "CASH", "SALE", "SALES", "BILL", "OFFICIAL", "COPY",
    "CUSTOMER", "ORIGINAL", "DUPLICATE", "THANK", "YOU", "WELCOME", "TO", "THE", "AND", "OF", "FOR", "TEL", "FAX",
    "PHONE", "EMAIL", "DATE", "TIME", "NO", "NUMBER", "GST", "VAT", "SST", "ID", "REG", "TABLE", "CASHIER", "ORDER",
    "PAGE", "MEMBER", "COUNTER", "POS", "TERMINAL", "DOC", "DOCUMENT", "RECHNUNG", "FACTURE", "QUITTUNG", "BELEG",
})
"""Words any issuer's documents print: a line made only of these (and numbers) is no letterhead."""
_ID_LABEL = re.compile(r"(?i)\b(?:GST|VAT|SST|TAX|REG|ROC|SSM|TIN|ABN|UST|USt|SIRET|SIREN|NIF|CIF|BTW|"
                       r"CO\.?\s*NO|COMPANY\s+NO|TEL|PHONE|FAX)\b")
_NUMBER = re.compile(r"(?<![A-Z0-9])\d(?:[\d\-]|\s(?=\d))*\d(?:\s?-\s?[A-Z](?![A-Z0-9]))?")


def first_page_rows(lines: Sequence[PageLine], rows: int = TOP_ROWS) -> list[PageLine]:
    """The lines of the first ``rows`` rows of the first page."""
    if not lines:
        return []
    page = min(pl.page for pl in lines)
    on_page = [pl for pl in lines if pl.page == page]
    first = min(pl.row for pl in on_page)
    return [pl for pl in on_page if pl.row < first + rows]


def is_generic(text: str) -> bool:
    words = re.findall(r"[A-Z]+", upper(text))
    return all(w in GENERIC_WORDS or len(w) == 1 for w in words)


def numbers_in(text: str) -> list[str]:
    """Id-like numbers of ``text`` (dates removed first), digits only, a check letter kept ("519537X")."""
    plain = DATE_RE.sub(" ", upper(text))
    out = []
    for m in _NUMBER.finditer(plain):
        token = m.group(0)
        digits = re.sub(r"\D", "", token)
        if MIN_DIGITS <= len(digits) <= MAX_DIGITS:
            tail = token[-1] if token[-1].isalpha() else ""
            out.append(digits + tail)
    return out


def line_key(text: str) -> str | None:
    """The letterhead key of one line, None when it tells nothing apart."""
    key = key_of(text)
    if len(key) < MIN_LINE_KEY or letters(key) < 3 or is_generic(text):
        return None
    return key


def fingerprint(lines: Sequence[PageLine]) -> list[IssuerKey]:
    """The keys of a document (``lines``: its page lines in reading order), without repeats."""
    top = first_page_rows(lines)
    page = top[0].page if top else None
    keys: list[IssuerKey] = []
    for pl in lines:
        in_top = pl in top
        if in_top or (pl.page == page and _ID_LABEL.search(pl.text)):
            keys.extend(IssuerKey(ID_KEY, n) for n in numbers_in(pl.text))
        if in_top:
            key = line_key(pl.text)
            if key is not None:
                keys.append(IssuerKey(LINE_KEY, key))
    return list(dict.fromkeys(keys))
