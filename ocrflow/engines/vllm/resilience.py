"""Retries (tenacity: bounded attempts, backoff with jitter, Retry-After wins) and the circuit breaker.

Why tenacity for the retry loop and a hand-written breaker: docs/engines.md.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from ocrflow.engines.base import EngineError
from ocrflow.engines.vllm.errors import CircuitOpenError, VllmTerminalError, VllmTransientError

T = TypeVar("T")


class RetryPolicy(BaseModel):
    """Bounded attempts with exponential backoff and equal jitter; Retry-After wins when given."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(default=5, ge=1)
    base_delay_s: float = Field(default=0.5, ge=0)
    max_delay_s: float = Field(default=30.0, ge=0)
    max_retry_after_s: float = Field(default=120.0, ge=0)

    def delay(self, attempt: int, retry_after: float | None = None,
              rng: random.Random | None = None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after_s)
        ceiling = min(self.max_delay_s, self.base_delay_s * (2 ** (attempt - 1)))
        return (rng or random).uniform(ceiling / 2, ceiling)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = error.retry_after if isinstance(error, VllmTransientError) else None
        return self.delay(state.attempt_number, retry_after)

    def retrying(self) -> AsyncRetrying:
        """A fresh tenacity controller (one per call: tenacity keeps per-call state on it)."""
        return AsyncRetrying(stop=stop_after_attempt(self.max_attempts), wait=self._wait,
                             retry=retry_if_exception_type(VllmTransientError), retry_error_callback=_give_up)


def _give_up(state: RetryCallState) -> None:
    """Out of attempts: the last transient error, saying how many attempts it took."""
    error = state.outcome.exception() if state.outcome else None
    message = f"{error} (gave up after {state.attempt_number} attempts)"
    if isinstance(error, VllmTransientError):  # always: only VllmTransientError is retried
        raise VllmTransientError(message, status=error.status, replica=error.replica) from error
    raise VllmTransientError(message) from error


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

    async def guard(self, call: Callable[[], Awaitable[T]]) -> T:
        """One attempt through the breaker: fail fast while open; a terminal answer proves the deployment up."""
        self.check()
        try:
            result = await call()
        except VllmTerminalError:
            self.record_success()  # the deployment answered: it is up, the request was bad
            raise
        except VllmTransientError as exc:
            if exc.counts_for_breaker:
                self.record_failure(exc)
            raise
        self.record_success()
        return result


async def call_with_retries(policy: RetryPolicy, breaker: CircuitBreaker, call: Callable[[], Awaitable[T]]) -> T:
    """``call`` through the breaker, retried on transient errors as ``policy`` says."""
    result: T = await policy.retrying()(breaker.guard, call)
    return result
