"""Figures and pieces of text in a line-item table: what is a number, its value, and how a text line that
runs over several table columns (a text layer or an OCR box that joined neighbouring cells) splits into
cells.

A **figure** is a number as a table cell prints it: ``1.234,56``, ``1,234.56``, ``1 234,56``, ``1'234.56``,
``-12,50``, ``12,50-`` (trailing minus), ``(12.50)``, with a currency sign or code (``€``, ``$``, ``EUR``) or
a percent sign next to it. Dates (``05.03.2018``, ``2024-05-12``), long digit runs (GTINs, ids) and codes
mixing letters and digits (``TB100A4``, ``M6``) are not figures.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ocrflow.core.models import Line

CURRENCY = r"(?:€|\$|£|¥|CHF|EUR|USD|GBP|Fr\.)"
_FIGURE_PARTS = (rf"^[(]?(?:{CURRENCY}\s?)?[-+−]?(?:{CURRENCY}\s?)?(\d{{1,3}}(?:[{{sep}}]\d{{3}})+(?:[.,]\d+)?"
                 rf"|\d+(?:[.,]\d+)?)(?:\s?{CURRENCY})?-?[)]?(?:\s?%)?$")
_FIGURE = re.compile(_FIGURE_PARTS.replace("{sep}", ".,'\u202f "))
_FIGURE_UNSPACED = re.compile(_FIGURE_PARTS.replace("{sep}", ".,'\u202f"))
_DATE = re.compile(r"^\d{1,2}[./]\d{1,2}[./]\d{2,4}$|^\d{4}-\d{2}-\d{2}$")
_NUMBER = re.compile(r"[-+−]?\d[\d.,'\u202f]*\d|[-+−]?\d")
_UNIT_WORD = re.compile(r"^[^\W\d_]{1,8}(?:\([^\W\d_]{1,3}\))?\.?[²³]?$|^[^\W\d_]{1,3}[²³]$")
MAX_DIGITS = 12
"""A figure has at most this many digits (a GTIN or an account number is an id, not an amount)."""


@dataclass(frozen=True, slots=True)
class Figure:
    """A number read from a cell: its value, whether it was printed with % or a currency, and the words
    printed after it (a unit: ``Stk``, ``h``, ``m²``)."""

    value: Decimal
    text: str
    percent: bool = False
    currency: bool = False
    unit: str = ""
    decimals: int = 0


def is_date(token: str) -> bool:
    return bool(_DATE.match(token.strip()))


def split_number(text: str, decimal_comma: bool | None = None) -> tuple[str | None, str]:
    """('1234.56', rest) from '1.234,56 EUR' / '1,234.56' / '3,3333' / '19 %' / '12,50-'; (None, text) for none.
    ``decimal_comma``: the document's convention, which settles '1.000' and '1,000' (one separator and three
    digits after it); None guesses (a comma with three digits after it groups thousands in a long number)."""
    m = _NUMBER.search(text)
    if not m:
        return None, text.strip()
    token = m.group(0).replace(" ", "").replace("'", "").replace("\u202f", "").replace("−", "-")
    after = text[m.end():]
    rest = (text[:m.start()] + after).strip(" %€$£")
    negative = after.startswith("-") or (text[:m.start()].rstrip().endswith("(") and ")" in after)
    if negative:
        rest = rest.replace("-", "", 1).replace("(", "").replace(")", "").strip()
    last_dot, last_comma = token.rfind("."), token.rfind(",")
    if decimal_comma is not None and _AMBIGUOUS.match(token.lstrip("+-")):
        token = token.replace("." if decimal_comma else ",", "")
        last_dot, last_comma = token.rfind("."), token.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        dec = "." if last_dot > last_comma else ","
        token = token.replace("," if dec == "." else ".", "").replace(",", ".")
    elif last_comma >= 0:
        tail = token[last_comma + 1:]
        token = token.replace(",", "") if len(tail) == 3 and token.count(",") >= 1 and "," not in tail and \
            len(token) > 5 else token.replace(",", ".", 1).replace(",", "")
    elif token.count(".") > 1:
        token = token.replace(".", "")
    if negative and not token.startswith("-"):
        token = "-" + token
    return token, rest


_GLUED_UNIT = re.compile(r"^(\d+(?:[.,]\d+)?)([^\W\d_]{1,3}[²³]?)$")
"""A unit glued to its figure ("3u", "10kg", "5m²": OCR and some layouts print no space)."""
_AMBIGUOUS = re.compile(r"^\d{1,3}(?:\.\d{3})+$|^\d{1,3}(?:,\d{3})+$")
"""'1.000', '1,000', '12.345.678': thousands or decimals, by the document's convention."""
_COMMA_DECIMAL = re.compile(r"(?<![\d.,])\d{1,3}(?:\.\d{3})*,\d{2}(?![\d.,])")
_DOT_DECIMAL = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})*\.\d{2}(?![\d.,])")


