"""A real Prefect server on loopback for the integration tests (own PREFECT_HOME, free port).

Started once per session by the ``prefect_server`` fixture in ``conftest.py``; every process the tests
start (flow runs, workers, the CLI) talks to it through ``PrefectServer.env``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "OCRFLOW_"))}
    env.update({
        "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO", "TQDM_DISABLE": "1", "PYTHONUNBUFFERED": "1",
        # fast turnarounds for tests: deployment-limit retries, worker polling
        "PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS": "1", "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_WORKER_PREFETCH_SECONDS": "5",
    })
    return env


def stop(proc: subprocess.Popen[Any], grace_s: float = 5.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left after ``grace_s`` (workers stop slowly)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@dataclass
class PrefectServer:
    url: str
    home: Path
    proc: subprocess.Popen[Any]
    started_s: float
    log_path: Path
    children: list[subprocess.Popen[Any]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {**base_env(self.home), "PREFECT_API_URL": self.url}

    def run(self, args: Sequence[str], *, timeout: float = 120, cwd: Path = REPO,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), cwd=cwd, env={**self.env, **(extra_env or {})}, text=True,
                              capture_output=True, timeout=timeout, check=False)

    def spawn(self, args: Sequence[str], log: IO[Any], *, cwd: Path = REPO,
              extra_env: dict[str, str] | None = None) -> subprocess.Popen[Any]:
        proc = subprocess.Popen(list(args), cwd=cwd, env={**self.env, **(extra_env or {})}, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.children.append(proc)
        return proc

    def close(self) -> None:
        for child in self.children:
            stop(child)
        stop(self.proc)


def start_server(home: Path, timeout_s: float = 120.0) -> PrefectServer:
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "server.log"
    t0 = time.perf_counter()
    with log_path.open("w") as log:
        proc = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                env=base_env(home), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/api"
    server = PrefectServer(url=url, home=home, proc=proc, started_s=0.0, log_path=log_path)
    while time.perf_counter() - t0 < timeout_s:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    server.started_s = time.perf_counter() - t0
                    return server
        except OSError:
            pass
        time.sleep(0.3)
    stop(proc)
    raise RuntimeError(f"prefect server did not answer {url}/health in {timeout_s}s:\n"
                       f"{log_path.read_text()[-3000:]}")


def make_pdf_inbox(dst: Path, demo_dir: Path, copies: int = 1) -> list[Path]:
    """Born-digital PDFs (no OCR): the demo's five, plus ``copies - 1`` more sets of distinct invoices made
    by the demo generator with other seeds (other numbers, parties and amounts: not duplicates)."""
    import random

    from ocrflow.demo import make_fapiao, make_invoices

    dst.mkdir(parents=True, exist_ok=True)
    out = []
    for src in sorted(demo_dir.rglob("*.pdf")):
        out.append(dst / src.name)
        out[-1].write_bytes(src.read_bytes())
    for seed in range(1, copies):
        sub = dst / f"set{seed:03d}"
        sub.mkdir()
        rng = random.Random(1000 + seed)
        make_invoices(sub, rng)
        make_fapiao(sub, rng)
        out += sorted(sub.glob("*.pdf"))
    return out


CLEAN_TABLES_SQL = ("SELECT DISTINCT table_name FROM information_schema.columns WHERE column_name = 'doc_sha256' "
                    "AND table_name NOT IN ('pages', 'quarantine', 'document_paths', 'field_evidence', 'corrections') "
                    "AND table_name NOT LIKE '%\\_line' ESCAPE '\\' AND table_schema = current_schema()")


def clean_rows(con: Any) -> tuple[int, int]:
    """(rows, distinct doc_sha256) over every contract's clean table (invoice, receipt, cn_vat_invoice...)."""
    tables = [t for (t,) in con.execute(CLEAN_TABLES_SQL).fetchall()]
    union = " UNION ALL ".join(f"SELECT doc_sha256 FROM {t}" for t in tables)
    row = con.execute(f"SELECT count(*), count(DISTINCT doc_sha256) FROM ({union}) AS t").fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)
