"""Header labels of a line-item table: the contract's line-column labels (``ocrflowLabels``, all languages)
and a few table columns the contract has no column for, each found with its place inside a text line.

The extra columns (``AUX_LABELS``) are what an item table prints beside the contract's columns: a line
number (BT-126), a line discount (BG-27), a line's tax (rate or amount: the figures decide), a gross amount,
and the quantity a price is per (BT-149). They are read so that their figures are not mistaken for a
neighbour's and so that a line's arithmetic can use them; only the contract's columns are kept on a line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ocrflow.contracts import Contract, FieldSpec

TOTAL_FIELDS = ("subtotal_amount", "tax_amount", "total_amount", "allowance_total_amount", "charge_total_amount")
POSITION, DISCOUNT, TAX, GROSS, BASE = "_position", "_discount", "_tax", "_gross", "_base_quantity"
TERMS = "_terms"
TERMS_FIELDS = ("due_date",)
"""Header fields whose labels head a column of a payment-terms table ("Fälligkeit", "Due date") and never one
of an item table: a header naming one is no item table's (role ``TERMS``; short labels, "due", are left out:
"Amount due" may name an item's amount)."""
UNNAMED = "_unnamed"
CACHE_SIZE = 20_000
"""Label hits are kept per text (a page's lines are asked about more than once), up to this many texts."""
AUX_LABELS: dict[str, tuple[str, ...]] = {
    POSITION: ("pos", "pos.", "position", "no", "no.", "nr", "nr.", "n°", "lfd. nr", "line", "ligne", "zeile",
               "regel"),
    DISCOUNT: ("discount", "disc", "disc.", "rebate", "rabatt", "nachlass", "abschlag", "remise", "rabais",
               "korting"),
    TAX: ("vat", "tax", "gst", "mwst", "mwst.", "ust", "ust.", "steuer", "tva", "btw", "vat amount",
          "tax amount", "steuerbetrag", "mwst.-betrag", "ust.-betrag", "montant tva", "btw-bedrag"),
    GROSS: ("gross", "gross amount", "incl. vat", "incl vat", "total incl", "brutto", "bruttobetrag",
            "inkl. mwst", "ttc", "montant ttc", "bruto", "incl. btw"),
    BASE: ("per", "price unit", "preiseinheit", "pe", "par", "unité de prix", "per eenheid"),
}
EXTRA_LABELS: dict[str, tuple[str, ...]] = {
    "quantity": ("anz", "anz.", "qte", "qté."),
    "unit_price": ("pu ht", "p.u. ht", "prix u. ht", "prix unit."),
    "line_net_amount": ("entgelt", "nettowert", "line amount", "montant ht", "total ht"),
    "unit": ("unit of measure",),
}
"""Common abbreviations of the contract's line columns in item-table headers that its label lists lack."""
_WORD = re.compile(r"\w+")


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def label_match(text: str, labels: Sequence[str]) -> int:
    """Length of the longest label found in ``text`` (short labels as whole words), 0 for none."""
    norm = _norm(text)
    words = set(norm.split())
    best = 0
    for label in labels:
        lab = _norm(label)
        if not lab:
            continue
        hit = lab in words or lab == norm if len(lab) <= 3 else lab in norm
        if hit:
            best = max(best, len(lab))
    return best


@dataclass(frozen=True, slots=True)
class LabelHit:
    """A column label found at ``text[start:end]`` of a header text; ``role`` is a contract line column or
    one of the extra columns (``AUX_LABELS``)."""

    role: str
    start: int
    end: int
    length: int


SHORT_LABEL = 3
"""A label of this many letters and digits or fewer is matched as a whole word only."""


def _short(words: Sequence[str]) -> bool:
    return len("".join(words)) <= SHORT_LABEL


def _pattern(label: str) -> re.Pattern[str] | None:
    words = _WORD.findall(label.lower())
    if not words:
        return None
    body = r"\W*".join(re.escape(w) for w in words)
    short = _short(words)
    # short labels as whole words; longer ones may start a compound ("Preis" in "Nettopreis": end of word)
    return re.compile(rf"(?<!\w){body}(?!\w)" if short else rf"{body}(?!\w)|(?<!\w){body}")


