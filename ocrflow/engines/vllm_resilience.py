"""Retry with backoff (honouring Retry-After), error classification, circuit breaker."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from ocrflow.engines.base import EngineError, TerminalEngineError, TransientEngineError

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


def server_message(body: Any, fallback: str) -> str:
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


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded attempts with exponential backoff and full jitter; Retry-After wins when given."""

    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_retry_after_s: float = 120.0

    def delay(self, attempt: int, retry_after: float | None = None,
              rng: random.Random | None = None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after_s)
        ceiling = min(self.max_delay_s, self.base_delay_s * (2 ** (attempt - 1)))
        return (rng or random).uniform(ceiling / 2, ceiling)


class CircuitBreaker:
    """Opens after ``threshold`` consecutive transient failures across the engine.

    While open, ``check`` raises ``CircuitOpenError`` at once. After ``cooldown_s`` one probe
    request is let through (half-open); its success closes the breaker, its failure reopens it.
    """

    def __init__(self, threshold: int = 8, cooldown_s: float = 30.0, target: str = "") -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self.target = target
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self._last_error = ""
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._opened_at is not None

    def check(self) -> None:
        with self._lock:
            if self._opened_at is None:
                return
            waited = time.monotonic() - self._opened_at
            if waited >= self.cooldown_s and not self._probing:
                self._probing = True
                return
            raise CircuitOpenError(self._message(max(self.cooldown_s - waited, 0.0)))

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probing = False

    def record_failure(self, error: EngineError) -> None:
        with self._lock:
            self._failures += 1
            self._last_error = str(error)
            self._probing = False
            if self._failures >= self.threshold:
                self._opened_at = time.monotonic()

    def _message(self, remaining_s: float) -> str:
        return (f"vLLM deployment {self.target} looks down: {self._failures} consecutive transient failures "
                f"(last: {self._last_error}); circuit open, failing fast for another {remaining_s:.0f}s. "
                "Documents are left pending for a later run.")
