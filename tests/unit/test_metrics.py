"""ocrflow.metrics: counters and the latency histogram move when a document is processed."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, generate_latest

from ocrflow import metrics
from ocrflow.core.models import DocState
from ocrflow.core.settings import load_settings
from ocrflow.engines.embedded import EmbeddedEngine
from ocrflow.pipeline.processor import Processor


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_processing_a_document_moves_the_metrics(demo_dir: Path, clean_env: None) -> None:
    from ocrflow.core.models import DocumentRef
    from ocrflow.run.discover import discover

    pdf = next(demo_dir.rglob("invoice_two_pages.pdf"))
    (doc,) = [d for d in discover([str(pdf)], "**/*") if isinstance(d, DocumentRef)]
    metrics.metrics()
    pages0 = _value("ocrflow_pages_total", path="text_layer", engine="pdfium")
    hist0 = _value("ocrflow_page_seconds_count", path="text_layer", engine="pdfium")
    docs0 = _value("ocrflow_documents_total", state="pending")
    result = Processor(load_settings(), EmbeddedEngine()).process(doc)
    assert result.state == DocState.PENDING and len(result.pages) == 2  # extracted, not yet validated
    metrics.observe_result(result)
    assert _value("ocrflow_pages_total", path="text_layer", engine="pdfium") == pages0 + 2
    assert _value("ocrflow_page_seconds_count", path="text_layer", engine="pdfium") == hist0 + 2
    assert _value("ocrflow_documents_total", state="pending") == docs0 + 1
    text = generate_latest(REGISTRY).decode()
    assert 'ocrflow_pages_total{engine="pdfium",path="text_layer"}' in text


def test_errors_and_in_flight() -> None:
    before = _value("ocrflow_errors_total", kind="render")
    metrics.observe_error(metrics.error_kind("render: cannot open PDF"))
    assert _value("ocrflow_errors_total", kind="render") == before + 1
    assert metrics.error_kind("something long with spaces: x") == "other"
    with metrics.in_flight("vllm"):
        assert _value("ocrflow_inflight_requests", engine="vllm") == 1
    assert _value("ocrflow_inflight_requests", engine="vllm") == 0


def test_metrics_server_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(metrics, "_server_port", None)
    monkeypatch.delenv(metrics.PORT_ENV, raising=False)
    assert metrics.start_metrics_server() is None  # not configured: nothing served
    monkeypatch.setenv(metrics.PORT_ENV, str(port))
    assert metrics.start_metrics_server(addr="127.0.0.1") == port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        assert b"ocrflow_pages_total" in resp.read()


def test_a_document_moves_the_counters_when_processed_and_again_when_written(demo_dir: Path,
                                                                            clean_env: None) -> None:
    """Per document, not per batch: pages and the processed outcome move as it finishes processing
    (RunProcessor); its final state moves when its batch is written."""
    from ocrflow.core.models import DocumentRef
    from ocrflow.run.discover import discover
    from ocrflow.run.lifecycle import RunProcessor

    pdf = next(demo_dir.rglob("invoice_digital.pdf"))
    (doc,) = [d for d in discover([str(pdf)], "**/*") if isinstance(d, DocumentRef)]
    metrics.metrics()
    pages0 = _value("ocrflow_pages_total", path="text_layer", engine="pdfium")
    extracted0 = _value("ocrflow_documents_processed_total", outcome="extracted")
    loaded0 = _value("ocrflow_documents_total", state="loaded")
    result = RunProcessor(Processor(load_settings(), EmbeddedEngine())).process(doc)
    assert _value("ocrflow_pages_total", path="text_layer", engine="pdfium") == pages0 + 1
    assert _value("ocrflow_documents_processed_total", outcome="extracted") == extracted0 + 1
    assert _value("ocrflow_documents_total", state="loaded") == loaded0  # not written yet
    result.state = DocState.LOADED
    metrics.observe_final(result)
    assert _value("ocrflow_documents_total", state="loaded") == loaded0 + 1


def test_the_last_values_go_to_the_textfile_and_the_pushgateway(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A run shorter than a scrape interval still leaves its values: node_exporter's textfile and a
    Pushgateway (here a loopback HTTP server that records the push, as the Pushgateway API receives it)."""
    import http.server
    import threading

    from prometheus_client.parser import text_string_to_metric_families

    pushed: list[tuple[str, str, bytes]] = []

    class Gateway(http.server.BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            pushed.append(("PUT", self.path, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    textfile = tmp_path / "ocrflow.prom"
    monkeypatch.setenv(metrics.TEXTFILE_ENV, str(textfile))
    monkeypatch.setenv(metrics.PUSHGATEWAY_ENV, f"127.0.0.1:{server.server_address[1]}")
    try:
        metrics.observe_run_end("COMPLETED", {"loaded": 7, "failed": 1})
        metrics.publish(final=True)
    finally:
        server.shutdown()
    families = {f.name: f for f in text_string_to_metric_families(textfile.read_text())}
    last = {s.labels["state"]: s.value for s in families["ocrflow_run_last_documents"].samples}
    assert last["loaded"] == 7 and last["failed"] == 1
    assert "ocrflow_run_last_end_timestamp_seconds" in families
    ((method, path, body),) = pushed
    assert method == "PUT" and path.startswith("/metrics/job/ocrflow/instance/")
    assert b'ocrflow_run_last_documents{state="loaded"} 7.0' in body
