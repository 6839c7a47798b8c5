"""The Factur-X demo invoice: a visible invoice plus its CII XML attachment, which is the exact answer."""

from __future__ import annotations

import re
from pathlib import Path

from ocrflow.demo.invoice_pdf import render_invoice_pdf
from ocrflow.demo.invoice_spec import InvoiceSpec
from ocrflow.demo.truth import DocTruth

_TRAILER_ID = re.compile(rb"/ID\s*\[\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*\]")


def render_facturx_pdf(spec: InvoiceSpec, path: Path) -> DocTruth:
    """A visible invoice plus its CII XML embedded as ``factur-x.xml``; returns what was drawn."""
    from ocrflow.pipeline.einvoice import attach_xml, build_cii_xml

    truth = render_invoice_pdf(spec, path, date_style="dmy")
    lines = [{"name": it.description, "quantity": it.quantity, "unit_price": it.unit_price,
              "amount": it.amount} for it in spec.items]
    xml = build_cii_xml(spec.fields(), lines=lines, tax_rate_percent=float(spec.tax_rate * 100))
    attach_xml(path, xml, name="factur-x.xml", created=spec.issued)
    stabilise_trailer_id(path)
    return truth


def stabilise_trailer_id(path: Path) -> None:
    """pdfium writes a random second /ID on save; make it equal the first so output is reproducible."""
    data = path.read_bytes()
    matches = list(_TRAILER_ID.finditer(data))
    if not matches:
        return
    last = matches[-1]
    first_id, second_id = last.group(1), last.group(2)
    if len(first_id) != len(second_id):
        return
    start, end = last.span(2)
    path.write_bytes(data[:start] + first_id + data[end:])
