"""Bundled demo documents with known ground truth, made by the project's own code.

``generate_demo(out_dir)`` writes a small, deterministic set of documents into ``out_dir/docs`` (a clean
inbox) that covers every path of the pipeline, plus ``out_dir/gold.jsonl`` in the format of the shared
sample gold (``{"path", "doc_type", "source": "demo", "fields"}``):

- two born-digital English invoices (one of them two pages long)          -> ``invoices``, ``invoice_pdf``
- a Factur-X invoice whose CII XML attachment is the exact answer          -> ``facturx``
- a born-digital Chinese VAT invoice (增值税发票) in reportlab's CID font   -> ``fapiao``
- three scanned-looking receipts (JPEG, PNG, two-page TIFF; 4 OCR pages)   -> ``receipts``, ``receipt_scan``
- an invoice whose totals do not add up, which validation must quarantine
  (marked ``"expect": "quarantined"`` in gold)                              -> ``invoices``

What was drawn: for every document, ``out_dir/truth/<file name>.json`` (beside the inbox, not in it) holds
per page the page size and each text line drawn with its box::

    {"file": "invoice_digital.pdf", "unit": "pt",
     "pages": [{"width": 595.27, "height": 841.89, "lines": [{"text": "INVOICE", "box": [x0, y0, x1, y1]}]}]}

``unit`` is ``pt`` (PDF points) for PDFs and ``px`` for raster receipts; boxes have their origin at the
page's top-left corner, y downwards (see ``ocrflow.demo.truth``; ``load_truth`` reads one back).

Run ``python -m ocrflow.demo OUT_DIR [--seed N]``.
"""

from ocrflow.demo.fapiao import make_fapiao, uscc
from ocrflow.demo.generate import DOCS_DIR, generate_demo, main
from ocrflow.demo.gold import GOLD_FILE, DemoDoc
from ocrflow.demo.invoices import make_invoices
from ocrflow.demo.receipt_scan import receipt_font_path
from ocrflow.demo.receipts import receipt_spec, save_receipt
from ocrflow.demo.truth import TRUTH_DIR, DocTruth, PageTruth, TextLine, load_truth

__all__ = [
    "DOCS_DIR", "GOLD_FILE", "TRUTH_DIR", "DemoDoc", "DocTruth", "PageTruth", "TextLine", "generate_demo",
    "load_truth", "main", "make_fapiao", "make_invoices", "receipt_font_path", "receipt_spec", "save_receipt",
    "uscc",
]
