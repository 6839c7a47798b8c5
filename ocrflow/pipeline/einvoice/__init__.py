"""Structured e-invoices: UBL 2.1 and UN/CEFACT CII, standalone or embedded in PDFs (ZUGFeRD /
Factur-X / XRechnung).

``read``: the embedded attachment of a PDF -> the invoice contract's raw fields and lines (CII);
``ubl``: UBL 2.1 Invoice/CreditNote; ``standalone``: an XML file by content (syntax, profile);
``safe``: hardened parsing (DTDs refused); ``write``/``write_ubl``: canonical fields -> CII / UBL XML,
and XML -> a PDF attachment (demo and tests).
"""

from ocrflow.pipeline.einvoice.model import EInvoiceError, EmbeddedInvoice, XmlUnsafeError
from ocrflow.pipeline.einvoice.read import (
    KNOWN_ATTACHMENT_NAMES,
    find_invoice_attachment,
    parse_cii,
    profile_name,
    read_embedded_invoice,
)
from ocrflow.pipeline.einvoice.standalone import read_xml_invoice, sniff_einvoice_xml, sniff_syntax
from ocrflow.pipeline.einvoice.write import attach_xml, build_cii_xml
from ocrflow.pipeline.einvoice.write_ubl import build_ubl_xml

__all__ = [
    "KNOWN_ATTACHMENT_NAMES",
    "EInvoiceError",
    "EmbeddedInvoice",
    "XmlUnsafeError",
    "attach_xml",
    "build_cii_xml",
    "build_ubl_xml",
    "find_invoice_attachment",
    "parse_cii",
    "profile_name",
    "read_embedded_invoice",
    "read_xml_invoice",
    "sniff_einvoice_xml",
    "sniff_syntax",
]
