"""End to end with real parts: server, work pool, `prefect deploy --all`, a process worker, a deployment
run from the CLI, rows in DuckDB, artifacts read back through the API; nightly fan-out over deployments."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.nightly_ingest import nightly_ingest
from flows.params import FanOut, Inbox, RunParams
from flows.reporting import PROBLEMS_KEY, PROGRESS_KEY, SUMMARY_KEY
from tests.support.prefect_server import BIN, PrefectServer, clean_rows, make_pdf_inbox, stop

pytestmark = [pytest.mark.prefect_server, pytest.mark.slow]

POOL = "ocrflow-process"
PREFECT = str(BIN / "prefect")


@pytest.fixture(scope="module")
def deployed(prefect_server: PrefectServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    t0 = time.perf_counter()
    r = prefect_server.run([PREFECT, "work-pool", "create", POOL, "--type", "process"])
    assert r.returncode == 0, r.stdout + r.stderr
    r = prefect_server.run([PREFECT, "--no-prompt", "deploy", "--all"], timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    t_deploy = time.perf_counter() - t0
    log = (tmp_path_factory.mktemp("worker") / "worker.log").open("w")
    worker = prefect_server.spawn([PREFECT, "worker", "start", "--pool", POOL, "--limit", "4"], log)
    print(f"\n[deploy] work pool + `prefect deploy --all`: {t_deploy:.1f}s")
    try:
        yield prefect_server
    finally:
        t1 = time.perf_counter()
        stop(worker)
        log.close()
        print(f"[deploy] worker stopped in {time.perf_counter() - t1:.1f}s")


def _options(**fields: str) -> str:
    """``--param options={...}``: the flow's one options object, as JSON."""
    import json

    return "options=" + json.dumps(fields)


def _deployment(name: str) -> Any:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_deployment_by_name(name)


def test_deployments_as_declared(deployed: PrefectServer) -> None:
    nightly = _deployment("nightly-ingest/nightly-ingest")
    (schedule,) = nightly.schedules
    assert schedule.schedule.cron == "0 2 * * *" and schedule.schedule.timezone == "Europe/London"
    proc = _deployment("process-documents/process-documents")
    assert proc.work_pool_name == POOL
    assert proc.global_concurrency_limit is not None and proc.global_concurrency_limit.limit == 1
    schema = proc.parameter_openapi_schema
    assert set(schema["properties"]) == {"paths", "options"} and schema["properties"]["paths"]["type"] == "array"
    # the flow's options are the CLI's (ocrflow.run.params.RunParams): every field in the run form
    props = schema["definitions"]["RunParams"]["properties"]
    assert set(props) == set(RunParams.model_fields)
    assert {"enum": ["auto", "embedded", "vllm"], "type": "string"} in props["engine"]["anyOf"]
    # a contract is chosen from the contracts found at deploy time (a choice list in the run form)
    from ocrflow.contracts import load_contracts

    names = sorted(load_contracts())
    assert {"enum": ["auto", *names], "type": "string"} in props["contract"]["anyOf"]
    processing = nightly.parameter_openapi_schema["definitions"]["RunParams"]["properties"]
    assert processing == props
    selection = _deployment("reprocess-quarantine/reprocess-quarantine").parameter_openapi_schema
    assert {"enum": names, "type": "string"} in selection["definitions"]["QuarantineSelection"]["properties"][
        "contract"]["anyOf"]
    env = proc.job_variables["env"]
    assert {"OCRFLOW_VLLM_URL", "OCRFLOW_STORE"} <= set(env)
    assert "OCRFLOW_METRICS_PORT" not in env  # the worker's own setting reaches the flow run (docs/scaling.md)
    (pull,) = proc.pull_steps
    assert Path(pull["prefect.deployments.steps.set_working_directory"]["directory"]) == Path.cwd()
    assert _deployment("reprocess-quarantine/reprocess-quarantine").work_pool_name == POOL


def test_deployment_run_end_to_end(deployed: PrefectServer, demo_dir: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    files = make_pdf_inbox(inbox, demo_dir)
    db = tmp_path / "e2e.duckdb"
    t0 = time.perf_counter()
    r = deployed.run([PREFECT, "deployment", "run", "process-documents/process-documents",
                      "--param", f'paths=["{inbox}"]', "--param", _options(store=str(db), engine="embedded"),
                      "--watch", "--watch-timeout", "300"], timeout=330)
    elapsed = time.perf_counter() - t0
    print(f"\n[e2e] deployment run of {len(files)} PDFs, trigger to Completed: {elapsed:.1f}s")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    con = duckdb.connect(str(db), read_only=True)
    states = dict(con.execute("SELECT state, count(*) FROM documents GROUP BY state").fetchall())
    invoices = clean_rows(con)
    con.close()
    assert states.get("loaded", 0) + states.get("quarantined", 0) == len(files) == sum(states.values())
    assert invoices[0] == invoices[1] == states.get("loaded", 0)

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        DeploymentFilter,
        DeploymentFilterName,
    )

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(deployment_filter=DeploymentFilter(name=DeploymentFilterName(
            any_=["process-documents"])))
        run = next(fr for fr in runs if (fr.parameters.get("options") or {}).get("store") == str(db))
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))
    assert run.state is not None and run.state.is_completed()
    assert run.name.startswith("process-") and run.name.endswith("-inbox")
    by_key = {a.key: a for a in arts}
    assert {SUMMARY_KEY, PROBLEMS_KEY, PROGRESS_KEY} <= set(by_key)
    assert f"| 5 | 6 | {states.get('loaded', 0)} | {states.get('quarantined', 0)} | 0 | 0 | 0 |" in str(
        by_key[SUMMARY_KEY].data)


