"""`nightly_ingest`: find new files under an inbox and process them, spread over any number of workers.

The new documents are split into chunks; each chunk becomes its own run of the ``process-documents``
deployment (``run_deployment(timeout=0)``), so every worker polling the pool takes a share, and this run
waits for all of them. When that deployment does not exist (a laptop, a test, ephemeral mode) the chunks
run here as sub-flows instead.
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from prefect import flow, get_run_logger

from flows.nightly_report import publish_nightly, with_counts
from flows.outcome import failed_state
from flows.params import FanOut, Inbox, RunParams
from flows.process_documents import STOPS, process_documents
from flows.reporting import review_waiting
from flows.runtime import flow_settings, run_name
from ocrflow.run.lifecycle import check_contract_setting, stop_message
from ocrflow.run.planning import plan
from ocrflow.store import open_store

POLL_S = 2.0


def _run_name() -> str:
    from prefect.runtime import flow_run

    params = flow_run.parameters or {}
    inbox = params.get("inbox") or {}
    root = inbox.get("root", "inbox") if isinstance(inbox, dict) else getattr(inbox, "root", "inbox")
    return run_name("nightly", [str(root)])


@flow(name="nightly-ingest", flow_run_name=_run_name, log_prints=True)
def nightly_ingest(
    inbox: Inbox | None = None,
    processing: RunParams | None = None,
    fan_out: FanOut | None = None,
) -> Any:
    """Process every file under the inbox whose hash has not reached a final state yet.

    Args:
        inbox: the folder (or fsspec URL) to scan and its glob filter
        processing: the options of the child runs (those of ``ocrflow run``: contract, engine, store, ...)
        fan_out: how the new documents are split into child runs and where those run
    """
    inbox, processing, fan_out = inbox or Inbox(), processing or RunParams(), fan_out or FanOut()
    logger = get_run_logger()
    try:
        files = new_files(inbox, processing)
    except STOPS as exc:  # an unknown contract, a missing inbox, a store that cannot be opened
        message = stop_message(exc)
        logger.error("%s", message)
        publish_nightly(inbox.root, [], {}, mode="none", new=0, message=message)
        return failed_state(message, {"status": "FAILED", "documents": 0, "child_runs": 0, "message": message})
    if not files:
        logger.info("nothing new under %s", inbox.root)
        publish_nightly(inbox.root, [], {}, mode="none", new=0, review_waiting=_review_count(processing))
        return {"status": "COMPLETED", "documents": 0, "child_runs": 0, "children": [], "totals": {}}
    chunks = [files[i:i + fan_out.docs_per_run] for i in range(0, len(files), fan_out.docs_per_run)]
    mode = resolve_mode(fan_out)
    logger.info("%d new file(s) under %s -> %d child run(s), %s", len(files), inbox.root, len(chunks), mode)
    children = (_via_deployments(chunks, processing, fan_out) if mode == "deployments"
                else _in_process(chunks, processing))
    children, totals = with_counts(children)
    logger.info("child runs: %s", ", ".join(f"{k} {v}" for k, v in totals.items()))
    for c in children:
        if c.get("failed_documents"):
            logger.warning("%s failed documents: %s", c["name"], c["failed_documents"])
    bad = [c for c in children if c["state"] != "COMPLETED"]
    message = "" if not bad else f"{len(bad)} of {len(children)} child run(s) not completed: " + "; ".join(
        f"{c['name']}: {c['state']} {c['message']}"[:300] for c in bad[:5])
    publish_nightly(inbox.root, children, totals, mode=mode, new=len(files), message=message,
                    review_waiting=_review_count(processing))
    out = {"status": "FAILED" if bad else "COMPLETED", "documents": len(files), "child_runs": len(children),
           "children": children, "totals": totals}
    if bad:
        return failed_state(message, out)
    return out


def new_files(inbox: Inbox, processing: RunParams) -> list[str]:
    """Paths under the inbox that are not final in the store (rejected files included: children record them).

    An unknown contract stops here, before any child run or document (ConfigError)."""
    settings = flow_settings(processing.config, **{**processing.setting_overrides(), "glob": inbox.glob})
    from ocrflow.contracts import load_contracts

    contracts = load_contracts(settings.contracts_dir)
    check_contract_setting(settings.contract, contracts)
    st = open_store(settings.store)
    try:
        st.init_schema(list(contracts.values()))
        p = plan([inbox.root], st, glob=settings.glob, force=settings.force)
    finally:
        st.close()  # a DuckDB file must be free before the children open it
    return [d.path for d in p.todo] + [r.path for r in p.rejected]


def _review_count(processing: RunParams) -> int | None:
    """Records waiting for review in the store after the children ran (None when it cannot be read)."""
    from ocrflow.contracts import load_contracts

    try:
        settings = flow_settings(processing.config, store=processing.store)
        st = open_store(settings.store, read_only=True)
    except STOPS as exc:
        get_run_logger().warning("review queue not counted: %s", stop_message(exc))
        return None
    try:
        return review_waiting(st, load_contracts(settings.contracts_dir))
    finally:
        st.close()


def resolve_mode(fan_out: FanOut) -> str:
    """deployments when asked, or (auto) when the target deployment exists on the API; else in-process."""
    if fan_out.mode != "auto":
        return fan_out.mode
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    try:
        with get_client(sync_client=True) as client:
            client.read_deployment_by_name(fan_out.deployment)
    except ObjectNotFound:
        return "in-process"
    return "deployments"


def _via_deployments(chunks: list[list[str]], options: RunParams, fan_out: FanOut) -> list[dict[str, Any]]:
    from prefect.deployments import run_deployment

    logger = get_run_logger()
    ids: list[UUID] = []
    params = {"options": options.model_dump(mode="json", exclude_defaults=True)}
    for n, chunk in enumerate(chunks, 1):
        fr: Any = run_deployment(fan_out.deployment, parameters={**params, "paths": chunk}, timeout=0,
                            flow_run_name=run_name(f"chunk{n}of{len(chunks)}", chunk))
        ids.append(fr.id)
    logger.info("submitted %d run(s) of %s; waiting", len(ids), fan_out.deployment)
    return wait_for_runs(ids, timeout_s=fan_out.wait_timeout_s)


def wait_for_runs(ids: list[UUID], *, timeout_s: float, poll_s: float = POLL_S) -> list[dict[str, Any]]:
    """Poll the API until every flow run is final (or the timeout passes); one row per run."""
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout_s
    rows: dict[UUID, dict[str, Any]] = {}
    with get_client(sync_client=True) as client:
        while True:
            for fid in ids:
                if fid in rows:
                    continue
                fr = client.read_flow_run(fid)
                if fr.state is not None and fr.state.is_final():
                    rows[fid] = {"name": fr.name, "id": str(fid), "state": fr.state.type.value,
                                 "message": fr.state.message or ""}
            if len(rows) == len(ids) or time.monotonic() > deadline:
                break
            time.sleep(poll_s)
        for fid in ids:
            if fid not in rows:
                fr = client.read_flow_run(fid)
                rows[fid] = {"name": fr.name, "id": str(fid), "state": "TIMED_OUT",
                             "message": f"still {fr.state.type.value if fr.state else 'unknown'} after {timeout_s}s"}
    return [rows[fid] for fid in ids]


def _in_process(chunks: list[list[str]], options: RunParams) -> list[dict[str, Any]]:
    rows = []
    for chunk in chunks:
        state: Any = process_documents(paths=chunk, options=options, return_state=True)
        fid = state.state_details.flow_run_id if state.state_details else None
        rows.append({"name": _child_name(fid) or state.name or "process-documents", "id": str(fid or ""),
                     "state": state.type.value, "message": state.message or ""})
    return rows


def _child_name(flow_run_id: UUID | None) -> str:
    """The child flow run's name as the UI shows it (process-<date>-<source>)."""
    if flow_run_id is None:
        return ""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return str(client.read_flow_run(flow_run_id).name)
