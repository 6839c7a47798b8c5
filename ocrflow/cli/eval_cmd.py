"""``ocrflow eval``: score the pipeline on a gold.jsonl, write its HTML report, or compare two saved runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ocrflow.cli.common import app, console, err, fail, quiet_libraries


@app.command("eval")
def eval_cmd(
    gold: Annotated[Path | None, typer.Option(help="gold.jsonl; paths inside are relative to it")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object on stdout")] = False,
    no_einvoice: Annotated[bool, typer.Option("--no-einvoice", help="score without embedded XML")] = False,
    as_scans: Annotated[bool, typer.Option(
        "--as-scans", help="read every PDF page by OCR, its text layer ignored, as a scan of it would be read "
                           "(with --no-einvoice: invoices as scans)")] = False,
    contract: Annotated[str, typer.Option(help="'gold' uses each record's doc_type; 'auto' picks")] = "gold",
    engine: Annotated[str | None, typer.Option(help="auto | embedded | vllm")] = None,
    report: Annotated[Path | None, typer.Option("--report", metavar="DIR",
                                                help="also write a self-contained HTML report, DIR/index.html")]
    = None,
    split: Annotated[str, typer.Option(help="fit | check | all: which part of the gold file to run "
                                            "(docs/evaluation.md); 'all' also reports each part")] = "all",
    ocr_cache: Annotated[Path | None, typer.Option(
        "--ocr-cache", metavar="FILE.duckdb", envvar="OCRFLOW_EVAL_OCR_CACHE",
        help="keep every OCR/engine answer in this DuckDB file and reuse it on the next eval (developers)")]
    = None,
    simulate_review: Annotated[bool, typer.Option(
        "--simulate-review", help="also replay review on the gold's issuer series, in gold order, teaching issuer "
                                  "memory: the learning curve (docs/memory.md)")] = False,
    compare: Annotated[tuple[Path, Path] | None, typer.Option(
        "--compare", metavar="A.json B.json",
        help="show two saved `eval --json` outputs side by side (runs nothing)")] = None,
) -> None:
    """Run the pipeline on the files of a gold.jsonl and score it (rules: docs/evaluation.md).

    Prints accuracy by source and field, trust figures, reliability table and ECE, line items (--json: the same).
    """
    if compare is not None:
        _compare(compare, json_out)
        return
    if gold is None:
        raise fail("--gold is required (or --compare A.json B.json)")
    if not gold.is_file():
        raise fail(f"no gold file at {gold}")
    from ocrflow.eval.ocr_cache import OcrCacheError
    from ocrflow.eval.runner import run_eval
    from ocrflow.eval.split import SPLITS

    if as_scans and simulate_review:
        raise fail("--as-scans reads the scored run's pages as scans; --simulate-review replays receipts, which are "
                   "scans already: run them apart")
    if split not in SPLITS:
        raise fail(f"--split must be one of {', '.join(SPLITS)}, not {split!r}")
    quiet_libraries()
    try:
        result = run_eval(gold, use_embedded_xml=not no_einvoice, contract_mode=contract, engine=engine,
                          progress=None if json_out else err, split=split, ocr_cache=ocr_cache, as_scans=as_scans)
    except OcrCacheError as exc:
        raise fail(str(exc)) from None
    if simulate_review:
        _simulate(result, gold, split=split, engine=engine, ocr_cache=ocr_cache, use_embedded_xml=not no_einvoice,
                  quiet=json_out)
    if report is not None:
        _write_report(result, report, gold)
    if json_out:
        sys.stdout.write(json.dumps(result, default=str) + "\n")
        return
    from ocrflow.eval.report.text import print_eval

    print_eval(console, result)
    if "review_simulation" in result:
        from ocrflow.eval.report.learning import print_learning

        print_learning(console, result["review_simulation"])


def _simulate(result: dict[str, Any], gold: Path, *, split: str, engine: str | None, ocr_cache: Path | None,
              use_embedded_xml: bool, quiet: bool) -> None:
    """``result["review_simulation"]``: the learning curve (ocrflow.eval.simulate)."""
    from ocrflow.eval.runner import read_gold
    from ocrflow.eval.simulate import simulate_review

    result["review_simulation"] = simulate_review(
        gold, read_gold(gold), split=split, engine=engine, ocr_cache=ocr_cache, use_embedded_xml=use_embedded_xml,
        progress=None if quiet else (lambda line: err.print(line, highlight=False, markup=False)))


def _write_report(result: dict[str, Any], out_dir: Path, gold: Path) -> None:
    from ocrflow.core.settings import load_settings
    from ocrflow.eval.report.html import write_report

    settings = load_settings()
    path = write_report(result, out_dir, base=gold.parent, renderer=settings.renderer, dpi=settings.dpi)
    err.print(f"report: {path}", highlight=False, markup=False)


def _compare(paths: tuple[Path, Path], json_out: bool) -> None:
    from ocrflow.eval.report.compare import NotAnEvalReport, compare_files
    from ocrflow.eval.report.text import print_compare

    try:
        cmp = compare_files(*paths)
    except NotAnEvalReport as exc:
        raise fail(str(exc)) from None
    if json_out:
        sys.stdout.write(json.dumps(cmp, default=str) + "\n")
        return
    print_compare(console, cmp, (paths[0].name, paths[1].name))
