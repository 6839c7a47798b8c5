"""Prometheus metrics for ocrflow workers (prometheus-client; no Prefect import).

The metric objects are created on first use, never at import time, in the default
``prometheus_client.REGISTRY`` so that ``generate_latest()`` and ``start_http_server`` see them.

Hooks (cheap, thread-safe, never raise into the pipeline):

- ``observe_processed(result)``   one document processed (as it finishes, before its batch is written): its
                                  pages, page latencies, processing outcome and error class
- ``observe_final(result)``       one document written in its final state (loaded, quarantined, failed, ...)
- ``observe_error(kind)``         one error, by class (``"TransientEngineError"``, ``"render"``, ...)
- ``in_flight(engine)``           context manager around one engine request (in-flight gauge)
- ``observe_plan(todo)`` / ``observe_run_end(status, counts)``  the run's size, and how the last run ended
- ``start_metrics_server()``      serve ``/metrics`` on ``OCRFLOW_METRICS_PORT`` when that is set
- ``publish(final=...)``          write the values to ``OCRFLOW_METRICS_TEXTFILE`` (node_exporter's textfile
                                  collector) and/or push them to ``OCRFLOW_METRICS_PUSHGATEWAY``: a run shorter
                                  than the scrape interval still leaves its last values

Metric names (the Grafana dashboard in deploy/grafana/ocrflow-dashboard.json charts them):
``ocrflow_pages_total{path,engine}``, ``ocrflow_page_seconds{path,engine}`` (histogram),
``ocrflow_documents_processed_total{outcome}``, ``ocrflow_documents_total{state}``,
``ocrflow_errors_total{kind}``, ``ocrflow_inflight_requests{engine}``, ``ocrflow_run_planned_documents``,
``ocrflow_run_last_documents{state}``, ``ocrflow_run_last_end_timestamp_seconds{status}``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, push_to_gateway, start_http_server, write_to_textfile

from ocrflow.core.models import PageText

log = logging.getLogger("ocrflow.metrics")

PORT_ENV = "OCRFLOW_METRICS_PORT"
TEXTFILE_ENV = "OCRFLOW_METRICS_TEXTFILE"
"""A ``.prom`` file for node_exporter's textfile collector, rewritten after each batch and at the end."""
PUSHGATEWAY_ENV = "OCRFLOW_METRICS_PUSHGATEWAY"
"""A Prometheus Pushgateway (``host:9091`` or a URL): the values are pushed at the end of a run."""
PUBLISH_EVERY_S = 5.0
# Text-layer pages take milliseconds, CPU OCR seconds, vLLM pages 0.3-20 s: buckets cover all three.
PAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0)


@dataclass(frozen=True, slots=True)
class Metrics:
    pages: Counter
    page_seconds: Histogram
    documents: Counter
    processed: Counter
    errors: Counter
    in_flight: Gauge
    planned: Gauge
    last_documents: Gauge
    last_end: Gauge


_lock = threading.Lock()
_metrics: Metrics | None = None
_server_port: int | None = None
_last_publish = 0.0


def metrics() -> Metrics:
    """The process-wide metric objects, registered in the default registry on first call."""
    global _metrics
    with _lock:
        if _metrics is None:
            _metrics = Metrics(
                pages=Counter("ocrflow_pages", "Pages read, by text path and engine", ["path", "engine"],
                              registry=REGISTRY),
                page_seconds=Histogram("ocrflow_page_seconds", "Seconds per page (render + OCR/text)",
                                       ["path", "engine"], buckets=PAGE_BUCKETS, registry=REGISTRY),
                documents=Counter("ocrflow_documents", "Documents written in a final state", ["state"],
                                  registry=REGISTRY),
                processed=Counter("ocrflow_documents_processed", "Documents processed (before their batch is "
                                  "validated and written), by outcome", ["outcome"], registry=REGISTRY),
                errors=Counter("ocrflow_errors", "Errors by class", ["kind"], registry=REGISTRY),
                in_flight=Gauge("ocrflow_inflight_requests", "Engine requests in flight", ["engine"],
                                registry=REGISTRY),
                planned=Gauge("ocrflow_run_planned_documents", "Documents the current (or last) run set out "
                              "to process", registry=REGISTRY),
                last_documents=Gauge("ocrflow_run_last_documents", "Documents of the last finished run, by "
                                     "state", ["state"], registry=REGISTRY),
                last_end=Gauge("ocrflow_run_last_end_timestamp_seconds", "When the last run of this process "
                               "ended (Unix time), by its status", ["status"], registry=REGISTRY),
            )
        return _metrics


