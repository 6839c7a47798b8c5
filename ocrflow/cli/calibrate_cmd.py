"""``ocrflow calibrate``: fit the confidence (priors, weights) and the gate's thresholds on the fit part."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ocrflow.cli.common import app, console, err, fail, quiet_libraries


@app.command("calibrate")
def calibrate_cmd(
    gold: Annotated[Path | None, typer.Option(help="gold.jsonl; its fit part is run and fitted on")] = None,
    split: Annotated[str, typer.Option(help="the part to fit on; only 'fit' (docs/evaluation.md)")] = "fit",
    from_json: Annotated[Path | None, typer.Option(
        "--from-json", metavar="EVAL.json", help="fit on a saved `ocrflow eval --json` output instead of "
                                                 "running (its fit-part documents only)")] = None,
    out: Annotated[Path | None, typer.Option(help="where to write the calibration (default: the file the "
                                                  "package ships)")] = None,
    pages_json: Annotated[Path | None, typer.Option(
        "--pages-json", metavar="NOXML.json", help="a saved `ocrflow eval --no-einvoice --json`: the page "
                                                   "readings of the e-invoices join the fit (how invoice fields "
                                                   "read from pages fare)")] = None,
    write_contracts: Annotated[Path | None, typer.Option(
        "--write-contracts", metavar="DIR", help="also set the chosen thresholds as ocrflowMinConfidenceFitted "
                                                 "(for the engines the gate saw) in the contract files of DIR")]
    = None,
    only: Annotated[list[str] | None, typer.Option(
        "--only", metavar="CONTRACT", help="with --write-contracts: write this contract's thresholds only "
                                           "(repeatable; default: every contract the gate chose for)")] = None,
    contract: Annotated[str, typer.Option(help="'gold' uses each record's doc_type; 'auto' picks")] = "gold",
    ocr_cache: Annotated[Path | None, typer.Option(
        "--ocr-cache", metavar="FILE.duckdb", envvar="OCRFLOW_EVAL_OCR_CACHE",
        help="reuse engine answers kept by `ocrflow eval --ocr-cache`")] = None,
    pool: Annotated[str, typer.Option(help="all: one bound over every labelled value that would load (XML "
                                           "included); gated: page-read values only; contract: one per contract")]
    = "all",
    lift: Annotated[bool, typer.Option("--lift", help="write nothing; print each signal's lift: fit with and "
                                                      "without it, figures on both parts (needs --from-json "
                                                      "of an eval with --split all)")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="--lift as one JSON object")] = False,
) -> None:
    """Fit method priors, the confidence model and the gate's thresholds on the FIT part of a gold file.

    Writes the calibration (with the sample counts behind every number) and prints the gate per contract.
    """
    if split != "fit":
        raise fail(f"calibrate fits on the fit part only (--split fit), not {split!r}: the check part is "
                   "what the calibration is measured on")
    if pool not in ("all", "gated", "contract"):
        raise fail(f"--pool must be all, gated or contract, not {pool!r}")
    report = _report(gold, from_json, contract, ocr_cache)
    if lift:
        _print_lift(report, json_out, pages_json)
        return
    from ocrflow.eval.calibrate import fit_calibration
    from ocrflow.eval.split import part_of
    from ocrflow.pipeline.evidence.calibration import CALIBRATION_FILE

    fit_docs = [d for d in report.get("documents") or [] if part_of(str(d.get("path"))) == "fit"]
    if not fit_docs:
        raise fail("no document of the fit part to fit on")
    pages = [d for d in (_report(None, pages_json, contract, None).get("documents") or [] if pages_json else [])
             if part_of(str(d.get("path"))) == "fit"]
    calibration = fit_calibration({**report, "documents": fit_docs, "split": "fit"}, pool=pool, pages=pages)
    from ocrflow.eval.crossfit import cross_fitted

    calibration["gate_rule"]["cross_fitted"] = cross_fitted({**report, "documents": fit_docs}, pool=pool, pages=pages)
    target = out or CALIBRATION_FILE
    target.write_text(json.dumps(calibration, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    err.print(f"calibration: {target}", highlight=False, markup=False)
    if write_contracts is not None:
        _write_contracts(write_contracts, calibration, only or [])
    _print_gate(calibration)


def _report(gold: Path | None, from_json: Path | None, contract: str, ocr_cache: Path | None) -> dict[str, Any]:
    if from_json is not None:
        try:
            data: dict[str, Any] = json.loads(from_json.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise fail(f"{from_json}: not a saved `ocrflow eval --json` output ({exc})") from None
        if not isinstance(data.get("documents"), list):
            raise fail(f"{from_json}: not a saved `ocrflow eval --json` output (no documents)")
        return data
    if gold is None or not gold.is_file():
        raise fail("--gold FILE (an existing gold.jsonl) or --from-json EVAL.json is required")
    from ocrflow.eval.ocr_cache import OcrCacheError
    from ocrflow.eval.runner import run_eval

    quiet_libraries()
    try:
        return run_eval(gold, contract_mode=contract, split="fit", ocr_cache=ocr_cache, progress=err)
    except OcrCacheError as exc:
        raise fail(str(exc)) from None


def _write_contracts(directory: Path, calibration: dict[str, Any], only: list[str]) -> None:
    """Each contract's fitted minimums (``ocrflowMinConfidenceFitted``), for the engines the gate saw."""
    from ocrflow.contracts.policy import set_fitted_min_confidence

    chosen = calibration.get("gate") or {}
    unknown = sorted(set(only) - set(chosen))
    if unknown:
        raise fail(f"--only names contracts the gate did not choose thresholds for: {', '.join(unknown)}")
    for name, gate in sorted(chosen.items()):
        if only and name not in only:
            continue
        path = next((p for p in (directory / f"{name}.yaml", directory / f"{name}.yml") if p.is_file()), None)
        if path is None:
            err.print(f"no contract file for {name} in {directory}: its thresholds are not written",
                      highlight=False, markup=False)
            continue
        try:
            text = set_fitted_min_confidence(path.read_text(encoding="utf-8"), dict(gate.get("thresholds") or {}),
                                             list(gate.get("engines") or []))
        except KeyError as exc:
            raise fail(f"{path}: {exc.args[0]}") from None
        except ValueError as exc:
            raise fail(f"{path}: {exc} (re-run `ocrflow calibrate` with this version)") from None
        path.write_text(text, encoding="utf-8")
        err.print(f"thresholds written: {path}", highlight=False, markup=False)