class HeaderVocabulary:
    """Every label of every column a header cell can name, as patterns (built once per contract)."""

    def __init__(self, contract: Contract) -> None:
        self._hits: dict[str, list[LabelHit]] = {}
        self._roles: dict[str, list[str]] = {}
        self.patterns: list[tuple[str, int, re.Pattern[str]]] = []
        for spec in header_specs(contract):
            self._add(spec.name, [*spec.all_labels(), *EXTRA_LABELS.get(spec.name, ())])
        for role, labels in AUX_LABELS.items():
            self._add(role, labels)
        self._add(TERMS, [lab for name in TERMS_FIELDS if name in contract.field_names
                          for lab in contract.field(name).all_labels() if not _short(_WORD.findall(lab.lower()))])

    def _add(self, role: str, labels: Sequence[str]) -> None:
        for label in labels:
            pat = _pattern(label)
            if pat is not None:
                self.patterns.append((role, len(_norm(label)), pat))

    def roles(self, text: str) -> list[str]:
        """Every role a label in ``text`` names, the longest label first ("VAT": the rate and the tax)."""
        if text not in self._roles:
            if len(self._roles) > CACHE_SIZE:
                self._roles.clear()
            self._roles[text] = self._find_roles(text)
        return self._roles[text]

    def _find_roles(self, text: str) -> list[str]:
        low = text.lower()
        found = sorted(((n, role) for role, n, pat in self.patterns if pat.search(low)), key=lambda x: -x[0])
        if text.strip() == "#":
            found.append((1, POSITION))
        out: list[str] = []
        for _, role in found:
            if role not in out:
                out.append(role)
        return out

    def hits(self, text: str) -> list[LabelHit]:
        """Non-overlapping label hits in ``text``, the longest label first where two overlap."""
        if text not in self._hits:
            if len(self._hits) > CACHE_SIZE:
                self._hits.clear()
            self._hits[text] = self._find_hits(text) if any(ch.isalpha() for ch in text) or "#" in text else []
        return self._hits[text]

    def _find_hits(self, text: str) -> list[LabelHit]:
        low = text.lower()
        found = [LabelHit(role, m.start(), m.end(), n) for role, n, pat in self.patterns for m in pat.finditer(low)]
        if text.strip() == "#":
            found.append(LabelHit(POSITION, text.index("#"), text.index("#") + 1, 1))
        taken: list[LabelHit] = []
        for hit in sorted(found, key=lambda h: (-h.length, h.start)):
            if not any(hit.start < t.end and t.start < hit.end for t in taken):
                taken.append(hit)
        return sorted(taken, key=lambda h: h.start)


def header_specs(contract: Contract) -> list[FieldSpec]:
    """The line columns a header cell can name (those with labels; never ``line_no``)."""
    return [f for f in contract.lines if f.name != "line_no" and f.labels]


def total_labels(contract: Contract) -> list[str]:
    """The labels of the header totals (subtotal, tax, total, allowances, charges): a row naming one with
    a figure in the amount column and no quantity or price ends the table."""
    return [lab for name in TOTAL_FIELDS if name in contract.field_names for lab in contract.field(name).all_labels()]


def amount_column(contract: Contract) -> str:
    return "line_net_amount" if "line_net_amount" in contract.line_names else "amount"


_VOCABULARIES: dict[int, tuple[Contract, HeaderVocabulary]] = {}


def vocabulary(contract: Contract) -> HeaderVocabulary:
    """The header vocabulary of ``contract``, built once per contract object (its patterns and the label hits
    found so far are kept with it)."""
    found = _VOCABULARIES.get(id(contract))
    if found is None or found[0] is not contract:
        if len(_VOCABULARIES) > 16:
            _VOCABULARIES.clear()
        found = _VOCABULARIES[id(contract)] = (contract, HeaderVocabulary(contract))
    return found[1]
