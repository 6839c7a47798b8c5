"""The summary lines count from the run's totals: a run lists at most 1,000 documents per state
(ocrflow.run.tally), so the printed lines end with how many more there are and where to list them."""

from __future__ import annotations

from typing import Any

import pytest

from ocrflow.cli.run_output import print_summary


def _summary(failed: int, listed: int) -> dict[str, Any]:
    return {"documents": failed, "pages": failed, "loaded": 0, "quarantined": 0, "failed": failed, "unmatched": 0,
            "pending": 0, "skipped": 0, "duplicates": 0, "seconds": 1.0, "status": "FAILED",
            "failed_documents": [(f"/in/{i}.pdf", "render: broken") for i in range(listed)]}


def test_failures_beyond_the_listed_ones_are_counted_and_said_where_to_see(capsys: pytest.CaptureFixture[str]) -> None:
    print_summary(_summary(failed=1500, listed=1000), "run")
    out = capsys.readouterr().out
    assert out.count("render: broken") == 1000
    assert "... and 500 more failed" in out and "state = 'failed'" in out


def test_every_failure_listed_says_no_more(capsys: pytest.CaptureFixture[str]) -> None:
    print_summary(_summary(failed=3, listed=3), "run")
    out = capsys.readouterr().out
    assert out.count("render: broken") == 3 and "more failed" not in out
