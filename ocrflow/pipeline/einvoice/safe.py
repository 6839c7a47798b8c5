"""Safe XML parsing for e-invoices: no DTDs, no entities, no network, bounded size.

An e-invoice (UBL 2.1 or CII) never needs a DOCTYPE. A document that declares one is refused outright
(:class:`XmlUnsafeError`), whatever its entities would do: that covers entity expansion ("billion
laughs") and external entities (local files, URLs). lxml parses with a hardened parser (no entity
resolution, no DTD loading, no network) so even the refusal reads nothing outside the bytes given.
"""

from __future__ import annotations

from lxml import etree

from ocrflow.pipeline.einvoice.model import EInvoiceError, XmlUnsafeError

MAX_XML_BYTES = 20 * 1024 * 1024
"""XML larger than this is refused rather than parsed."""


def safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True)


def parse_xml(data: bytes, *, what: str = "e-invoice XML") -> etree._Element:
    """The root element of ``data``; EInvoiceError when it is not well-formed, XmlUnsafeError for a DTD."""
    if len(data) > MAX_XML_BYTES:
        raise EInvoiceError(f"{what} is {len(data)} bytes, more than the {MAX_XML_BYTES} allowed")
    if not data.strip():
        raise EInvoiceError(f"{what} is empty")
    try:
        root = etree.fromstring(data, parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        if b"<!DOCTYPE" in data[:65536] or b"<!ENTITY" in data[:65536]:
            raise XmlUnsafeError(f"{what} declares a DTD/entities (refused: e-invoices have none; "
                                 "possible entity-expansion or external-entity attack)") from exc
        raise EInvoiceError(f"{what} is not well-formed XML: {exc}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.system_url:
        raise XmlUnsafeError(f"{what} declares a DTD (DOCTYPE {docinfo.root_name or ''}) with "
                             "entities or an external subset: refused (e-invoices have none; possible "
                             "entity-expansion or external-entity attack)")
    return root