def observe_page(page: PageText) -> None:
    """Count one page and record its latency (render + recognition)."""
    m = metrics()
    path, engine = page.path.value, page.engine or "unknown"
    m.pages.labels(path=path, engine=engine).inc()
    m.page_seconds.labels(path=path, engine=engine).observe(max(0.0, page.latency_s + page.render_s))


def observe_document(state: str) -> None:
    """Count one document that reached ``state`` (a DocState value)."""
    metrics().documents.labels(state=str(state)).inc()


def observe_error(kind: str) -> None:
    """Count one error of class ``kind`` (exception class name or a short stage name)."""
    metrics().errors.labels(kind=kind or "unknown").inc()


@contextmanager
def in_flight(engine: str) -> Iterator[None]:
    """Wrap one engine request: the in-flight gauge goes up on entry and down on exit."""
    gauge = metrics().in_flight.labels(engine=engine)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


def _state(result: Any) -> str:
    return str(getattr(result.state, "value", result.state))


def observe_processed(result: Any) -> None:
    """One document processed, as it finishes (per document, not per batch): its pages and latencies, its
    outcome (``extracted`` when it has a row to validate, else its state) and, if it failed or stays
    pending, the error class."""
    for page in result.pages:
        observe_page(page)
    state = _state(result)
    metrics().processed.labels(outcome="extracted" if result.row is not None else state).inc()
    if state in ("failed", "pending") and result.error:
        observe_error(error_kind(result.error))


def observe_final(result: Any) -> None:
    """One document written in its final state (after its batch's validation and write)."""
    observe_document(_state(result))


def observe_result(result: Any) -> None:
    """Both of the above for one ``DocResult`` (a caller that processes and writes in one step)."""
    observe_processed(result)
    observe_final(result)


def observe_plan(todo: int) -> None:
    metrics().planned.set(todo)


def observe_run_end(status: str, counts: dict[str, int]) -> None:
    """How the run ended: its counts by state and the end time under its status (COMPLETED, FAILED, ...)."""
    m = metrics()
    for state, n in counts.items():
        if state not in ("documents", "pages"):  # totals, not states
            m.last_documents.labels(state=state).set(n)
    m.last_end.labels(status=status).set(time.time())


def error_kind(message: str) -> str:
    """A low-cardinality label from an error message: the prefix before the first ':' (``render``, ...)."""
    head = message.split(":", 1)[0].strip()
    return head if head and len(head) <= 40 and " " not in head else "other"


def start_metrics_server(port: int | None = None, addr: str = "0.0.0.0") -> int | None:
    """Serve /metrics on ``port`` (default: $OCRFLOW_METRICS_PORT); no-op when neither is set.

    Idempotent within a process. A port already taken (another flow process on the same host) is
    logged and skipped: metrics must never fail a run. Returns the port served, or None.
    """
    global _server_port
    if port is None:
        raw = os.environ.get(PORT_ENV, "").strip()
        if not raw:
            return None
        try:
            port = int(raw)
        except ValueError:
            log.warning("%s=%r is not a port number; metrics are not served", PORT_ENV, raw)
            return None
    with _lock:
        if _server_port is not None:
            return _server_port
        try:
            start_http_server(port, addr=addr, registry=REGISTRY)
        except OSError as exc:
            log.warning("metrics port %d unavailable (%s); metrics are not served by this process", port, exc)
            return None
        _server_port = port
    metrics()
    return port


def publish(*, final: bool = False) -> None:
    """Write the textfile and/or push to the Pushgateway when configured (never raises).

    During a run at most once per PUBLISH_EVERY_S (the textfile only); ``final`` always, and pushes."""
    global _last_publish
    textfile = os.environ.get(TEXTFILE_ENV, "").strip()
    gateway = os.environ.get(PUSHGATEWAY_ENV, "").strip()
    now = time.monotonic()
    if not (textfile or gateway) or (not final and now - _last_publish < PUBLISH_EVERY_S):
        return
    _last_publish = now
    metrics()
    if textfile:
        try:
            write_to_textfile(textfile, REGISTRY)
        except OSError as exc:
            log.warning("metrics textfile %s not written: %s", textfile, exc)
    if gateway and final:
        try:
            push_to_gateway(gateway, job="ocrflow", registry=REGISTRY, grouping_key={"instance": socket.gethostname()},
                            timeout=10)
        except OSError as exc:  # URLError is an OSError
            log.warning("metrics not pushed to %s: %s", gateway, exc)
