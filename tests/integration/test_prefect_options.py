"""``ocrflow run --prefect`` takes every option of ``ocrflow run`` with the same meaning and exit codes.

Each case of the matrix runs twice on the same inputs, once in this process and once as the flow (against
the real Prefect server), each into a DuckDB file of its own; the exit codes, the printed JSON summaries
and what the store holds afterwards (documents, page reads, invoice rows, quarantine reasons) must be the
same. Before the one options object, ``--prefect`` dropped --max-failed, --renderer, --dpi, --config,
--day-first, --no-einvoice, --batch-size and --claim-ttl, and a missing folder exited 1 instead of 2.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from ocrflow.cli import app
from tests.support.duck import rows
from tests.support.prefect_server import PrefectServer

pytestmark = [pytest.mark.slow, pytest.mark.prefect_server]

CASES: dict[str, tuple[list[str], int | None]] = {
    # name: (options, the exit code both must give; None: whatever the first gives)
    "defaults": ([], None),
    "no error budget": (["--max-failed", "0"], 1),
    "a budget of 10": (["--max-failed", "10"], 0),
    "renderer and dpi": (["{scanned}", "--renderer", "pdf2image", "--dpi", "100"], None),
    "month first": (["--month-first"], None),
    "no e-invoice XML": (["--no-einvoice"], None),
    "config file": (["--config", "{config}"], None),
    "batch size and claim ttl": (["--batch-size", "1", "--claim-ttl", "30"], None),
    "glob": (["--glob", "invoice_*.pdf"], None),
    "one contract": (["--contract", "receipt"], None),
    "empty input, fail on empty": (["{empty}", "--fail-on-empty"], 1),
    "empty input": (["{empty}"], 0),
    "missing folder": (["{missing}"], 2),
    "bad dpi": (["--dpi", "5"], 2),
    "unknown contract": (["--contract", "nope"], 2),
    "vllm without a URL": (["--engine", "vllm"], 2),
}
VOLATILE = ("run_id", "seconds", "data_docs", "review_waiting")
"""Summary keys that differ between any two runs (ids, time, the report's folder) or that only the flow
counts (the review queue, for its artifact)."""


@pytest.fixture(scope="module")
def inputs(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("matrix")
    inbox = root / "inbox"
    inbox.mkdir()
    for name in ("invoice_digital.pdf", "invoice_facturx.pdf", "invoice_bad_totals.pdf", "invoice_two_pages.pdf"):
        shutil.copy(demo_dir / "docs" / name, inbox / name)
    (inbox / "broken.pdf").write_bytes(b"%PDF-1.4\ngarbage that pdfium cannot open")
    scanned = root / "scanned"  # a PDF without a text layer: rasterized by the renderer at the dpi, then OCR
    scanned.mkdir()
    with Image.open(demo_dir / "docs" / "receipt_scan_01.jpg") as img:
        img.convert("RGB").save(scanned / "receipt.pdf", resolution=150.0)
    (root / "empty").mkdir()
    config = root / "ocrflow.toml"
    config.write_text('max_failed = "10"\nday_first = false\n')
    return {"inbox": inbox, "scanned": scanned, "empty": root / "empty", "missing": root / "no-such-folder",
            "config": config, "root": root}


def snapshot(db: Path) -> dict[str, Any]:
    if not db.exists():
        return {}
    tables = {t for (t,) in rows(db, "SELECT table_name FROM information_schema.tables")}
    if "documents" not in tables:
        return {"tables": sorted(tables)}
    name = "regexp_extract(path, '[^/]+$')"
    out: dict[str, Any] = {
        "documents": rows(db, f"SELECT {name}, state, error_code, einvoice_syntax, pages FROM documents ORDER BY 1"),
        "pages": rows(db, f"SELECT {name}, p.page_no, p.path_taken, p.engine, p.width, p.height FROM pages p "
                          "JOIN documents d ON d.sha256 = p.doc_sha256 ORDER BY 1, 2"),
        "quarantine": rows(db, "SELECT regexp_extract(source_path, '[^/]+$'), reasons::VARCHAR FROM quarantine "
                               "ORDER BY 1"),
        "runs": rows(db, "SELECT status, documents, loaded, quarantined, failed, pending, skipped FROM runs"),
    }
    if "invoice" in tables:
        out["invoices"] = rows(db, "SELECT invoice_number, invoice_date, due_date, total_amount FROM invoice "
                                   "ORDER BY 1")
    return out


def run_cli(args: list[str], db: Path, prefect: bool) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(app, ["run", "--engine", "embedded", *args, "--db", str(db), "--json",
                                      *(["--prefect"] if prefect else [])], catch_exceptions=False)
    out = result.stdout
    summary = json.loads(out[out.index("{"):]) if "{" in out else {}
    for key in VOLATILE:
        summary.pop(key, None)
    return result.exit_code, summary, result.output


def expand(options: list[str], inputs: dict[str, Path]) -> list[str]:
    """The command line: the inbox unless the case names its own input first; placeholders filled in."""
    args = [o.format(**{k: str(v) for k, v in inputs.items()}) for o in options]
    return args if options and options[0].startswith("{") else [str(inputs["inbox"]), *args]


@pytest.mark.parametrize("case", list(CASES))
def test_the_same_options_mean_the_same_through_the_flow(case: str, inputs: dict[str, Path],
                                                         prefect_server: PrefectServer,
                                                         monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    options, expected = CASES[case]
    args = expand(options, inputs)
    slug = case.replace(" ", "-").replace(",", "")
    here_db, flow_db = inputs["root"] / f"{slug}-here.duckdb", inputs["root"] / f"{slug}-flow.duckdb"
    here = run_cli(args, here_db, prefect=False)
    flow = run_cli(args, flow_db, prefect=True)
    counts = {k: here[1].get(k) for k in ("status", "loaded", "quarantined", "failed", "pending")}
    print(f"\n[matrix] {case}: exit {here[0]} / {flow[0]}; {counts}")
    assert here[0] == flow[0], f"plain:\n{here[2][-2000:]}\nflow:\n{flow[2][-2000:]}"
    if expected is not None:
        assert here[0] == expected, here[2][-2000:]
    if here[0] == 2:  # stopped before any document: the same one-line reason, nothing written
        (reason,) = [line for line in here[2].splitlines() if line.startswith("error: ")]
        assert reason.removeprefix("error: ") in " ".join(flow[2].split()), flow[2][-2000:]
        assert not snapshot(here_db).get("documents") and not snapshot(flow_db).get("documents")
        return
    assert here[1] == flow[1]
    assert snapshot(here_db) == snapshot(flow_db)


def test_force_means_the_same_through_the_flow(inputs: dict[str, Path], prefect_server: PrefectServer,
                                               clean_env: None) -> None:
    """A second run skips what is final; with --force it processes it again: both ways, the same counts."""
    outs = []
    for prefect in (False, True):
        db = inputs["root"] / f"force-{prefect}.duckdb"
        first = run_cli([str(inputs["inbox"]), "--max-failed", "10"], db, prefect)
        again = run_cli([str(inputs["inbox"]), "--max-failed", "10"], db, prefect)
        forced = run_cli([str(inputs["inbox"]), "--max-failed", "10", "--force"], db, prefect)
        assert again[1]["skipped"] == first[1]["documents"] and forced[1]["skipped"] == 0
        outs.append([(code, summary) for code, summary, _ in (first, again, forced)])
    assert outs[0] == outs[1]
