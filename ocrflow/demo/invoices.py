"""The English demo invoices: digital, two pages long, Factur-X, and one whose totals do not add up."""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from ocrflow.demo.facturx import render_facturx_pdf
from ocrflow.demo.gold import DemoDoc
from ocrflow.demo.invoice_pdf import render_invoice_pdf
from ocrflow.demo.invoice_spec import english_invoice


def make_invoices(out_dir: Path, rng: random.Random) -> list[DemoDoc]:
    """Write the four invoices into ``out_dir``, drawing from ``rng`` in a fixed order."""
    return [_digital(out_dir, rng), _two_pages(out_dir, rng), _facturx(out_dir, rng), _bad_totals(out_dir, rng)]


def _digital(out_dir: Path, rng: random.Random) -> DemoDoc:
    spec = english_invoice(rng, n_items=4, currency="GBP", country="GB", seller="Brightline Studio Ltd",
                           buyer="Harbour & Finch LLP", prefix="INV")
    truth = render_invoice_pdf(spec, out_dir / "invoice_digital.pdf", date_style="dmy")
    return DemoDoc("invoice_digital.pdf", "invoice", spec.fields(), truth=truth)


def _two_pages(out_dir: Path, rng: random.Random) -> DemoDoc:
    spec = english_invoice(rng, n_items=36, currency="USD", country="GB", seller="Northwind Supplies Ltd",
                           buyer="Contoso Retail Group", prefix="NW")
    truth = render_invoice_pdf(spec, out_dir / "invoice_two_pages.pdf")
    if len(truth.pages) != 2:
        raise RuntimeError(f"invoice_two_pages.pdf came out with {len(truth.pages)} pages, expected 2")
    return DemoDoc("invoice_two_pages.pdf", "invoice", spec.fields(), truth=truth)


def _facturx(out_dir: Path, rng: random.Random) -> DemoDoc:
    spec = english_invoice(rng, n_items=3, currency="EUR", country="DE", seller="Muster Lieferant GmbH",
                           buyer="Kunden AG Mitte", prefix="RE")
    truth = render_facturx_pdf(spec, out_dir / "invoice_facturx.pdf")
    return DemoDoc("invoice_facturx.pdf", "invoice", spec.fields(), truth=truth)


def _bad_totals(out_dir: Path, rng: random.Random) -> DemoDoc:
    """Validation must quarantine this one: the printed total is 25.00 more than subtotal plus tax."""
    spec = english_invoice(rng, n_items=3, currency="GBP", country="GB", seller="Quickfix Repairs Ltd",
                           buyer="Harbour & Finch LLP", prefix="QF")
    spec = replace(spec, total_override=spec.subtotal + spec.tax + Decimal("25.00"))
    truth = render_invoice_pdf(spec, out_dir / "invoice_bad_totals.pdf")
    return DemoDoc("invoice_bad_totals.pdf", "invoice", spec.fields(), expect="quarantined", truth=truth)
