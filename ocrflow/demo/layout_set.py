"""A set of invoices in random table layouts (``ocrflow.demo.layouts``) with a ``gold.jsonl`` holding their
line items, for ``ocrflow eval --gold DIR/gold.jsonl --no-einvoice`` and the generated-layout tests.

    python -m ocrflow.demo.layout_set OUT_DIR --count 40 --seed 1

Each record has ``fields`` (number, totals), ``lines`` (description, quantity, unit_price, line_total: the
samples' line gold) and ``features`` (the planted layout features, evaluation only). ``scan_pages`` renders
a PDF's pages as images (a scan of the same invoice) for the OCR route.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ocrflow.demo.layout_pdf import render_layout_pdf
from ocrflow.demo.layouts import LayoutInvoice, random_invoice, random_layout

if TYPE_CHECKING:
    from PIL import Image


@dataclass(frozen=True, slots=True)
class LayoutDoc:
    path: Path
    invoice: LayoutInvoice
    features: frozenset[str]

    def gold_record(self, root: Path) -> dict[str, Any]:
        inv = self.invoice
        fields: dict[str, Any] = {"invoice_number": inv.number, "currency": inv.currency,
                                  "subtotal_amount": float(inv.net_total), "tax_amount": float(inv.tax),
                                  "total_amount": float(inv.total)}
        if inv.allowance:
            fields["allowance_total_amount"] = float(inv.allowance)
        if inv.charge:
            fields["charge_total_amount"] = float(inv.charge)
        return {"path": str(self.path.relative_to(root)), "doc_type": "invoice", "source": "layouts",
                "fields": fields, "lines": inv.gold_lines(), "features": sorted(self.features)}


def make_layout_doc(out_dir: Path, seed: int, require: frozenset[str] = frozenset()) -> LayoutDoc:
    """One invoice in a layout drawn from ``seed`` (with the ``require``d features planted), written as
    ``out_dir/layout_<seed>.pdf``."""
    rng = random.Random(seed)
    inv = random_invoice(rng, random_layout(rng, require=require)) if require else random_invoice(rng)
    path = out_dir / f"layout_{seed}.pdf"
    _, table_pages = render_layout_pdf(inv, path)
    feats = set(inv.layout.features) - {"multipage", "repeat_header", "carry"}
    if table_pages > 1:
        feats |= {"multipage"} | (inv.layout.features & {"repeat_header", "carry"})
    return LayoutDoc(path, inv, frozenset(feats))


def make_layout_set(out_dir: Path, seeds: Sequence[int]) -> list[LayoutDoc]:
    """One invoice per seed in ``out_dir`` and their ``gold.jsonl``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    docs = [make_layout_doc(out_dir, seed) for seed in seeds]
    with (out_dir / "gold.jsonl").open("w", encoding="utf-8") as fh:
        for doc in docs:
            fh.write(json.dumps(doc.gold_record(out_dir), ensure_ascii=False) + "\n")
    return docs


def scan_pages(pdf: Path, *, dpi: int = 150, seed: int = 0) -> list[Image.Image]:
    """The PDF's pages as grey scans at ``dpi`` with a little noise (the OCR route's input)."""
    import numpy as np
    import pypdfium2 as pdfium
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = []
    doc = pdfium.PdfDocument(str(pdf))
    try:
        for page in doc:
            img = page.render(scale=dpi / 72).to_pil().convert("L")
            arr = np.asarray(img, dtype=np.int16) + rng.normal(0, 6, (img.height, img.width)).astype(np.int16)
            out.append(Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).convert("RGB"))
    finally:
        doc.close()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ocrflow.demo.layout_set",
                                     description="Invoices in random table layouts and their gold.jsonl.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1, help="first seed; the documents use seed, seed+1, ...")
    args = parser.parse_args(argv)
    docs = make_layout_set(args.out_dir, range(args.seed, args.seed + args.count))
    print(f"{len(docs)} invoices and gold.jsonl written to {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
