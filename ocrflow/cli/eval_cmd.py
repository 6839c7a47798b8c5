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
    contract: Annotated[str, typer.Option(help="'gold' uses each record's doc_type; 'auto' picks")] = "gold",
    engine: Annotated[str | None, typer.Option(help="auto | embedded | vllm")] = None,
    report: Annotated[Path | None, typer.Option("--report", metavar="DIR",
                                                help="also write a self-contained HTML report, DIR/index.html")]
    = None,
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
    from ocrflow.eval.runner import run_eval

    quiet_libraries()
    result = run_eval(gold, use_embedded_xml=not no_einvoice, contract_mode=contract, engine=engine,
                      progress=None if json_out else err)
    if report is not None:
        _write_report(result, report, gold)
    if json_out:
        sys.stdout.write(json.dumps(result, default=str) + "\n")
        return
    from ocrflow.eval.report.text import print_eval

    print_eval(console, result)


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
