"""Typed candidate finders: the first (or best) money, date, id or currency inside a string."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from ocrflow.pipeline.coerce import CoercionError, normalize_currency, parse_date, parse_money

_SYMBOLS = r"[$€£¥₹￥]|RM|Rs\.?|INR|USD|EUR|MYR|GBP|CNY|RMB"
MONEY_RE = re.compile(
    rf"(?<![\w.,/:-])(?:\(?-?\s*(?:{_SYMBOLS})\s*)?-?\(?"
    r"(?:\d{1,3}(?:[,.\s\u00a0'](?=\d{3}\b)\d{3})+|\d+)(?:[.,]\d{1,2})?\)?-?"
    rf"(?:\s*(?:{_SYMBOLS}|元))?(?![\w/:]|[.,]\d)")
DATE_RE = re.compile(
    r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日?"
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
    r"|(?<!\d)\d{1,2}\s*(?P<sep>[-/.])\s*\d{1,2}\s*(?P=sep)\s*(?:\d{4}(?=\d{1,2}:\d{2})|\d{4}(?!\d)|\d{2}(?!\d))"
    r"|(?i:\d{1,2}(?:st|nd|rd|th)?\.?[\s\-/]*(?:of\s+)?[a-zäéû]{3,10}\.?,?[\s\-/']*(?:\d{4}|\d{2}))(?!\d)"
    r"|(?i:[a-zäéû]{3,10}\.?[\s\-]*\d{1,2}(?:st|nd|rd|th)?\s*,?[\s\-]+\d{4})")
ID_TOKEN = re.compile(r"[#]?\s*([A-Za-z0-9][A-Za-z0-9_/\-.]*\d[A-Za-z0-9_/\-.]*)")
TAX_ID_RE = re.compile(r"\b([A-Z]{2}\s?[0-9A-Z][0-9A-Z .\-]{6,18}[0-9A-Z]|[0-9][0-9A-Z.\-/]{6,20}[0-9A-Z])\b")
CURRENCY_TOKEN = re.compile(
    r"(?<![A-Za-z])(USD|EUR|GBP|INR|MYR|CNY|RMB|JPY|CHF|SGD|AUD|CAD|HKD|RM|Rs\.?)(?![A-Za-z])"
    r"|[$€£¥₹￥元]")


def money_values(text: str) -> list[tuple[str, float]]:
    """Amounts in a string, as (raw text, value), left to right; bare integers need a currency."""
    out: list[tuple[str, float]] = []
    norm = unicodedata.normalize("NFKC", text)
    for m in MONEY_RE.finditer(norm):
        raw = m.group(0).strip()
        has_decimals = re.search(r"[.,]\d{1,2}\)?-?(?:\s*\D*)?$", raw) is not None
        has_symbol = CURRENCY_TOKEN.search(raw) is not None
        if not (has_decimals or has_symbol):
            continue
        try:
            value = parse_money(raw)
        except CoercionError:
            continue
        out.append((raw, float(value)))
    return out


def first_money(text: str, *, rightmost: bool = True) -> str | None:
    found = money_values(text)
    if not found:
        return None
    return found[-1][0] if rightmost else found[0][0]


def _in_longer_number(text: str, start: int, end: int, sep: str | None) -> bool:
    """A date-shaped run that is part of a longer number with the same separator ("05.22.95.66.66")."""
    if not sep:
        return False
    return (text[end:end + 1] == sep and text[end + 1:end + 2].isdigit()) or (
        text[start - 1:start] == sep and text[start - 2:start - 1].isdigit())


def date_matches(text: str, *, day_first: bool) -> list[str]:
    """Every printed date in ``text``, left to right: a date-shaped run that does not read as a date does not
    hide a real one that overlaps it ("REG #19- 18/01/2018"), and a run inside a longer number is no date."""
    norm = unicodedata.normalize("NFKC", text)
    out: list[str] = []
    pos = 0
    while (m := DATE_RE.search(norm, pos)) is not None:
        try:
            if _in_longer_number(norm, m.start(), m.end(), m.group("sep")):
                raise CoercionError("part of a longer number")
            parse_date(m.group(0), day_first=day_first)
        except CoercionError:
            pos = m.start() + 1
            continue
        out.append(m.group(0).strip())
        pos = m.end()
    return out


def first_date(text: str, *, day_first: bool) -> str | None:
    found = date_matches(text, day_first=day_first)
    return found[0] if found else None


def all_dates(text: str, *, day_first: bool) -> list[str]:
    return date_matches(text, day_first=day_first)


_ID_STOP = re.compile(r"(?i)^(?:no|nr|number|num|n°|#|id|:)$")


def first_identifier(text: str) -> str | None:
    """The first token that carries a digit (an invoice or document number)."""
    for m in ID_TOKEN.finditer(text):
        token = m.group(0).replace(" ", "").rstrip(".,;:")
        if _ID_STOP.match(token) or first_date(token, day_first=True) == token:
            continue
        if len(re.sub(r"\D", "", token)) >= 1 and len(token) >= 2:
            return token
    return None


def first_tax_id(text: str) -> str | None:
    m = TAX_ID_RE.search(unicodedata.normalize("NFKC", text).upper())
    return m.group(1).strip() if m else None


def first_currency(text: str) -> str | None:
    for m in CURRENCY_TOKEN.finditer(text):
        try:
            return normalize_currency(m.group(0))
        except CoercionError:
            continue
    return None


def dominant_currency(texts: Iterable[str]) -> str | None:
    """The currency whose symbols or codes appear most often (codes count double)."""
    votes: Counter[str] = Counter()
    for text in texts:
        for m in CURRENCY_TOKEN.finditer(text):
            try:
                code = normalize_currency(m.group(0))
            except CoercionError:
                continue
            votes[code] += 2 if m.group(0).isalpha() and len(m.group(0)) == 3 else 1
    return votes.most_common(1)[0][0] if votes else None
