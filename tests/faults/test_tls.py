"""TLS verification is on by default: the vLLM client refuses a server whose certificate it cannot verify.

A real HTTPS server on loopback with a certificate minted by a throwaway CA (``trustme``) that no trust
store knows: the default engine refuses it with a TLS error, and only ``verify_tls=False``
(``OCRFLOW_VLLM_VERIFY_TLS=false``) talks to it.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

from ocrflow.core.settings import Settings, load_settings
from ocrflow.engines.base import EngineError
from ocrflow.engines.vllm import VllmEngine, VllmOptions

MODEL = "tencent/HunyuanOCR"


class _Models(BaseHTTPRequestHandler):
    """Answers GET /v1/models like vLLM; anything else 404."""

    def do_GET(self) -> None:
        if self.path.rstrip("/") != "/v1/models":
            self.send_error(404)
            return
        body = json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def https_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Models)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _engine(settings: Settings) -> VllmEngine:
    return VllmEngine(VllmOptions.from_settings(settings))


def test_defaults_verify_tls(clean_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ocrflow.toml of the working tree
    settings = load_settings(vllm_url="https://vllm.example:8000")
    assert settings.vllm_verify_tls is True
    assert VllmOptions.from_settings(settings).verify_tls is True
    assert VllmOptions(urls="https://vllm.example:8000").verify_tls is True


def test_an_untrusted_certificate_is_refused_by_default(https_url: str, clean_env: None) -> None:
    engine = _engine(load_settings(vllm_url=https_url))
    try:
        with pytest.raises(EngineError) as caught:
            engine.preflight()
    finally:
        engine.close()
    message = str(caught.value)  # what the user reads: the TLS reason, not only "Connection error."
    assert "certificate verify failed" in message.lower(), message
    assert engine.served_models == {}


def test_verification_can_be_turned_off_explicitly(https_url: str, clean_env: None,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCRFLOW_VLLM_VERIFY_TLS", "false")
    settings = load_settings(vllm_url=https_url)
    assert settings.vllm_verify_tls is False
    engine = _engine(settings)
    try:
        engine.preflight()
    finally:
        engine.close()
    assert engine.served_models == {f"{https_url}/v1": [MODEL]} or \
        list(engine.served_models.values()) == [[MODEL]]
