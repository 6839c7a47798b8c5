"""A large run's GX work (frame validation, Data Docs pages) in a child process: the run's own process never
imports GX, and the results are those of GX in a thread (ocrflow.validate.gx_process, issue 21)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

SCRIPT = """
import datetime as dt, json, sys
from decimal import Decimal
from pathlib import Path
from typing import Any
from ocrflow.contracts import load_contracts
from ocrflow.validate.gx_process import MIN_DOCUMENTS
from ocrflow.validate.session import RunValidation

mode, site = sys.argv[1], Path(sys.argv[2])
contracts = load_contracts()
validation = RunValidation(contracts, today=dt.date(2025, 6, 1))
if mode == "process":
    validation.plan(MIN_DOCUMENTS)
rows = [{"doc_sha256": f"sha{i}", "invoice_number": f"INV-{i}", "invoice_date": dt.date(2024, 3, 1),
         "due_date": dt.date(2024, 3, 31), "seller_name": "ACME GmbH", "seller_tax_id": "DE123456789",
         "buyer_name": "Bob Ltd", "buyer_tax_id": None, "currency": "EUR", "subtotal_amount": Decimal("100.00"),
         "tax_amount": Decimal("19.00"), "total_amount": Decimal(total)}
        for i, total in enumerate(["119.00", "119.00", "150.00"])]
report = validation.validate(contracts["invoice"], rows)
results = validation.finish()
when = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
pages = validation.render_pages([r.raw for r in results], site, "run-1", when)
validation.close()
print(json.dumps({
    "gx_in_this_process": "great_expectations" in sys.modules,
    "failing_rows": sorted(report.failures),
    "frames": [{"rows": r.rows, "failing": r.failing, "success": r.success, "disagreements": r.disagreements,
                "unexpected": [(x["expectation_config"]["type"], x["result"].get("unexpected_count"))
                               for x in r.raw["results"]]} for r in results],
    "pages": [p.relative_to(site).as_posix() for p in pages],
}))
"""


def run(mode: str, site: Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode, str(site)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_gx_in_a_child_process_validates_and_renders_as_in_a_thread(tmp_path: Path) -> None:
    in_child = run("process", tmp_path / "child")
    in_thread = run("thread", tmp_path / "thread")
    assert in_child["gx_in_this_process"] is False  # the run's process never paid GX's import
    assert in_thread["gx_in_this_process"] is True
    assert in_child["failing_rows"] == in_thread["failing_rows"] == ["sha2"]  # 100 + 19 is not 150
    assert in_child["frames"] == in_thread["frames"]
    frame = in_child["frames"][0]  # type: ignore[index]
    assert frame["rows"] == 3 and frame["failing"] == 1 and frame["disagreements"] == []
    assert in_child["pages"] == in_thread["pages"] and in_child["pages"]
    for page in in_child["pages"]:  # type: ignore[attr-defined]
        assert (tmp_path / "child" / page).stat().st_size > 1000


def test_a_gx_process_that_died_leaves_validation_to_a_thread(monkeypatch: Any, tmp_path: Path) -> None:
    """The child gone (killed, out of memory): frames and pages go to GX in this process, the run goes on."""
    import datetime as dt
    from concurrent.futures.process import BrokenProcessPool
    from decimal import Decimal

    from ocrflow.contracts import load_contracts
    from ocrflow.validate import gx_process
    from ocrflow.validate.session import RunValidation

    class Dead:
        def __init__(self) -> None:
            self.closed = False

        def summary(self, *args: Any) -> Any:
            raise BrokenProcessPool("A child process terminated abruptly")

        def render(self, *args: Any) -> Any:
            raise BrokenProcessPool("A child process terminated abruptly")

        def close(self) -> None:
            self.closed = True

    dead = Dead()
    monkeypatch.setattr("ocrflow.validate.session.GxProcess", lambda: dead)
    contracts = load_contracts()
    validation = RunValidation(contracts, today=dt.date(2025, 6, 1))
    validation.plan(gx_process.MIN_DOCUMENTS)
    row = {"doc_sha256": "a", "invoice_number": "INV-1", "invoice_date": dt.date(2024, 3, 1), "currency": "EUR",
           "seller_name": "ACME GmbH", "total_amount": Decimal("119.00")}
    validation.validate(contracts["invoice"], [row])
    results = validation.finish()
    assert dead.closed and [r.rows for r in results] == [1] and results[0].raw["results"]
    pages = validation.render_pages([r.raw for r in results], tmp_path, "run-1",
                                    dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    validation.close()
    assert pages and all(p.is_file() for p in pages)


def test_only_the_guarded_entry_points_ask_for_the_gx_process() -> None:
    """``ocrflow run`` and the flows build their options with ``RunParams.run_options`` (their mains are
    guarded, as ``spawn`` needs); a script calling ``run_files`` with default options keeps GX in a thread."""
    from ocrflow.run.lifecycle import RunOptions
    from ocrflow.run.params import RunParams

    assert RunParams().run_options().gx_process is True
    assert RunOptions().gx_process is False