def decimal_comma(texts: Sequence[str]) -> bool | None:
    """Whether the amounts in ``texts`` print a decimal comma (``473,00``, ``1.234,56``) or a decimal point
    (``473.00``); None where neither clearly prevails."""
    comma = sum(len(_COMMA_DECIMAL.findall(t)) for t in texts)
    dot = sum(len(_DOT_DECIMAL.findall(t)) for t in texts)
    if comma > 2 * dot and comma >= 2:
        return True
    if dot > 2 * comma and dot >= 2:
        return False
    return None


_SPACED_AMOUNT = re.compile(r"(?<![\d.,])\d{1,3}(?: \d{3})+[.,]\d{2}(?!\d)")
_SPACED = re.compile(r"^\D*\d{1,3}(?: \d{3})+(?:[.,]\d+)?\D*$")


def space_grouped(texts: Sequence[str]) -> bool:
    """Whether the document groups thousands with spaces ("1 234,56" at least twice): then "1 500" is one
    figure, not two."""
    return sum(len(_SPACED_AMOUNT.findall(t)) for t in texts) >= 2


def spaced_figure(text: str) -> bool:
    """A figure whose digits are grouped by spaces ("1 500 u", "12 345,00 €")."""
    return bool(_SPACED.match(text))


def reread(fig: Figure, decimal_comma: bool | None) -> Figure:
    """``fig`` read again under the document's decimal convention (only '1.000'-like figures change)."""
    if decimal_comma is None:
        return fig
    number, _ = split_number(re.sub(r"(?<=\d) (?=\d{3}\b)", "", fig.text), decimal_comma)
    if number is None:
        return fig
    try:
        value = Decimal(number)
    except InvalidOperation:
        return fig
    if value == fig.value:
        return fig
    decimals = len(number.split(".")[1]) if "." in number else 0
    return Figure(value, fig.text, fig.percent, fig.currency, fig.unit, decimals)


def figure(text: str, *, spaced: bool = True) -> Figure | None:
    """The figure a cell text prints (with a short unit word after it), or None when it is not one.
    ``spaced``: a space may group thousands (``1 234,56``); off where a space may part two cells."""
    return _figure(text, spaced)


@functools.lru_cache(maxsize=8192)
def _figure(text: str, spaced: bool) -> Figure | None:
    text = _GLUED_UNIT.sub(r"\1 \2", " ".join(text.split()))
    pattern = _FIGURE if spaced else _FIGURE_UNSPACED
    if not text or is_date(text):
        return None
    words = text.split(" ")
    unit = ""
    if len(words) > 1 and _UNIT_WORD.match(words[-1]) and pattern.match(" ".join(words[:-1])):
        unit, text = words[-1], " ".join(words[:-1])
    if not pattern.match(text):
        return None
    number, _ = split_number(re.sub(r"(?<=\d) (?=\d{3}\b)", "", text) if spaced else text)
    if number is None or sum(ch.isdigit() for ch in number) > MAX_DIGITS:
        return None
    try:
        value = Decimal(number)
    except InvalidOperation:
        return None
    decimals = len(number.split(".")[1]) if "." in number else 0
    return Figure(value, text, percent="%" in text, currency=bool(re.search(CURRENCY, text)), unit=unit,
                  decimals=decimals)


_NOTE_WORD = re.compile(r"^(?:[A-Z]{1,4}|[A-Z]{1,3}\d{1,2}|\(\w{1,8}\)|%|[^\W\d_]{1,3}[²³]?\.?)$")
"""A word a cell may print after its figure: a code (VAT, H87), a bracket ("(S)"), a short unit."""


def cell_figure(text: str) -> Figure | None:
    """The figure of a cell: the cell itself, or a figure first and a few short words after it (a unit code
    "1 H87", a tax category "19 % VAT (S)")."""
    fig = figure(text)
    if fig is not None:
        return fig
    words = text.split()
    for n in range(min(len(words) - 1, 4), 0, -1):
        head, tail = words[:n], words[n:]
        if len(tail) <= 2 and all(_NOTE_WORD.match(w) for w in tail):
            fig = figure(" ".join(head))
            if fig is not None:
                unit = fig.unit or " ".join(tail)
                return Figure(fig.value, fig.text, fig.percent, fig.currency, unit, fig.decimals)
    return None


