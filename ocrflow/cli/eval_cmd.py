"""``ocrflow eval``: score the pipeline on a gold.jsonl."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ocrflow.cli.common import app, console, err, quiet_libraries


@app.command("eval")
def eval_cmd(
    gold: Annotated[Path, typer.Option(help="gold.jsonl; paths inside are relative to it")],
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object on stdout")] = False,
    no_einvoice: Annotated[bool, typer.Option("--no-einvoice", help="score without embedded XML")] = False,
    contract: Annotated[str, typer.Option(help="'gold' uses each record's doc_type; 'auto' picks")] = "gold",
    engine: Annotated[str | None, typer.Option(help="auto | embedded | vllm")] = None,
) -> None:
    """Run the pipeline on the files of a gold.jsonl and score field accuracy (see EVAL.md)."""
    from ocrflow.evalrun import run_eval

    quiet_libraries()
    report = run_eval(gold, use_embedded_xml=not no_einvoice, contract_mode=contract, engine=engine,
                      progress=None if json_out else err)
    if json_out:
        sys.stdout.write(json.dumps(report, default=str) + "\n")
        return
    _print_eval(report)


def _print_eval(report: dict[str, Any]) -> None:
    console.print(f"field accuracy: [bold]{report['field_accuracy']:.3f}[/bold] "
                  f"({report['correct']}/{report['labelled']}), soft {report.get('soft_field_accuracy', 0):.3f}")
    for title, key in (("by source", "by_source"), ("by field", "by_field")):
        t = Table(title=title)
        for col in ("name", "accuracy", "correct", "labelled"):
            t.add_column(col)
        for name, v in sorted(report[key].items()):
            t.add_row(name, f"{v['field_accuracy']:.3f}", str(v["correct"]), str(v["labelled"]))
        console.print(t)
