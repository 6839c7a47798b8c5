"""Invoices in many table layouts with known truth, for testing a table reader on layouts it was not written for.

A seeded ``random.Random`` draws a :class:`Layout` (language, column order, header labels, alignment, number
format, and the planted features below) and the invoice's lines; ``ocrflow.demo.layout_pdf`` draws it as a
PDF with a real text layer (and, for scans, as page images). Every drawn figure follows from the truth:
``net = round(quantity x unit price / base quantity x (1 - discount %), 2)``, the subtotal is the sum of the
nets (BR-CO-10), document allowances and charges sit between the subtotal and the net total.

Planted features (``Layout.features``), each a property a general reader must handle:

- ``wrap``: descriptions that wrap onto a second (or third) visual line;
- ``unit_column`` / ``unit_in_qty``: the unit of measure in a column of its own, or printed after the quantity;
- ``discount``: a line discount column in percent (the net is after the discount);
- ``tax_rate``: a VAT-rate column; ``tax_amount``: a VAT-amount column with the line total printed **gross**;
- ``net_and_gross``: a net amount and a gross amount column;
- ``base_quantity``: the price is per 100 units (a "per" column);
- ``position`` / ``item_id``: a line-number column / an article-number column;
- ``qty_first``: the quantity column left of the description;
- ``multipage``: the table runs over two pages or more, ``repeat_header`` with its header repeated there;
- ``carry``: a carried-forward subtotal printed at the page break (not an item);
- ``two_line_header``: header labels broken over two lines;
- ``unknown_labels``: header labels outside the contract's label lists (the reader must place the columns
  from the figures' arithmetic);
- ``doc_charges``: a document-level allowance or charge between the subtotal and the net total;
- ``currency_in_cells``: the currency sign printed in every amount cell.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
LANGS = ("en", "de", "fr")

# Header labels per column key and language: (labels a reader's vocabulary may know, labels it may not).
LABELS: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "position": {"en": (("Pos", "No.", "#", "Line"), ("Ln",)), "de": (("Pos", "Pos.", "Nr."), ("Lfd.",)),
                 "fr": (("N°", "Pos", "Ligne"), ("Rang",))},
    "item_id": {"en": (("Item no", "SKU", "Part no"), ("Ref",)), "de": (("Art.-Nr.", "Artikelnr"), ("Kennung",)),
                "fr": (("Référence", "Réf."), ("Repère",))},
    "description": {"en": (("Description", "Item", "Product", "Service"), ("Details", "Particulars")),
                    "de": (("Bezeichnung", "Beschreibung", "Artikel", "Leistung"), ("Text", "Vorgang")),
                    "fr": (("Désignation", "Description", "Libellé", "Article"), ("Objet", "Intitulé"))},
    "quantity": {"en": (("Qty", "Quantity", "Units", "Qty."), ("Count", "Vol.")),
                 "de": (("Menge", "Anzahl", "Anz."), ("Umfang", "Bestellt")),
                 "fr": (("Qté", "Quantité"), ("Nbre", "Nombre"))},
    "unit": {"en": (("Unit", "UoM"), ("Measure",)), "de": (("Einheit", "ME"), ("Maß",)),
             "fr": (("Unité", "Unité"), ("Mesure",))},
    "unit_price": {"en": (("Unit price", "Price", "Rate", "Net price"), ("Each", "Unit cost")),
                   "de": (("Einzelpreis", "Preis", "E-Preis", "Nettopreis"), ("EP", "Stückkosten")),
                   "fr": (("Prix unitaire", "PU HT", "Prix"), ("P.U.", "Tarif"))},
    "base_quantity": {"en": (("Per",), ("Basis",)), "de": (("PE",), ("je",)),
                      "fr": (("Par",), ("Base prix",))},
    "discount": {"en": (("Discount %", "Disc. %"), ("Less %",)), "de": (("Rabatt %", "Rabatt"), ("Nachl. %",)),
                 "fr": (("Remise %", "Remise"), ("Rem. %",))},
    "tax_rate": {"en": (("VAT %", "Tax %", "VAT rate"), ("T/C",)), "de": (("MwSt. %", "USt %", "Steuersatz"), ("St.",)),
                 "fr": (("TVA %", "Taux TVA"), ("Tx",))},
    "tax_amount": {"en": (("VAT", "Tax"), ("Duty",)), "de": (("MwSt.", "USt.-Betrag"), ("Abgabe",)),
                   "fr": (("Montant TVA", "TVA"), ("Taxe",))},
    "net": {"en": (("Amount", "Total", "Line total", "Net amount"), ("Ext. price", "Extension")),
            "de": (("Betrag", "Gesamtpreis", "Gesamt", "Nettobetrag"), ("Wert", "Endpreis")),
            "fr": (("Montant HT", "Montant", "Total HT"), ("Valeur", "Coût"))},
    "gross": {"en": (("Gross", "Total incl. VAT"), ("Incl.",)), "de": (("Brutto", "Bruttobetrag"), ("inkl.",)),
              "fr": (("Montant TTC", "TTC"), ("Total TTC",))},
}
TWO_LINE = {"Unit price": ("Unit", "price"), "Net amount": ("Net", "amount"), "Line total": ("Line", "total"),
            "Einzelpreis": ("Einzel-", "preis"), "Gesamtpreis": ("Gesamt-", "preis"),
            "Nettobetrag": ("Netto-", "betrag"), "Prix unitaire": ("Prix", "unitaire"), "Montant HT": ("Montant", "HT"),
            "Taux TVA": ("Taux", "TVA")}

PRODUCTS = {
    "en": ("Consulting services", "Cloud hosting (monthly)", "Software licence", "Support plan", "Data migration",
           "Training workshop", "Laptop stand", "USB-C docking station", "Wireless keyboard", "27-inch monitor",
           "Network switch 24 ports", "Cat6 cable 5m", "Office chair", "Desk lamp LED", "Printer toner black",
           "A4 paper 500 sheets", "Whiteboard markers", "Webcam HD", "Headset with microphone", "External SSD 1TB",
           "Security audit", "Backup storage 1TB", "Hex bolts M8 x 40", "Cable ties 200 mm", "Project management"),
    "de": ("Beratungsleistung", "Wartungsvertrag Heizung", "Schrauben M6 x 30 verzinkt", "Kopierpapier A4 80 g",
           "Montage vor Ort", "Anfahrtspauschale", "Netzwerkkabel Cat6 5 m", "Bürostuhl ergonomisch",
           "Schreibtischlampe LED", "Toner schwarz", "Softwarelizenz Jahresabo", "Datensicherung 1 TB",
           "Schulung Grundlagen", "Dübel 8 mm", "Trennblätter A4", "Reinigung Büroräume", "Stundensatz Techniker",
           "Kabelbinder 200 mm", "Monitor 27 Zoll", "Tastatur kabellos", "Projektleitung", "Entsorgungspauschale"),
    "fr": ("Prestation de conseil", "Hébergement mensuel", "Licence logicielle", "Contrat de maintenance",
           "Formation initiale", "Câble réseau 5 m", "Chaise de bureau", "Lampe de bureau LED", "Toner noir",
           "Papier A4 500 feuilles", "Vis inox M6 x 30", "Déplacement technicien", "Nettoyage des locaux",
           "Écran 27 pouces", "Clavier sans fil", "Gestion de projet", "Sauvegarde 1 To", "Audit de sécurité"),
}
EXTRA_WORDS = {
    "en": ("including installation and configuration", "delivered to the main warehouse", "as per quote 2231",
           "for the period January to March", "with extended warranty"),
    "de": ("inklusive Installation und Einweisung", "Lieferung frei Haus an das Zentrallager", "laut Angebot 2231",
           "für den Zeitraum Januar bis März", "mit erweiterter Garantie"),
    "fr": ("y compris installation et paramétrage", "livré à l'entrepôt principal", "selon devis 2231",
           "pour la période de janvier à mars", "avec garantie étendue"),
}
UNITS = {"en": ("pcs", "h", "ea", "kg", "m"), "de": ("Stk", "Std", "kg", "m", "Pkt"),
         "fr": ("pce", "h", "kg", "m", "u")}
TAX_RATES = {"en": (Decimal(20), Decimal(5)), "de": (Decimal(19), Decimal(7)), "fr": (Decimal(20), Decimal(10))}
NUMBER_FORMATS = {"en": ("en", "plain"), "de": ("de", "de_plain"), "fr": ("fr", "de_plain")}
CURRENCY = {"en": ("GBP", "£"), "de": ("EUR", "€"), "fr": ("EUR", "€")}
FEATURES = ("wrap", "unit_column", "unit_in_qty", "discount", "tax_rate", "tax_amount", "net_and_gross",
            "base_quantity", "position", "item_id", "qty_first", "multipage", "repeat_header", "carry",
            "two_line_header", "unknown_labels", "doc_charges", "currency_in_cells")


@dataclass(frozen=True, slots=True)
class LayoutLine:
    """One line item as drawn and as it must be read (``net`` is BT-131, after the line discount)."""

    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    base_quantity: int
    discount: Decimal
    tax_rate: Decimal
    item_id: str

    @property
    def net(self) -> Decimal:
        gross = self.quantity * self.unit_price / self.base_quantity
        return (gross * (1 - self.discount / 100)).quantize(CENT, ROUND_HALF_UP)

    @property
    def tax(self) -> Decimal:
        return (self.net * self.tax_rate / 100).quantize(CENT, ROUND_HALF_UP)

    def gold(self) -> dict[str, float | str]:
        return {"description": self.description, "quantity": float(self.quantity),
                "unit_price": float(self.unit_price), "line_total": float(self.net)}


@dataclass(frozen=True, slots=True)
class Layout:
    """How the table is drawn: columns in order with their labels, and the planted features."""

    lang: str
    columns: tuple[str, ...]
    labels: dict[str, str]
    number_format: str
    align: str
    font: str
    font_size: float
    row_gap: float
    rows_per_page: int
    features: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class LayoutInvoice:
    number: str
    layout: Layout
    lines: tuple[LayoutLine, ...]
    allowance: Decimal
    charge: Decimal
    currency: str

    @property
    def subtotal(self) -> Decimal:
        return sum((ln.net for ln in self.lines), Decimal("0.00"))

    @property
    def net_total(self) -> Decimal:
        return self.subtotal - self.allowance + self.charge

    @property
    def tax(self) -> Decimal:
        return (self.net_total * self.lines[0].tax_rate / 100).quantize(CENT, ROUND_HALF_UP) if self.lines \
            else Decimal(0)

    @property
    def total(self) -> Decimal:
        return self.net_total + self.tax

    def gold_lines(self) -> list[dict[str, float | str]]:
        return [ln.gold() for ln in self.lines]


def fmt_number(value: Decimal, style: str, places: int = 2) -> str:
    """``value`` printed in one of the number conventions: en 1,234.56 / de 1.234,56 / fr 1 234,56 / plain."""
    text = f"{value:,.{places}f}"
    if style == "plain":
        return text.replace(",", "")
    if style == "de_plain":
        return text.replace(",", "").replace(".", ",")
    if style == "de":
        return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    if style == "fr":
        return text.replace(",", " ").replace(".", ",")
    return text


def _columns(rng: random.Random, feats: set[str]) -> tuple[str, ...]:
    numeric = ["quantity", "unit_price"]
    if rng.random() < 0.4:
        numeric.reverse()  # the price before the quantity (common in German layouts)
    if "unit_column" in feats:
        numeric.insert(numeric.index("quantity") + 1, "unit")
    if "base_quantity" in feats:
        numeric.insert(numeric.index("unit_price") + 1, "base_quantity")
    if "discount" in feats:
        numeric.append("discount")
    tail = ["net"]
    if "tax_amount" in feats:
        tail = ["tax_rate", "tax_amount", "gross"] if rng.random() < 0.5 else ["net", "tax_amount", "gross"]
        if "net" not in tail:
            feats.add("tax_rate")
    elif "net_and_gross" in feats:
        tail = ["net", "tax_rate", "gross"] if rng.random() < 0.5 else ["net", "gross"]
    elif "tax_rate" in feats:
        tail = ["tax_rate", "net"] if rng.random() < 0.5 else ["net", "tax_rate"]
    if "tax_rate" in tail:
        feats.add("tax_rate")
    lead = [c for c in ("position", "item_id") if c in feats]
    if "qty_first" in feats:
        numeric.remove("quantity")
        return (*lead, "quantity", "description", *numeric, *tail)
    return (*lead, "description", *numeric, *tail)


def _labels(rng: random.Random, lang: str, columns: tuple[str, ...], feats: set[str]) -> dict[str, str]:
    out = {}
    for col in columns:
        known, unknown = LABELS[col][lang]
        pool = unknown if "unknown_labels" in feats and col in ("net", "unit_price", "quantity") and \
            rng.random() < 0.6 else known
        out[col] = rng.choice(pool)
    return out


PAGE_FEATURES = frozenset({"multipage", "repeat_header", "carry"})


def random_layout(rng: random.Random, *, lang: str | None = None, n_lines: int | None = None,
                  require: frozenset[str] = frozenset()) -> Layout:
    """A random table layout; the features are drawn independently (a few of them at a time), those in
    ``require`` always planted (``multipage``, ``repeat_header`` and ``carry`` make the table longer than a
    page)."""
    lang = lang or rng.choice(LANGS)
    feats = {f for f, p in (("wrap", 0.4), ("discount", 0.2), ("tax_rate", 0.35), ("tax_amount", 0.12),
                            ("net_and_gross", 0.1), ("base_quantity", 0.08), ("position", 0.45), ("item_id", 0.25),
                            ("qty_first", 0.15), ("two_line_header", 0.2), ("unknown_labels", 0.25),
                            ("doc_charges", 0.25), ("currency_in_cells", 0.15)) if rng.random() < p}
    feats.add(rng.choice(("unit_column", "unit_in_qty", "none")))
    feats.discard("none")
    feats |= require - PAGE_FEATURES
    for a, b in (("tax_amount", "net_and_gross"), ("unit_column", "unit_in_qty")):
        if a in feats and b in feats:
            feats.discard(b if a in require or b not in require else a)
    rows = n_lines if n_lines is not None else (rng.randint(2, 8) if rng.random() < 0.75 else rng.randint(24, 45))
    font_size = rng.choice((8.0, 9.0, 10.0))
    per_page = rng.randint(16, 22) if "wrap" not in feats else rng.randint(12, 16)
    if require & PAGE_FEATURES:
        rows = max(rows, per_page + 4)
    if rows > per_page:
        feats.add("multipage")
        if rng.random() < 0.5 or "repeat_header" in require:
            feats.add("repeat_header")
        if rng.random() < 0.35 or "carry" in require:
            feats.add("carry")
    columns = _columns(rng, feats)
    return Layout(lang=lang, columns=columns, labels=_labels(rng, lang, columns, feats),
                  number_format=rng.choice(NUMBER_FORMATS[lang]),
                  align=rng.choice(("right", "right", "left", "center")),
                  font=rng.choice(("Helvetica", "Times-Roman", "Courier")), font_size=font_size,
                  row_gap=rng.choice((1.25, 1.5, 1.9)), rows_per_page=per_page, features=frozenset(feats))


def _line(rng: random.Random, layout: Layout, name: str, tax_rate: Decimal, no: int) -> LayoutLine:
    lang, feats = layout.lang, layout.features
    if "wrap" in feats and rng.random() < 0.6:
        name = f"{name} {rng.choice(EXTRA_WORDS[lang])}"
    hourly = rng.random() < 0.2
    qty = Decimal(rng.choice((1, 2, 3, 4, 5, 6, 8, 10, 12, 20, 25, 50, 100))) if not hourly else \
        Decimal(rng.choice(("0.5", "1.5", "2.25", "3.75", "7.5")))
    base = 100 if "base_quantity" in feats and rng.random() < 0.7 else 1
    if base == 100:
        qty = Decimal(rng.choice((200, 250, 500, 1000, 1500)))
    cents = rng.choice((rng.randint(50, 5000), rng.randint(5000, 250000)))
    discount = Decimal(rng.choice((0, 0, 5, 10, 15, 20, 2.5))) if "discount" in feats else Decimal(0)
    return LayoutLine(description=name, quantity=qty, unit=rng.choice(UNITS[lang]) if not hourly else UNITS[lang][1],
                      unit_price=Decimal(cents) / 100, base_quantity=base, discount=discount, tax_rate=tax_rate,
                      item_id=f"{rng.choice('ABKMSTX')}{rng.randint(1000, 99999)}")


def random_invoice(rng: random.Random, layout: Layout | None = None) -> LayoutInvoice:
    """A random invoice in a random (or the given) layout."""
    layout = layout or random_layout(rng)
    n = rng.randint(2, 8) if "multipage" not in layout.features else rng.randint(layout.rows_per_page + 4,
                                                                                 2 * layout.rows_per_page + 6)
    pool = PRODUCTS[layout.lang]
    names = rng.sample(pool, n) if n <= len(pool) else [f"{rng.choice(pool)} {i + 1}" for i in range(n)]
    tax_rate = rng.choice(TAX_RATES[layout.lang])
    lines = tuple(_line(rng, layout, name, tax_rate, i + 1) for i, name in enumerate(names))
    allowance = charge = Decimal(0)
    if "doc_charges" in layout.features:
        subtotal = sum((ln.net for ln in lines), Decimal(0))
        if rng.random() < 0.5:
            allowance = (subtotal * Decimal("0.03")).quantize(CENT, ROUND_HALF_UP)
        else:
            charge = Decimal(rng.choice(("4.90", "9.90", "15.00")))
    return LayoutInvoice(number=f"{rng.choice(('INV', 'RE', 'FA'))}-{rng.randint(10000, 99999)}", layout=layout,
                         lines=lines, allowance=allowance, charge=charge, currency=CURRENCY[layout.lang][0])
