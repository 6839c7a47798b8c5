"""The CLI's promises, checked against the fake: `ocrflow run` exit codes (README: 0 when failures stay
within the error budget, 1 beyond it or with documents left pending, 2 on a usage, configuration or store
error), `ocrflow eval` scoring a known prediction set exactly, and the settings precedence
defaults < file < environment < CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ocrflow.cli import app
from ocrflow.cli.common import settings_or_exit
from ocrflow.core.settings import load_settings
from tests.fakes.fake_vllm import FakeVllm
from tests.fakes.model_fake import TruthModel


def cli(fake: FakeVllm, *args: str, **env: str) -> Any:
    environ = {"OCRFLOW_VLLM_URL": fake.url, "OCRFLOW_VLLM_API_KEY": "k", **env}
    return CliRunner().invoke(app, list(args), env=environ, catch_exceptions=False)


def test_run_exits_0_when_every_document_is_loaded_or_quarantined(inbox: Path, demo_dir: Path, fake: FakeVllm,
                                                                   tmp_path: Path, clean_env: None) -> None:
    shutil.copy(demo_dir / "docs" / "invoice_bad_totals.pdf", inbox)  # quarantined: subtotal + tax != total
    result = cli(fake, "run", str(inbox), "--engine", "vllm", "--db", str(tmp_path / "a.duckdb"), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["loaded"], summary["quarantined"], summary["failed"]) == (3, 1, 0)


@pytest.mark.slow
def test_run_exits_1_when_failures_exceed_the_error_budget(inbox: Path, fake: FakeVllm, tmp_path: Path,
                                                            clean_env: None) -> None:
    """README: the default budget (1 %, rounded up) lets one broken file pass; ``--max-failed 0`` does not."""
    (inbox / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not a PDF body\n")
    within = cli(fake, "run", str(inbox), "--engine", "vllm", "--db", str(tmp_path / "b.duckdb"), "--json")
    assert within.exit_code == 0, within.output
    summary = json.loads(within.stdout)
    assert summary["failed"] == 1 and summary["loaded"] == 3
    assert [Path(p).name for p, _ in summary["failed_documents"]] == ["broken.pdf"]
    beyond = cli(fake, "run", str(inbox), "--engine", "vllm", "--db", str(tmp_path / "c.duckdb"), "--json",
                 "--max-failed", "0")
    assert beyond.exit_code == 1, beyond.output
    assert json.loads(beyond.stdout)["failed"] == 1


def test_run_exits_1_when_documents_are_left_pending(inbox: Path, fake: FakeVllm, tmp_path: Path,
                                                     clean_env: None) -> None:
    fake.inject("503", times=None, retry_after="0")
    result = cli(fake, "run", str(inbox), "--engine", "vllm", "--db", str(tmp_path / "p.duckdb"), "--json")
    fake.clear_faults()
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert summary["pending"] == 2 and summary["loaded"] == 1


@pytest.mark.parametrize("args", [("--engine", "no-such-engine"), ("--contract", "no_such_contract"),
                                  ("--dpi", "abc")])
def test_run_exits_2_on_a_usage_error(inbox: Path, fake: FakeVllm, tmp_path: Path, clean_env: None,
                                      args: tuple[str, ...]) -> None:
    result = cli(fake, "run", str(inbox), "--db", str(tmp_path / "u.duckdb"), *args)
    assert result.exit_code == 2, result.output


def test_run_exits_2_on_a_store_error(inbox: Path, fake: FakeVllm, tmp_path: Path, clean_env: None) -> None:
    not_a_db = tmp_path / "folder.duckdb"
    not_a_db.mkdir()
    result = cli(fake, "run", str(inbox), "--engine", "vllm", "--db", str(not_a_db))
    assert result.exit_code == 2, result.output
    assert "folder.duckdb" in result.output


def _gold(demo_dir: Path, out: Path, names: tuple[str, ...]) -> Path:
    (out / "docs").mkdir(parents=True)
    records = [json.loads(line) for line in (demo_dir / "gold.jsonl").read_text().splitlines() if line.strip()]
    chosen = [r for r in records if Path(r["path"]).name in names]
    for r in chosen:
        shutil.copy(demo_dir / r["path"], out / r["path"])
    (out / "gold.jsonl").write_text("".join(json.dumps(r) + "\n" for r in chosen))
    return out / "gold.jsonl"


def test_eval_scores_a_known_prediction_set_exactly(demo_dir: Path, fake: FakeVllm, model: TruthModel,
                                                    tmp_path: Path, clean_env: None) -> None:
    gold = _gold(demo_dir, tmp_path / "g", ("receipt_scan_01.jpg", "receipt_scan_02.png"))
    perfect = cli(fake, "eval", "--gold", str(gold), "--json", "--engine", "vllm")
    assert perfect.exit_code == 0, perfect.output
    report = json.loads(perfect.stdout)
    assert (report["labelled"], report["correct"], report["field_accuracy"]) == (8, 8, 1.0)
    # one digit wrong in the first numeric-looking field the model returns: exactly one miss per receipt
    model.noise = frozenset({"wrong_digit"})
    noisy = json.loads(cli(fake, "eval", "--gold", str(gold), "--json", "--engine", "vllm").stdout)
    assert (noisy["labelled"], noisy["correct"], noisy["field_accuracy"]) == (8, 6, 0.75)
    assert noisy["by_field"]["merchant_address"]["correct"] == 0
    assert noisy["by_field"]["total_amount"]["correct"] == 2


def test_settings_precedence_defaults_file_env_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   clean_env: None) -> None:
    config = tmp_path / "ocrflow.toml"
    config.write_text('[ocrflow]\ndpi = 100\nmax_long_side = 1700\nrenderer = "pdf2image"\n')
    monkeypatch.chdir(tmp_path)
    assert load_settings().dpi == 100  # ocrflow.toml of the working directory
    monkeypatch.chdir(tmp_path.parent)
    assert load_settings().dpi == 150  # defaults: no file here
    assert load_settings(config).dpi == 100
    monkeypatch.setenv("OCRFLOW_CONFIG", str(config))
    assert load_settings().dpi == 100
    monkeypatch.setenv("OCRFLOW_DPI", "120")
    settings = load_settings()
    assert (settings.dpi, settings.max_long_side, settings.renderer) == (120, 1700, "pdf2image")
    settings = settings_or_exit(None, dpi=140, renderer=None)  # the CLI's way: None = option not given
    assert (settings.dpi, settings.max_long_side, settings.renderer) == (140, 1700, "pdf2image")
