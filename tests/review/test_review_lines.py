"""An approval writes the document's line items with its header: approving a loaded invoice that waits for
review (a value under its threshold) must not drop its invoice_line rows."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.review import client_for, csrf_of, one, run_inbox


def test_approving_an_invoice_keeps_its_lines(tmp_path: Path, demo_dir: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(demo_dir / "docs" / "invoice_digital.pdf", inbox)
    url = str(tmp_path / "r.duckdb")
    run_inbox(inbox, url)
    sha = str(one(url, "SELECT doc_sha256 FROM invoice")[0][0])
    lines = one(url, "SELECT line_no, description, quantity, line_net_amount FROM invoice_line ORDER BY line_no")
    assert len(lines) >= 2
    from ocrflow.store import open_store

    store = open_store(url)
    try:  # one value under the contract's minimum: the loaded row waits in the review queue
        store.query(f"UPDATE field_evidence SET confidence = 0.2 WHERE doc_sha256 = '{sha}' AND field = 'seller_name'")
    finally:
        store.close()
    client = client_for(url)
    assert sha in client.get("/").text
    page = client.get(f"/doc/{sha}")
    done = client.post(f"/doc/{sha}/approve", follow_redirects=False, data={"csrf": csrf_of(page.text)})
    assert done.status_code == 303
    assert one(url, f"SELECT state FROM documents WHERE sha256 = '{sha}'") == [("loaded",)]
    assert one(url, "SELECT line_no, description, quantity, line_net_amount FROM invoice_line "
                    "ORDER BY line_no") == lines
