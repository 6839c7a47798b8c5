"""The demo set: every kind of document, ``gold.jsonl`` and the truth sidecars, and the command line."""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ocrflow.demo.fapiao import make_fapiao
from ocrflow.demo.gold import GOLD_FILE, DemoDoc, write_gold
from ocrflow.demo.invoices import make_invoices
from ocrflow.demo.receipts import make_receipts
from ocrflow.demo.truth import TRUTH_DIR, write_truth
from ocrflow.demo.ubl_invoice import make_ubl_invoice

DOCS_DIR = "docs"


def generate_demo(out_dir: Path, *, seed: int = 7) -> list[DemoDoc]:
    """Write the demo documents into ``out_dir/docs``, ``gold.jsonl`` into ``out_dir`` and what was drawn
    into ``out_dir/truth``; deterministic."""
    out_dir = Path(out_dir)
    doc_dir = out_dir / DOCS_DIR  # documents apart from gold.jsonl and truth/, so the folder is a clean inbox
    doc_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    made = [*make_invoices(doc_dir, rng), make_fapiao(doc_dir, rng), *make_receipts(doc_dir, rng, seed),
            make_ubl_invoice(doc_dir, seed)]
    docs = [replace(d, path=f"{DOCS_DIR}/{d.path}") for d in made]
    write_gold(out_dir / GOLD_FILE, docs)
    for doc in docs:
        if doc.truth is not None:
            write_truth(out_dir / TRUTH_DIR, doc.truth)
    return docs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ocrflow.demo",
                                     description="Generate the ocrflow demo documents and their gold.jsonl.")
    parser.add_argument("out_dir", type=Path, help="folder to write the documents and gold.jsonl into")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    docs = generate_demo(args.out_dir, seed=args.seed)
    for doc in docs:
        note = f"  (expect {doc.expect})" if doc.expect else ""
        print(f"{doc.doc_type:8} {doc.path}{note}")
    print(f"{len(docs)} documents and {GOLD_FILE} written to {args.out_dir}")
    return 0
