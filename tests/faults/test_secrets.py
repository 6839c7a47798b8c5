"""Secrets never leak: the vLLM API key, the review token and a PostgreSQL password.

Distinctive values are set, real runs are made (``ocrflow`` as a subprocess against the fake vLLM: a good
run, a 401 at preflight, an unreachable server; in this process a 401 in the middle of a run with every
logger at DEBUG; PostgreSQL URLs with a password: unreachable, malformed, and a good run into a schema),
and everything they produce is scanned for the secret strings: stdout/stderr, captured log records, every
store table as text, the Data Docs folder and every other file written, the Prefect artifact markdown and
table, the eval report, ``repr`` of the settings and of the engine options.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import duckdb
import psycopg
import pytest

from flows.reporting import problem_rows, summary_markdown
from ocrflow.core.settings import load_settings, redact_url, scrub
from ocrflow.engines.embedded import EmbeddedEngine
from ocrflow.engines.vllm import VllmOptions, make_vllm_engine
from ocrflow.run.files_work import run_files
from ocrflow.run.lifecycle import RunOptions
from ocrflow.store import StoreError
from ocrflow.store.duckdb_store import DuckDBStore
from tests.fakes.fake_vllm import FakeVllm, closed_port_url
from tests.support.store import drop_schema, require_pg
from tests.support.vllm import fake_fixture, inbox_fixture

API_KEY = "sk-h4leak-APIKEY-9c1e7b55"
REVIEW_TOKEN = "rvw-h4leak-TOKEN-3f8a20aa"
PG_PASSWORD = "pgh4leakPASSWD71x"
SECRETS = (API_KEY, REVIEW_TOKEN, PG_PASSWORD)
OCRFLOW = str(Path(sys.executable).with_name("ocrflow"))


def leaks(label: str, text: str | bytes, secrets: tuple[str, ...] = SECRETS) -> list[str]:
    """``label: secret`` for every secret found in ``text``."""
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
    return [f"{label}: {s}" for s in secrets if s.encode() in data]


def files_leaks(root: Path, secrets: tuple[str, ...] = SECRETS) -> list[str]:
    """Every file under ``root`` (stores, Data Docs, anything written), byte for byte."""
    assert any(root.rglob("*")), f"nothing was written under {root}"
    return [hit for p in sorted(root.rglob("*")) if p.is_file() for hit in leaks(str(p), p.read_bytes(), secrets)]


def duckdb_tables_text(db: Path) -> str:
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        assert "documents" in names and "runs" in names
        return "\n".join(f"{n}: {con.execute(f'SELECT * FROM {n}').fetchall()!r}" for n in names)
    finally:
        con.close()


def pg_tables_text(url: str, schema: str) -> str:
    with psycopg.connect(url, autocommit=True) as con:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                           "WHERE table_schema = %s", [schema]).fetchall()]
        assert "documents" in names and "runs" in names
        return "\n".join(f"{n}: {con.execute(psycopg.sql.SQL('SELECT * FROM {}.{}').format(psycopg.sql.Identifier(schema), psycopg.sql.Identifier(n))).fetchall()!r}"  # noqa: E501
                         for n in names)


def cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``ocrflow ARGS`` as the user runs it, with the secrets in its environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("OCRFLOW_")}
    full = {**base, "OCRFLOW_REVIEW_TOKEN": REVIEW_TOKEN, "COLUMNS": "400", **env}
    return subprocess.run([OCRFLOW, *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=600,
                          check=False)


def output_leaks(label: str, proc: subprocess.CompletedProcess[str]) -> list[str]:
    return leaks(f"{label} stdout", proc.stdout) + leaks(f"{label} stderr", proc.stderr)


class ChatOnlyAuth(FakeVllm):
    """Serves /v1/models to anyone (so the preflight passes) but wants its own key on chat requests:
    the 401 comes in the middle of the run, as after a key rotation."""

    def _authorized(self, request: Any) -> bool:
        return request.url.path == "/v1/models" or super()._authorized(request)


# a digital invoice (text layer) and a scanned receipt (the vLLM OCR path)
inbox = inbox_fixture("invoice_digital.pdf", "receipt_scan_01.jpg", scope="module")
fake = fake_fixture(scope="module", mode="ocr", api_key=API_KEY)


def test_settings_and_options_never_show_the_secrets(clean_env: None, monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OCRFLOW_VLLM_API_KEY", API_KEY)
    monkeypatch.setenv("OCRFLOW_PDF_PASSWORD", REVIEW_TOKEN)
    store = f"postgresql://ocr:{PG_PASSWORD}@db.example/ocr"
    settings = load_settings(store=store, vllm_url="http://vllm.example:8000")
    options = VllmOptions.from_settings(settings)
    assert options.api_key_value == API_KEY  # it is there, only never shown
    shown = [repr(settings), str(settings), repr(options), options.model_dump_json()]
    found = [hit for i, text in enumerate(shown) for hit in leaks(f"view {i}", text)]
    dumped = [settings.model_dump_json(), repr(settings.model_dump())]  # data: the store URL is the store
    found += [hit for i, text in enumerate(dumped) for hit in leaks(f"dump {i}", text, (API_KEY, REVIEW_TOKEN))]
    assert found == []
    assert "ocr:***@db.example" in repr(settings)


@pytest.mark.parametrize("url, shown", [
    (f"postgresql://ocr:{PG_PASSWORD}@db:5432/ocr", "postgresql://ocr:***@db:5432/ocr"),
    (f"postgresql://:{PG_PASSWORD}@db/ocr", "postgresql://:***@db/ocr"),
    (f"postgresql://ocr:ab@{PG_PASSWORD}@db/ocr", "postgresql://ocr:***@db/ocr"),
    (f"postgresql://ocr@db/ocr?sslmode=require&password={PG_PASSWORD}",
     "postgresql://ocr@db/ocr?sslmode=require&password=***"),
    ("postgresql://ocr@db/ocr", "postgresql://ocr@db/ocr"),
    ("data/ocrflow.duckdb", "data/ocrflow.duckdb"),
])
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    if PG_PASSWORD in url:  # a driver's message echoing the password (or a piece of it) is scrubbed
        assert PG_PASSWORD not in scrub(f"host '{PG_PASSWORD}@db' not found", url)


@pytest.mark.slow
def test_cli_vllm_runs_good_401_and_unreachable_leak_nothing(inbox: Path, fake: FakeVllm,
                                                             tmp_path: Path) -> None:
    env = {"OCRFLOW_VLLM_URL": fake.url, "OCRFLOW_VLLM_API_KEY": API_KEY}
    good = cli("run", str(inbox), "--engine", "vllm", "--db", str(tmp_path / "good.duckdb"), cwd=tmp_path, env=env)
    assert good.returncode == 0, good.stdout + good.stderr
    assert fake.counters.chat_requests >= 2  # the receipt went through the fake (spotting + extraction)
    with FakeVllm(mode="ocr", api_key="a-key-the-client-does-not-have") as other:
        denied = cli("run", str(inbox), "--engine", "vllm", "--db", str(tmp_path / "denied.duckdb"),
                     cwd=tmp_path, env={**env, "OCRFLOW_VLLM_URL": other.url})
    assert denied.returncode == 2 and "401" in denied.stderr, denied.stderr
    down = cli("run", str(inbox), "--engine", "vllm", "--db", str(tmp_path / "down.duckdb"), cwd=tmp_path,
               env={**env, "OCRFLOW_VLLM_URL": closed_port_url()})
    assert down.returncode == 2 and "unreachable" in down.stderr, down.stderr
    found = output_leaks("good", good) + output_leaks("401", denied) + output_leaks("down", down)
    found += leaks("good store", duckdb_tables_text(tmp_path / "good.duckdb"))
    found += leaks("401 store", duckdb_tables_text(tmp_path / "denied.duckdb"))
    data_docs = tmp_path / "data_docs"
    assert data_docs.is_dir() and any(data_docs.rglob("*.html"))  # the good run built its Data Docs
    found += files_leaks(tmp_path)
    assert found == []


def test_a_401_mid_run_leaks_nothing_into_logs_store_or_artifacts(inbox: Path, tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the HTTP client's included
    db = tmp_path / "mid.duckdb"
    store_url = f"postgresql://ocr:{PG_PASSWORD}@db.example:5432/ocr"
    with ChatOnlyAuth(mode="ocr", api_key="the-rotated-key") as rotated:
        settings = load_settings(store=str(db), engine="vllm", vllm_url=rotated.url, vllm_api_key=API_KEY,
                                 contract="receipt")
        store, engine = DuckDBStore(str(db)), make_vllm_engine(settings)
        try:
            summary = run_files([str(inbox / "receipt_scan_01.jpg")], settings, store, engine)
        finally:
            engine.close()
            store.close()
    assert summary.counts["pending"] == 1, summary  # a 401 is not the document's fault
    assert any("401" in why for _, why in summary.pending)
    assert any(r.levelno == logging.DEBUG for r in caplog.records)  # the scan below saw the debug logs
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records)
    artifact = summary_markdown(summary, title="process-documents", store_url=store_url)
    assert "ocr:***@db.example" in artifact
    found = leaks("logs", logged) + leaks("summary", repr(summary)) + leaks("artifact", artifact)
    found += leaks("problem table", json.dumps(problem_rows(summary)))
    found += leaks("store", duckdb_tables_text(db)) + files_leaks(tmp_path)
    assert found == []


class DeadWrites(DuckDBStore):
    """A store whose every batch write fails (the disk is gone), so the run gives up with a StoreError."""

    def write_batch(self, batch: Any, contracts: Any) -> Any:
        raise StoreError("the disk is gone")


def test_a_store_that_stops_writing_names_it_without_the_password(demo_dir: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    """The run's stop message (raised, logged, and kept in ``runs.message``) names the configured store."""
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.DEBUG)
    db = tmp_path / "dead.duckdb"
    settings = load_settings(store=f"postgresql://ocr:{PG_PASSWORD}@db.example:5432/ocr", engine="embedded")
    docs = [str(demo_dir / "docs" / n) for n in ("invoice_digital.pdf", "invoice_ubl.xml")]
    store = DeadWrites(str(db))
    try:
        with pytest.raises(StoreError) as stopped:
            run_files(docs, settings, store, EmbeddedEngine(), options=RunOptions(batch_size=1))
    finally:
        store.close()
    message = str(stopped.value)
    assert "could not be written to postgresql://ocr:***@db.example:5432/ocr" in message, message
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    runs = duckdb_tables_text(db)
    assert "the disk is gone" in runs  # the runs row says why it stopped
    assert leaks("message", message) + leaks("logs", logged) + leaks("store", runs) + files_leaks(tmp_path) == []


