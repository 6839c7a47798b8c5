"""vLLM failures: classification of HTTP answers into transient / terminal engine errors."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

from ocrflow.core.errors import AuthEngineError, ErrorCode
from ocrflow.engines.base import EngineError, TerminalEngineError, TransientEngineError
from ocrflow.engines.vllm.transport import HttpStatusError

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class VllmTransientError(TransientEngineError):
    """A transient failure of one call, with what the retry loop needs to know."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None,
                 replica: str = "", counts_for_breaker: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.replica = replica
        self.counts_for_breaker = counts_for_breaker


class VllmTerminalError(TerminalEngineError):
    """A terminal failure with the HTTP status and the server's own message."""

    def __init__(self, message: str, *, status: int | None = None, server_message: str = "",
                 replica: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.server_message = server_message
        self.replica = replica


class ModelOutputError(VllmTerminalError):
    """The deployment answered, but the answer is unusable (no JSON object, no choices): final for the
    document, with its own code (``documents.error_code = model_output``)."""

    code = ErrorCode.MODEL_OUTPUT


class CircuitOpenError(TransientEngineError):
    """The deployment looks down: requests fail fast and documents stay pending."""


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds (delta-seconds or HTTP-date); None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def server_message(body: object, fallback: str) -> str:
    """The message vLLM put in its error body (``{"error": {"message": ...}}`` or older shapes)."""
    if isinstance(body, dict):
        for key in ("message", "detail", "error"):
            value = body.get(key)
            if isinstance(value, dict):
                return server_message(value, fallback)
            if isinstance(value, str) and value:
                return value
    if isinstance(body, str) and body:
        return body
    return fallback


def status_error(exc: HttpStatusError, replica: str) -> EngineError:
    """An HTTP error answer as a transient (retryable, with its Retry-After) or terminal error."""
    status = exc.status_code
    message = server_message(exc.body, exc.message)
    text = f"vLLM {replica} answered HTTP {status}: {message}"
    if status in (401, 403):  # a rotated or wrong key: the documents stay pending, the run stops sending
        return AuthEngineError(f"{text} (check OCRFLOW_VLLM_API_KEY)", status=status)
    if status in RETRYABLE_STATUS:
        retry_after = parse_retry_after(exc.headers.get("retry-after"))
        return VllmTransientError(text, status=status, retry_after=retry_after, replica=replica,
                                  counts_for_breaker=status != 429)
    return VllmTerminalError(text, status=status, server_message=message, replica=replica)
