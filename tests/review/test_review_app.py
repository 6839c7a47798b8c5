"""The review app over HTTP on real stores: queue, record, approve, reject, export, and its safety checks."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ocrflow.cli import app
from ocrflow.review.security import SecurityError, required_token
from ocrflow.store import open_store
from tests.support.review import Reviewed, client_for, csrf_of, one


def test_queue_record_and_approval_load_the_corrected_row(reviewed: Reviewed) -> None:
    client = client_for(reviewed.url)
    queue = client.get("/")
    assert queue.status_code == 200
    assert queue.text.index(reviewed.bad) < queue.text.index(reviewed.xss)  # 0.20 before 0.50
    assert reviewed.good not in queue.text
    assert "quarantined (2)" in queue.text
    page = client.get(f"/doc/{reviewed.bad}")
    assert page.status_code == 200
    assert 'id="box-total_amount"' in page.text and 'class="box low"' in page.text
    assert "must equal total_amount" in page.text
    image = client.get(f"/doc/{reviewed.bad}/page/1.png")
    assert image.status_code == 200 and image.content[:4] == b"\x89PNG"
    done = client.post(f"/doc/{reviewed.bad}/approve", follow_redirects=False,
                       data={"csrf": csrf_of(page.text), "f:total_amount": "119.00"})
    assert done.status_code == 303
    assert one(reviewed.url, f"SELECT state FROM documents WHERE sha256 = '{reviewed.bad}'") == [("loaded",)]
    rows = one(reviewed.url, f"SELECT total_amount FROM invoice WHERE doc_sha256 = '{reviewed.bad}'")
    assert [str(r[0]) for r in rows] == ["119.00"]
    assert one(reviewed.url, f"SELECT count(*) FROM quarantine WHERE doc_sha256 = '{reviewed.bad}'") == [(0,)]
    assert one(reviewed.url, "SELECT field, old_value, new_value, action, reviewer FROM corrections "
                             "WHERE action = 'edit'") == [("total_amount", "130.00", "119.00", "edit", "tester")]
    assert one(reviewed.url, f"SELECT source, confidence FROM field_evidence WHERE doc_sha256 = '{reviewed.bad}' "
                             "AND field = 'total_amount'") == [("human", 1.0)]
    assert reviewed.bad not in client.get("/").text


def test_an_approval_that_still_fails_stays_quarantined_with_the_new_reasons(duck: Reviewed) -> None:
    client = client_for(duck.url)
    page = client.get(f"/doc/{duck.bad}")
    again = client.post(f"/doc/{duck.bad}/approve", data={"csrf": csrf_of(page.text), "f:total_amount": "abc"})
    assert again.status_code == 422
    assert "cannot read total_amount" in again.text
    assert one(duck.url, f"SELECT state FROM documents WHERE sha256 = '{duck.bad}'") == [("quarantined",)]


def test_reject_is_final_with_the_reason(duck: Reviewed) -> None:
    client = client_for(duck.url)
    page = client.get(f"/doc/{duck.xss}")
    assert client.post(f"/doc/{duck.xss}/reject", data={"csrf": csrf_of(page.text), "reason": ""}).status_code == 400
    done = client.post(f"/doc/{duck.xss}/reject", follow_redirects=False,
                       data={"csrf": csrf_of(page.text), "reason": "not an invoice of ours"})
    assert done.status_code == 303
    state, error = one(duck.url, f"SELECT state, error FROM documents WHERE sha256 = '{duck.xss}'")[0]
    assert state == "failed" and error == "rejected in review by tester: not an invoice of ours"
    assert one(duck.url, f"SELECT count(*) FROM quarantine WHERE doc_sha256 = '{duck.xss}'") == [(0,)]
    assert one(duck.url, "SELECT action, reason FROM corrections") == [("reject", "not an invoice of ours")]
    assert duck.xss not in client.get("/").text


HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(60)
"""


def test_approval_while_a_run_holds_the_file_names_the_pid_and_keeps_the_edits(
        duck: Reviewed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCRFLOW_STORE_WAIT_S", "0.5")  # a holder that never lets go: each open waits 0.5 s
    client = client_for(duck.url)
    page = client.get(f"/doc/{duck.bad}")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, duck.url], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        # browsing fails clearly too (DuckDB cannot read a file another process writes), and holds nothing
        assert str(holder.pid) in client.get("/").text
        busy = client.post(f"/doc/{duck.bad}/approve", data={"csrf": csrf_of(page.text), "f:total_amount": "119.00"})
    finally:
        holder.kill()
        holder.wait()
    assert busy.status_code == 409
    assert f"locked by process {holder.pid}" in busy.text
    assert 'value="119.00"' in busy.text  # the reviewer's edit is still in the form
    time.sleep(0.1)
    assert one(duck.url, f"SELECT state FROM documents WHERE sha256 = '{duck.bad}'") == [("quarantined",)]
    retry = client.post(f"/doc/{duck.bad}/approve", follow_redirects=False,
                        data={"csrf": csrf_of(busy.text), "f:total_amount": "119.00"})
    assert retry.status_code == 303


def test_forms_need_the_csrf_token_and_other_addresses_a_token(duck: Reviewed) -> None:
    client = client_for(duck.url)
    refused = client.post(f"/doc/{duck.bad}/approve", data={"csrf": "0" * 64, "f:total_amount": "119.00"})
    assert refused.status_code == 403
    with pytest.raises(SecurityError):
        required_token("0.0.0.0", None)
    assert required_token("127.0.0.1", None) is None
    guarded = client_for(duck.url, token="s3cret")
    assert guarded.get("/").status_code == 401
    assert guarded.get("/?token=wrong").status_code == 401
    assert guarded.get("/?token=s3cret").status_code == 200
    assert guarded.get(f"/doc/{duck.bad}").status_code == 200  # the cookie carries it from now on
    assert guarded.get("/static/review.js", cookies={}).status_code == 200


def test_images_only_for_registered_documents_by_hash(duck: Reviewed) -> None:
    client = client_for(duck.url)
    assert client.get(f"/doc/{'0' * 64}/page/1.png").status_code == 404
    assert client.get("/doc/..%2F..%2Fetc%2Fpasswd/page/1.png").status_code == 404
    assert client.get(f"/doc/{duck.bad}/page/9.png").status_code == 404


def test_review_export_writes_gold(duck: Reviewed, tmp_path: Path) -> None:
    client = client_for(duck.url)
    page = client.get(f"/doc/{duck.bad}")
    client.post(f"/doc/{duck.bad}/approve", data={"csrf": csrf_of(page.text), "f:total_amount": "119.00"})
    store = open_store(duck.url)
    try:
        assert store.key_problems() == []  # corrections hold many rows per document: not a key problem
    finally:
        store.close()
    gold = tmp_path / "gold.jsonl"
    result = CliRunner().invoke(app, ["review", "export", "--gold", str(gold), "--db", duck.url])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 1
    assert records[0]["doc_type"] == "invoice" and records[0]["path"].endswith("bad_total.pdf")
    assert records[0]["fields"]["total_amount"] == 119.0 and records[0]["fields"]["invoice_number"] == "INV-1001"


def test_review_refuses_an_open_address_without_a_token(duck: Reviewed) -> None:
    result = CliRunner().invoke(app, ["review", "--db", duck.url, "--host", "0.0.0.0"],
                                env={"OCRFLOW_REVIEW_TOKEN": ""})
    assert result.exit_code == 2
    assert "token" in result.output
