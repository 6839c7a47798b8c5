"""Standalone e-invoice XML files (no PDF): recognised by content, read straight to a row and lines.

:func:`sniff_einvoice_xml` tells UBL 2.1 Invoice/CreditNote and CII CrossIndustryInvoice from the first
bytes of a file (for discovery); :func:`read_xml_invoice` parses the whole file safely and dispatches
on the root element. An XML file that is neither is refused with a reason that names its root.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from ocrflow.pipeline.einvoice.model import CII_ROOTS, NS_RSM, UBL_ROOTS, EInvoiceError, EmbeddedInvoice
from ocrflow.pipeline.einvoice.read import parse_cii
from ocrflow.pipeline.einvoice.safe import parse_xml
from ocrflow.pipeline.einvoice.ubl import is_ubl, parse_ubl

MIME_EINVOICE_XML = "application/xml"
"""The MIME type discovery gives a standalone XML file (any XML; the processor tells e-invoices apart)."""

def sniff_einvoice_xml(head: bytes) -> str | None:
    """``application/xml`` for the first bytes of an XML file that is (or claims to be) an e-invoice:
    a UBL 2.1 or CII namespace, or a DTD (which the reader then refuses as unsafe, with that reason);
    None for any other XML (discovery names it "XML document that is not an e-invoice")."""
    if sniff_syntax(head) or b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        return MIME_EINVOICE_XML
    return None


def sniff_syntax(head: bytes) -> str | None:
    """``ubl`` or ``cii`` from the first bytes of an XML file (namespace URIs), None when neither."""
    if any(ns.encode() in head for ns in UBL_ROOTS):
        return "ubl"
    if NS_RSM.encode() in head or any(f":{r}".encode() in head or f"<{r}".encode() in head for r in CII_ROOTS):
        return "cii"
    return None


def read_xml_invoice(data: bytes, *, name: str = "invoice.xml") -> EmbeddedInvoice:
    """A standalone UBL or CII invoice; EInvoiceError (XmlUnsafeError for a DTD) naming what is wrong."""
    root = parse_xml(data, what=f"{name}")
    local = etree.QName(root).localname
    if is_ubl(root):
        return parse_ubl(root, name=name)
    if local in CII_ROOTS:
        return parse_cii(data, attachment_name=name)
    ns = etree.QName(root).namespace or "no namespace"
    raise EInvoiceError(f"{name}: XML root element {local!r} ({ns}) is neither a UBL 2.1 Invoice/CreditNote "
                        "nor a CII CrossIndustryInvoice: not an e-invoice")


def read_xml_invoice_file(path: str | Path) -> EmbeddedInvoice:
    p = Path(path)
    return read_xml_invoice(p.read_bytes(), name=p.name)