def _print_gate(calibration: dict[str, Any]) -> None:
    from rich.table import Table

    rule = calibration.get("gate_rule") or {}
    t = Table(title=f"gate chosen on the fit part (one-sided {rule.get('level', 0.9):.0%} Clopper-Pearson bound, "
                    f"pooled {rule.get('pooled', '')})")
    for col in ("contract", "thresholds", "pool: loaded docs", "wrong / labelled", "bound",
                "reviewed (too few examples)"):
        t.add_column(col)
    for name, g in sorted((calibration.get("gate") or {}).items()):
        shown = ", ".join(f"{f} {v:.3f}" for f, v in sorted(g["thresholds"].items()) if v < 1.0) or "-"
        t.add_row(name, shown, f"{g['pool']}: {g['loaded']}/{g['documents']}", f"{g['wrong']}/{g['labelled']}",
                  f"{g['bound']:.4f}", ", ".join(g.get("reviewed") or []) or "-")
    console.print(t)
    cf = rule.get("cross_fitted")
    if cf:
        console.print(f"cross-fitted on the fit part ({cf['folds']} folds: fitted on the others, counted on each): "
                      f"loaded {cf['loaded']}/{cf['documents'] - cf['copies']} non-copies, wrong in clean "
                      f"{cf['wrong']}/{cf['labelled']} = {cf['wrong_in_clean']:.1%}, bound {cf['bound']:.2%}",
                      highlight=False, markup=False)


def _print_lift(report: dict[str, Any], json_out: bool, pages_json: Path | None) -> None:
    from rich.table import Table

    from ocrflow.eval.lift import lift

    pages = _report(None, pages_json, "gold", None).get("documents") if pages_json is not None else None
    rows = lift(report, pages=pages)
    if json_out:
        typer.echo(json.dumps(rows))
        return
    t = Table(title="signal lift: calibration fitted on the fit part with and without each signal")
    for col in ("calibration", "part", "accuracy", "wrong in clean", "loaded (non-copies)", "ECE"):
        t.add_column(col)
    for name, by_part in rows.items():
        for part, f in by_part.items():
            t.add_row(name, part, f"{f['field_accuracy']:.3f}",
                      f"{f['wrong_in_clean']:.1%} ({f['wrong_in_clean_n']}/{f['labelled_in_clean']})",
                      f"{f['loaded_without_review']:.1%} ({f['loaded']})", f"{f['ece']:.3f}")
    console.print(t)
