"""Structured e-invoices embedded in PDFs: ZUGFeRD / Factur-X / XRechnung (CII).

``read``: the embedded attachment of a PDF -> the invoice contract's raw fields (offline, entity-free
XML parsing); ``write``: canonical fields -> CII XML, and XML -> a PDF attachment (demo and tests).
"""

from ocrflow.einvoice.model import EInvoiceError, EmbeddedInvoice
from ocrflow.einvoice.read import (
    KNOWN_ATTACHMENT_NAMES,
    find_invoice_attachment,
    parse_cii,
    profile_name,
    read_embedded_invoice,
)
from ocrflow.einvoice.write import attach_xml, build_cii_xml

__all__ = [
    "KNOWN_ATTACHMENT_NAMES",
    "EInvoiceError",
    "EmbeddedInvoice",
    "attach_xml",
    "build_cii_xml",
    "find_invoice_attachment",
    "parse_cii",
    "profile_name",
    "read_embedded_invoice",
]
