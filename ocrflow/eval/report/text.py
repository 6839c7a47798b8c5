"""The terminal view of one evaluation (``ocrflow eval``) and of a comparison (``ocrflow eval --compare``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ocrflow.eval.report.parts import part_table
from ocrflow.eval.trust import AIMS


def _pct(value: Any) -> str:
    return "-" if value is None else f"{float(value) * 100:.1f}%"


def _num(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{float(value):.{digits}f}"


def _delta(value: Any, digits: int = 3) -> str:
    return "" if value is None else f"{float(value):+.{digits}f}"


def print_eval(console: Console, report: Mapping[str, Any]) -> None:
    """Headline, accuracy by source and field, the trust figures, the reliability table, the line items."""
    console.print(f"field accuracy: [bold]{report['field_accuracy']:.3f}[/bold] "
                  f"({report['correct']}/{report['labelled']}), soft {report.get('soft_field_accuracy', 0):.3f}")
    if report.get("parts"):
        print_parts(console, report)
    for title, key in (("by source", "by_source"), ("by field", "by_field")):
        t = Table(title=title)
        for col in ("name", "accuracy", "soft", "correct", "labelled"):
            t.add_column(col)
        for name, v in sorted(report[key].items()):
            t.add_row(escape(name), f"{v['field_accuracy']:.3f}", f"{v.get('soft_field_accuracy', 0):.3f}",
                      str(v["correct"]), str(v["labelled"]))
        console.print(t)
    trust = report.get("trust")
    if trust:
        print_trust(console, trust)
    lines = report.get("line_items")
    if lines:
        print_lines(console, lines)


def print_parts(console: Console, report: Mapping[str, Any]) -> None:
    """The headline figures of the fit and the check part side by side (docs/evaluation.md)."""
    parts = report["parts"]
    t = Table(title=f"by part (split {report.get('split', 'all')}; quote the check part's figures)")
    t.add_column("figure")
    for name in parts:
        t.add_column(name)
    for label, cells in part_table(parts):
        t.add_row(label, *cells)
    console.print(t)


def print_trust(console: Console, trust: Mapping[str, Any]) -> None:
    t = Table(title="trust figures")
    for col in ("figure", "value", "counts", "aim"):
        t.add_column(col)
    t.add_row("wrong values in clean tables", _pct(trust["wrong_in_clean"]),
              f"{trust['wrong_in_clean_n']}/{trust['labelled_in_clean']}", f"<= {_pct(AIMS['wrong_in_clean'])}")
    copies = int(trust.get("duplicates", 0))
    t.add_row("documents loaded without review", _pct(trust["loaded_without_review"]),
              f"{trust['loaded']}/{trust['documents'] - copies}", f">= {_pct(AIMS['loaded_without_review'])}")
    if copies:
        t.add_row("  counting copies of a loaded document", _pct(trust.get("loaded_of_all", 0.0)),
                  f"{trust['loaded']}/{trust['documents']} ({copies} quarantined as duplicates)", "")
    t.add_row("values with page and box", _pct(trust["located"]), f"{trust['located_n']}/{trust['values']}",
              f">= {_pct(AIMS['located'])}")
    console.print(t)
    held = trust.get("held_by_check") or {}
    if held:
        console.print("not loaded, by failed check: " + ", ".join(f"{k} {v}" for k, v in held.items()),
                      highlight=False, markup=False)
    rel = trust.get("reliability") or {}
    r = Table(title=f"reliability (expected calibration error {_num(rel.get('ece'))} over {rel.get('n', 0)} "
                    "labelled values)")
    for col in ("confidence", "values", "mean confidence", "accuracy"):
        r.add_column(col)
    for b in rel.get("buckets") or []:
        r.add_row(f"{b['low']:.1f}-{b['high']:.1f}", str(b["n"]), _num(b["confidence"]), _num(b["accuracy"]))
    console.print(r)
    console.print(f"expected calibration error: [bold]{_num(rel.get('ece'))}[/bold]")


def print_lines(console: Console, lines: Mapping[str, Any]) -> None:
    if not lines.get("gold") and not lines.get("predicted"):  # nothing to score: no table of zeros
        console.print("line items: the gold file has no line items to score")
        return
    t = Table(title=f"line items ({'with' if lines.get('with_xml') else 'without'} XML)")
    for col in ("source", "precision", "recall", "F1", "correct", "predicted", "gold"):
        t.add_column(col)
    rows = [("all", lines), *sorted((lines.get("by_source") or {}).items())]
    for name, v in rows:
        t.add_row(name, _num(v.get("precision")), _num(v.get("recall")), _num(v.get("f1")), str(v.get("correct")),
                  str(v.get("predicted")), str(v.get("gold")))
    console.print(t)


def print_compare(console: Console, cmp: Mapping[str, Any], names: tuple[str, str] = ("A", "B")) -> None:
    """Both runs' settings, overall and per-field scores with the change, better/worse, trust, flips."""
    a, b = names
    m = Table(title="runs")
    for col in ("", a, b):
        m.add_column(col)
    for key in ("engine", "model", "prompt_version", "contract_mode", "use_embedded_xml", "as_scans", "gold",
                "started_at"):
        m.add_row(key, escape(str(cmp["a"].get(key) or "-")), escape(str(cmp["b"].get(key) or "-")))
    for name in sorted(set(cmp["a"]["contracts"]) | set(cmp["b"]["contracts"])):
        m.add_row(escape(f"contract {name}"), escape(str(cmp["a"]["contracts"].get(name, "-"))),
                  escape(str(cmp["b"]["contracts"].get(name, "-"))))
    console.print(m)
    s = Table(title="scores")
    for col in ("", a, b, "change"):
        s.add_column(col)
    for key, v in cmp["overall"].items():
        digits = 3 if key.endswith("accuracy") else 0
        s.add_row(key, _num(v["a"], digits), _num(v["b"], digits), _delta(v["delta"], digits))
    for row in cmp["trust"]:
        s.add_row(row["name"], _num(row["a"]), _num(row["b"]), _delta(row["delta"]))
    for key, v in cmp["line_items"].items():
        s.add_row(f"line items {key}", _num(v["a"]), _num(v["b"]), _delta(v["delta"]))
    console.print(s)
    f = Table(title="fields (exact accuracy)")
    for col in ("field", a, b, "change", f"labelled {a}/{b}"):
        f.add_column(col)
    for row in cmp["fields"]:
        mark = "[green]better[/green]" if row["name"] in cmp["better"] else (
            "[red]worse[/red]" if row["name"] in cmp["worse"] else "")
        f.add_row(row["name"], _num(row["a"]), _num(row["b"]), f"{_delta(row['delta'])} {mark}".strip(),
                  f"{row['labelled']['a'] or 0}/{row['labelled']['b'] or 0}")
    console.print(f)
    console.print(f"better: {', '.join(cmp['better']) or '-'}; worse: {', '.join(cmp['worse']) or '-'}",
                  highlight=False, markup=False)
    for kind in ("fixed", "broken"):
        for v in cmp["flipped"][kind]:
            console.print(f"{kind}: {v['path']} {v['field']}: {v['a']!r} -> {v['b']!r} (gold {v['gold']!r})",
                          highlight=False, markup=False)
