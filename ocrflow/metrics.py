"""Prometheus metrics for ocrflow workers (prometheus-client; no Prefect import).

The metric objects are created on first use, never at import time, in the default
``prometheus_client.REGISTRY`` so that ``generate_latest()`` and ``start_http_server`` see them.

Hooks (cheap, thread-safe, never raise into the pipeline):

- ``observe_page(page)``          one page read (text layer or OCR): pages total + page latency histogram
- ``observe_document(state)``     one document reached a state (loaded, quarantined, failed, pending)
- ``observe_error(kind)``         one error, by class (``"TransientEngineError"``, ``"render"``, ...)
- ``in_flight(engine)``           context manager around one engine request (in-flight gauge)
- ``start_metrics_server()``      serve ``/metrics`` on ``OCRFLOW_METRICS_PORT`` when that is set

Metric names (the Grafana dashboard in deploy/grafana/ocrflow-dashboard.json charts them):
``ocrflow_pages_total{path,engine}``, ``ocrflow_page_seconds{path,engine}`` (histogram),
``ocrflow_documents_total{state}``, ``ocrflow_errors_total{kind}``, ``ocrflow_inflight_requests{engine}``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server

from ocrflow.core.models import PageText

log = logging.getLogger("ocrflow.metrics")

PORT_ENV = "OCRFLOW_METRICS_PORT"
# Text-layer pages take milliseconds, CPU OCR seconds, vLLM pages 0.3-20 s: buckets cover all three.
PAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0)


@dataclass(frozen=True, slots=True)
class Metrics:
    pages: Counter
    page_seconds: Histogram
    documents: Counter
    errors: Counter
    in_flight: Gauge


_lock = threading.Lock()
_metrics: Metrics | None = None
_server_port: int | None = None


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
                documents=Counter("ocrflow_documents", "Documents that reached a state", ["state"],
                                  registry=REGISTRY),
                errors=Counter("ocrflow_errors", "Errors by class", ["kind"], registry=REGISTRY),
                in_flight=Gauge("ocrflow_inflight_requests", "Engine requests in flight", ["engine"],
                                registry=REGISTRY),
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


def observe_result(result: Any) -> None:
    """Record a pipeline ``DocResult``: its pages, its final state and, if it failed, the error class."""
    for page in result.pages:
        observe_page(page)
    state = getattr(result.state, "value", str(result.state))
    observe_document(state)
    if state in ("failed", "pending") and result.error:
        observe_error(error_kind(result.error))


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
