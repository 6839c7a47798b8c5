"""Review keeps what it did not change (issue 20 part 1), on both real stores filled by a real run:

- an approval makes only the changed field ``human``; every untouched field keeps source, method, page, box and
  confidence and is marked reviewed; the correction keeps the machine's value and how it was read;
- a refused approval ("abc", 2024-13-45) changes nothing at all;
- a rejected document is final: ``reprocess --failed`` leaves it alone, ``--include-rejected`` takes it back;
- the record page shows the line items with their evidence.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ocrflow.cli import app
from ocrflow.store import open_store
from tests.support.review import Reviewed, client_for, csrf_of, one, run_inbox

EVIDENCE = ("field, value, source, method, page_no, x0, y0, x1, y1, confidence, grounding, reviewed_by, "
            "reviewed_at IS NOT NULL")


def _evidence(url: str, sha: str) -> dict[str, tuple[Any, ...]]:
    rows = one(url, f"SELECT {EVIDENCE} FROM field_evidence WHERE doc_sha256 = '{sha}' AND line_no = 0")
    return {str(r[0]): tuple(r[1:]) for r in rows}


def test_an_approval_changes_only_what_the_reviewer_changed(reviewed: Reviewed) -> None:
    before = _evidence(reviewed.url, reviewed.bad)
    client = client_for(reviewed.url)
    page = client.get(f"/doc/{reviewed.bad}")
    done = client.post(f"/doc/{reviewed.bad}/approve", follow_redirects=False,
                       data={"csrf": csrf_of(page.text), "f:total_amount": "119.00"})
    assert done.status_code == 303
    after = _evidence(reviewed.url, reviewed.bad)
    untouched = [f for f in before if f != "total_amount" and before[f][0] is not None]
    assert untouched and all(before[f][:-2] == after[f][:-2] for f in untouched)  # value, source .. grounding
    assert all(after[f][-2:] == ("tester", True) for f in untouched)  # ... and marked reviewed
    assert all(after[f][3] is not None for f in untouched if before[f][3] is not None)  # boxes stay
    total = after["total_amount"]
    assert (total[0], total[1], total[2], total[8], total[10]) == ("119.00", "human", "review:tester", 1.0, "tester")
    edit = one(reviewed.url, "SELECT old_value, new_value, old_source, old_method, old_page_no, old_x0, old_y1, "
                             "old_confidence, reviewer FROM corrections WHERE action = 'edit'")
    machine = before["total_amount"]
    assert edit == [("130.00", "119.00", machine[1], machine[2], machine[3], machine[4], machine[7], machine[8],
                     "tester")]
    again = client.get(f"/doc/{reviewed.bad}")
    assert 'id="box-invoice_number"' in again.text and "reviewed by tester" in again.text
    assert reviewed.bad not in client.get("/").text


def _snapshot(url: str, sha: str) -> tuple[Any, ...]:
    return (one(url, f"SELECT {EVIDENCE} FROM field_evidence WHERE doc_sha256 = '{sha}' ORDER BY line_no, field"),
            one(url, f'SELECT raw_values, "values", reasons FROM quarantine WHERE doc_sha256 = \'{sha}\''),
            one(url, f"SELECT state, error, error_code FROM documents WHERE sha256 = '{sha}'"),
            one(url, "SELECT count(*) FROM corrections"))


def test_a_refused_approval_changes_nothing_at_all(reviewed: Reviewed) -> None:
    before = _snapshot(reviewed.url, reviewed.bad)
    client = client_for(reviewed.url)
    page = client.get(f"/doc/{reviewed.bad}")
    for edits in ({"f:total_amount": "abc"}, {"f:invoice_date": "2024-13-45"}):
        refused = client.post(f"/doc/{reviewed.bad}/approve", data={"csrf": csrf_of(page.text), **edits})
        assert refused.status_code == 422 and "nothing changed" in refused.text
        assert f'value="{next(iter(edits.values()))}"' in refused.text  # the reviewer's edit stays in the form
        assert _snapshot(reviewed.url, reviewed.bad) == before
    assert "130.00" in str(before[1])  # the machine's reading is what stays


def test_a_rejected_document_stays_out_of_reprocess_failed(duck: Reviewed) -> None:
    client = client_for(duck.url)
    page = client.get(f"/doc/{duck.bad}")
    client.post(f"/doc/{duck.bad}/reject", data={"csrf": csrf_of(page.text), "reason": "a duplicate of INV-1002"})
    rejected = [("failed", "rejected in review by tester: a duplicate of INV-1002", "rejected")]
    assert one(duck.url, f"SELECT state, error, error_code FROM documents WHERE sha256 = '{duck.bad}'") == rejected
    result = CliRunner().invoke(app, ["reprocess", "--failed", "--db", duck.url, "--engine", "embedded", "--json"])
    assert '"rejected_left_alone"' in result.output and "bad_total.pdf" in result.output
    assert one(duck.url, f"SELECT state, error, error_code FROM documents WHERE sha256 = '{duck.bad}'") == rejected
    assert one(duck.url, f"SELECT count(*) FROM quarantine WHERE doc_sha256 = '{duck.bad}'") == [(0,)]
    back = CliRunner().invoke(app, ["reprocess", "--failed", "--include-rejected", "--db", duck.url,
                                    "--engine", "embedded"])
    assert back.exit_code in (0, 1), back.output
    assert one(duck.url, f"SELECT state FROM documents WHERE sha256 = '{duck.bad}'") == [("quarantined",)]


def test_the_record_page_shows_the_line_items_with_their_evidence(tmp_path: Path, demo_dir: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(demo_dir / "docs" / "invoice_digital.pdf", inbox)
    url = str(tmp_path / "r.duckdb")
    run_inbox(inbox, url)
    sha = str(one(url, "SELECT doc_sha256 FROM invoice")[0][0])
    store = open_store(url, read_only=True)
    try:
        lines = [ev for ev in store.field_evidence(sha) if ev.line_no and ev.field == "description"]
    finally:
        store.close()
    assert len(lines) >= 2
    page = client_for(url).get(f"/doc/{sha}").text
    assert 'id="lines"' in page and f'data-line="{lines[0].line_no}"' in page
    assert str(lines[0].value) in page and lines[0].method in page
    boxed = [ev for ev in lines if ev.bbox]
    assert boxed and f'id="box-line-{boxed[0].line_no}-description"' in page
