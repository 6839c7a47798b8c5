"""A standalone UBL 2.1 e-invoice for the demo inbox (no PDF: read straight to a row and its lines).

Drawn from its own random stream (``seed`` + an offset), so adding it leaves every other demo document
as it was."""

from __future__ import annotations

import random
from pathlib import Path

from ocrflow.demo.gold import DemoDoc
from ocrflow.demo.invoice_spec import english_invoice

UBL_FILE = "invoice_ubl.xml"
SEED_OFFSET = 1201


def make_ubl_invoice(out_dir: Path, seed: int) -> DemoDoc:
    from ocrflow.pipeline.einvoice import build_ubl_xml

    rng = random.Random(seed + SEED_OFFSET)
    spec = english_invoice(rng, n_items=6, currency="EUR", country="DE", seller="Nordlicht Bürobedarf GmbH",
                           buyer="Kunden AG Mitte", prefix="UBL")
    lines = [{"name": it.description, "quantity": it.quantity, "unit_price": it.unit_price, "amount": it.amount}
             for it in spec.items]
    xml = build_ubl_xml(spec.fields(), lines=lines, tax_rate_percent=float(spec.tax_rate * 100))
    (out_dir / UBL_FILE).write_bytes(xml)
    return DemoDoc(UBL_FILE, "invoice", spec.fields())
