"""Structured e-invoices embedded in PDFs: ZUGFeRD / Factur-X / XRechnung (CII).

A hybrid e-invoice is a PDF/A-3 whose visible pages are for people and whose
attachment (``factur-x.xml``, ``zugferd-invoice.xml``, ``xrechnung.xml``) is a
UN/CEFACT Cross Industry Invoice for machines. This module holds what reading
(:mod:`ocrflow.einvoice.read`) and writing (:mod:`ocrflow.einvoice.write`) share: the CII
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

class EInvoiceError(ValueError):
    """An e-invoice attachment is present but cannot be read as CII XML."""


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