def test_nightly_fans_out_over_deployment_runs(deployed: PrefectServer, demo_dir: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    files = make_pdf_inbox(inbox, demo_dir, copies=2)
    db = tmp_path / "nightly.duckdb"
    t0 = time.perf_counter()
    state: Any = nightly_ingest(inbox=Inbox(root=str(inbox)),
                                processing=RunParams(store=str(db), engine="embedded"),
                                fan_out=FanOut(mode="deployments", docs_per_run=5, wait_timeout_s=300),
                                return_state=True)
    print(f"\n[e2e] nightly fan-out, {len(files)} PDFs in 2 deployment runs: {time.perf_counter() - t0:.1f}s")
    assert state.is_completed(), state.message
    out = state.result()
    assert out["child_runs"] == 2 and all(c["state"] == "COMPLETED" for c in out["children"])
    con = duckdb.connect(str(db), read_only=True)
    n, final, runs = con.execute("SELECT count(*), count(*) FILTER (WHERE state IN ('loaded', 'quarantined')), "
                                 "count(DISTINCT run_id) FROM documents").fetchone() or (0, 0, 0)
    states = dict(con.execute("SELECT state, count(*) FROM documents GROUP BY state").fetchall())
    con.close()
    assert n == final == len(files) and runs == 2
    # the children ran on the worker; their counts come back through their artifacts and add up
    assert all(c["counted"] for c in out["children"])
    assert [c["loaded"] + c["quarantined"] for c in out["children"]] == [5, len(files) - 5]
    totals = out["totals"]
    assert (totals["loaded"], totals["quarantined"], totals["failed"], totals["pending"]) == (
        states.get("loaded", 0), states.get("quarantined", 0), 0, 0)


def test_a_bad_contract_is_refused_and_a_failed_run_says_why_in_one_line(deployed: PrefectServer,
                                                                        tmp_path: Path) -> None:
    """The server refuses a contract that is not deployed before any run exists; a deployment run that
    fails (a missing inbox) ends on the worker with its one-line reason: no Prefect-internal TypeError in
    its log, its runs row closed FAILED, its summary artifact published."""
    db = tmp_path / "stop.duckdb"
    typo = deployed.run([PREFECT, "deployment", "run", "process-documents/process-documents",
                         "--param", f'paths=["{tmp_path}"]', "--param", _options(contract="nope")], timeout=120)
    assert typo.returncode != 0 and "nope" in typo.stdout + typo.stderr, typo.stdout + typo.stderr
    missing = tmp_path / "no-such-inbox"
    r = deployed.run([PREFECT, "deployment", "run", "process-documents/process-documents",
                      "--param", f'paths=["{missing}"]', "--param", _options(store=str(db), engine="embedded"),
                      "--watch", "--watch-timeout", "300"], timeout=330)
    assert r.returncode != 0  # the run Failed

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        DeploymentFilter,
        DeploymentFilterName,
        LogFilter,
        LogFilterFlowRunId,
    )

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(deployment_filter=DeploymentFilter(name=DeploymentFilterName(
            any_=["process-documents"])))
        run = next(fr for fr in runs if (fr.parameters.get("options") or {}).get("store") == str(db))
        deadline = time.monotonic() + 30
        while True:  # the worker's last log lines arrive after the state
            logs = [lg.message for lg in client.read_logs(log_filter=LogFilter(
                flow_run_id=LogFilterFlowRunId(any_=[run.id])))]
            if any("Finished in state Failed" in m for m in logs) or time.monotonic() > deadline:
                break
            time.sleep(1)
        arts = {a.key: a for a in client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))}
    assert run.state is not None and run.state.is_failed()
    message = run.state.message or ""
    assert f"input '{missing}' does not exist" == message, message
    assert not [m for m in logs if "TypeError" in m or "cannot be resolved into an exception" in m], logs
    # Prefect's worker logs its own traceback for every Failed flow run; it ends with the reason, not a TypeError
    assert all(m.rstrip().endswith(f"FlowRunFailed: {message}") for m in logs if "Traceback" in m), logs
    assert any(message in m for m in logs)
    assert message in str(arts[SUMMARY_KEY].data)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT status, message FROM runs").fetchall() == [("FAILED", message)]
    con.close()
