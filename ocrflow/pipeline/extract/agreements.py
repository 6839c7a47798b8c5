"""Heuristics for agreements (NDAs): the effective date, the governing law, the term and the parties, read
from the sentences that state them."""

from __future__ import annotations

import re

from ocrflow.pipeline.coerce import CoercionError, parse_date
from ocrflow.pipeline.extract.candidates import all_dates, first_date
from ocrflow.pipeline.extract.layout import PageLine


def full_text(lines: list[PageLine]) -> str:
    return re.sub(r"\s+", " ", " ".join(pl.text for pl in lines))


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
_DURATION = r"(?:([a-z\-]+)\s*)?(?:\(\s*(\d+)\s*\)\s*)?(?:(\d+)\s+)?(years?|months?)"
_TERM = re.compile(rf"(?i)(?:period|term)\s+of\s+{_DURATION}")
_THIS_AGREEMENT = (r"(?:this\s+(?:letter\s+)?agreement|this\s+letter|the\s+obligations\s+"
                   r"(?:hereunder|under\s+this\s+(?:letter\s+)?agreement))")
_START = r"(?<![A-Za-z])"
"""A word's start, also where a text layer glues a section number to it ("6.1This Agreement shall ...")."""
_TERM_OWN = re.compile(
    rf"(?i)(?:\bterm\s+of\s+{_THIS_AGREEMENT}\s+(?:shall|will)\s+be\s+(?:for\s+)?(?:a\s+period\s+of\s+)?"
    rf"|{_START}{_THIS_AGREEMENT}\s+(?:shall|will)\s+(?:automatically\s+)?(?:terminate|expire)(?:\s+in\s+its\s+entirety)?\s+"
    rf"|{_START}{_THIS_AGREEMENT}\s+(?:shall|will)\s+(?:continue|remain)\s+in\s+(?:full\s+force\s+and\s+)?effect\s+for\s+"
    rf"(?:a\s+period\s+of\s+)?"
    rf"|\bterm\s+of\s+(?:this|the)\s+[^.;]{{0,60}}?\bagreement\b[^.;]{{0,120}}?\b(?:shall|will)\s+be\s+for\s+"
    rf"[^.;]{{0,80}}?\b(?:for|of)\s+){_DURATION}")
"""The agreement's own term, where the agreement (or its obligations) is what ends: "the term of this
Agreement shall be two (2) years", "this letter agreement will terminate one year after ...". An agreement
also states other periods (a standstill, a non-solicitation, survival after termination), which the
plain "a period of N years" reading would take when one of them comes first. The last form: "the term of the
employment agreement ... shall be for a period commencing at the Effective Date and continuing for three (3)
years"."""
_PARTIES = re.compile(r"(?i)\bbetween\s*:?\s+(.{3,300}?)(?:[)”\"]\s*,?|,)\s+and\s+(.{3,200})")
_PARTIES_SIMPLE = re.compile(r"(?i)\bbetween\s*:?\s+(.{3,200}?)\s*,?\s+and\s+(.{3,200})")
_ENTITY = re.compile(
    r"((?:[A-Z]|\d+[A-Z])[\w&.'\-]*(?:\s+(?:[A-Z][\w&.'\-]*|&|of|and))*?,?\s+"
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
    m = _TERM_OWN.search(text) or _TERM.search(text) or _TERM_END.search(text)
    if not m:
        return None
    word, paren, digits, unit = m.group(1), m.group(2), m.group(3), m.group(4).lower()
    number = paren or digits or (str(_NUMBER_WORDS[word.lower()]) if word and word.lower() in
                                  _NUMBER_WORDS else None)
    if number is None:
        return None
    count, unit = int(number), unit.rstrip("s")
    if unit == "month" and count % 12 == 0:  # "twelve (12) months" is one year
        count, unit = count // 12, "year"
    return f"{count} {unit}{'s' if count != 1 else ''}"


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
    """A party's name: two to eight words, no digit, starting with a capital, most words capitalised (not
    "you and", "parties and their respective")."""
    words = name.split()
    capital = sum(1 for w in words if w[:1].isupper() or w in ("&", "of", "and"))
    return (2 <= len(words) <= 8 and not re.search(r"\d", name) and name[:1].isupper()
            and capital * 2 > len(words))


def parties(lines: list[PageLine], day_first: bool) -> list[str] | None:
    """The parties named after "between ... and ..." (fuller names preferred), else company names."""
    head = full_text(lines[:200])
    pairs = _party_pairs(head)
    entities = [_clean_party(e) for e in _ENTITY.findall(head)]
    found = next((named for named in (_named(p) for p in pairs)
                  if named and all(_plausible_name(n) for n in named)), [])
    if not found:  # no plausible "between X and Y": the company names of the text, else the first pair
        found = entities[:2] or (pairs[0] if pairs else [])
    out: list[str] = []
    for name in found:
        if name and name.lower() not in {o.lower() for o in out} and len(name) < 120:
            out.append(name)
    return out[:4] or None


