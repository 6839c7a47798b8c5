"""``ocrflow memory list|show ISSUER|forget ISSUER|calibrate``: what review taught per issuer (docs/memory.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ocrflow.cli.common import DbOpt, app, console, fail, open_store_or_exit

if TYPE_CHECKING:
    from ocrflow.store import Store
    from ocrflow.store.memory_records import Issuer

memory_app = typer.Typer(no_args_is_help=True, help="Issuer memory: what review taught per issuer, and forgetting "
                                                    "it (docs/memory.md).")
app.add_typer(memory_app, name="memory")
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]


def _find(store: Store, wanted: str) -> Issuer:
    """The one issuer whose id starts with ``wanted`` or whose name contains it (case aside)."""
    issuers = store.issuers()
    exact = [i for i in issuers if i.issuer_id == wanted]
    found = exact or [i for i in issuers if i.issuer_id.startswith(wanted)] or [
        i for i in issuers if wanted.casefold() in i.name.casefold()]
    if not found:
        raise fail(f"no issuer in memory matches {wanted!r}; `ocrflow memory list` shows them")
    if len(found) > 1:
        raise fail(f"{wanted!r} matches {len(found)} issuers ({', '.join(i.issuer_id for i in found[:5])}); "
                   "give more of the id")
    return found[0]


def _issuer_dict(i: Issuer) -> dict[str, object]:
    return {"issuer_id": i.issuer_id, "contract": i.contract, "name": i.name, "documents": i.documents,
            "corrections": i.corrections, "facts": i.facts,
            "updated_at": i.updated_at.isoformat() if i.updated_at else None}


@memory_app.command("list")
def memory_list(db: DbOpt = None, contract: Annotated[str | None, typer.Option(help="only this contract")] = None,
                json_out: JsonOpt = False) -> None:
    """The issuers memory knows, most recently taught first."""
    _, store = open_store_or_exit(db, read_only=True)
    try:
        issuers = store.issuers(contract)
    finally:
        store.close()
    if json_out:
        console.print_json(json.dumps([_issuer_dict(i) for i in issuers], ensure_ascii=False))
        return
    table = Table("issuer", "contract", "name", "documents", "corrections", "facts", "taught")
    for i in issuers:
        table.add_row(i.issuer_id, i.contract, escape(i.name), str(i.documents), str(i.corrections), str(i.facts),
                      i.updated_at.isoformat(timespec="seconds") if i.updated_at else "")
    console.print(table if issuers else "memory is empty: approvals in `ocrflow review` teach it")


@memory_app.command("show")
def memory_show(issuer: Annotated[str, typer.Argument(help="issuer id (or its start, or part of its name)")],
                db: DbOpt = None, json_out: JsonOpt = False) -> None:
    """What memory knows of one issuer: its keys, its facts (constants, positions, wrong readings)."""
    _, store = open_store_or_exit(db, read_only=True)
    try:
        found = _find(store, issuer)
        facts, keys = store.issuer_facts(found.issuer_id), store.issuer_keys(found.issuer_id)
        docs = store.issuer_documents(found.issuer_id)
    finally:
        store.close()
    if json_out:
        console.print_json(json.dumps({**_issuer_dict(found), "keys": [[k.kind, k.key] for k in keys],
                                       "documents_seen": docs,
                                       "facts": [{"field": f.field, "kind": f.kind, "value": f.value,
                                                  "label": f.label, "place": f.place, "nth": f.nth, "y": f.y,
                                                  "shape": f.shape, "hits": f.hits, "misses": f.misses,
                                                  "sources": list(f.sources)} for f in facts]}, ensure_ascii=False))
        return
    console.print(f"{found.issuer_id} ({found.contract}) {escape(found.name)}: taught by {found.documents} "
                  f"approval(s) with {found.corrections} correction(s); {len(docs)} document(s) linked",
                  highlight=False)
    console.print("keys: " + ", ".join(escape(f"{k.kind}:{k.key}") for k in keys), highlight=False, soft_wrap=True)
    table = Table("field", "kind", "value / label", "place", "hits", "misses", "corrections")
    for f in facts:
        what = f.value if f.kind != "position" else f"{f.label} (#{f.nth} from the right, y {f.y or 0:.2f}, {f.shape})"
        table.add_row(f.field, f.kind, escape(what), f.place, str(f.hits), str(f.misses), str(f.edits))
    console.print(table)


@memory_app.command("forget")
def memory_forget(issuer: Annotated[str, typer.Argument(help="issuer id (or its start, or part of its name)")],
                  db: DbOpt = None) -> None:
    """Forget everything memory knows of one issuer: its next documents are read as if it never had been taught."""
    _, store = open_store_or_exit(db, read_only=False)
    try:
        found = _find(store, issuer)
        facts = store.forget_issuer(found.issuer_id)
    finally:
        store.close()
    console.print(f"forgot {found.issuer_id} ({escape(found.name)}): {facts} fact(s)", highlight=False)


@memory_app.command("calibrate")
def memory_calibrate(
    source: Annotated[Path, typer.Option("--from", help="a saved `ocrflow eval --simulate-review --json` output")],
    out: Annotated[Path | None, typer.Option(help="file to write (default: the shipped calibration.json)")] = None,
) -> None:
    """Fit memory's confidence priors on the FIT part of a saved simulation (the check part is never used)."""
    from ocrflow.memory.calibration import CALIBRATION_FILE, fitted

    try:
        report = json.loads(source.read_text(encoding="utf-8"))
        counts = report["review_simulation"]["parts"]["fit"]["memory_values"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise fail(f"{source}: not a saved `ocrflow eval --simulate-review --json` with a fit part ({exc})") from None
    data = {"fitted_on": {"source": str(source), "part": "fit", "gold": report.get("run", {}).get("gold", "")},
            "priors": fitted(counts)}
    target = out or CALIBRATION_FILE
    target.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    console.print(f"memory priors written to {target}: " + ", ".join(
        f"{m} {v['value']} ({v['right']}/{v['n']})" for m, v in data["priors"].items()), highlight=False)
