"""The bad-input sample (ocrflow.demo.bad_inputs) through a real run: every file recorded with its code,
nothing of a file outside the folder in the store, every path of duplicate content kept."""

from __future__ import annotations

from pathlib import Path

from ocrflow.demo.bad_inputs import SECRET, make_bad_inputs
from tests.support.duck import rows, run_into


def test_every_bad_input_is_recorded_with_its_code_and_the_run_goes_on(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    expected = make_bad_inputs(inbox)
    db = tmp_path / "o.duckdb"
    summary = run_into([str(inbox)], db, max_failed="10")
    by_name = {r[0]: r[1:] for r in rows(db, "SELECT regexp_extract(path, '[^/]+$'), state, error_code, error, "
                                              "path_raw FROM documents")}
    for item in expected:
        if item.name == "invoice.pdf":
            continue  # stored under its first path (copy_of_invoice.pdf), see the paths test below
        state, code, error, _ = by_name[item.name]
        if item.state == "read":
            assert state in ("loaded", "quarantined"), (item.name, state, error)
        else:
            assert (state, code) == (item.state, item.code), (item.name, state, code, error)
    assert by_name["latin1_\\xe9t\\xe9.pdf"][3] is not None and by_name["latin1_\\xe9t\\xe9.pdf"][3].endswith(
        "latin1_%E9t%E9.pdf")  # lossless raw name beside the escaped display name
    assert summary.counts["failed"] == 6 and summary.counts["duplicates"] == 1
    assert summary.status == "COMPLETED"  # 6 failures within --max-failed 10


def test_nothing_of_a_file_outside_the_folder_reaches_the_store(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    make_bad_inputs(inbox)
    db = tmp_path / "o.duckdb"
    summary = run_into([str(inbox)], db)
    dump = " ".join(str(r) for table in ("documents", "pages", "document_paths", "quarantine", "runs")
                    for r in rows(db, f"SELECT * FROM {table}"))
    assert SECRET not in dump and "root:x" not in dump
    assert not any(SECRET in e for _, e in summary.failed)
    [(error,)] = rows(db, "SELECT error FROM documents WHERE error_code = 'symlink_outside_root'")
    assert "outside the input folder" in error


def test_every_path_of_identical_content_is_recorded(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    make_bad_inputs(inbox)
    db = tmp_path / "o.duckdb"
    run_into([str(inbox)], db)
    paths = rows(db, "SELECT regexp_extract(path, '[^/]+$') FROM document_paths WHERE doc_sha256 IN "
                      "(SELECT doc_sha256 FROM document_paths GROUP BY 1 HAVING count(*) > 1) ORDER BY 1")
    assert [p for (p,) in paths] == ["copy_of_invoice.pdf", "invoice.pdf"]
    # a second run over the same inbox with a third name: the known document is skipped, its new path recorded
    (inbox / "third.pdf").write_bytes((inbox / "invoice.pdf").read_bytes())
    second = run_into([str(inbox)], db)
    assert second.counts["duplicates"] == 2 and second.counts["loaded"] == 0
    [(n,)] = rows(db, "SELECT count(*) FROM document_paths WHERE path LIKE '%third.pdf'")
    assert n == 1
