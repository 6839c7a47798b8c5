"""PDFium is not thread-safe: every pypdfium2 call in ocrflow runs under this one process-wide lock.

Two task threads rendering PDFs at once crashed the flow process (SIGSEGV in get_page). The lock
is held only around pdfium calls, never while a page waits for OCR, so threads still overlap.
"""

from __future__ import annotations

import threading

PDFIUM_LOCK = threading.RLock()