def _with_password(url: str, password: str) -> tuple[str, str]:
    """``url`` with ``password`` in it, unless it carries one already (then that one is the secret)."""
    parts = urlsplit(url)
    if parts.password:
        return url, parts.password
    netloc = f"{parts.username or 'postgres'}:{password}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc)), password


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_urls_with_a_password_never_show_it(inbox: Path, fake: FakeVllm, tmp_path: Path) -> None:
    base = require_pg()
    url, password = _with_password(base, PG_PASSWORD)
    secrets = (*SECRETS, password)
    env = {"OCRFLOW_VLLM_URL": fake.url, "OCRFLOW_VLLM_API_KEY": API_KEY}
    found: list[str] = []
    bad_urls = {
        "refused": f"postgresql://ocr:{PG_PASSWORD}@127.0.0.1:{_free_port()}/test",
        "no user": f"postgresql://:{PG_PASSWORD}@127.0.0.1:{_free_port()}/test",
        "raw @": f"postgresql://ocr:x@{PG_PASSWORD}@127.0.0.1:{_free_port()}/test",
        "bad port": f"postgresql://ocr:{PG_PASSWORD}@127.0.0.1:notaport/test",
        "no database": _with_password(base.rsplit("/", 1)[0] + "/h4_no_such_db", PG_PASSWORD)[0],
    }
    for label, bad in bad_urls.items():
        proc = cli("run", str(inbox), "--engine", "vllm", "--db", bad, cwd=tmp_path, env=env)
        assert proc.returncode == 2 and "PostgreSQL" in proc.stderr, (label, proc.stderr)
        found += output_leaks(label, proc)
    schema = f"ocrflow_secrets_{uuid.uuid4().hex[:8]}"
    try:
        good = cli("run", str(inbox), "--engine", "vllm", "--db", f"{url}?schema={schema}", cwd=tmp_path, env=env)
        assert good.returncode == 0, good.stdout + good.stderr
        assert ":***@" in good.stdout  # the summary names the store, without its password
        found += leaks("good stdout", good.stdout, secrets) + leaks("good stderr", good.stderr, secrets)
        found += leaks("pg tables", pg_tables_text(base, schema), secrets)
        review = _review_banner(f"{url}?schema={schema}", tmp_path)
        assert "review page" in review
        found += leaks("review banner", review, secrets)
    finally:
        drop_schema(base, schema)
    found += files_leaks(tmp_path, secrets)
    assert found == []


