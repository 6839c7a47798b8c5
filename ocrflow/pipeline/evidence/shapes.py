"""Shape per field: does a value look like what its field holds? (one signal of the confidence)

Written generally, per kind of field, never per vendor or document:

- an address holds no item lines, prices or quantities, no date, no phone or registration number, is not a
  page of text, and is more than a postcode and a town (its street line was not missed);
- a name (of a shop, a seller, a buyer) is not a product line: no price, no quantity, no long digit run,
  not a sentence, and not an address;
- a date is plausible for a document: not before 1990 and not more than a year after today;
- an amount is a plausible sum: more than zero and under a hundred million.

``field_shape`` returns 1.0 for a value that looks right, 0.0 for one that does not, and None where the
field has no shape rule (identifiers, currencies, lists).
"""

from __future__ import annotations

import re
from datetime import date

PRICE = re.compile(r"(?<![\d.,])\d{1,6}[.,]\d{2}(?![\d])")
QUANTITY = re.compile(r"(?i)(?<!\w)(?:\d+\s*[x×@]\s*\d|qty|pcs|nos?\.?\s*\d+\s*x|\d+\s*(?:pcs|pc|kg|ml|btl|pkt)\b)")
DATE = re.compile(r"(?<!\d)\d{1,2}[./-]\d{1,2}[./-]\d{2,4}(?!\d)|(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)")
LONG_NUMBER = re.compile(r"\d{7,}")
DIGIT_RUN = re.compile(r"\d{3,}")
ADDRESS_WORDS = re.compile(
    r"(?i)\b(?:jalan|jln|taman|tmn|lorong|persiaran|street|road|avenue|lane|straße|strasse|rue|no\.?\s*\d)\b")
ITEM_WORDS = re.compile(r"(?i)\b(?:qty|subtotal|amount|price|rm|disc|item|description|cash|change)\b")
"""Words of an item or totals line ("TOTAL" alone is also a company's name)."""
MAX_NAME_WORDS = 8
MAX_ADDRESS_WORDS = 30
FIRST_YEAR = 1990


STREET = re.compile(r"(?i)\b(?:jalan|jln|lorong|persiaran|lebuh\w*|street|road|avenue|lane|lot|level|floor|"
                    r"block|blok|taman|tmn|straße|strasse|weg|platz|rue|route|autoroute|suite|unit|building)\b")
POSTCODE = re.compile(r"(?<![\d-])\d{5}(?![\d-])")


def _address(value: str) -> bool:
    """No item line inside, and not only a postcode and a town (the street line is missing)."""
    words = len(value.split())
    numbers = re.findall(r"\d+", POSTCODE.sub(" ", value))
    incomplete = not numbers and not STREET.search(value)
    return not (PRICE.search(value) or QUANTITY.search(value) or DATE.search(value) or LONG_NUMBER.search(value)
                or ITEM_WORDS.search(value) or words > MAX_ADDRESS_WORDS or incomplete)


def _name(value: str) -> bool:
    words = len(value.split())
    return not (PRICE.search(value) or QUANTITY.search(value) or DIGIT_RUN.search(value) or words > MAX_NAME_WORDS
                or ITEM_WORDS.search(value) or ADDRESS_WORDS.search(value))


def _date(value: str, today: date) -> bool:
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return False
    return FIRST_YEAR <= day.year and day <= today.replace(year=today.year + 1)


def _amount(value: str) -> bool:
    try:
        amount = float(value)
    except ValueError:
        return False
    return 0 < amount < 1e8


def field_shape(field: str, kind: str, value: str | None, *, today: date | None = None) -> float | None:
    """1.0 when ``value`` has the shape of its field, 0.0 when not, None when the field has no shape rule."""
    if value is None:
        return None
    text = value.strip()
    if kind == "date":
        return 1.0 if _date(text, today or date.today()) else 0.0
    if kind == "money" and field.endswith("total_amount"):
        return 1.0 if _amount(text) else 0.0
    if kind != "text":
        return None
    if "address" in field:
        return 1.0 if _address(text) else 0.0
    if field.endswith("_name"):
        return 1.0 if _name(text) else 0.0
    return None
