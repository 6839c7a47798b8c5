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
