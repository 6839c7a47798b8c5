"""Structured e-invoices embedded in PDFs: ZUGFeRD / Factur-X / XRechnung (CII).

A hybrid e-invoice is a PDF/A-3 whose visible pages are for people and whose
attachment (``factur-x.xml``, ``zugferd-invoice.xml``, ``xrechnung.xml``) is a
UN/CEFACT Cross Industry Invoice for machines. This module holds what reading
(:mod:`ocrflow.pipeline.einvoice.read`) and writing (:mod:`ocrflow.pipeline.einvoice.write`) share: the CII
namespaces, the error and the result type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CII_ROOTS = ("CrossIndustryInvoice", "CrossIndustryDocument")
"""Root element local names: CII D16B (ZUGFeRD 2.x, Factur-X, XRechnung CII) and ZUGFeRD 1.0."""

NS_RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
NS_RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
NS_UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
NS_QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"

PROFILE_EN16931 = "urn:cen.eu:en16931:2017"

NS_UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
UBL_ROOTS = {NS_UBL_INVOICE: "Invoice", NS_UBL_CREDIT_NOTE: "CreditNote"}
"""UBL 2.1 root namespaces and their root element local names."""
SYNTAX_UBL = "ubl"
SYNTAX_CII = "cii"


class EInvoiceError(ValueError):
    """An e-invoice is present but cannot be read as UBL or CII XML."""


class XmlUnsafeError(EInvoiceError):
    """The XML declares a DTD / entities (expansion bombs, external entities): refused unread."""


@dataclass(frozen=True, slots=True)
class EmbeddedInvoice:
    """Canonical raw invoice fields read from an embedded e-invoice.

    ``fields`` holds strings only (amounts as written in the XML, dates as ISO
    ``YYYY-MM-DD``); fields absent from the XML are absent from the dict.
    ``source`` names the attachment and profile, e.g. ``factur-x.xml [EN16931]``.
    """

    fields: dict[str, Any]
    source: str
    profile: str = ""
    lines: tuple[dict[str, Any], ...] = ()
    """Raw line items (strings, contract line names; ``line_no`` 1..n in document order). Extra keys
    that are not contract columns: ``line_id`` (the XML's own id), ``price_base_quantity``,
    ``allowance_amount`` and ``charge_amount`` (line-level, already inside ``line_net_amount``)."""
    syntax: str = SYNTAX_CII
    """``cii`` or ``ubl``."""
