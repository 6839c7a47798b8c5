"""Which line items a document read through the vLLM engine keeps (docs/line_items.md, "The vLLM route").

Three readings, tried in this order; the contract's own line checks (``ocrflow.validate.lines``: each
line's required columns and quantity x price = net, and the sum of the lines against the net total,
BR-CO-10) decide between them:

1. the ``line_items`` array of the structured-output extraction answer (method ``vlm:line_items``),
   when it is a list of objects with content and the answer broke no schema rule under ``line_items``;
   kept at once when it passes the line checks;
2. otherwise, when the model did give lines (a non-empty array that is unusable or fails the checks)
   or gave an empty array while a page that went through the engine shows a line-table header among
   its spotted lines, the HTML
   (or markdown) tables of the parse prompt's answer for every such page (method ``vlm:html_table``,
   ``ocrflow.pipeline.extract.html_tables``); kept when the JSON array was unusable, or when these lines pass
   the checks and the JSON lines did not;
3. else the JSON lines when usable (the checks then quarantine the document with the reason), else the
   table found on the spotted page lines (method ``table``, ``ocrflow.pipeline.extract.tables``).

The parse prompt is sent only when the first reading is missing or fails the checks and there is a sign of
a line table: one request per engine page, and only for those documents (a receipt without an item table
costs no extra request). An answer without the ``line_items`` key at all (a server or profile that did not
apply the schema) goes straight to the table on the spotted lines.

The choice is made in the row assembly (``ocrflow.pipeline.row``), once the header is coerced, through
``VlmLineChoice``; the parse prompt goes out through the ``PageParser`` handed down with it (the pipeline's
``ocrflow.pipeline.pages.PageReader``), never back through the processor.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ocrflow.contracts import Contract
from ocrflow.core.models import DocumentRef, DocumentText, PagePath, RowOutcome
from ocrflow.pipeline.extract.html_tables import html_table_lines
from ocrflow.pipeline.extract.lines import coerce_lines
from ocrflow.pipeline.extract.tables import amount_column, find_header, rows_of, table_lines
from ocrflow.validate.lines import line_failures

METHOD_JSON = "vlm:line_items"
METHOD_HTML = "vlm:html_table"
METHOD_TABLE = "table"
SCHEMA_FLAG = "schema_violation:line_items"
"""How the vLLM engine flags a schema error under the array (``ocrflow.engines.vllm.request.FLAG_SCHEMA``
followed by the JSON path)."""


class PageParser(Protocol):
    """Sends the parse prompt for some pages of a document (``ocrflow.pipeline.pages.PageReader``)."""

    def parse(self, doc: DocumentRef, page_numbers: Collection[int], language: str) -> list[tuple[int, str]]:
        """(page_no, reply) in page order; a page whose request failed terminally is left out."""
        ...


def usable_json_lines(value: Any, flags: Sequence[str]) -> list[dict[str, Any]] | None:
    """The extraction answer's line array when it can be used: a list of objects, one with content at
    least, and no schema violation under ``line_items``; None otherwise."""
    if not isinstance(value, list) or any(f.startswith(SCHEMA_FLAG) for f in flags):
        return None
    items = [dict(item) for item in value if isinstance(item, Mapping)
             and any(item.get(k) not in (None, "") for k in ("description", "line_net_amount", "amount"))]
    return items or None


def pass_line_checks(raw_lines: list[dict[str, Any]], text: DocumentText, contract: Contract,
                     values: Mapping[str, Any], *, day_first: bool) -> bool:
    """Whether these lines would pass the contract's line checks against the header ``values``."""
    lines, failures = coerce_lines(contract, raw_lines, day_first=day_first)
    if failures or not lines:
        return False
    outcome = RowOutcome(doc=text.doc, contract=contract.name, contract_version=contract.version,
                         values=dict(values), raw={}, lineage={}, lines=lines)
    return not line_failures(contract, outcome)


def shows_line_table(text: DocumentText, contract: Contract) -> bool:
    """Whether a page that went through the engine shows a line-table header among its spotted lines."""
    amount = amount_column(contract)
    return any(find_header(rows_of(page.lines), contract, amount) is not None
               for page in text.pages if page.path == PagePath.OCR)


def _tagged(lines: list[dict[str, Any]], method: str) -> list[dict[str, Any]]:
    return [{**line, "method": method} for line in lines]


def page_table_lines(text: DocumentText, contract: Contract, values: Mapping[str, Any] | None = None
                     ) -> list[dict[str, Any]]:
    """The raw lines of the item table found on the document's page lines (method ``table``): the reading
    of every route that has no XML or model lines (embedded engine, reprocess of rule-only rows).
    ``values``: the coerced header, whose net total helps the reader choose the columns (BR-CO-10)."""
    return _tagged(table_lines(text, contract, values), METHOD_TABLE)


def engine_pages(text: DocumentText) -> list[int]:
    """The numbers of the pages that went through the engine (no text layer)."""
    return [p.page_no for p in text.pages if p.path == PagePath.OCR]


def vlm_route_lines(text: DocumentText, contract: Contract, values: Mapping[str, Any], json_value: Any,
                    flags: Sequence[str], pages: PageParser, *, language: str,
                    day_first: bool) -> list[dict[str, Any]]:
    """The raw lines of a document whose fields came from the vLLM extraction (see the module doc);
    ``pages`` sends the parse prompt when the JSON lines are missing or fail the checks."""
    json_lines = usable_json_lines(json_value, flags)
    if json_lines and pass_line_checks(json_lines, text, contract, values, day_first=day_first):
        return _tagged(json_lines, METHOD_JSON)
    if isinstance(json_value, list) and (json_value or shows_line_table(text, contract)):
        html_lines = html_table_lines(pages.parse(text.doc, engine_pages(text), language), contract)
        if html_lines and (json_lines is None or pass_line_checks(html_lines, text, contract, values,
                                                                  day_first=day_first)):
            return _tagged(html_lines, METHOD_HTML)
    if json_lines:
        return _tagged(json_lines, METHOD_JSON)
    return page_table_lines(text, contract, values)


@dataclass(frozen=True, slots=True)
class VlmLineChoice:
    """The vLLM route's line choice, made by the row assembly once the header is coerced
    (``ocrflow.pipeline.row.LinePick``): the checks compare the lines with the header's totals."""

    text: DocumentText
    contract: Contract
    json_value: Any
    flags: Sequence[str]
    pages: PageParser
    language: str
    day_first: bool

    def __call__(self, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        return vlm_route_lines(self.text, self.contract, values, self.json_value, self.flags, self.pages,
                               language=self.language, day_first=self.day_first)