def lone_figure(text: str) -> Figure | None:
    """A cell that is surely a figure: its other words are short codes or units ("20 Stk", "19 % VAT (S)",
    "1 H87"), never a word that could start a description ("4 Webcam HD")."""
    fig = cell_figure(text)
    if fig is None or any(len(w) > 4 and not w.startswith("(") for w in fig.unit.split()):
        return None
    if re.search(r"\d \d", fig.text) and not re.fullmatch(r"\D*\d{1,3}(?: \d{3})+[.,]\d{1,2}\D*", fig.text):
        return None  # "100 200": thousands, or two figures? ("1 071,70" with its decimals is one)
    return fig


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of words of one text line with its estimated horizontal extent (characters share the line's
    width in proportion; the ends are exact)."""

    text: str
    x0: float
    x1: float
    line: Line
    fig: Figure | None

    @property
    def center(self) -> float:
        return (self.x0 + self.x1) / 2


def _span(line: Line, start: int, end: int) -> tuple[float, float]:
    n = max(len(line.text), 1)
    width = line.x1 - line.x0
    return line.x0 + width * start / n, line.x0 + width * end / n


def piece(line: Line, start: int = 0, end: int | None = None) -> Piece:
    end = len(line.text) if end is None else end
    text = line.text[start:end].strip()
    if start == 0 and end == len(line.text):
        x0, x1 = line.x0, line.x1
    else:
        x0, x1 = _span(line, start, end)
    return Piece(text, x0, x1, line, figure(text))


def _words(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]


def groups(line: Line) -> list[Piece]:
    """The cells a text line would hold if it joined several: figures (with a currency, a percent sign or a
    unit word after them) apart from the text between them. A ``label: value`` pair and a text line with
    more than one run of words between figures stay one piece (a note, not cells)."""
    spans = _words(line.text)
    out: list[tuple[int, int, bool]] = []
    k = 0
    while k < len(spans):
        best = None
        for j in range(min(len(spans), k + 4), k, -1):  # the longest figure starting at word k
            s, e = spans[k][0], spans[j - 1][1]
            fig = figure(line.text[s:e], spaced=False)
            # a unit word only where the figure ends the line, or a short one where another figure follows
            # ("20 Stk 19 %"; not "1 Wir erlauben", "4 Écran 27 pouces")
            if fig is not None and (not fig.unit or j == len(spans) or (len(fig.unit) <= 4 and
                                    figure(line.text[slice(*spans[j])], spaced=False) is not None)):
                best = j
                break
        if best is not None:
            out.append((spans[k][0], spans[best - 1][1], True))
            k = best
            continue
        if out and not out[-1][2]:
            out[-1] = (out[-1][0], spans[k][1], False)
        else:
            out.append((spans[k][0], spans[k][1], False))
        k += 1
    texts = [g for g in out if not g[2]]
    label_value = any(not g[2] and line.text[g[0]:g[1]].rstrip().endswith(":") and k + 1 < len(out)
                      for k, g in enumerate(out))
    first_fig = next((k for k, g in enumerate(out) if g[2]), len(out))
    # prose after a figure inside a text ("... offenen 4 kg Schweinesteak werden separat") keeps the line
    # whole; a line number before the description ("1 Wireless keyboard with ...") does not
    skip = 2 if first_fig == 0 else first_fig
    prose_after = any(not g[2] and len(line.text[g[0]:g[1]].split()) > 3 for g in out[skip:])
    if len(texts) > 2 or label_value or prose_after:
        if first_fig == 0 and len(out) > 1:  # a line number before a text: the number apart, the rest whole
            return [piece(line, out[0][0], out[0][1]), piece(line, out[1][0], len(line.text))]
        return [piece(line)]
    return [piece(line, s, e) for s, e, _ in out]


def rows_of(lines: Sequence[Line]) -> list[list[Line]]:
    """Lines grouped by baseline (vertical centres within half the smaller line height), left to right."""
    rows: list[list[Line]] = []
    for ln in sorted(lines, key=lambda ln: (ln.y0 + ln.y1) / 2):
        cy, h = (ln.y0 + ln.y1) / 2, max(ln.y1 - ln.y0, 1.0)
        if rows:
            ref = rows[-1][0]
            if abs(cy - (ref.y0 + ref.y1) / 2) < 0.5 * min(h, max(ref.y1 - ref.y0, 1.0)):
                rows[-1].append(ln)
                continue
        rows.append([ln])
    return [sorted(r, key=lambda ln: ln.x0) for r in rows]


def line_height(rows: Sequence[Sequence[Line]]) -> float:
    """The median text height of the rows (the unit of vertical gaps)."""
    heights = sorted(ln.y1 - ln.y0 for row in rows for ln in row)
    return max(heights[len(heights) // 2], 1.0) if heights else 10.0