def _review_banner(store: str, cwd: Path) -> str:
    """The first line ``ocrflow review`` prints (then the server is stopped)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("OCRFLOW_")}
    env = {**base, "OCRFLOW_REVIEW_TOKEN": REVIEW_TOKEN, "COLUMNS": "400", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([OCRFLOW, "review", "--db", store, "--port", str(_free_port())], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        return proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_the_eval_report_leaks_nothing(demo_dir: Path, demo_gold: list[dict[str, Any]], fake: FakeVllm,
                                       tmp_path: Path) -> None:
    wanted = {"docs/invoice_digital.pdf", "docs/receipt_scan_01.jpg"}
    records = [r for r in demo_gold if r["path"] in wanted]
    assert len(records) == 2
    gold = demo_dir / f"gold_secrets_{uuid.uuid4().hex[:6]}.jsonl"
    gold.write_text("".join(json.dumps(r) + "\n" for r in records))
    try:
        proc = cli("eval", "--gold", str(gold), "--engine", "vllm", "--json", cwd=tmp_path,
                   env={"OCRFLOW_VLLM_URL": fake.url, "OCRFLOW_VLLM_API_KEY": API_KEY})
    finally:
        gold.unlink()
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["run"]["engine"] == "vllm"
    assert output_leaks("eval", proc) == []



def test_a_vllm_url_with_credentials_is_shown_without_its_password(clean_env: None) -> None:
    from ocrflow.engines.base import EngineError

    url = closed_port_url().replace("://", "://ocr:UrlPass-9f3k2@", 1)
    engine = make_vllm_engine(load_settings(engine="vllm", vllm_url=url))
    try:
        with pytest.raises(EngineError) as caught:
            engine.preflight()
    finally:
        engine.close()
    shown = f"{caught.value} {engine.breaker.target}"
    assert "UrlPass-9f3k2" not in shown and "ocr:***@" in shown
