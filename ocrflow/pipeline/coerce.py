"""Turn raw extracted strings into typed values, field by field, as the contract says.

Every parser raises :class:`CoercionError` on input it cannot read; ``coerce_row``
catches those and records a :class:`~ocrflow.core.models.Failure` instead, so bad data
never raises out of the coercion stage.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ocrflow.contracts import Contract, FieldSpec
from ocrflow.core.models import Failure

CENT = Decimal("0.01")


class CoercionError(ValueError):
    """A raw value cannot be read as the type its field asks for."""


# --------------------------------------------------------------------------- money

_CURRENCY_NOISE = re.compile(
    r"(?i)(?<![a-z])(?:usd|eur|gbp|inr|myr|cny|rmb|jpy|chf|aud|cad|sgd|hkd|rs|rm|dm|sfr|fr)(?![a-z])\.?"
    r"|[$€£¥₹元￥]|(?<![a-z])(?:euro?s?|dollars?|rupees?|ringgit|yuan)(?![a-z])")


def parse_money(s: str | float | int | Decimal) -> Decimal:
    """Read an amount such as "1,234.50", "RM8.60", "1.234,50 €", "(7.67)" or "1 234,50"."""
    if isinstance(s, bool):
        raise CoercionError(f"{s!r} is not an amount")
    if isinstance(s, (int, float, Decimal)):
        return _quantize(Decimal(str(s)))
    text = unicodedata.normalize("NFKC", str(s)).strip()
    negative = False
    if re.fullmatch(r"\(.*\)", text):
        negative, text = True, text[1:-1]
    text = _CURRENCY_NOISE.sub(" ", text).strip()
    if text.endswith("-") and not text.startswith("-"):
        negative, text = True, text[:-1]
    if text.upper().endswith(("CR", "DR")):
        text = text[:-2]
    text = text.strip()
    if text.startswith(("-", "−")):
        negative, text = True, text[1:]
    text = text.lstrip("+").strip()
    number = _normalize_digits(text)
    if number is None:
        raise CoercionError(f"{s!r} is not an amount")
    value = Decimal(number)
    return _quantize(-value if negative else value)


def _quantize(value: Decimal) -> Decimal:
    if not value.is_finite():  # NaN quantizes to NaN without signalling; JSON parsers accept NaN, Infinity
        raise CoercionError(f"{value!r} is not a finite amount")
    try:
        return value.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise CoercionError(f"{value!r} is not a finite amount") from exc


def _normalize_digits(text: str) -> str | None:
    """Digits with thousands separators and a decimal mark -> "1234.50" (None if not a number)."""
    text = re.sub(r"(?<=\d)[\s\u00a0\u202f'’](?=\d{3}\b)", "", text)
    if not re.fullmatch(r"\d[\d.,]*|[.,]\d+", text):
        return None
    last_dot, last_comma = text.rfind("."), text.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        dec = "." if last_dot > last_comma else ","
    elif last_comma >= 0:
        dec = "," if _looks_decimal(text, ",") else ""
    elif last_dot >= 0:
        dec = "." if _looks_decimal(text, ".") else ""
    else:
        dec = ""
    if dec:
        whole, _, frac = text.rpartition(dec)
        whole = re.sub(r"[.,]", "", whole)
        if not frac.isdigit():
            return None
        return f"{whole or '0'}.{frac}"
    return re.sub(r"[.,]", "", text)


def _looks_decimal(text: str, mark: str) -> bool:
    """A lone separator is a decimal mark unless it groups exactly three digits (several times)."""
    parts = text.split(mark)
    if len(parts) > 2:
        return False
    return len(parts[1]) != 3 or parts[0] in ("", "0")


# --------------------------------------------------------------------------- dates

MONTHS: dict[str, int] = {}
for _num, _names in enumerate((
    "jan january januar janvier enero gennaio jänner janeiro",
    "feb february februar février fevrier febrero febbraio fevereiro",
    "mar march märz maerz marz mars marzo março",
    "apr april avril abril aprile",
    "may mai mayo maggio maio",
    "jun june juni juin junio giugno junho",
    "jul july juli juillet julio luglio julho",
    "aug august août aout agosto",
    "sep sept september septembre septiembre settembre setembro",
    "oct october oktober octobre octubre ottobre outubro okt",
    "nov november novembre noviembre novembro",
    "dec december dezember décembre decembre diciembre dicembre dezembro dez",
), start=1):
    for _name in _names.split():
        MONTHS[_name] = _num

_MONTH_RE = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_NUMERIC = re.compile(
    r"(?<!\d)(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4}(?=\d{1,2}:\d{2})|\d{4}(?!\d)|\d{2}(?!\d))")
"""Day, month, year; a four-digit year may run straight into a time ("09-06-201816:00:43", OCR)."""
_CJK = re.compile(r"(\d{2,4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?")
_DAY_MONTH_YEAR = re.compile(
    rf"(?i)(?<![a-z\d])(\d{{1,2}})(?:st|nd|rd|th)?\.?[\s\-/]*(?:of\s+)?({_MONTH_RE})\.?,?[\s\-/']*(\d{{4}}|\d{{2}})(?!\d)")
_MONTH_DAY_YEAR = re.compile(
    rf"(?i)(?<![a-z])({_MONTH_RE})\.?[\s\-]*(\d{{1,2}})(?:st|nd|rd|th)?\s*,?[\s\-]+(\d{{4}}|\d{{2}})(?!\d)")


def parse_date(s: str | date, *, day_first: bool) -> date:
    """Read a date as printed: numeric (day-first configurable, ISO always), named months, CJK."""
    if isinstance(s, date):
        return s
    text = unicodedata.normalize("NFKC", str(s)).strip()
    for reader in (_read_iso, _read_cjk, _read_named):
        found = reader(text)
        if found is not None:
            return found
    found = _read_numeric(text, day_first=day_first)
    if found is not None:
        return found
    raise CoercionError(f"{s!r} is not a date")


def _make_date(year: int, month: int, day: int) -> date | None:
    if year < 100:
        year += 2000 if year < 70 else 1900
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _read_iso(text: str) -> date | None:
    m = _ISO.search(text)
    return _make_date(int(m[1]), int(m[2]), int(m[3])) if m else None


def _read_cjk(text: str) -> date | None:
    m = _CJK.search(text)
    return _make_date(int(m[1]), int(m[2]), int(m[3])) if m else None


def _read_named(text: str) -> date | None:
    m = _DAY_MONTH_YEAR.search(text)
    if m:
        return _make_date(int(m[3]), MONTHS[m[2].lower()], int(m[1]))
    m = _MONTH_DAY_YEAR.search(text)
    if m:
        return _make_date(int(m[3]), MONTHS[m[1].lower()], int(m[2]))
    return None


def _read_numeric(text: str, *, day_first: bool) -> date | None:
    m = _NUMERIC.search(text)
    if not m:
        return None
    a, b, year = int(m[1]), int(m[2]), int(m[3])
    day, month = (a, b) if day_first else (b, a)
    if month > 12 >= day:
        day, month = month, day
    return _make_date(year, month, day)


# --------------------------------------------------------------------------- currency

ISO_CODES = frozenset((
    "USD", "EUR", "GBP", "INR", "MYR", "CNY", "JPY", "CHF", "AUD", "CAD", "SGD", "HKD", "NZD", "SEK", "NOK",
    "DKK", "PLN", "CZK", "HUF", "RUB", "BRL", "MXN", "ZAR", "KRW", "TWD", "THB", "IDR", "PHP", "VND", "AED",
    "SAR", "TRY", "ILS"))
CURRENCY_ALIASES: dict[str, str] = {
    "$": "USD", "US$": "USD", "€": "EUR", "EURO": "EUR", "EUROS": "EUR", "£": "GBP", "₹": "INR",
    "RS": "INR", "RS.": "INR", "RUPEES": "INR", "RM": "MYR", "RINGGIT": "MYR", "¥": "CNY", "￥": "CNY",
    "元": "CNY", "RMB": "CNY", "人民币": "CNY", "円": "JPY", "CHF": "CHF", "FR.": "CHF", "S$": "SGD",
    "HK$": "HKD", "A$": "AUD", "C$": "CAD", "DOLLAR": "USD", "DOLLARS": "USD",
}


def normalize_currency(s: str) -> str:
    """ISO 4217 code from a code, a symbol or a currency word; unknown -> CoercionError."""
    text = unicodedata.normalize("NFKC", str(s)).strip()
    key = text.upper().replace(" ", "")
    if key in ISO_CODES:
        return key
    alias = CURRENCY_ALIASES.get(key) or CURRENCY_ALIASES.get(text)
    if alias:
        return alias
    raise CoercionError(f"{s!r} is not a known currency")


# --------------------------------------------------------------------------- text kinds


def normalize_tax_id(s: str) -> str:
    """Tax / VAT id: upper case, no spaces."""
    value = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(s))).upper().strip(".,;:")
    if not value:
        raise CoercionError(f"{s!r} is not a tax id")
    return value


def clean_text(s: Any) -> str:
    value = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", str(s))).strip(" \t,;:")
    if not value:
        raise CoercionError(f"{s!r} is empty text")
    return value


def _identifier(s: Any) -> str:
    value = re.sub(r"\s+", " ", str(s)).strip(" \t,;:.")
    if not value:
        raise CoercionError(f"{s!r} is an empty identifier")
    return value


def _text_list(s: Any) -> list[str]:
    items = s if isinstance(s, (list, tuple)) else re.split(r"\s*;\s*|\n", str(s))
    out: list[str] = []
    for item in items:
        if item is None:
            continue
        text = re.sub(r"\s+", " ", str(item)).strip()
        if text and text not in out:
            out.append(text)
    return out


def _integer(s: Any) -> int:
    if isinstance(s, bool):
        raise CoercionError(f"{s!r} is not an integer")
    if isinstance(s, int):
        return s
    value = parse_money(str(s)) if not isinstance(s, float) else Decimal(str(s))
    if not value.is_finite() or value != value.to_integral_value():
        raise CoercionError(f"{s!r} is not a whole number")
    return int(value)


def _number(s: Any) -> float:
    if isinstance(s, bool):
        raise CoercionError(f"{s!r} is not a number")
    if isinstance(s, (int, float)):
        return _finite(s)
    number = _normalize_digits(str(s).strip().lstrip("+"))
    if number is None:
        negative = str(s).strip().startswith("-")
        number = _normalize_digits(str(s).strip()[1:]) if negative else None
        if number is None:
            raise CoercionError(f"{s!r} is not a number")
        return -_finite(number)
    return _finite(number)


def _finite(s: int | float | str) -> float:
    """``float(s)``, refusing what is no number of a document: NaN, infinities, values beyond a double."""
    try:
        value = float(s)
    except OverflowError as exc:
        raise CoercionError(f"{s!r} is too large a number") from exc
    if not math.isfinite(value):
        raise CoercionError(f"{s!r} is not a finite number")
    return value


# --------------------------------------------------------------------------- rows


def coerce_value(spec: FieldSpec, value: Any, *, day_first: bool) -> Any:
    """One value to its field's type (CoercionError when it cannot be read)."""
    readers: dict[str, Callable[[Any], Any]] = {
        "money": parse_money,
        "date": lambda v: parse_date(v, day_first=day_first),
        "currency": normalize_currency,
        "tax_id": normalize_tax_id,
        "text": clean_text,
        "identifier": _identifier,
        "list": _text_list,
        "integer": _integer,
        "number": _number,
    }
    reader = readers.get(spec.kind, clean_text)
    return reader(value)


def coerce_row(contract: Contract, raw: dict[str, Any], *,
               day_first: bool) -> tuple[dict[str, Any], list[Failure]]:
    """Every contract field coerced by its kind; unreadable values become None plus a Failure."""
    values: dict[str, Any] = {}
    failures: list[Failure] = []
    for spec in contract.fields:
        value = raw.get(spec.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            values[spec.name] = None
            continue
        try:
            values[spec.name] = coerce_value(spec, value, day_first=day_first)
        except (CoercionError, InvalidOperation, TypeError, ValueError) as exc:
            values[spec.name] = None
            failures.append(Failure(field=spec.name, check="coerce", value=value,
                                    message=f"cannot read {spec.name} as {spec.kind}: {exc}"))
    return values, failures
